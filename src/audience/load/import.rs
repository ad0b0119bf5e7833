//! `[[imports]]`: a CSV file of recipients (header `email,name,greeting,segments,topics`,
//! lists separated by `;`, topics by `,` too), another tool's export read as it comes (`from = "mailchimp"`, its tags
//! mapped through `tags`), or columns mapped with `columns`, read into the loader row by row,
//! each problem at its line and column and repeated problems grouped. Lines end with LF,
//! CRLF, or (old Mac exports) CR alone.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::BufRead;
use std::path::Path;

use toml::Spanned;

use super::Loader;
use super::columns::{Columns, Wanted};
use super::grouped::Grouped;
use super::hints;
use super::status::{StatusRule, status_like};
use super::tags::{TagTable, Unmapped};
use super::toml_file::ImportDef;
use super::tools::{Status, Tool, recognise};
use crate::audience::{csv, encoding};
use crate::clock::Timestamp;
use crate::date::Date;
use crate::diag::{Diagnostic, Location, SourceFile, display_path};

/// What reading one import needs besides the loader.
pub(super) struct Import<'a> {
    pub(super) source: &'a SourceFile,
    pub(super) path: String,
    pub(super) file: u16,
    pub(super) defaults: Vec<String>,
    /// Segments the rows the export marks as paying join.
    pub(super) paid: Vec<String>,
    pub(super) wanted: Wanted,
    pub(super) columns: Option<Columns>,
    /// The byte between fields, as the header line shows.
    pub(super) separator: u8,
    pub(super) tool: Option<Tool>,
    /// What every row is, where the tool's name for the file says it (see
    /// [`Tool::file_status`]).
    pub(super) file_status: Option<Status>,
    /// What the rows' statuses are, where `status` says so.
    pub(super) status: Option<StatusRule>,
    pub(super) tags: TagTable,
    pub(super) unmapped: Unmapped,
    /// Rows left out (not confirmed, deleted), by the export's word for why.
    pub(super) skipped: BTreeMap<&'static str, usize>,
    pub(super) grouped: Grouped,
    /// The file's modification day: when an export does not date a suppression.
    pub(super) modified: Date,
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
        let Some(mut import) = self.prepare(source, def, display_path(&path), modified_day(&file))
        else {
            return;
        };
        let read = encoding::utf8_reader(file).and_then(|text| self.rows(text, &mut import));
        if let Err(e) = read {
            let d = Diagnostic::error(format!("cannot read {}: {e}", import.path));
            self.diags.push(d.at_span(source, def.path.span()));
        }
        self.finish_import(import, def);
    }

    /// The import's settings checked (its tool, segments, tag table and columns), or
    /// `None` after reporting what is wrong: then no row is read.
    fn prepare<'s>(
        &mut self,
        source: &'s SourceFile,
        def: &ImportDef,
        shown: String,
        modified: Date,
    ) -> Option<Import<'s>> {
        let tool = self.import_tool(source, def);
        let defaults = self.known_segments(source, &def.segments);
        let paid = self.known_segments(source, &def.paid_segments);
        let mut diags = std::mem::take(&mut self.diags);
        let unknown = |name: &str| {
            (!self.segment_bits.contains_key(name)).then(|| self.unknown_segment(name))
        };
        let tags = TagTable::new(source, &def.tags, &unknown, &mut diags);
        self.diags = diags;
        let columns = def.columns.as_ref();
        let wanted = Wanted::new(source, columns, tool.ok().flatten(), &mut self.diags);
        let status = def
            .status
            .as_ref()
            .map(|value| StatusRule::new(source, value, &mut self.diags).ok_or(()))
            .transpose();
        let (Ok(tool), Some(defaults), Some(paid), Some(tags), Some(wanted), Ok(status)) =
            (tool, defaults, paid, tags, wanted, status)
        else {
            return None;
        };
        let file = self.add_file(shown.clone());
        if let Some(tool) = tool {
            self.file_tools.push((file, tool.label()));
        }
        Some(Import {
            source,
            file,
            path: shown,
            defaults,
            paid,
            wanted,
            columns: None,
            separator: b',',
            tool,
            file_status: tool.and_then(|t| {
                let name = Path::new(def.path.get_ref()).file_name()?;
                t.file_status(&name.to_string_lossy())
            }),
            status,
            tags,
            unmapped: Unmapped::default(),
            skipped: BTreeMap::new(),
            grouped: Grouped::default(),
            modified,
        })
    }

    /// Reports what the rows found as a whole: their grouped problems, the tags no entry
    /// maps, and the rows left out.
    fn finish_import(&mut self, import: Import<'_>, def: &ImportDef) {
        let at = import.source.locate(def.path.span());
        import.grouped.finish(&import.path, &mut self.diags);
        if let Some(warning) = import.unmapped.warning(&import.path) {
            self.diags.push(warning.at(at.clone()));
        }
        let left_out: usize = import.skipped.values().sum();
        if left_out > 0 {
            let why: Vec<String> = import
                .skipped
                .iter()
                .map(|(w, n)| format!("{w}: {n}"))
                .collect();
            let file = import
                .tool
                .map_or_else(|| "file".to_owned(), |t| format!("{} export", t.label()));
            self.diags.push(
                Diagnostic::warning(format!(
                    "{}: {left_out} row{} of the {file} {} not subscribers and left out ({})",
                    import.path,
                    if left_out == 1 { "" } else { "s" },
                    if left_out == 1 { "is" } else { "are" },
                    why.join(", ")
                ))
                .at(at),
            );
        }
    }

    /// The tool `from` names (`Ok(None)` without one), or `Err` after reporting an unknown
    /// name and a `paid_segments` the tool's export cannot fill.
    fn import_tool(&mut self, source: &SourceFile, def: &ImportDef) -> Result<Option<Tool>, ()> {
        let Some(from) = &def.from else {
            if let Some(first) = def.paid_segments.first() {
                let d = Diagnostic::error(
                    "`paid_segments` needs `from`: only a tool's export says who pays",
                );
                self.diags.push(d.at_span(source, first.span()));
                return Err(());
            }
            return Ok(None);
        };
        let Some(tool) = Tool::parse(from.get_ref()) else {
            let names: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
            let mut d = Diagnostic::error(format!("unknown tool `{}`", from.get_ref()))
                .at_span(source, from.span());
            for note in crate::diag::unknown_name_notes(from.get_ref(), &names) {
                d = d.note(note);
            }
            self.diags.push(d);
            return Err(());
        };
        if let (false, Some(first)) = (tool.knows_payment(), def.paid_segments.first()) {
            let d = Diagnostic::error(format!("a {} export does not say who pays", tool.label()));
            self.diags.push(d.at_span(source, first.span()));
            return Err(());
        }
        Ok(Some(tool))
    }

    /// Reads the file line by line, so that a large list never sits in memory as text. A
    /// quoted field left open joins the next lines to its record (an export's notes) when
    /// its quote closes within [`csv::SPAN`] lines into a record that reads, with the
    /// header's number of fields; else the line is a record of its own, whose open quote
    /// is an error there, and the next line is read as the next record.
    fn rows(&mut self, reader: impl BufRead, import: &mut Import<'_>) -> std::io::Result<()> {
        let mut lines = Lines {
            reader,
            ahead: VecDeque::new(),
            read: 0,
            cr_only: None,
        };
        while let Some((first, text)) = lines.next()? {
            if first == 1 {
                import.separator = csv::separator(&text);
            }
            let text = if csv::open_quote(&text, import.separator) {
                self.joined(import, first, text, &mut lines)?
            } else {
                text
            };
            if !self.csv_line(import, first, &text) {
                break;
            }
        }
        Ok(())
    }

    /// The record of line `first` whose `text` leaves a quote open, joined with the lines
    /// that close it when that reads; else `text` alone, the lines looked at put back.
    fn joined(
        &self,
        import: &Import<'_>,
        first: usize,
        text: Vec<u8>,
        lines: &mut Lines<impl BufRead>,
    ) -> std::io::Result<Vec<u8>> {
        let mut joined = text.clone();
        let mut taken = Vec::new();
        while taken.len() + 1 < csv::SPAN && csv::open_quote(&joined, import.separator) {
            let Some(line) = lines.next()? else { break };
            joined.push(b'\n');
            joined.extend_from_slice(&line.1);
            taken.push(line);
        }
        let width = import.columns.as_ref().map(|c| c.width);
        let reads = !csv::open_quote(&joined, import.separator)
            && std::str::from_utf8(&joined).is_ok_and(|t| {
                matches!(
                    csv::record(&import.path, first, t, import.separator),
                    Some(Ok(r)) if width.is_none_or(|w| r.fields.len() == w)
                )
            });
        if reads {
            return Ok(joined);
        }
        for line in taken.into_iter().rev() {
            lines.ahead.push_front(line);
        }
        Ok(text)
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
            let d = Diagnostic::error("this line is not UTF-8 text")
                .at(at)
                .note("save the CSV file as UTF-8");
            // Without a header no row can be read.
            if import.columns.is_none() {
                self.diags.push(d);
                return false;
            }
            import.grouped.add(d, []);
            return true;
        };
        let record = match csv::record(path, line, text, import.separator) {
            None => return true,
            Some(Err(d)) => {
                // Without a header no row can be read.
                if import.columns.is_none() {
                    self.diags.push(*d);
                    return false;
                }
                import.grouped.add(*d, []);
                return true;
            }
            Some(Ok(record)) => record,
        };
        match import.columns.take() {
            Some(columns) => {
                self.csv_row(import, &columns, &record);
                import.columns = Some(columns);
            }
            None => {
                let header = record.into_header();
                let status_column = import.status.as_ref().and_then(StatusRule::column);
                import.columns = import
                    .wanted
                    .locate(import.source, path, &header, status_column, &mut self.diags)
                    .filter(|columns| status_readable(import, columns, &header, &mut self.diags));
                return import.columns.is_some();
            }
        }
        true
    }

    /// The segments `names` lists, or `None` after reporting unknown names once (rather
    /// than on every row).
    fn known_segments(
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
}

