//! Lists of addresses to suppress (`broadsheet suppress import FILE`): one address a line,
//! or a CSV file with an `email` column (an ESP's export; `Email Address` is accepted too)
//! and optionally a `reason` column, as `suppress export` writes. A known tool's export
//! without a `reason` column is read by its own statuses, as `[[imports]] from` reads it:
//! Mailchimp's cleaned export is bounced addresses, and an export that holds readers who
//! never left (Mailchimp's subscribed export, Substack's whole list) is refused, since
//! suppressing it would stop mail to them. Every bad line is reported with its line and
//! column; nothing is returned unless all are good.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;

use super::csv::{self, Record};
use super::encoding;
use super::load::tools::{Status, Tool, recognise};
use super::{Address, Reason};
use crate::diag::{Diagnostic, Diagnostics, display_path};

/// The header names taken as the address column, compared case-insensitively.
const EMAIL_COLUMNS: [&str; 3] = ["email", "email address", "e-mail"];

/// An address from the list, with the reason its row gave, if any.
pub(crate) type Listed = (Address, Option<Reason>);

/// Reads the list at `path`.
pub(crate) fn read(path: &Path) -> anyhow::Result<Vec<Listed>> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(encoding::utf8_reader)
        .and_then(|mut reader| reader.read_to_string(&mut text))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let shown = display_path(path);
    let mut records = csv::records(&shown, &text).peekable();
    let header = match records.peek() {
        Some(Ok(first)) => columns(first),
        _ => None,
    };
    if header.is_some() {
        records.next();
    }
    let header = header.unwrap_or_default();
    let file_status = header.tool.and_then(|tool| {
        let name = path.file_name()?.to_string_lossy();
        tool.file_status(&name)
    });
    let mut diags = Diagnostics::default();
    let mut listed = Vec::new();
    let mut staying = Staying::default();
    for record in records {
        let read = record.and_then(|r| {
            let entry = entry(&shown, &r, &header, file_status.as_ref())?;
            Ok((r.line, entry))
        });
        match read {
            Ok((_, Some(entry))) => listed.push(entry),
            Ok((line, None)) => staying.add(line),
            Err(d) => diags.push(*d),
        }
    }
    if let Some(d) = header.tool.and_then(|tool| staying.error(&shown, tool)) {
        diags.push(d);
    }
    if diags.has_errors() {
        return Err(diags.into());
    }
    Ok(listed)
}

/// What a CSV header says: where the address and the reason are, and the tool whose
/// export the file is, when it says who left without a `reason` column.
#[derive(Default)]
struct Header {
    email: usize,
    reason: Option<usize>,
    tool: Option<Tool>,
    names: Vec<String>,
}

impl Header {
    /// The status the file's tool gives the row, if the file is a tool's export.
    fn status(&self, record: &Record<'_>) -> Option<Status> {
        let cell = |name: &str| {
            let i = self
                .names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(name))?;
            Some(record.field(i).1)
        };
        Some(self.tool?.status(&cell))
    }
}

/// The rows of a tool's export whose readers did not leave.
#[derive(Default)]
struct Staying {
    count: usize,
    first: Option<usize>,
}

impl Staying {
    fn add(&mut self, line: usize) {
        self.count += 1;
        self.first.get_or_insert(line);
    }

    /// The error for a tool's export with such rows, if it has any.
    fn error(&self, path: &str, tool: Tool) -> Option<Diagnostic> {
        let first = self.first?;
        let (rows, are) = if self.count == 1 {
            ("1 row".to_owned(), "is not a reader")
        } else {
            (format!("{} rows", self.count), "are not readers")
        };
        let d = Diagnostic::error(format!(
            "{path}: {rows} of the {} export {are} who left (the first on line {first}); \
             suppress import takes only readers who unsubscribed, bounced or complained",
            tool.label(),
        ))
        .note(format!(
            "import the export in recipients.toml, `[[imports]]` with `from = \"{}\"`: \
             those who left are suppressed there, and the others stay readers",
            tool.name()
        ));
        Some(d)
    }
}

