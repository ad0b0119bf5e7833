//! Reading `recipients.toml` and its CSV imports into an [`Audience`]: each row checked on
//! its own so that every problem is reported with its file and line, rows merged by address.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context as _;

mod columns;
mod grouped;
mod hints;
mod import;
mod merge;
mod row;
mod status;
mod stored;
mod tags;
mod toml_file;
pub(super) mod tools;
mod topics;

use super::RECIPIENTS_FILE;
use super::index::Index;
use super::recipient::TopicSets;
use super::store::Snapshot;
use super::{
    Address, Audience, MAX_SEGMENTS, Place, Recipient, Segment, Sighting, Suppression, Suppressions,
};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile};

/// A checked row, not yet merged.
struct Row {
    address: Address,
    name: Option<Box<str>>,
    greeting: Option<Box<str>>,
    segments: u64,
    /// The topic ids the row chose; `None` when it chose none.
    topics: Option<Vec<u16>>,
}

/// Which part of a row a problem is in, so each file kind can place it.
#[derive(Clone, Copy)]
enum Field {
    Email,
    Name,
    Greeting,
    Segment(usize),
    Topic(usize),
    Row,
}

type Problem = (Field, String);

/// The longest name (or greeting) a recipient may have, in characters: names reach the To
/// header, and no real name comes near it.
pub(crate) const MAX_NAME_CHARS: usize = 256;

