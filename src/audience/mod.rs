//! The audience: `recipients.toml` (segments, recipients, CSV imports) and the audience
//! store (readers who signed up, topic choices, suppressions) in, one [`Recipient`] per
//! person out, deduplicated case-insensitively across files and segments, with every bad
//! row reported at once.

pub mod address;
pub(crate) mod address_list;
pub(crate) mod csv;
mod encoding;
mod index;
mod load;
mod recipient;
mod select;
mod source;
pub mod store;
pub mod suppress;
pub mod topic;
mod variant_key;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub use address::Address;
pub(crate) use load::MAX_NAME_CHARS;
pub use recipient::Recipient;
pub use select::{Exclusion, SegmentCount, Selection, Shape};
pub use source::Source;
pub use store::Store;
pub use suppress::{Reason, Suppression, Suppressions};
pub use variant_key::{UnknownVariant, VariantKey};

/// The recipients file, relative to the project root.
pub const RECIPIENTS_FILE: &str = "recipients.toml";

/// The most segments a project may define (each is one bit of a recipient's membership).
pub const MAX_SEGMENTS: usize = 64;

/// A named group of recipients, defined in `[segments.NAME]`.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The name recipients and `--segment` use.
    pub name: String,
    /// What the segment is, for people.
    pub description: String,
    /// When set, members who chose no topics get only picks tagged with one of these.
    pub topics_any: Option<Vec<String>>,
}

/// Where a row was read: an index into the loaded files and a 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    file: u16,
    line: u32,
}

/// Every row that named one address, kept for `recipients --explain`.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// `path:line` of the row.
    pub place: String,
    /// The tool whose export the row is from, and what it says of the reader when not a
    /// plain subscriber (`Mailchimp export, cleaned`).
    pub origin: Option<String>,
    /// The segments that row put the person in.
    pub segments: Vec<String>,
}

/// The loaded audience.
#[derive(Debug)]
pub struct Audience {
    segments: Vec<Segment>,
    recipients: Vec<Recipient>,
    index: index::Index,
    topics: Vec<Box<str>>,
    topic_sets: recipient::TopicSets,
    suppressions: Suppressions,
    sightings: Vec<Sighting>,
    /// The files rows were read from, as [`Place`]s index them.
    files: Vec<String>,
    /// The files that are a tool's export, and the tool's name.
    file_tools: Vec<(u16, &'static str)>,
    /// Rows that named an address already listed in another file, merged into one person.
    merged: usize,
    /// What loading found suspicious but not wrong (a person named two ways).
    warnings: crate::diag::Diagnostics,
}

impl Audience {
    /// Loads `recipients.toml`, its imports and the audience store of the project in
    /// `root` (read-only). Problems in the files come back as [`crate::diag::Diagnostics`];
    /// nothing is loaded unless every row is good. `trace` names an address whose rows are
    /// kept. Topic values are lists (see [`topic`]).
    pub fn load(root: &Path, trace: Option<&Address>) -> anyhow::Result<Self> {
        Self::load_with_topics(root, trace, &BTreeMap::new())
    }

    /// As [`Audience::load`], and warns (in [`Audience::warnings`]) about each topic of
    /// a recipient, segment or stored choice that `declared`, the `[topics]` of
    /// broadsheet.toml, does not list, unless it lists none. What readers get is the same.
    pub fn load_with_topics(
        root: &Path,
        trace: Option<&Address>,
        declared: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let stored = store::Snapshot::load(root)?;
        load::Loader::new(trace, declared).run(root, stored)
    }

    /// The segments in the order they are defined.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Every recipient, in the order first listed.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// The suppression list.
    pub fn suppressions(&self) -> &Suppressions {
        &self.suppressions
    }

    /// The recipient with this address (compared case-insensitively), if listed.
    pub fn find(&self, address: &Address) -> Option<&Recipient> {
        let i = self.index.find(&self.recipients, &address.key())?;
        self.recipients.get(usize::try_from(i).ok()?)
    }

    /// How many rows repeated an address listed in another file: merged, so each person
    /// gets one copy.
    pub fn merged_rows(&self) -> usize {
        self.merged
    }

    /// What loading found suspicious but not wrong, such as one person listed with two
    /// names in two files; the commands that load the audience show them.
    pub fn warnings(&self) -> &crate::diag::Diagnostics {
        &self.warnings
    }

    /// Where `recipient` was last listed: `path:line`, and the tool of an import's export
    /// (`export.csv:12 (Mailchimp export)`).
    pub fn source_of(&self, recipient: &Recipient) -> String {
        let Place { file, line } = recipient.last;
        let path = self
            .files
            .get(usize::from(file))
            .map_or("?", String::as_str);
        if path == store::STORE_FILE {
            return format!("signed up ({path})");
        }
        match self.file_tools.iter().find(|(f, _)| *f == file) {
            Some((_, tool)) => format!("{path}:{line} ({tool} export)"),
            None => format!("{path}:{line}"),
        }
    }

    /// The rows that named the traced address (see [`Audience::load`]).
    pub fn sightings(&self) -> &[Sighting] {
        &self.sightings
    }

    /// The names of a recipient's segments.
    pub fn segment_names(&self, recipient: &Recipient) -> Vec<&str> {
        self.names(recipient.segments)
    }

    fn names(&self, mask: u64) -> Vec<&str> {
        self.segments
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| s.name.as_str())
            .collect()
    }

    /// The topics a recipient chose, if any: empty when they chose every pick.
    pub fn chosen_topics(&self, recipient: &Recipient) -> Option<BTreeSet<&str>> {
        let ids = self.topic_sets.get(recipient.topics)?;
        Some(ids.iter().map(|&t| &*self.topics[usize::from(t)]).collect())
    }
}