/// The header when `first` is a CSV header with an address column.
fn columns(first: &Record<'_>) -> Option<Header> {
    let names: Vec<String> = first
        .fields
        .iter()
        .map(|(_, f)| f.trim().to_owned())
        .collect();
    let found: Vec<&str> = names.iter().map(String::as_str).collect();
    let reason = names.iter().position(|n| n.eq_ignore_ascii_case("reason"));
    // A `reason` column says why for each row, whatever tool wrote the rest.
    let tool = recognise(&found).filter(|tool| {
        reason.is_none()
            && (tool.status_columns().is_empty()
                || tool
                    .status_columns()
                    .iter()
                    .any(|c| found.iter().any(|n| n.eq_ignore_ascii_case(c))))
    });
    let email_names = EMAIL_COLUMNS
        .iter()
        .chain(tool.map_or(&[][..], Tool::email));
    let email = email_names
        .filter_map(|e| names.iter().position(|n| n.eq_ignore_ascii_case(e)))
        .next()?;
    Some(Header {
        email,
        reason,
        tool,
        names,
    })
}

/// A status the export's tool does not write, at its row.
fn unknown_status(
    path: &str,
    record: &Record<'_>,
    header: &Header,
    value: &str,
) -> Box<Diagnostic> {
    let tool = header.tool.map_or("the tool", Tool::label);
    let value = if value.is_empty() {
        "an empty status".to_owned()
    } else {
        format!("`{value}`")
    };
    Box::new(
        Diagnostic::error(format!("{value} is not a status a {tool} export writes"))
            .at(record.locate(path, 0, record.text.chars().count())),
    )
}

/// What the row gives: its address to suppress, or `None` for a reader of a tool's export
/// who did not leave. `file_status` is what every row of the file is, where the tool's
/// name for the file says it.
fn entry(
    path: &str,
    record: &Record<'_>,
    header: &Header,
    file_status: Option<&Status>,
) -> Result<Option<Listed>, Box<Diagnostic>> {
    match file_status.cloned().or_else(|| header.status(record)) {
        None => row(path, record, header, None).map(Some),
        Some(Status::Suppressed { reason, .. }) => {
            row(path, record, header, Some(reason)).map(Some)
        }
        Some(Status::Unknown(value)) => Err(unknown_status(path, record, header, &value)),
        Some(Status::Subscribed { .. } | Status::Skipped(_)) => Ok(None),
    }
}

/// The row's address, with its own reason where the file has a `reason` column, else the
/// reason its export gives it (`exported`), else none (the command's).
fn row(
    path: &str,
    record: &Record<'_>,
    header: &Header,
    exported: Option<Reason>,
) -> Result<Listed, Box<Diagnostic>> {
    let (email, reason) = (header.email, header.reason);
    let at = |i: usize| {
        let (offset, value) = record.field(i);
        record.locate(path, offset, value.chars().count())
    };
    let (_, text) = record.field(email);
    let address = Address::parse(text)
        .map_err(|why| Box::new(Diagnostic::error(format!("`{text}` {why}")).at(at(email))))?;
    let reason = match reason.map(|i| (i, record.field(i).1)) {
        None => exported,
        Some((_, "")) => None,
        Some((i, text)) => Some(Reason::parse(text).ok_or_else(|| {
            Box::new(
                Diagnostic::error(format!("unknown reason `{text}`"))
                    .at(at(i))
                    .note("expected `unsubscribed`, `bounced` or `complained`"),
            )
        })?),
    };
    Ok((address, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> anyhow::Result<Vec<Listed>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn reads_plain_lists_and_esp_exports() {
        let plain = list("ana@example.org\n\nBo@Example.ORG\r\n").unwrap();
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].0.as_str(), "Bo@example.org");
        let export = list(
            "First Name,Email Address,reason\nAna,ana@example.org,bounced\nBo,bo@example.org,\n",
        )
        .unwrap();
        assert_eq!(export[0].1, Some(Reason::Bounced));
        assert_eq!(
            (export[1].0.as_str(), export[1].1),
            ("bo@example.org", None)
        );
    }

    #[test]
    fn reports_every_bad_line() {
        let err = list("email\nnot-an-address\nok@example.org\nalso bad\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("list.csv:2:1") && text.contains("list.csv:4:1"),
            "{text}"
        );
    }
}
