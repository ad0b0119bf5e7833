//! The plan of a dispatch: who gets the volume and in which variant, who does not and why,
//! how big the messages are and how long sending takes at the configured rate. `plan`
//! prints it; `dispatch` prints it, asks for confirmation, and freezes it in the ledger.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::audience::{Address, Audience, Recipient, SegmentCount, Selection};
use crate::ledger::{Entry, Ledger, State};
use crate::message::variant::{Variant, Variants};
use crate::message::{self, Personal};
use crate::settings::{Limits, Sender};

/// The key of the variant a reader gets: `all`, or `topics:a,b`.
pub fn variant_key(topics: Option<&BTreeSet<&str>>) -> String {
    match topics {
        None => "all".to_owned(),
        Some(t) => format!("topics:{}", t.iter().copied().collect::<Vec<_>>().join(",")),
    }
}

/// The topics of a variant key (`None` for every pick).
pub fn variant_topics(key: &str) -> Option<BTreeSet<&str>> {
    key.strip_prefix("topics:")
        .map(|t| t.split(',').filter(|s| !s.is_empty()).collect())
}

/// One variant in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct VariantLine {
    /// `all` or `topics:a,b`.
    pub variant: String,
    /// Picks it shows.
    pub picks: usize,
    /// Recipients who get it.
    pub recipients: usize,
    /// Size of one message in bytes, as sent.
    pub message_bytes: usize,
}

/// Why a selected person gets nothing.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// The address.
    pub address: String,
    /// Why: suppressed (reason), unsendable, no matching picks, already sent.
    pub reason: String,
}

/// Everything `plan` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The volume.
    pub volume: u32,
    /// The segments asked for.
    pub segments: Vec<String>,
    /// Per segment, after deduplication and suppression.
    pub per_segment: Vec<SegmentRow>,
    /// The variants and their recipients.
    pub variants: Vec<VariantLine>,
    /// Everyone selected who gets nothing, with the reason.
    pub excluded: Vec<Excluded>,
    /// Recipients of this dispatch (each person once).
    pub recipients: usize,
    /// Of those, already in a final state in the ledger.
    pub already_sent: usize,
    /// Messages this run would send.
    pub to_send: usize,
    /// Seconds the run would take at the configured rate limit, if there is one.
    pub duration_secs: Option<u64>,
}

/// A segment's counts.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRow {
    /// Segment name, or `total` (each person once).
    pub name: String,
    /// Listed in it.
    pub listed: usize,
    /// Suppressed.
    pub suppressed: usize,
    /// Not sendable (needs SMTPUTF8).
    pub unsendable: usize,
    /// Selected for sending before topic filtering.
    pub receiving: usize,
}

impl From<SegmentCount> for SegmentRow {
    fn from(c: SegmentCount) -> Self {
        Self {
            name: c.name,
            listed: c.listed,
            suppressed: c.suppressed,
            unsendable: c.unsendable,
            receiving: c.receiving,
        }
    }
}

/// What a plan needs to know about the send.
pub struct Inputs<'a> {
    /// The loaded audience.
    pub audience: &'a Audience,
    /// The selected segments.
    pub selection: Selection<'a>,
    /// Their names.
    pub segments: &'a [String],
    /// The volume's number.
    pub volume: u32,
    /// `[sender]`.
    pub sender: &'a Sender,
    /// The unsubscribe URL template, for message sizes.
    pub unsubscribe_url: &'a str,
    /// `[limits]`.
    pub limits: &'a Limits,
}

/// The selection with every variant it needs rendered once: tells for each selected
/// person which variant they get, or why they get nothing.
pub struct Audit<'a> {
    inputs: &'a Inputs<'a>,
    /// Every variant the selection needs, by key; `None` for one with no picks.
    rendered: HashMap<String, Option<Variant>>,
}

impl<'a> Audit<'a> {
    /// Renders each distinct variant of the selection once.
    pub fn new(inputs: &'a Inputs<'a>, variants: &mut Variants<'_>) -> anyhow::Result<Self> {
        let mut rendered = HashMap::new();
        for r in inputs
            .audience
            .recipients()
            .iter()
            .filter(|r| inputs.selection.includes(r))
        {
            let topics = inputs.selection.reader_topics(r);
            let key = variant_key(topics.as_ref());
            if let std::collections::hash_map::Entry::Vacant(slot) = rendered.entry(key) {
                slot.insert(variants.get(topics.as_ref())?.cloned());
            }
        }
        Ok(Self { inputs, rendered })
    }

    /// The variant key `r` gets, or why they get nothing.
    pub fn classify(&self, r: &Recipient) -> Result<String, String> {
        if let Some(exclusion) = self.inputs.audience.exclusion(r) {
            return Err(exclusion.to_string());
        }
        let key = variant_key(self.inputs.selection.reader_topics(r).as_ref());
        match self.rendered.get(&key) {
            Some(Some(_)) => Ok(key),
            _ => Err("no pick of this volume has their topics".to_owned()),
        }
    }

