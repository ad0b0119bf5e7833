//! Lists of addresses to suppress (`broadsheet suppress import FILE`): one address a line,
//! or a CSV file with an `email` column (an ESP's export; `Email Address` is accepted too)
//! and optionally a `reason` column, as `suppress export` writes. Every bad line is
//! reported with its line and column; nothing is returned unless all are good.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;

use super::csv::{self, Record};
use super::encoding;
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
    let (email, reason) = header.unwrap_or((0, None));
    let mut diags = Diagnostics::default();
    let mut listed = Vec::new();
    for record in records {
        match record.and_then(|r| row(&shown, &r, email, reason)) {
            Ok(entry) => listed.push(entry),
            Err(d) => diags.push(*d),
        }
    }
    if diags.has_errors() {
        return Err(diags.into());
    }
    Ok(listed)
}

/// The positions of the address and reason columns when `first` is a CSV header.
fn columns(first: &Record<'_>) -> Option<(usize, Option<usize>)> {
    let names: Vec<String> = first
        .fields
        .iter()
        .map(|(_, f)| f.trim().to_ascii_lowercase())
        .collect();
    let email = names
        .iter()
        .position(|n| EMAIL_COLUMNS.contains(&n.as_str()))?;
    Some((email, names.iter().position(|n| n == "reason")))
}

fn row(
    path: &str,
    record: &Record<'_>,
    email: usize,
    reason: Option<usize>,
) -> Result<Listed, Box<Diagnostic>> {
    let at = |i: usize| {
        let (offset, value) = record.field(i);
        record.locate(path, offset, value.chars().count())
    };
    let (_, text) = record.field(email);
    let address = Address::parse(text)
        .map_err(|why| Box::new(Diagnostic::error(format!("`{text}` {why}")).at(at(email))))?;
    let reason = match reason.map(|i| (i, record.field(i).1)) {
        None | Some((_, "")) => None,
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
