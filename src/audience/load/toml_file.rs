//! The recipients file itself: `[segments.NAME]` tables, `[[recipients]]` rows and
//! `[[imports]]`, each deserialized on its own so that one bad row does not hide the next.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::columns::ColumnMap;
use super::tags::TagEntries;
use super::{Field, Loader, MAX_SEGMENTS, Place, Segment};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile};
use crate::toml_diag::Document;

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
    greeting: Option<Spanned<String>>,
    segments: Vec<Spanned<String>>,
    topics: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportDef {
    pub(super) path: Spanned<String>,
    #[serde(default)]
    pub(super) segments: Vec<Spanned<String>>,
    /// Which CSV columns hold each field, for another tool's export.
    pub(super) columns: Option<ColumnMap>,
    /// The tool whose export the file is (`mailchimp`, `substack`, ...).
    pub(super) from: Option<Spanned<String>>,
    /// What each of the export's tags gives: topics and segments.
    #[serde(default)]
    pub(super) tags: TagEntries,
    /// The segments that rows the export marks as paying join.
    #[serde(default)]
    pub(super) paid_segments: Vec<Spanned<String>>,
    /// What the rows' statuses are, where no tool's export says (`status.rs`).
    pub(super) status: Option<Spanned<toml::Value>>,
}

impl Loader<'_> {
    pub(super) fn toml_file(&mut self, root: &Path, source: &SourceFile) {
        let doc = Document::parse(source, &mut self.diags);
        let file = self.add_file(source.path.clone());
        let table = doc.root().clone();
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
            self.segment_defs(source, file, &doc, segments);
        }
        for item in array(source, &table, "recipients", &mut self.diags) {
            if let Some(def) = doc.exact::<RecipientDef>(source, item.clone(), &mut self.diags) {
                self.toml_row(source, file, &def);
            }
        }
        for item in array(source, &table, "imports", &mut self.diags) {
            if let Some(def) = doc.exact::<ImportDef>(source, item.clone(), &mut self.diags) {
                self.import(root, source, &def);
            }
        }
    }

    fn segment_defs<'i>(
        &mut self,
        source: &SourceFile,
        file: u16,
        doc: &Document<'i>,
        value: &Spanned<DeValue<'i>>,
    ) {
        let DeValue::Table(defs) = value.get_ref() else {
            let d = Diagnostic::error("`segments` must be a table of `[segments.NAME]` tables");
            self.diags.push(d.at_span(source, value.span()));
            return;
        };
        // The table is ordered by name; segments keep the order they are written in.
        let mut defs: Vec<_> = defs.iter().collect();
        defs.sort_by_key(|(name, _)| name.span().start);
        for (name, def) in defs {
            let Some(def) = doc.exact::<SegmentDef>(source, def.clone(), &mut self.diags) else {
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
                let topics_any = def
                    .topics_any
                    .map(|any| self.segment_topics(source, file, &any));
                self.segments.push(Segment {
                    name: name_text,
                    description: def.description.into_inner(),
                    topics_any,
                });
            }
        }
    }

    /// The topics of a segment's `topics_any`, read and checked as a recipient's are.
    fn segment_topics(
        &mut self,
        source: &SourceFile,
        file: u16,
        any: &[Spanned<String>],
    ) -> Vec<String> {
        let values: Vec<&str> = any.iter().map(|t| t.get_ref().as_str()).collect();
        let locate = |i: usize| any.get(i).map(|t| source.locate(t.span()));
        let ids = self.topic_ids(&values, file, &locate);
        ids.into_iter()
            .map(|id| self.topics[usize::from(id)].to_string())
            .collect()
    }

    fn toml_row(&mut self, source: &SourceFile, file: u16, def: &RecipientDef) {
        let segments: Vec<&str> = def.segments.iter().map(|s| s.get_ref().as_str()).collect();
        let topics: Option<Vec<&str>> = def
            .topics
            .as_ref()
            .map(|t| t.iter().map(|s| s.get_ref().as_str()).collect());
        let located = |field: Field| -> Location {
            let span = match field {
                Field::Email | Field::Row => def.email.span(),
                Field::Name => def.name.as_ref().map_or(def.email.span(), Spanned::span),
                Field::Greeting => def
                    .greeting
                    .as_ref()
                    .map_or(def.email.span(), Spanned::span),
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
            [text(&def.name), text(&def.greeting)],
            &segments,
            topics.as_deref(),
            Place { file, line },
            &located,
        );
    }
}

fn text(field: &Option<Spanned<String>>) -> Option<&str> {
    field.as_ref().map(|f| f.get_ref().as_str())
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
