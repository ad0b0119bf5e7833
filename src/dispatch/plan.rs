//! The plan of a dispatch: who gets the volume and in which variant, who does not and why,
//! how big the messages are and how long sending takes at the configured rate. `plan`
//! prints it; `dispatch` prints it, asks for confirmation, and freezes it in the ledger.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;

use crate::audience::VariantKey;
use crate::audience::{Address, Audience, Recipient, Selection, Shape};
use crate::ledger::{Dispatch, Entry, Ledger, State};
use crate::message::variant::{Variant, Variants};
use crate::message::{self, Personal};
use crate::settings::{Identity, Pace};
use crate::unsubscribe::Signer;

mod parts;

pub(crate) use parts::{
    EXCLUDED_SHOWN, Excluded, Held, Plan, ReaderLine, Received, SegmentRow, VariantLine,
};

/// Which people a plan lists one line each. The counts are always there; a line for each
/// reader of a large list is only worth holding when it is printed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Listing {
    /// Each reader who gets the volume, with their variant (`plan --readers`).
    pub(crate) readers: bool,
    /// Everyone who gets nothing and everyone an earlier dispatch of the volume holds
    /// (`plan --json`); without it, the first [`EXCLUDED_SHOWN`] who get nothing.
    pub(crate) everyone: bool,
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
    /// The HTML part's size as sent in the largest copy a reader can get.
    pub(crate) html_part_bytes: usize,
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

/// One distinct variant of the selection.
struct Needed {
    key: VariantKey,
    /// The key as the ledger stores it.
    text: String,
    /// `None` when it has no picks and is not sent.
    rendered: Option<Variant>,
}

/// The selection with every variant it needs rendered once: tells for each selected
/// person which variant they get, or why they get nothing.
pub(crate) struct Audit<'a> {
    inputs: &'a Inputs<'a>,
    /// Every distinct variant the selection needs, in key order.
    needed: Vec<Needed>,
    /// Which of `needed` each shape of reader gets: readers of one shape get one variant,
    /// so each key is worked out once and never depends on who came first.
    shapes: HashMap<Shape, usize>,
}

impl<'a> Audit<'a> {
    /// Renders each distinct variant of the selection once.
    pub(crate) fn new(inputs: &'a Inputs<'a>, variants: &mut Variants<'_>) -> anyhow::Result<Self> {
        let mut keys: HashMap<Shape, VariantKey> = HashMap::new();
        for r in selected(inputs) {
            let shape = inputs.selection.shape(r);
            keys.entry(shape)
                .or_insert_with(|| inputs.selection.reader_key(r));
        }
        let mut distinct: Vec<&VariantKey> = keys.values().collect();
        distinct.sort();
        distinct.dedup();
        let mut needed = Vec::with_capacity(distinct.len());
        for key in distinct {
            needed.push(Needed {
                key: key.clone(),
                text: key.to_string(),
                rendered: variants.get(key)?.cloned(),
            });
        }
        let shapes = keys
            .into_iter()
            .filter_map(|(shape, key)| {
                let i = needed.binary_search_by(|n| n.key.cmp(&key)).ok()?;
                Some((shape, i))
            })
            .collect();
        Ok(Self {
            inputs,
            needed,
            shapes,
        })
    }

    /// The index in `needed` of the variant `r` gets, or why they get nothing.
    fn classify(&self, r: &Recipient) -> anyhow::Result<Result<usize, Exclusion>> {
        if let Some(exclusion) = self.inputs.audience.exclusion(r) {
            return Ok(Err(Exclusion::Reason(exclusion.to_string())));
        }
        if let Some((ledger, _)) = &self.inputs.ledger
            && let Some((dispatch, state)) = ledger.holder(self.inputs.volume, r.email())?
            && Some(dispatch) != self.inputs.resumes
        {
            return Ok(Err(Exclusion::Held(dispatch, state)));
        }
        let i = *self
            .shapes
            .get(&self.inputs.selection.shape(r))
            .with_context(|| format!("{} was not in the audited selection", r.email()))?;
        Ok(match self.needed[i].rendered {
            Some(_) => Ok(i),
            None => Err(Exclusion::Reason(
                "no pick of this volume has their topics".to_owned(),
            )),
        })
    }

