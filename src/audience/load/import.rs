//! `[[imports]]`: a CSV file of recipients (header `email,name,segments,topics`, lists
//! separated by `;`) read into the loader row by row, each problem at its line and column.

use std::path::Path;

use toml::Spanned;

use super::{Field, ImportDef, Loader, Place};
use crate::audience::csv::{self, Record};
use crate::diag::{Diagnostic, Location, SourceFile, display_path};

/// The columns an import may have; `email` is required.
const COLUMNS: [&str; 4] = ["email", "name", "segments", "topics"];

impl Loader<'_> {
    pub(super) fn import(&mut self, root: &Path, source: &SourceFile, def: &ImportDef) {
        let path = root.join(def.path.get_ref());
        let text = match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                let d = Diagnostic::error(format!(
                    "{} is not UTF-8 text (from line {line})",
                    display_path(&path)
                ));
                self.diags.push(
                    d.at_span(source, def.path.span())
                        .note("save the CSV file as UTF-8"),
                );
                return;
            }
            Err(e) => {
                let d = Diagnostic::error(format!("cannot read {}: {e}", display_path(&path)));
                self.diags.push(d.at_span(source, def.path.span()));
                return;
            }
        };
        let Some(defaults) = self.import_defaults(source, &def.segments) else {
            return;
        };
        let shown = display_path(&path);
        let file = self.add_file(shown.clone());
        let mut records = csv::records(&shown, &text);
        let Some(columns) = records
            .next()
            .and_then(|header| self.header(&shown, header))
        else {
            return;
        };
        for record in records {
            match record {
                Ok(record) => self.csv_row(&shown, file, &record, &columns, &defaults),
                Err(d) => self.diags.push(*d),
            }
        }
    }

    /// The segments every row of an import joins, or `None` after reporting unknown names
    /// once (rather than on every row).
    fn import_defaults(
        &mut self,
        source: &SourceFile,
        names: &[Spanned<String>],
    ) -> Option<Vec<String>> {
        let mut known = true;
        for name in names
            .iter()
            .filter(|n| !self.segment_bits.contains_key(n.get_ref()))
        {
            let d = Diagnostic::error(format!("unknown segment `{}`", name.get_ref()));
            self.diags.push(
                d.at_span(source, name.span())
                    .note("the import's rows were not read"),
            );
            known = false;
        }
        known.then(|| names.iter().map(|n| n.get_ref().clone()).collect())
    }

    /// The position of each known column in the header, or `None` after reporting why not.
    fn header(
        &mut self,
        path: &str,
        header: Result<Record<'_>, Box<Diagnostic>>,
    ) -> Option<[Option<usize>; 4]> {
        let header = header.map_err(|d| self.diags.push(*d)).ok()?;
        let mut columns = [None; 4];
        for (i, (at, name)) in header.fields.iter().enumerate() {
            let place = header.locate(path, *at, name.chars().count());
            match COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                Some(c) if columns[c].is_none() => columns[c] = Some(i),
                Some(_) => self
                    .diags
                    .push(Diagnostic::error(format!("column `{name}` appears twice")).at(place)),
                None => self.diags.push(
                    Diagnostic::error(format!("unknown column `{name}`"))
                        .at(place)
                        .note("the header row names the columns: email,name,segments,topics"),
                ),
            }
        }
        if columns[0].is_none() {
            let d = Diagnostic::error("the first line must be a header with an `email` column");
            self.diags.push(
                d.at(header.locate(path, 0, header.text.chars().count()))
                    .note("e.g. `email,name,segments,topics`"),
            );
            return None;
        }
        Some(columns)
    }

    fn csv_row(
        &mut self,
        path: &str,
        file: u16,
        record: &Record<'_>,
        columns: &[Option<usize>; 4],
        defaults: &[String],
    ) {
        let field = |c: usize| columns[c].map_or((record.text.len(), ""), |i| record.field(i));
        let (_, email) = field(0);
        let name = Some(field(1).1).filter(|n| !n.is_empty());
        let list = |text: &'_ str| -> Vec<String> {
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut segments = defaults.to_vec();
        segments.extend(list(field(2).1));
        let topics = columns[3]
            .map(|_| list(field(3).1))
            .filter(|t| !t.is_empty());
        let located = |f: Field| -> Location {
            let c = match f {
                Field::Email | Field::Row => 0,
                Field::Name => 1,
                Field::Segment(_) => 2,
                Field::Topic(_) => 3,
            };
            let (at, value) = field(c);
            record.locate(path, at, value.chars().count())
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let topics: Option<Vec<&str>> = topics
            .as_ref()
            .map(|t| t.iter().map(String::as_str).collect());
        let line = u32::try_from(record.line).unwrap_or(u32::MAX);
        self.row(
            email,
            name,
            &segments,
            topics.as_deref(),
            Place { file, line },
            &located,
        );
    }
}
