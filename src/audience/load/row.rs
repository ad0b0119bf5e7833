//! One row of an import: its fields read through the import's columns, its status when the
//! file is a tool's export (a paying reader joins `paid_segments`, an unsubscribed or
//! bounced one is suppressed, one never confirmed is left out), its tags turned into topics
//! and segments, then checked and merged like any row, its problems handed to the import's
//! groups.

use super::columns::{Columns, TAGS};
use super::import::Import;
use super::status::StatusRule;
use super::tags;
use super::tools::Status;
use super::{Field, Loader, Place};
use crate::audience::csv::Record;
use crate::audience::store::Source;
use crate::audience::{Address, Reason, Suppression};
use crate::date::Date;
use crate::diag::{Diagnostic, Location};

/// A row's segments and topics: the import's and its columns', those its tags map to, and
/// `paid_segments` for a paying reader.
struct Lists {
    segments: Vec<String>,
    topics: Vec<String>,
}

impl Loader<'_> {
    pub(super) fn csv_row(
        &mut self,
        import: &mut Import<'_>,
        columns: &Columns,
        record: &Record<'_>,
    ) {
        let Some(status) = row_status(import, columns, record) else {
            return;
        };
        let lists = lists(import, columns, record, &status);
        let path = import.path.as_str();
        let field = |c: usize| columns.value(record, c);
        // Lists from the tags are placed at the tags column.
        let column_of = |f: Field| match f {
            Field::Email | Field::Row => 0,
            Field::Name => 1,
            Field::Greeting => 2,
            Field::Segment(_) if columns.fields[3].is_empty() => TAGS,
            Field::Topic(_) if columns.fields[4].is_empty() => TAGS,
            Field::Segment(_) => 3,
            Field::Topic(_) => 4,
        };
        let located = |f: Field| -> Location {
            let (at, value) = field(column_of(f));
            record.locate(path, at, value.chars().count())
        };
        let (_, email) = field(0);
        let (name, greeting) = (field(1).1, field(2).1);
        let segments: Vec<&str> = lists.segments.iter().map(String::as_str).collect();
        let topics: Vec<&str> = lists.topics.iter().map(String::as_str).collect();
        let line = u32::try_from(record.line).unwrap_or(u32::MAX);
        if self.trace.is_some() {
            self.origin = import.tool.map(|t| origin(t.label(), &status));
        }
        let outer = std::mem::take(&mut self.diags);
        self.row(
            &email,
            [name.as_ref(), greeting.as_ref()].map(|v| Some(v).filter(|v| !v.is_empty())),
            &segments,
            Some(topics.as_slice()).filter(|t| !t.is_empty()),
            Place {
                file: import.file,
                line,
            },
            &located,
        );
        let found = std::mem::replace(&mut self.diags, outer);
        let clean = !found.has_errors();
        for d in found {
            import.grouped.add(d, cells(record));
        }
        if let (true, Status::Suppressed { reason, why, since }) = (clean, status) {
            let since = since
                .and_then(|c| columns.cell(record, c))
                .and_then(|v| Date::parse_iso(v.get(..10).unwrap_or(v)))
                .unwrap_or(import.modified);
            let said = import.tool.filter(|_| import.status.is_none()).map_or_else(
                || "`status`".to_owned(),
                |t| format!("{} export", t.label()),
            );
            let reference = format!("{said}: {why}, {path}:{}", record.line);
            self.suppress(&email, reason, since, reference);
        }
    }

    /// Suppresses `email` as a tool's export asks (a row that checked out has a good one).
    fn suppress(&mut self, email: &str, reason: Reason, since: Date, reference: String) {
        if let Ok(address) = Address::parse(email) {
            self.file_suppressions.push(Suppression {
                address,
                reason,
                since,
                source: Source::Import,
                reference: Some(reference),
                detail: None,
            });
        }
    }
}

/// What the row says of its reader, or `None` for a row not to read: one with a value past
/// the header's fields, one the export leaves out (counted), one whose status is unknown (an
/// error: it might be someone who asked for no mail).
fn row_status(import: &mut Import<'_>, columns: &Columns, record: &Record<'_>) -> Option<Status> {
    let path = import.path.as_str();
    // Empty fields past the header's (a spreadsheet's trailing separators) hold nothing.
    let extra = record.fields.get(columns.width..).unwrap_or_default();
    if let Some((at, extra)) = extra.iter().find(|(_, f)| !f.is_empty()) {
        let d = Diagnostic::error(format!(
            "this row has {} fields but the header has {}",
            record.fields.len(),
            columns.width
        ))
        .at(record.locate(path, *at, extra.chars().count()))
        .note(format!(
            "quote a field that holds a `{0}`: `\"Lima{0} Ana\"`",
            char::from(import.separator)
        ));
        import.grouped.add(d, cells(record));
        return None;
    }
    let cell = |name: &str| columns.cell(record, name);
    let status = match (&import.status, import.tool) {
        (Some(rule), _) => rule.status(cell),
        (None, Some(tool)) => match &import.file_status {
            Some(status) => status.clone(),
            None => tool.status(&cell),
        },
        (None, None) => Status::Subscribed { paid: false },
    };
    match status {
        Status::Skipped(why) => {
            *import.skipped.entry(why).or_default() += 1;
            None
        }
        Status::Unknown(value) => {
            let value = if value.is_empty() {
                "an empty status".to_owned()
            } else {
                format!("`{value}`")
            };
            let message = match (
                import.status.as_ref().and_then(StatusRule::column),
                import.tool,
            ) {
                (Some(column), _) => {
                    format!("{value} in `{column}` is not a value that `status` lists")
                }
                (_, Some(tool)) => {
                    format!("{value} is not a status a {} export writes", tool.label())
                }
                _ => format!("{value} is not a status"),
            };
            let d = Diagnostic::error(message)
                .at(record.locate(path, 0, record.text.chars().count()))
                .note("the row is not read: it might be someone who asked for no mail");
            import.grouped.add(d, cells(record));
            None
        }
        status => Some(status),
    }
}

/// The row's segments and topics; the tags no entry maps are counted.
fn lists(
    import: &mut Import<'_>,
    columns: &Columns,
    record: &Record<'_>,
    status: &Status,
) -> Lists {
    let split = |c: usize| -> Vec<String> {
        columns
            .value(record, c)
            .1
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut segments = import.defaults.clone();
    segments.extend(split(3));
    if matches!(status, Status::Subscribed { paid: true }) {
        segments.extend(import.paid.iter().cloned());
    }
    let mut topics = split(4);
    for tag in tags::split(&columns.value(record, TAGS).1) {
        match import.tags.get(&tag) {
            Some(target) => {
                topics.extend(target.topics.iter().cloned());
                segments.extend(target.segments.iter().cloned());
            }
            None => import.unmapped.add(&tag),
        }
    }
    Lists { segments, topics }
}

/// The row's cells, whose values a problem's message may quote.
fn cells<'r>(record: &'r Record<'_>) -> impl Iterator<Item = &'r str> {
    record.fields.iter().map(|(_, f)| f.as_ref())
}

/// Where a traced row came from, for `recipients --explain`: the tool, and what its export
/// says when the reader is not a plain subscriber.
fn origin(tool: &str, status: &Status) -> String {
    match status {
        Status::Subscribed { paid: true } => format!("{tool} export, paid"),
        Status::Suppressed { why, .. } => format!("{tool} export, {why}"),
        _ => format!("{tool} export"),
    }
}