/// The lines of a file, numbered from 1, without their line endings; lines looked at
/// ahead can be put back. A file whose first line holds a CR ends its lines with CR alone
/// (old Mac exports); a CR inside a line of any other file is a character of its field
/// (and an error there).
struct Lines<R> {
    reader: R,
    ahead: VecDeque<(usize, Vec<u8>)>,
    read: usize,
    cr_only: Option<bool>,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> std::io::Result<Option<(usize, Vec<u8>)>> {
        if let Some(line) = self.ahead.pop_front() {
            return Ok(Some(line));
        }
        let mut buffer = Vec::new();
        if self.reader.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(None);
        }
        let bytes = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let cr_only = *self.cr_only.get_or_insert_with(|| bytes.contains(&b'\r'));
        let pieces: Vec<&[u8]> = if cr_only {
            bytes.split(|&b| b == b'\r').collect()
        } else {
            vec![bytes]
        };
        for piece in pieces {
            self.read += 1;
            self.ahead.push_back((self.read, piece.to_vec()));
        }
        Ok(self.ahead.pop_front())
    }
}

/// Whether the header lets each row say whether its reader left; reports why not. A
/// tool's export needs one of its status columns, `status`'s column must be there, and a
/// file without either must not have a column that might say it unread.
fn status_readable(
    import: &Import<'_>,
    columns: &Columns,
    header: &csv::Record<'_>,
    diags: &mut crate::diag::Diagnostics,
) -> bool {
    let path = import.path.as_str();
    let whole = || header.locate(path, 0, header.text.chars().count());
    let found: Vec<&str> = header.fields.iter().map(|(_, f)| f.as_ref()).collect();
    let diagnostic = match (&import.status, import.tool) {
        (Some(StatusRule::Column { column, span, .. }), _) => {
            if columns.has(column) {
                return true;
            }
            hints::missing_mapped(import.source, path, column, span, &found)
        }
        (Some(StatusRule::Every(_)), _) => return true,
        (None, Some(tool)) => {
            let wanted = tool.status_columns();
            if wanted.is_empty() || wanted.iter().any(|c| columns.has(c)) {
                return true;
            }
            let names: Vec<String> = wanted.iter().map(|n| format!("`{n}`")).collect();
            let d = Diagnostic::error(format!(
                "{path} has no status column of a {} export ({}): who left cannot be told",
                tool.label(),
                names.join(" or ")
            ))
            .at(whole());
            // Another tool's export, or a column that may say who left, is read as such:
            // saying every row is a subscriber would import those who left.
            match (
                recognise(&found).filter(|t| *t != tool),
                status_like(&found),
            ) {
                (Some(other), _) => d.note(format!(
                    "it looks like a {} export: `from = \"{}\"`",
                    other.label(),
                    other.name()
                )),
                (None, Some(name)) => d.note(read_column(name)),
                (None, None) => d.note(
                    "export the file again with its status, or, if every row of it is a \
                     subscriber, say so: `status = \"subscribed\"` (or `\"unsubscribed\"`, \
                     `\"bounced\"`, `\"complained\"` for a file of those only)",
                ),
            }
        }
        (None, None) => {
            let Some(name) = status_like(&found) else {
                return true;
            };
            if let Some(tool) = recognise(&found) {
                Diagnostic::error(format!(
                    "{path} is a {} export, whose status only `from` reads",
                    tool.label()
                ))
                .at(whole())
                .note(format!("add `from = \"{}\"` to the import", tool.name()))
            } else {
                let at = header
                    .fields
                    .iter()
                    .find(|(_, f)| f.as_ref() == name)
                    .map_or(0, |(at, _)| *at);
                Diagnostic::error(format!(
                    "`{name}` may say which readers left, and the import does not read it"
                ))
                .at(header.locate(path, at, name.chars().count()))
                .note(read_column(name))
            }
        }
    };
    diags.push(diagnostic);
    false
}

/// How to read the column `name`, which may say who left.
fn read_column(name: &str) -> String {
    format!(
        "say what its values mean: `status = {{ column = \"{name}\", subscribed = [...], \
         unsubscribed = [...], bounced = [...], complained = [...], left_out = [...] }}` \
         (`\"*\"` for any other value), or `status = \"subscribed\"` if every row is a \
         subscriber"
    )
}

/// The day `file` was last modified (today when the system cannot say): when an export
/// does not date a suppression, the export is at least that old.
fn modified_day(file: &File) -> Date {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .map_or_else(|| Timestamp::now().date(), |secs| Timestamp(secs).date())
}
