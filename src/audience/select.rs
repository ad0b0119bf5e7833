//! Choosing who gets a volume: the segments asked for, less suppressed and unsendable
//! addresses, and which picks each reader gets (their topics, else their segments').

use super::VariantKey;
use super::{Audience, Reason, Recipient};

/// Why a listed recipient gets nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// On the suppression list.
    Suppressed(Reason),
    /// The local part is not ASCII and sending it needs SMTPUTF8, which broadsheet does not
    /// use yet: reported, never dropped silently.
    NeedsSmtpUtf8,
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Suppressed(reason) => write!(f, "suppressed ({reason})"),
            Self::NeedsSmtpUtf8 => f.write_str("needs SMTPUTF8 (non-ASCII local part)"),
        }
    }
}

/// The recipients of some segments.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    audience: &'a Audience,
    mask: u64,
}

/// One segment's numbers after deduplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCount {
    /// The segment's name, or `total`.
    pub name: String,
    /// People listed in it.
    pub listed: usize,
    /// Of those, suppressed.
    pub suppressed: usize,
    /// Of those, not sendable (SMTPUTF8).
    pub unsendable: usize,
    /// Of those, who get the volume.
    pub receiving: usize,
}

impl SegmentCount {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            listed: 0,
            suppressed: 0,
            unsendable: 0,
            receiving: 0,
        }
    }

    fn add(&mut self, exclusion: Option<Exclusion>) {
        self.listed += 1;
        match exclusion {
            Some(Exclusion::Suppressed(_)) => self.suppressed += 1,
            Some(Exclusion::NeedsSmtpUtf8) => self.unsendable += 1,
            None => self.receiving += 1,
        }
    }
}

impl Audience {
    /// The recipients of the named segments (all segments when `names` is empty); an
    /// unknown name is an error listing the known ones.
    pub fn select(&self, names: &[String]) -> Result<Selection<'_>, String> {
        let mut mask = 0;
        for name in names {
            let i = self
                .segments
                .iter()
                .position(|s| &s.name == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
                    let meant = crate::diag::closest(name, &known)
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    format!(
                        "unknown segment `{name}`; {meant}recipients.toml defines: {}",
                        known.join(", ")
                    )
                })?;
            mask |= 1 << i;
        }
        if names.is_empty() {
            mask = u64::MAX;
        }
        Ok(Selection {
            audience: self,
            mask,
        })
    }

    /// Why `recipient` gets nothing, if that is so whatever the segments.
    pub fn exclusion(&self, recipient: &Recipient) -> Option<Exclusion> {
        if let Some(s) = self.suppressions.get(&recipient.address()) {
            return Some(Exclusion::Suppressed(s.reason));
        }
        recipient
            .address()
            .needs_smtputf8()
            .then_some(Exclusion::NeedsSmtpUtf8)
    }
}

impl<'a> Selection<'a> {
    /// True when a recipient is in one of the selected segments.
    pub fn includes(&self, recipient: &Recipient) -> bool {
        recipient.segments & self.mask != 0
    }

    /// Counts per selected segment, and a total that counts each person once.
    pub fn counts(&self) -> (Vec<SegmentCount>, SegmentCount) {
        let audience = self.audience;
        let selected: Vec<usize> = (0..audience.segments.len())
            .filter(|i| self.mask & (1 << i) != 0)
            .collect();
        let mut rows: Vec<SegmentCount> = selected
            .iter()
            .map(|&i| SegmentCount::new(&audience.segments[i].name))
            .collect();
        let mut total = SegmentCount::new("total");
        for r in audience.recipients.iter().filter(|r| self.includes(r)) {
            let exclusion = audience.exclusion(r);
            total.add(exclusion);
            for (row, &i) in rows.iter_mut().zip(&selected) {
                if r.segments & (1 << i) != 0 {
                    row.add(exclusion);
                }
            }
        }
        (rows, total)
    }

    /// The variant a reader gets: the topics they chose, else those of their selected
    /// segments (every pick if one of those has no filter). It depends on nothing but the
    /// reader's [`Shape`], never on the order the audience was loaded in.
    pub fn reader_key(&self, recipient: &Recipient) -> VariantKey {
        let audience = self.audience;
        if let Some(chosen) = audience.chosen_topics(recipient) {
            if chosen.is_empty() {
                return VariantKey::all();
            }
            return VariantKey::topics(chosen);
        }
        let mut topics = Vec::new();
        for (i, segment) in audience.segments.iter().enumerate() {
            if recipient.segments & self.mask & (1 << i) != 0 {
                match &segment.topics_any {
                    Some(any) => topics.extend(any.iter().map(String::as_str)),
                    None => return VariantKey::all(),
                }
            }
        }
        VariantKey::topics(topics)
    }

    /// What decides a reader's variant, small and cheap to compare: readers of one shape
    /// have one [`Selection::reader_key`], so a plan of a million readers works out each
    /// distinct key once.
    pub fn shape(&self, recipient: &Recipient) -> Shape {
        Shape {
            topics: recipient.topics,
            // Chosen topics override the segments', which then do not matter.
            segments: if recipient.topics == 0 {
                recipient.segments & self.mask
            } else {
                0
            },
        }
    }
}

/// The facts a reader's variant follows from: their chosen topic set and their selected
/// segments (see [`Selection::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    topics: u32,
    segments: u64,
}