    /// The ledger entries of everyone who gets the volume, streamed, with the Message-IDs
    /// `signer` keys; a lookup that fails ends the stream with its error.
    pub(crate) fn entries<'s>(
        &'s self,
        signer: &'s Signer,
    ) -> impl Iterator<Item = anyhow::Result<Entry>> + 's {
        selected(self.inputs).filter_map(|r| {
            let i = match self.classify(r) {
                Ok(Ok(i)) => i,
                Ok(Err(_)) => return None,
                Err(e) => return Some(Err(e)),
            };
            let address = r.address();
            Some(Ok(Entry {
                message_id: message::message_id(
                    signer,
                    self.inputs.identity,
                    self.inputs.volume,
                    &address,
                ),
                address,
                name: r.name().map(str::to_owned),
                greeting: r.greeting().map(str::to_owned),
                variant: self.needed[i].text.clone(),
            }))
        })
    }

    /// Makes the plan, with a line for each of the people that `lines` asks for.
    pub(crate) fn plan(&self, lines: Listing) -> anyhow::Result<Plan> {
        let inputs = self.inputs;
        let mut counts = vec![0; self.needed.len()];
        let mut excluded = FirstExcluded::new((!lines.everyone).then_some(EXCLUDED_SHOWN));
        let mut already_received = Vec::new();
        let mut readers = Vec::new();
        let mut held = self.held();
        for r in selected(inputs) {
            match self.classify(r)? {
                Ok(i) => {
                    counts[i] += 1;
                    if lines.readers {
                        readers.push(ReaderLine {
                            address: r.email().to_owned(),
                            variant: self.needed[i].key.clone(),
                            source: inputs.audience.source_of(r),
                        });
                    }
                }
                Err(Exclusion::Reason(reason)) => excluded.push(Excluded {
                    address: r.email().to_owned(),
                    reason,
                }),
                Err(Exclusion::Held(dispatch, state)) => {
                    let by = held_by(&mut held, dispatch);
                    by.readers += 1;
                    if lines.everyone {
                        already_received.push(Received {
                            address: r.email().to_owned(),
                            dispatch,
                            segments: by.segments.clone(),
                            state: state.as_str(),
                        });
                    }
                }
            }
        }
        held.retain(|h| h.readers > 0);
        held.sort_by_key(|h| h.dispatch);
        // Address order, not load order: one audience has one plan.
        let (mut excluded, mut excluded_total) = excluded.finish();
        already_received.sort_by(|a, b| a.address.cmp(&b.address));
        readers.sort_by(|a, b| a.address.cmp(&b.address));
        let recipients: usize = counts.iter().sum();
        let merged = inputs.audience.merged_rows();
        if merged > 0 {
            excluded_total += 1;
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
            variants: self.variant_lines(&counts)?,
            html_part_bytes: inputs.html_part_bytes,
            excluded,
            excluded_total,
            already_received,
            held,
            readers: lines.readers.then_some(readers),
            resumes: inputs.resumes,
            recipients,
            already_sent,
            to_send,
            duration_secs: duration(inputs.pace, to_send),
        })
    }

    /// Each earlier dispatch of the volume, with its segments once (the lines of the
    /// readers it holds share them) and nobody counted yet.
    fn held(&self) -> Vec<Held> {
        let dispatches = self.inputs.ledger.as_ref().map(|(_, d)| d.as_slice());
        dispatches
            .unwrap_or_default()
            .iter()
            .map(|d| Held {
                dispatch: d.id,
                segments: Arc::from(d.segments.clone()),
                readers: 0,
            })
            .collect()
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

    /// The variants someone gets, in key order, with `counts[i]` readers of `needed[i]`.
    fn variant_lines(&self, counts: &[usize]) -> anyhow::Result<Vec<VariantLine>> {
        let sample = Address::parse("reader@example.org").map_err(anyhow::Error::msg)?;
        let mut lines = Vec::new();
        for (needed, &recipients) in self.needed.iter().zip(counts) {
            let Some(variant) = needed.rendered.as_ref().filter(|_| recipients > 0) else {
                continue;
            };
            lines.push(VariantLine {
                picks: variant.picks,
                message_bytes: sample_size(variant, &sample, self.inputs),
                variant: needed.key.clone(),
                recipients,
            });
        }
        Ok(lines)
    }
}

