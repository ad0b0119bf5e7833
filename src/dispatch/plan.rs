//! The plan of a dispatch: who gets the volume and in which variant, who does not and why,
//! how big the messages are and how long sending takes at the configured rate. `plan`
//! prints it; `dispatch` prints it, asks for confirmation, and freezes it in the ledger.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::audience::{Address, Audience, Recipient, SegmentCount, Selection};
use crate::ledger::{Dispatch, Entry, Ledger, State};
use crate::message::variant::{Variant, Variants};
use crate::message::{self, Personal};
use crate::settings::{Identity, Pace};

/// The key of the variant a reader gets: `all`, or `topics:a,b`.
pub(crate) fn variant_key(topics: Option<&BTreeSet<&str>>) -> String {
    match topics {
        None => "all".to_owned(),
        Some(t) => format!("topics:{}", t.iter().copied().collect::<Vec<_>>().join(",")),
    }
}

/// The topics of a variant key (`None` for every pick).
pub(crate) fn variant_topics(key: &str) -> Option<BTreeSet<&str>> {
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

/// A selected person who already has the volume from another dispatch.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    /// The address.
    pub address: String,
    /// The dispatch that holds them.
    pub dispatch: i64,
    /// That dispatch's segments.
    pub segments: Vec<String>,
    /// Where their message stands there (`sent`, `failed`, ...).
    pub state: &'static str,
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
    /// Everyone selected who is in another dispatch of the volume (never sent twice).
    pub already_received: Vec<Received>,
    /// The unfinished dispatch this plan resumes, if there is one.
    pub resumes: Option<i64>,
    /// Recipients of this dispatch (each person once).
    pub recipients: usize,
    /// Of those, already in a final state in the ledger (a resumed dispatch).
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
pub(crate) struct Inputs<'a> {
    /// The loaded audience.
    pub(crate) audience: &'a Audience,
    /// The selected segments.
    pub(crate) selection: Selection<'a>,
    /// Their names.
    pub(crate) segments: &'a [String],
    /// The volume's number.
    pub(crate) volume: u32,
    /// `[sender]`.
    pub(crate) identity: &'a Identity,
    /// The unsubscribe URL template, for message sizes.
    pub(crate) unsubscribe_url: &'a str,
    /// `[limits]`.
    pub(crate) pace: &'a Pace,
    /// The ledger, when the volume was dispatched before, with its dispatches.
    pub(crate) ledger: Option<(&'a Ledger, Vec<Dispatch>)>,
    /// The unfinished dispatch for these segments, which a dispatch resumes.
    pub(crate) resumes: Option<i64>,
}

/// Why a selected person gets nothing.
enum Exclusion {
    /// They cannot or must not get it.
    Reason(String),
    /// Another dispatch of the volume has them.
    Held(i64, State),
}

/// The selection with every variant it needs rendered once: tells for each selected
/// person which variant they get, or why they get nothing.
pub(crate) struct Audit<'a> {
    inputs: &'a Inputs<'a>,
    /// Every variant the selection needs, by key; `None` for one with no picks.
    rendered: HashMap<String, Option<Variant>>,
}

