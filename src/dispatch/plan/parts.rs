//! The parts of a plan as `plan` prints them and `plan --json` writes them: the variants
//! with their counts, who gets nothing and why, who already has the volume, and (with
//! `--readers`) the variant of each reader. Every list is in address order, so that the
//! plan of one audience is the same however its files order it.

use std::sync::Arc;

use serde::Serialize;

use crate::audience::SegmentCount;
use crate::audience::VariantKey;

/// One variant in the plan.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VariantLine {
    /// `all` or `topics:a,b`.
    pub variant: VariantKey,
    /// Picks it shows.
    pub picks: usize,
    /// Recipients who get it.
    pub recipients: usize,
    /// Size of one message in bytes, as sent.
    pub message_bytes: usize,
}

/// How many of those who get nothing a plan keeps a line for unless it lists everyone (the
/// text plan lists them, then counts the rest).
pub(crate) const EXCLUDED_SHOWN: usize = 20;

/// Why a selected person gets nothing.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Excluded {
    /// The address.
    pub address: String,
    /// Why: suppressed (reason), unsendable, no matching picks, already sent.
    pub reason: String,
}

/// A selected person who already has the volume from another dispatch.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Received {
    /// The address.
    pub address: String,
    /// The dispatch that holds them.
    pub dispatch: i64,
    /// That dispatch's segments, shared by everyone it holds.
    pub segments: Arc<[String]>,
    /// Where their message stands there (`sent`, `failed`, ...).
    pub state: &'static str,
}

/// The readers one earlier dispatch of the volume holds, counted: what the text plan and
/// a dispatch's briefing say of them, whatever their number.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    /// The dispatch.
    pub dispatch: i64,
    /// Its segments.
    pub segments: Arc<[String]>,
    /// How many of the selected readers it holds.
    pub readers: usize,
}

/// A reader who gets the volume, and in which variant.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReaderLine {
    /// The address.
    pub address: String,
    /// The variant they get.
    pub variant: VariantKey,
    /// Where they were listed: `file:line`, with the tool of an import's export, or their
    /// sign-up.
    pub source: String,
}

/// Everything `plan` shows.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    /// The volume.
    pub volume: u32,
    /// The segments asked for.
    pub segments: Vec<String>,
    /// Per segment, after deduplication and suppression.
    pub per_segment: Vec<SegmentRow>,
    /// The variants and their recipients.
    pub variants: Vec<VariantLine>,
    /// The HTML part's size as sent (bytes) in the largest copy a reader can get: the
    /// longest greeting and a real unsubscribe link spliced in.
    pub html_part_bytes: usize,
    /// Everyone selected who gets nothing, with the reason, in address order; unless the
    /// plan lists everyone ([`Listing::everyone`](super::Listing)), only the first
    /// [`EXCLUDED_SHOWN`]. A last line counts the rows listed twice.
    pub excluded: Vec<Excluded>,
    /// How many lines `excluded` has when it lists everyone.
    #[serde(skip)]
    pub excluded_total: usize,
    /// Everyone selected who is in another dispatch of the volume (never sent twice), one
    /// line each when asked for ([`Listing::everyone`](super::Listing)); [`Plan::held`]
    /// counts them either way.
    pub already_received: Vec<Received>,
    /// Each earlier dispatch of the volume that holds some of the selected readers, in
    /// dispatch order, with how many.
    #[serde(skip)]
    pub held: Vec<Held>,
    /// Each reader who gets the volume and their variant, when asked for (`--readers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readers: Option<Vec<ReaderLine>>,
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
pub(crate) struct SegmentRow {
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