pub(super) struct Loader<'a> {
    segments: Vec<Segment>,
    segment_bits: HashMap<String, u64>,
    topics: Vec<Box<str>>,
    topic_ids: HashMap<Box<str>, u16>,
    topic_sets: TopicSets,
    /// The keys of broadsheet.toml's `[topics]`, sorted; empty when it declares none.
    declared: Vec<&'a str>,
    tally: topics::Tally,
    recipients: Vec<Recipient>,
    index: Index,
    files: Vec<String>,
    /// The files that are a tool's export, and the tool's name.
    file_tools: Vec<(u16, &'static str)>,
    diags: Diagnostics,
    trace: Option<(Box<str>, &'a Address)>,
    sightings: Vec<Sighting>,
    merged: usize,
    /// Rows a tool's export marks unsubscribed, bounced or complained.
    file_suppressions: Vec<Suppression>,
    /// Where the row being merged came from, when tracing (a tool's export, its status).
    origin: Option<String>,
}

impl<'a> Loader<'a> {
    /// A loader that keeps the rows of `trace` and warns about topics `declared` (the
    /// `[topics]` of broadsheet.toml) does not list, unless it lists none.
    pub(super) fn new(trace: Option<&'a Address>, declared: &'a BTreeMap<String, String>) -> Self {
        Self {
            segments: Vec::new(),
            segment_bits: HashMap::new(),
            topics: Vec::new(),
            topic_ids: HashMap::new(),
            topic_sets: TopicSets::default(),
            declared: declared.keys().map(String::as_str).collect(),
            tally: topics::Tally::default(),
            recipients: Vec::new(),
            index: Index::default(),
            files: Vec::new(),
            file_tools: Vec::new(),
            diags: Diagnostics::default(),
            trace: trace.map(|a| (a.key(), a)),
            sightings: Vec::new(),
            merged: 0,
            file_suppressions: Vec::new(),
            origin: None,
        }
    }

    pub(super) fn run(mut self, root: &Path, stored: Snapshot) -> anyhow::Result<Audience> {
        let path = root.join(RECIPIENTS_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (start from recipients.example.toml)",
                path.display()
            )
        })?;
        let source = SourceFile::new(&path, text);
        self.toml_file(root, &source);
        if !self.diags.has_errors() {
            self.stored(&stored.readers, &stored.topics);
        }
        self.report_topics();
        self.diags.sort_by_location();
        if self.diags.has_errors() {
            return Err(self.diags.into());
        }
        let suppressions = with_files(stored.suppressions, self.file_suppressions);
        Ok(Audience {
            warnings: self.diags,
            segments: self.segments,
            recipients: self.recipients,
            index: self.index,
            topics: self.topics,
            topic_sets: self.topic_sets,
            suppressions,
            sightings: self.sightings,
            merged: self.merged,
            files: self.files,
            file_tools: self.file_tools,
        })
    }

    fn add_file(&mut self, path: String) -> u16 {
        self.files.push(path);
        u16::try_from(self.files.len() - 1).unwrap_or(u16::MAX)
    }

    /// Checks and merges one row; its problems become diagnostics placed by `locate`.
    fn row(
        &mut self,
        email: &str,
        [name, greeting]: [Option<&str>; 2],
        segments: &[&str],
        topics: Option<&[&str]>,
        place: Place,
        locate: &dyn Fn(Field) -> Location,
    ) {
        let topics = topics
            .map(|values| self.topic_ids(values, place.file, &|i| Some(locate(Field::Topic(i)))))
            .filter(|ids| !ids.is_empty());
        match self.check_row(email, [name, greeting], segments, topics) {
            Ok(row) => match self.merge(row, place) {
                Ok(warnings) => {
                    for (field, message) in warnings {
                        self.diags
                            .push(Diagnostic::warning(message).at(locate(field)));
                    }
                }
                Err(problem) => self
                    .diags
                    .push(Diagnostic::error(problem).at(locate(Field::Email))),
            },
            Err(problems) => {
                for (field, message) in problems {
                    self.diags
                        .push(Diagnostic::error(message).at(locate(field)));
                }
            }
        }
    }

    fn check_row(
        &self,
        email: &str,
        [name, greeting]: [Option<&str>; 2],
        segments: &[&str],
        topics: Option<Vec<u16>>,
    ) -> Result<Row, Vec<Problem>> {
        let mut problems = Vec::new();
        let address = Address::parse(email)
            .map_err(|why| problems.push((Field::Email, format!("`{email}` {why}"))))
            .ok();
        let mut text = |field, value: Option<&'_ str>, what: &str| {
            let value = value.map(str::trim).filter(|v| !v.is_empty());
            // One walk over the value: its length and its first character refused.
            let (mut length, mut refused) = (0, None);
            for c in value.unwrap_or_default().chars() {
                length += 1;
                if refused.is_none() && (c.is_control() || is_bidi_control(c)) {
                    refused = Some(c);
                }
            }
            if length > MAX_NAME_CHARS {
                problems.push((
                    field,
                    format!(
                        "the {what} is {length} characters long; at most {MAX_NAME_CHARS} are allowed"
                    ),
                ));
            }
            match refused {
                Some(c) if c.is_control() => problems.push((
                    field,
                    format!("the {what} contains the control character {c:?}"),
                )),
                Some(c) => problems.push((
                    field,
                    format!(
                        "the {what} contains the bidirectional control character U+{:04X}: \
                         left open, it reverses the rest of the line it is shown on (the To \
                         header, the greeting)",
                        u32::from(c)
                    ),
                )),
                None => {}
            }
            value.map(Box::from)
        };
        let name = text(Field::Name, name, "name (it reaches the To header)");
        let greeting = text(Field::Greeting, greeting, "greeting");
        let mut mask = 0;
        for (i, segment) in segments.iter().enumerate() {
            match self.segment_bits.get(*segment) {
                Some(bit) => mask |= bit,
                None => problems.push((Field::Segment(i), self.unknown_segment(segment))),
            }
        }
        if segments.is_empty() {
            problems.push((Field::Row, "the recipient belongs to no segment".to_owned()));
        }
        match address {
            Some(address) if problems.is_empty() => Ok(Row {
                address,
                name,
                greeting,
                segments: mask,
                topics,
            }),
            _ => Err(problems),
        }
    }

    /// The message for a segment name that recipients.toml does not define: the closest
    /// defined name, and the defined ones when few.
    fn unknown_segment(&self, name: &str) -> String {
        let known: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        let notes = crate::diag::unknown_name_notes(name, &known);
        format!("unknown segment `{name}` ({})", notes.join(" "))
    }
}

/// Whether `c` is one of the bidirectional embeddings, overrides and isolates (U+202A to
/// U+202E, U+2066 to U+2069): refused like control characters, since one that is not
/// closed reverses the text after it (the explicit formatting characters of UAX #9 §2).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The store's suppressions with those of the files added: a file's suppression replaces
/// the store's only when its reason outranks it (a bounce an unsubscribe), so that the
/// store's own record of a reader stands.
fn with_files(mut stored: Suppressions, files: Vec<Suppression>) -> Suppressions {
    for suppression in files {
        let stands = stored
            .get(&suppression.address)
            .is_some_and(|s| !suppression.reason.outranks(s.reason));
        if !stands {
            stored.insert(suppression);
        }
    }
    stored
}