impl<'a> Audit<'a> {
    /// Renders each distinct variant of the selection once.
    pub(crate) fn new(inputs: &'a Inputs<'a>, variants: &mut Variants<'_>) -> anyhow::Result<Self> {
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
    fn classify(&self, r: &Recipient) -> anyhow::Result<Result<String, Exclusion>> {
        if let Some(exclusion) = self.inputs.audience.exclusion(r) {
            return Ok(Err(Exclusion::Reason(exclusion.to_string())));
        }
        if let Some((ledger, _)) = &self.inputs.ledger
            && let Some((dispatch, state)) = ledger.holder(self.inputs.volume, r.email())?
            && Some(dispatch) != self.inputs.resumes
        {
            return Ok(Err(Exclusion::Held(dispatch, state)));
        }
        let key = variant_key(self.inputs.selection.reader_topics(r).as_ref());
        Ok(match self.rendered.get(&key) {
            Some(Some(_)) => Ok(key),
            _ => Err(Exclusion::Reason(
                "no pick of this volume has their topics".to_owned(),
            )),
        })
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

    /// The ledger entries of everyone who gets the volume, streamed; a lookup that fails
    /// ends the stream with its error.
    pub(crate) fn entries(&self) -> impl Iterator<Item = anyhow::Result<Entry>> + '_ {
        self.selected().filter_map(|r| {
            let variant = match self.classify(r) {
                Ok(Ok(variant)) => variant,
                Ok(Err(_)) => return None,
                Err(e) => return Some(Err(e)),
            };
            Some(Ok(Entry {
                address: r.email().to_owned(),
                name: r.name().map(str::to_owned),
                greeting: r.greeting().map(str::to_owned),
                variant,
                message_id: message::message_id(
                    self.inputs.identity,
                    self.inputs.volume,
                    &r.address(),
                ),
            }))
        })
    }

    /// Makes the plan.
    pub(crate) fn plan(&self) -> anyhow::Result<Plan> {
        let inputs = self.inputs;
        let mut by_variant: BTreeMap<String, usize> = BTreeMap::new();
        let (mut excluded, mut already_received) = (Vec::new(), Vec::new());
        for r in self.selected() {
            let address = r.email().to_owned();
            match self.classify(r)? {
                Ok(key) => *by_variant.entry(key).or_default() += 1,
                Err(Exclusion::Reason(reason)) => excluded.push(Excluded { address, reason }),
                Err(Exclusion::Held(dispatch, state)) => already_received.push(Received {
                    address,
                    dispatch,
                    segments: self.segments_of(dispatch),
                    state: state.as_str(),
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
        let (already_sent, to_send) = self.progress(recipients)?;
        let (per_segment, total) = inputs.selection.counts();
        let mut rows: Vec<SegmentRow> = per_segment.into_iter().map(SegmentRow::from).collect();
        rows.push(total.into());
        Ok(Plan {
            volume: inputs.volume,
            segments: inputs.segments.to_vec(),
            per_segment: rows,
            variants: self.variant_lines(by_variant)?,
            excluded,
            already_received,
            resumes: inputs.resumes,
            recipients,
            already_sent,
            to_send,
            duration_secs: duration(inputs.pace, to_send),
        })
    }

    fn segments_of(&self, dispatch: i64) -> Vec<String> {
        let dispatches = self.inputs.ledger.as_ref().map(|(_, d)| d.as_slice());
        dispatches
            .unwrap_or_default()
            .iter()
            .find(|d| d.id == dispatch)
            .map(|d| d.segments.clone())
            .unwrap_or_default()
    }

    /// How many of a resumed dispatch's recipients are settled, and how many this run
    /// would send (for a new dispatch: none, and everyone).
    fn progress(&self, recipients: usize) -> anyhow::Result<(usize, usize)> {
        let (Some((ledger, _)), Some(dispatch)) = (&self.inputs.ledger, self.inputs.resumes) else {
            return Ok((0, recipients));
        };
        let counts: HashMap<State, u64> = ledger.counts(dispatch)?.into_iter().collect();
        let total: u64 = counts.values().sum();
        let open: u64 = State::OPEN.iter().filter_map(|s| counts.get(s)).sum();
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Ok((n(total - open), n(open)))
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

/// The size of a message of `variant`, with a token as long as real ones.
fn sample_size(variant: &Variant, to: &Address, inputs: &Inputs<'_>) -> usize {
    let url = inputs
        .unsubscribe_url
        .replace(crate::settings::TOKEN_SLOT, &"x".repeat(38));
    let id = message::message_id(inputs.identity, inputs.volume, to);
    let mailto_token = "x".repeat(crate::verp::TOKEN_CHARS);
    let personal = Personal {
        to,
        name: None,
        greeting: None,
        message_id: &id,
        unsubscribe_url: &url,
        mailto_token: Some(&mailto_token),
    };
    variant.build(&personal).len()
}

/// Seconds to send `n` messages at the configured rate limits, when there are any.
fn duration(pace: &Pace, n: usize) -> Option<u64> {
    let n = n as u64;
    let by_second = pace.per_second.map(|r| n.div_ceil(u64::from(r)));
    let by_hour = pace.per_hour.map(|r| {
        let per_hour = u64::from(r);
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
