//! Help for a CSV header an import cannot read: columns broadsheet does not know (one
//! error naming the tool when the header is a known tool's export), a mapped column the
//! header lacks (with the header name that contains it: `Email` → `Email Address`), a
//! missing email column, and a file without a header, each with the fix that would read
//! this very file.

use std::ops::Range;

use super::tools::{Tool, recognise};
use crate::audience::csv::Record;
use crate::diag::{Diagnostic, Diagnostics, SourceFile, closest, unknown_name_notes};

/// Without a tool or a mapping, every column must be one of the `fields` of a recipient,
/// once. A header that is a known tool's export is one error that says how to read it.
pub(super) fn unknown_columns(
    path: &str,
    header: &Record<'_>,
    fields: &[&str],
    found: &[&str],
    diags: &mut Diagnostics,
) {
    let unknown: Vec<&(usize, std::borrow::Cow<'_, str>)> = header
        .fields
        .iter()
        .filter(|(_, name)| !fields.contains(&name.to_ascii_lowercase().as_str()))
        .collect();
    if let (Some(tool), Some((at, first))) = (recognise(found), unknown.first()) {
        let names: Vec<String> = unknown.iter().map(|(_, n)| format!("`{n}`")).collect();
        diags.push(
            Diagnostic::error(format!(
                "{path} is a {} export, whose columns {} are not broadsheet's",
                tool.label(),
                names.join(", ")
            ))
            .at(header.locate(path, *at, first.chars().count()))
            .note(format!(
                "add `from = \"{}\"` to the import: the file is then read as it comes",
                tool.name()
            )),
        );
        return;
    }
    let mut seen: Vec<String> = Vec::new();
    for (at, name) in &header.fields {
        let place = header.locate(path, *at, name.chars().count());
        let lower = name.to_ascii_lowercase();
        if !fields.contains(&lower.as_str()) {
            let mut d = Diagnostic::error(format!("unknown column `{name}`")).at(place);
            for note in unknown_name_notes(name, fields) {
                d = d.note(note);
            }
            diags.push(d.note(map_hint(found)));
        } else if seen.contains(&lower) {
            diags.push(Diagnostic::error(format!("column `{name}` appears twice")).at(place));
        } else {
            seen.push(lower);
        }
    }
}

/// How to read another tool's export: `from` with the tools' names, or a mapping of this
/// header's own email column.
fn map_hint(found: &[&str]) -> String {
    let tools: Vec<String> = Tool::ALL
        .iter()
        .map(|t| format!("\"{}\"", t.name()))
        .collect();
    let email = found
        .iter()
        .find(|f| f.to_ascii_lowercase().contains("mail"))
        .map_or("Email Address", |f| f);
    format!(
        "to read another tool's export, name the tool (`from = {}`) or map its columns: `columns = {{ email = \"{email}\" }}`",
        tools.join(" | ")
    )
}

/// A column named in `columns` that the header lacks, at its place in recipients.toml.
pub(super) fn missing_mapped(
    source: &SourceFile,
    path: &str,
    name: &str,
    span: &Range<usize>,
    found: &[&str],
) -> Diagnostic {
    let mut d =
        Diagnostic::error(format!("{path} has no column `{name}`")).at_span(source, span.clone());
    for note in column_notes(name, found) {
        d = d.note(note);
    }
    d
}

/// "Did you mean" for a header name: the closest by spelling, else the one header name
/// that holds it as a word (`Email` in `Email Address`); then the names when few.
fn column_notes(name: &str, found: &[&str]) -> Vec<String> {
    let mut notes = unknown_name_notes(name, found);
    if closest(name, found).is_none() {
        let wanted = name.trim().to_lowercase();
        let holding: Vec<&&str> = found
            .iter()
            .filter(|f| {
                let f = f.to_lowercase();
                wanted.chars().count() >= 3
                    && (f.split(|c: char| !c.is_alphanumeric()).any(|w| w == wanted)
                        || wanted.split(|c: char| !c.is_alphanumeric()).any(|w| w == f))
            })
            .collect();
        if let [one] = holding.as_slice() {
            notes.insert(0, format!("did you mean `{one}`?"));
        }
    }
    notes
}

/// A first line that holds an address is a list without a header (one address a line, as
/// Mailman's `list_members` prints it): the fix is a header line, never a mapping of the
/// address, which would read that reader as the header and leave them out.
pub(super) fn address_as_header(path: &str, header: &Record<'_>) -> Option<Diagnostic> {
    let (at, address) = header.fields.iter().find(|(_, f)| f.contains('@'))?;
    Some(
        Diagnostic::error(format!(
            "the first line of {path} is an address, not a header naming the columns"
        ))
        .at(header.locate(path, *at, address.chars().count()))
        .note(
            "add a first line `email` above the addresses (`email,name` when each line also \
             has a name after a comma)",
        ),
    )
}

/// No email column: say which tool's columns were looked for, or how to name the column.
pub(super) fn no_email(
    path: &str,
    header: &Record<'_>,
    found: &[&str],
    tool: Option<Tool>,
) -> Diagnostic {
    let at = header.locate(path, 0, header.text.chars().count());
    match tool {
        Some(tool) => {
            let names: Vec<String> = tool.email().iter().map(|n| format!("`{n}`")).collect();
            let mut d = Diagnostic::error(format!(
                "{path} has no email column of a {} export ({})",
                tool.label(),
                names.join(" or ")
            ))
            .at(at);
            if let Some(other) = recognise(found).filter(|t| *t != tool) {
                d = d.note(format!(
                    "it looks like a {} export: `from = \"{}\"`",
                    other.label(),
                    other.name()
                ));
            }
            d.note(map_hint(found))
        }
        None => Diagnostic::error("the first line must be a header with an `email` column")
            .at(at)
            .note(format!(
                "e.g. `email,name,segments,topics`; {}",
                map_hint(found)
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapped_name_finds_the_header_name_holding_it() {
        let found = ["Email Address", "First Name", "Last Name", "TAGS"];
        assert_eq!(
            column_notes("Email", &found)[0],
            "did you mean `Email Address`?"
        );
        assert_eq!(
            column_notes("E-mail Address", &found)[0],
            "did you mean `Email Address`?"
        );
        assert_eq!(
            column_notes("Name", &found)[0],
            "known here: `Email Address`, `First Name`, `Last Name`, `TAGS`"
        );
    }

    #[test]
    fn the_hint_maps_this_headers_own_email_column() {
        assert!(map_hint(&["E-Mail", "Vorname"]).ends_with("`columns = { email = \"E-Mail\" }`"));
        assert!(map_hint(&["address"]).contains("from = \"mailchimp\" | \"substack\""));
    }
}
