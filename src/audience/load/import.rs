//! `[[imports]]`: a CSV file of recipients (header `email,name,greeting,segments,topics`, lists
//! separated by `;`) read into the loader row by row, each problem at its line and column.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use toml::Spanned;

use super::toml_file::ImportDef;
use super::{Field, Loader, Place};
use crate::audience::csv::{self, Record};
use crate::diag::{Diagnostic, Location, SourceFile, display_path};

/// The columns an import may have; `email` is required.
const COLUMNS: [&str; 5] = ["email", "name", "greeting", "segments", "topics"];

impl Loader<'_> {
    pub(super) fn import(&mut self, root: &Path, source: &SourceFile, def: &ImportDef) {
        let path = root.join(def.path.get_ref());
        let file = match File::open(&path) {
            Ok(file) => file,
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
        let index = self.add_file(shown.clone());
        if let Err(e) = self.rows(BufReader::new(file), &shown, index, &defaults) {
            let d = Diagnostic::error(format!("cannot read {shown}: {e}"));
            self.diags.push(d.at_span(source, def.path.span()));
        }
    }

    /// Reads the file line by line, so that a large list never sits in memory as text.
    fn rows(
        &mut self,
        mut reader: impl BufRead,
        path: &str,
        file: u16,
        defaults: &[String],
    ) -> std::io::Result<()> {
        let mut buffer = Vec::new();
        let mut columns = None;
        for line in 1.. {
            buffer.clear();
            if reader.read_until(b'\n', &mut buffer)? == 0 {
                return Ok(());
            }
            let bytes = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            let bytes = if line == 1 {
                bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
            } else {
                bytes
            };
            let Ok(text) = std::str::from_utf8(bytes) else {
                let shown = String::from_utf8_lossy(bytes);
                let at = Location {
                    path: path.to_owned(),
                    line,
                    column: 1,
                    line_text: shown.into_owned(),
                    width: 1,
                };
                self.diags.push(
                    Diagnostic::error("this line is not UTF-8 text")
                        .at(at)
                        .note("save the CSV file as UTF-8"),
                );
                continue;
            };
            let record = match csv::record(path, line, text) {
                None => continue,
                Some(Err(d)) => {
                    self.diags.push(*d);
                    if columns.is_none() {
                        // Without a header no row can be read.
                        return Ok(());
                    }
                    continue;
                }
                Some(Ok(record)) => record,
            };
            match &columns {
                Some(columns) => self.csv_row(path, file, &record, columns, defaults),
                None => match self.header(path, &record) {
                    Some(found) => columns = Some(found),
                    None => return Ok(()),
                },
            }
        }
        Ok(())
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
    fn header(&mut self, path: &str, header: &Record<'_>) -> Option<[Option<usize>; 5]> {
        let mut columns = [None; 5];
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
                        .note(
                            "the header row names the columns: email,name,greeting,segments,topics",
                        ),
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
        columns: &[Option<usize>; 5],
        defaults: &[String],
    ) {
        let field = |c: usize| columns[c].map_or((record.text.len(), ""), |i| record.field(i));
        let (_, email) = field(0);
        let text = |c: usize| Some(field(c).1).filter(|n| !n.is_empty());
        let list = |text: &'_ str| -> Vec<String> {
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut segments = defaults.to_vec();
        segments.extend(list(field(3).1));
        let topics = columns[4]
            .map(|_| list(field(4).1))
            .filter(|t| !t.is_empty());
        let located = |f: Field| -> Location {
            let c = match f {
                Field::Email | Field::Row => 0,
                Field::Name => 1,
                Field::Greeting => 2,
                Field::Segment(_) => 3,
                Field::Topic(_) => 4,
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
            [text(1), text(2)],
            &segments,
            topics.as_deref(),
            Place { file, line },
            &located,
        );
    }
}
