//! Reading `recipients.toml` and its CSV imports into an [`Audience`]: each row checked on
//! its own so that every problem is reported with its file and line, rows merged by address.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod import;

use super::RECIPIENTS_FILE;
use super::index::Index;
use super::{Address, Audience, MAX_SEGMENTS, Place, Recipient, Segment, Sighting, Suppressions};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile};
use crate::volume::{toml_diagnostic, typed};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentDef {
    description: Spanned<String>,
    topics_any: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientDef {
    email: Spanned<String>,
    name: Option<Spanned<String>>,
    segments: Vec<Spanned<String>>,
    topics: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportDef {
    path: Spanned<String>,
    #[serde(default)]
    segments: Vec<Spanned<String>>,
}

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
        }
    }

    pub(super) fn run(
        mut self,
        root: &Path,
        suppressions: Suppressions,
    ) -> anyhow::Result<Audience> {
        let path = root.join(RECIPIENTS_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (start from recipients.example.toml)",
                path.display()
            )
        })?;
        let source = SourceFile::new(&path, text);
        self.toml_file(root, &source);
        if self.diags.has_errors() {
            self.diags.sort_by_location();
            return Err(self.diags.into());
        }
        Ok(Audience {
            segments: self.segments,
            recipients: self.recipients,
            index: self.index,
            topics: self.topics,
            files: self.files,
            suppressions,
            sightings: self.sightings,
        })
    }

    fn toml_file(&mut self, root: &Path, source: &SourceFile) {
        let (table, errors) = DeTable::parse_recoverable(&source.text);
        if !errors.is_empty() {
            self.diags
                .extend(errors.iter().map(|e| toml_diagnostic(source, e)));
            return;
        }
        let file = self.add_file(source.path.clone());
        let table = table.into_inner();
        for (key, _) in table
            .iter()
            .filter(|(k, _)| !["segments", "recipients", "imports"].contains(&k.get_ref().as_ref()))
        {
            self.diags.push(
                Diagnostic::error(format!(
                    "unknown key `{}`, expected `segments`, `recipients` or `imports`",
                    key.get_ref()
                ))
                .at_span(source, key.span()),
            );
        }
        if let Some(segments) = table.get("segments") {
            self.segment_defs(source, segments);
        }
        for item in array(source, &table, "recipients", &mut self.diags) {
            if let Some(def) = typed::<RecipientDef>(source, item.clone(), &mut self.diags) {
                self.toml_row(source, file, &def);
            }
        }
        for item in array(source, &table, "imports", &mut self.diags) {
            if let Some(def) = typed::<ImportDef>(source, item.clone(), &mut self.diags) {
                self.import(root, source, &def);
            }
        }
    }

    fn add_file(&mut self, path: String) -> u16 {
        self.files.push(path);
        u16::try_from(self.files.len() - 1).unwrap_or(u16::MAX)
    }

    fn segment_defs(&mut self, source: &SourceFile, value: &Spanned<DeValue<'_>>) {
        let DeValue::Table(defs) = value.get_ref() else {
            let d = Diagnostic::error("`segments` must be a table of `[segments.NAME]` tables");
            self.diags.push(d.at_span(source, value.span()));
            return;
        };
        // The table is ordered by name; segments keep the order they are written in.
        let mut defs: Vec<_> = defs.iter().collect();
        defs.sort_by_key(|(name, _)| name.span().start);
        for (name, def) in defs {
            let Some(def) = typed::<SegmentDef>(source, def.clone(), &mut self.diags) else {
                continue;
            };
            let name_text = name.get_ref().to_string();
            let valid = !name_text.is_empty()
                && name_text.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                let d = Diagnostic::error(format!(
                    "segment name `{name_text}` must be lowercase letters, digits, `-` and `_`"
                ));
                self.diags.push(d.at_span(source, name.span()));
            } else if self.segments.len() == MAX_SEGMENTS {
                let d = Diagnostic::error(format!("more than {MAX_SEGMENTS} segments"));
                self.diags.push(d.at_span(source, name.span()));
            } else {
                self.segment_bits
                    .insert(name_text.clone(), 1 << self.segments.len());
                self.segments.push(Segment {
                    name: name_text,
                    description: def.description.into_inner(),
                    topics_any: def
                        .topics_any
                        .map(|t| t.into_iter().map(Spanned::into_inner).collect()),
                });
            }
        }
    }

    fn toml_row(&mut self, source: &SourceFile, file: u16, def: &RecipientDef) {
        let segments: Vec<&str> = def.segments.iter().map(|s| s.get_ref().as_str()).collect();
        let topics: Option<Vec<&str>> = def
            .topics
            .as_ref()
            .map(|t| t.iter().map(|s| s.get_ref().as_str()).collect());
        let name = def.name.as_ref().map(|n| n.get_ref().as_str());
        let located = |field: Field| -> Location {
            let span = match field {
                Field::Email | Field::Row => def.email.span(),
                Field::Name => def.name.as_ref().map_or(def.email.span(), Spanned::span),
                Field::Segment(i) => def.segments.get(i).map_or(def.email.span(), Spanned::span),
                Field::Topic(i) => def
                    .topics
                    .as_ref()
                    .and_then(|t| t.get(i))
                    .map_or(def.email.span(), Spanned::span),
            };
            source.locate(span)
        };
        let line = u32::try_from(located(Field::Row).line).unwrap_or(u32::MAX);
        self.row(
            def.email.get_ref(),
            name,
            &segments,
            topics.as_deref(),
            Place { file, line },
            &located,
        );
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

fn array<'s, 'i>(
    source: &SourceFile,
    table: &'s DeTable<'i>,
    key: &str,
    diags: &mut Diagnostics,
) -> &'s [Spanned<DeValue<'i>>] {
    match table.get(key).map(|v| (v, v.get_ref())) {
        None => &[],
        Some((_, DeValue::Array(items))) => items.as_ref(),
        Some((v, _)) => {
            let d = Diagnostic::error(format!(
                "`{key}` must be an array of tables: write `[[{key}]]`"
            ));
            diags.push(d.at_span(source, v.span()));
            &[]
        }
    }
}