    /// The selected people, in the audience's order.
    fn selected(&self) -> impl Iterator<Item = &'a Recipient> + 'a {
        let inputs = self.inputs;
        inputs
            .audience
            .recipients()
            .iter()
            .filter(move |r| inputs.selection.includes(r))
    }

    /// The ledger entries of everyone who gets the volume, streamed.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.selected().filter_map(|r| {
            let variant = self.classify(r).ok()?;
            Some(Entry {
                address: r.address.as_str().to_owned(),
                name: r.name.as_deref().map(str::to_owned),
                variant,
                message_id: message::message_id(self.inputs.sender, self.inputs.volume, &r.address),
            })
        })
    }

    /// The rendered variants that have picks, by key.
    pub fn variants(&self) -> HashMap<String, Variant> {
        self.rendered
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect()
    }

    /// Makes the plan; `ledger` tells who already has the volume.
    pub fn plan(&self, ledger: Option<&Ledger>) -> anyhow::Result<Plan> {
        let inputs = self.inputs;
        let mut by_variant: BTreeMap<String, usize> = BTreeMap::new();
        let mut excluded = Vec::new();
        for r in self.selected() {
            match self.classify(r) {
                Ok(key) => *by_variant.entry(key).or_default() += 1,
                Err(reason) => excluded.push(Excluded {
                    address: r.address.as_str().to_owned(),
                    reason,
                }),
            }
        }
        let recipients: usize = by_variant.values().sum();
        let merged = inputs.audience.merged_rows();
        if merged > 0 {
            excluded.push(Excluded {
                address: format!("{merged} rows"),
                reason: "duplicate: an address already listed in another file; one copy each"
                    .to_owned(),
            });
        }
        let (already_sent, to_send) = progress(inputs.volume, ledger, recipients)?;
        if already_sent > 0 {
            excluded.push(Excluded {
                address: format!("{already_sent} recipients"),
                reason: "already sent, failed or ambiguous in the ledger".to_owned(),
            });
        }
        let (per_segment, total) = inputs.selection.counts();
        let mut rows: Vec<SegmentRow> = per_segment.into_iter().map(SegmentRow::from).collect();
        rows.push(total.into());
        Ok(Plan {
            volume: inputs.volume,
            segments: inputs.segments.to_vec(),
            per_segment: rows,
            variants: self.variant_lines(by_variant)?,
            excluded,
            recipients,
            already_sent,
            to_send,
            duration_secs: duration(inputs.limits, to_send),
        })
    }

    fn variant_lines(
        &self,
        by_variant: BTreeMap<String, usize>,
    ) -> anyhow::Result<Vec<VariantLine>> {
        let sample = Address::parse("reader@example.org").map_err(anyhow::Error::msg)?;
        let mut lines = Vec::new();
        for (key, recipients) in by_variant {
            let Some(Some(variant)) = self.rendered.get(&key) else {
                continue;
            };
            lines.push(VariantLine {
                picks: variant.picks,
                message_bytes: sample_size(variant, &sample, self.inputs),
                variant: key,
                recipients,
            });
        }
        Ok(lines)
    }
}

/// How many of the dispatch's recipients are settled, and how many this run would send.
fn progress(
    volume: u32,
    ledger: Option<&Ledger>,
    recipients: usize,
) -> anyhow::Result<(usize, usize)> {
    let Some(ledger) = ledger.filter(|l| l.dispatch(volume).ok().flatten().is_some()) else {
        return Ok((0, recipients));
    };
    let counts: HashMap<State, i64> = ledger.counts(volume)?.into_iter().collect();
    let count = |s: State| usize::try_from(counts.get(&s).copied().unwrap_or(0)).unwrap_or(0);
    let open = count(State::Pending) + count(State::Deferred) + count(State::InFlight);
    let total: usize = counts
        .values()
        .map(|&n| usize::try_from(n).unwrap_or(0))
        .sum();
    Ok((total - open, open))
}

/// The size of a message of `variant`, with a token as long as real ones.
fn sample_size(variant: &Variant, to: &Address, inputs: &Inputs<'_>) -> usize {
    let url = inputs
        .unsubscribe_url
        .replace(crate::settings::TOKEN_SLOT, &"x".repeat(38));
    let id = message::message_id(inputs.sender, inputs.volume, to);
    let personal = Personal {
        to,
        name: None,
        greeting: None,
        message_id: &id,
        unsubscribe_url: &url,
    };
    variant.template(false).build(&personal).len()
}

/// Seconds to send `n` messages at the configured rate limits, when there are any.
fn duration(limits: &Limits, n: usize) -> Option<u64> {
    let n = n as u64;
    let by_second = limits
        .per_second
        .as_ref()
        .map(|r| n.div_ceil(u64::from(*r.get_ref())));
    let by_hour = limits.per_hour.as_ref().map(|r| {
        let per_hour = u64::from(*r.get_ref());
        if n <= per_hour {
            0
        } else {
            (n - per_hour).div_ceil(per_hour) * 3600
        }
    });
    match (by_second, by_hour) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).max(b.unwrap_or(0))),
    }
}
