//! `[[imports]]`: a CSV file of recipients (header `email,name,greeting,segments,topics`,
//! lists separated by `;`, topics by `,` too, or another tool's columns mapped with
//! `columns`) read into the loader row by row, each problem at its line and column. Lines
//! end with LF, CRLF, or (old Mac exports) CR alone.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use toml::Spanned;

use super::columns::{Columns, Wanted};
use super::toml_file::ImportDef;
use super::{Field, Loader, Place};
use crate::audience::csv::{self, Record};
use crate::diag::{Diagnostic, Location, SourceFile, display_path};

/// What reading one import needs besides the loader.
struct Import<'a> {
    source: &'a SourceFile,
    path: String,
    file: u16,
    defaults: Vec<String>,
    wanted: Wanted,
    columns: Option<Columns>,
    /// Whether the file ends its lines with CR alone, as the header line shows.
    cr_only: bool,
}

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
        let Some(wanted) = Wanted::new(source, def.columns.as_ref(), &mut self.diags) else {
            return;
        };
        let shown = display_path(&path);
        let mut import = Import {
            source,
            file: self.add_file(shown.clone()),
            path: shown,
            defaults,
            wanted,
            columns: None,
            cr_only: false,
        };
        if let Err(e) = self.rows(BufReader::new(file), &mut import) {
            let d = Diagnostic::error(format!("cannot read {}: {e}", import.path));
            self.diags.push(d.at_span(source, def.path.span()));
        }
    }

    /// Reads the file line by line, so that a large list never sits in memory as text.
    fn rows(&mut self, mut reader: impl BufRead, import: &mut Import<'_>) -> std::io::Result<()> {
        let mut buffer = Vec::new();
        let mut line = 0;
        loop {
            buffer.clear();
            if reader.read_until(b'\n', &mut buffer)? == 0 {
                return Ok(());
            }
            let bytes = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            if line == 0 {
                import.cr_only = bytes.contains(&b'\r');
            }
            // A CR-only file arrives as one line; a CR inside a line of any other file is
            // a character of its field (and an error there).
            let lines: Vec<&[u8]> = if import.cr_only {
                bytes.split(|&b| b == b'\r').collect()
            } else {
                vec![bytes]
            };
            for bytes in lines {
                line += 1;
                if !self.csv_line(import, line, bytes) {
                    return Ok(());
                }
            }
        }
    }

    /// Reads one line: the header or a row. False when the rest cannot be read.
    fn csv_line(&mut self, import: &mut Import<'_>, line: usize, bytes: &[u8]) -> bool {
        let bytes = if line == 1 {
            bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
        } else {
            bytes
        };
        let path = import.path.as_str();
        let Ok(text) = std::str::from_utf8(bytes) else {
            let at = Location {
                path: path.to_owned(),
                line,
                column: 1,
                line_text: String::from_utf8_lossy(bytes).into_owned(),
                width: 1,
            };
            self.diags.push(
                Diagnostic::error("this line is not UTF-8 text")
                    .at(at)
                    .note("save the CSV file as UTF-8"),
            );
            return true;
        };
        let record = match csv::record(path, line, text) {
            None => return true,
            Some(Err(d)) => {
                self.diags.push(*d);
                // Without a header no row can be read.
                return import.columns.is_some();
            }
            Some(Ok(record)) => record,
        };
        match &import.columns {
            Some(columns) => self.csv_row(import, columns, &record),
            None => {
                import.columns =
                    import
                        .wanted
                        .locate(import.source, path, &record, &mut self.diags);
                return import.columns.is_some();
            }
        }
        true
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
            let d = Diagnostic::error(self.unknown_segment(name.get_ref()));
            self.diags.push(
                d.at_span(source, name.span())
                    .note("the import's rows were not read"),
            );
            known = false;
        }
        known.then(|| names.iter().map(|n| n.get_ref().clone()).collect())
    }

    fn csv_row(&mut self, import: &Import<'_>, columns: &Columns, record: &Record<'_>) {
        let path = import.path.as_str();
        if let Some((at, extra)) = record.fields.get(columns.width) {
            self.diags.push(
                Diagnostic::error(format!(
                    "this row has {} fields but the header has {}",
                    record.fields.len(),
                    columns.width
                ))
                .at(record.locate(path, *at, extra.chars().count()))
                .note("quote a field that holds a comma: `\"Lima, Ana\"`"),
            );
            return;
        }
        let field = |c: usize| columns.value(record, c);
        let (_, email) = field(0);
        let name = field(1).1;
        let greeting = field(2).1;
        let list = |text: &str| -> Vec<String> {
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut segments = import.defaults.clone();
        segments.extend(list(&field(3).1));
        // The cell is one topic value, a list by the rule of `audience::topic`.
        let topics = Some(field(4).1).filter(|_| !columns.fields[4].is_empty());
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
        let topics: Option<[&str; 1]> = topics.as_deref().map(|cell| [cell]);
        let line = u32::try_from(record.line).unwrap_or(u32::MAX);
        self.row(
            &email,
            [name.as_ref(), greeting.as_ref()].map(|v| Some(v).filter(|v| !v.is_empty())),
            &segments,
            topics.as_ref().map(|t| &t[..]),
            Place {
                file: import.file,
                line,
            },
            &located,
        );
    }
}