/// Those who get nothing, in address order: everyone, or only the first `keep` (gathered as
/// they come, sorted and cut whenever twice as many are held), with how many there are.
struct FirstExcluded {
    keep: Option<usize>,
    lines: Vec<Excluded>,
    total: usize,
}

impl FirstExcluded {
    fn new(keep: Option<usize>) -> Self {
        Self {
            keep,
            lines: Vec::new(),
            total: 0,
        }
    }

    fn push(&mut self, line: Excluded) {
        self.total += 1;
        self.lines.push(line);
        if let Some(keep) = self.keep
            && self.lines.len() >= 2 * keep.max(1)
        {
            self.cut(keep);
        }
    }

    fn cut(&mut self, keep: usize) {
        self.lines.sort_by(|a, b| a.address.cmp(&b.address));
        self.lines.truncate(keep);
    }

    /// The lines kept, in address order, and how many there were.
    fn finish(mut self) -> (Vec<Excluded>, usize) {
        self.cut(self.keep.unwrap_or(usize::MAX));
        (self.lines, self.total)
    }
}

/// The count of the readers `dispatch` holds; a dispatch the ledger did not list (it
/// always does) is counted too, without segments.
fn held_by(held: &mut Vec<Held>, dispatch: i64) -> &mut Held {
    let i = match held.iter().position(|h| h.dispatch == dispatch) {
        Some(i) => i,
        None => {
            held.push(Held {
                dispatch,
                segments: Arc::from([]),
                readers: 0,
            });
            held.len() - 1
        }
    };
    &mut held[i]
}

/// The selected people, in the audience's order.
fn selected<'a>(inputs: &'a Inputs<'a>) -> impl Iterator<Item = &'a Recipient> + 'a {
    inputs
        .audience
        .recipients()
        .iter()
        .filter(move |r| inputs.selection.includes(r))
}

/// The size of a message of `variant`, with a token as long as real ones.
fn sample_size(variant: &Variant, to: &Address, inputs: &Inputs<'_>) -> usize {
    let url = inputs
        .unsubscribe_url
        .replace(crate::settings::TOKEN_SLOT, &"x".repeat(38));
    let id = message::sample_message_id(inputs.identity);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> Excluded {
        Excluded {
            address: format!("reader{i:03}@example.org"),
            reason: "suppressed (unsubscribed)".to_owned(),
        }
    }

    fn addresses(lines: &[Excluded]) -> Vec<&str> {
        lines.iter().map(|l| l.address.as_str()).collect()
    }

    #[test]
    fn the_first_excluded_are_the_first_in_address_order_whatever_order_they_came_in() {
        // 0, 37, 74, ... 999 visits every number below 1000 once, out of order.
        let order = (0..1000).map(|i| i * 37 % 1000);
        let mut first = FirstExcluded::new(Some(EXCLUDED_SHOWN));
        let mut everyone = FirstExcluded::new(None);
        for i in order {
            first.push(line(i));
            everyone.push(line(i));
        }
        let (first, first_total) = first.finish();
        let (everyone, everyone_total) = everyone.finish();
        assert_eq!((first_total, everyone_total), (1000, 1000));
        assert_eq!(everyone.len(), 1000);
        assert!(everyone.is_sorted_by(|a, b| a.address < b.address));
        assert_eq!(addresses(&first), addresses(&everyone[..EXCLUDED_SHOWN]));
    }
}
