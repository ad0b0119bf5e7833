//! Reading `recipients.toml` and its CSV imports into an [`Audience`]: each row checked on
//! its own so that every problem is reported with its file and line, rows merged by address.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;

mod import;
mod stored;
mod toml_file;

use super::RECIPIENTS_FILE;
use super::index::Index;
use super::store::Snapshot;
use super::{Address, Audience, MAX_SEGMENTS, Place, Recipient, Segment, Sighting};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile};

/// A checked row, not yet merged.
struct Row {
    address: Address,
    name: Option<Box<str>>,
    segments: u64,
    topics: Option<Vec<u16>>,
}

/// Which part of a row a problem is in, so each file kind can place it.
#[derive(Clone, Copy)]
enum Field {
    Email,
    Name,
    Segment(usize),
    Topic(usize),
    Row,
}

type Problem = (Field, String);

pub(super) struct Loader<'a> {
    segments: Vec<Segment>,
    segment_bits: HashMap<String, u64>,
    topics: Vec<Box<str>>,
    topic_ids: HashMap<Box<str>, u16>,
    recipients: Vec<Recipient>,
    index: Index,
    files: Vec<String>,
    diags: Diagnostics,
    trace: Option<(Box<str>, &'a Address)>,
    sightings: Vec<Sighting>,
    merged: usize,
}

impl<'a> Loader<'a> {
    pub(super) fn new(trace: Option<&'a Address>) -> Self {
        Self {
            segments: Vec::new(),
            segment_bits: HashMap::new(),
            topics: Vec::new(),
            topic_ids: HashMap::new(),
            recipients: Vec::new(),
            index: Index::default(),
            files: Vec::new(),
            diags: Diagnostics::default(),
            trace: trace.map(|a| (a.key(), a)),
            sightings: Vec::new(),
            merged: 0,
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
        if self.diags.has_errors() {
            self.diags.sort_by_location();
            return Err(self.diags.into());
        }
        Ok(Audience {
            segments: self.segments,
            recipients: self.recipients,
            index: self.index,
            topics: self.topics,
            suppressions: stored.suppressions,
            sightings: self.sightings,
            merged: self.merged,
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
        name: Option<&str>,
        segments: &[&str],
        topics: Option<&[&str]>,
        place: Place,
        locate: &dyn Fn(Field) -> Location,
    ) {
        match self.check_row(email, name, segments, topics) {
            Ok(row) => {
                if let Err(problem) = self.merge(row, place) {
                    self.diags
                        .push(Diagnostic::error(problem).at(locate(Field::Email)));
                }
            }
            Err(problems) => {
                for (field, message) in problems {
                    self.diags
                        .push(Diagnostic::error(message).at(locate(field)));
                }
            }
        }
    }

    fn check_row(
        &mut self,
        email: &str,
        name: Option<&str>,
        segments: &[&str],
        topics: Option<&[&str]>,
    ) -> Result<Row, Vec<Problem>> {
        let mut problems = Vec::new();
        let address = Address::parse(email)
            .map_err(|why| problems.push((Field::Email, format!("`{email}` {why}"))))
            .ok();
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(c) = name.and_then(|n| n.chars().find(|c| c.is_control())) {
            problems.push((
                Field::Name,
                format!("the name contains the control character {c:?}; names reach the To header"),
            ));
        }
        let mut mask = 0;
        for (i, segment) in segments.iter().enumerate() {
            match self.segment_bits.get(*segment) {
                Some(bit) => mask |= bit,
                None => problems.push((Field::Segment(i), format!("unknown segment `{segment}`"))),
            }
        }
        if segments.is_empty() {
            problems.push((Field::Row, "the recipient belongs to no segment".to_owned()));
        }
        let topics = topics.map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    self.topic(t)
                        .map_err(|m| problems.push((Field::Topic(i), m)))
                        .ok()
                })
                .collect()
        });
        match address {
            Some(address) if problems.is_empty() => Ok(Row {
                address,
                name: name.map(Box::from),
                segments: mask,
                topics,
            }),
            _ => Err(problems),
        }
    }

    fn topic(&mut self, topic: &str) -> Result<u16, String> {
        if topic.is_empty() || topic.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!(
                "topic `{}` must be one word, e.g. `chips`",
                topic.escape_debug()
            ));
        }
        if let Some(&id) = self.topic_ids.get(topic) {
            return Ok(id);
        }
        let id =
            u16::try_from(self.topics.len()).map_err(|_| "too many distinct topics".to_owned())?;
        self.topics.push(topic.into());
        self.topic_ids.insert(topic.into(), id);
        Ok(id)
    }

    /// Adds a row as a new recipient or merges it into the one with its address; the same
    /// address twice in one file is an error.
    fn merge(&mut self, row: Row, place: Place) -> Result<(), String> {
        let key = row.address.key();
        if let Some((traced, _)) = &self.trace
            && *traced == key
        {
            let names = self
                .segments
                .iter()
                .enumerate()
                .filter(|(i, _)| row.segments & (1 << i) != 0)
                .map(|(_, s)| s.name.clone())
                .collect();
            let at = format!("{}:{}", self.files[usize::from(place.file)], place.line);
            self.sightings.push(Sighting {
                place: at,
                segments: names,
            });
        }
        let Some(i) = self.index.find(&self.recipients, &key) else {
            let i = u32::try_from(self.recipients.len())
                .map_err(|_| "too many recipients".to_owned())?;
            self.recipients.push(Recipient {
                address: row.address,
                name: row.name,
                segments: row.segments,
                topics: row.topics.map(Vec::into_boxed_slice),
                last: place,
            });
            self.index.insert(&self.recipients, &key, i);
            return Ok(());
        };
        let r = &mut self.recipients[usize::try_from(i).expect("u32 fits usize")];
        if r.last.file == place.file {
            return Err(format!(
                "`{}` is listed twice in this file (already on line {})",
                row.address, r.last.line
            ));
        }
        self.merged += 1;
        r.segments |= row.segments;
        r.name = r.name.take().or(row.name);
        if let Some(mut more) = row.topics {
            more.extend(r.topics.as_deref().unwrap_or_default());
            more.sort_unstable();
            more.dedup();
            r.topics = Some(more.into_boxed_slice());
        }
        r.last = place;
        Ok(())
    }
}
