//! Which CSV columns an import reads: by default the header's own `email,name,greeting,
//! segments,topics`; with `columns = { email = "Email Address", name = ["First Name", "Last Name"] }`
//! the names another tool's export uses (a Mailchimp export, say), its other columns
//! ignored. Several columns for one field are joined (a space for names, `;` for lists).

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::audience::csv::Record;
use crate::diag::{Diagnostic, Diagnostics, SourceFile, unknown_name_notes};

/// The fields of a recipient, in the order of the default header.
pub(super) const FIELDS: [&str; 5] = ["email", "name", "greeting", "segments", "topics"];

/// `columns = { ... }` of an `[[imports]]` table: for each field, one header name or a
/// list of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ColumnMap {
    email: Option<Spanned<toml::Value>>,
    name: Option<Spanned<toml::Value>>,
    greeting: Option<Spanned<toml::Value>>,
    segments: Option<Spanned<toml::Value>>,
    topics: Option<Spanned<toml::Value>>,
}

/// The header names each field is read from, with where the mapping names them.
pub(super) struct Wanted {
    /// Per field: the header names, each with its span in the recipients file (none for a
    /// default name).
    names: [Vec<(String, Option<Range<usize>>)>; 5],
    /// Whether a mapping was given, so that other columns are ignored.
    mapped: bool,
}

/// The positions of each field's columns in a CSV header, and how many columns it has.
pub(super) struct Columns {
    /// Per field, the indices of its columns.
    pub(super) fields: [Vec<usize>; 5],
    /// How many fields the header has: a row with more is an error.
    pub(super) width: usize,
}

impl Columns {
    /// The value of field `c` (an index into [`FIELDS`]) in `record`, with the byte offset
    /// of its first column: several columns are joined, empty ones left out.
    pub(super) fn value<'r>(&self, record: &'r Record<'_>, c: usize) -> (usize, Cow<'r, str>) {
        match self.fields[c].as_slice() {
            [] => (record.text.len(), Cow::Borrowed("")),
            [one] => {
                let (at, value) = record.field(*one);
                (at, Cow::Borrowed(value))
            }
            several => {
                let separator = if c <= 2 { " " } else { ";" };
                let parts: Vec<&str> = several
                    .iter()
                    .map(|&i| record.field(i).1)
                    .filter(|p| !p.is_empty())
                    .collect();
                (
                    record.field(several[0]).0,
                    Cow::Owned(parts.join(separator)),
                )
            }
        }
    }
}

impl Wanted {
    /// Resolves an import's mapping, reporting names that are not text; `None` when the
    /// mapping cannot be used.
    pub(super) fn new(
        source: &SourceFile,
        map: Option<&ColumnMap>,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let Some(map) = map else {
            return Some(Self {
                names: FIELDS.map(|f| vec![(f.to_owned(), None)]),
                mapped: false,
            });
        };
        let mut ok = true;
        let given = [
            &map.email,
            &map.name,
            &map.greeting,
            &map.segments,
            &map.topics,
        ];
        let names = std::array::from_fn(|i| match given[i] {
            None => vec![(FIELDS[i].to_owned(), None)],
            Some(value) => {
                let names = header_names(value.get_ref());
                let fits = !names.is_empty() && (i != 0 || names.len() == 1);
                if !fits {
                    ok = false;
                    let what = if i == 0 {
                        "one header name"
                    } else {
                        "a header name or a list of them"
                    };
                    diags.push(
                        Diagnostic::error(format!("`{}` takes {what}", FIELDS[i]))
                            .at_span(source, value.span()),
                    );
                }
                names.into_iter().map(|n| (n, Some(value.span()))).collect()
            }
        });
        ok.then_some(Self {
            names,
            mapped: true,
        })
    }

    /// Finds the wanted columns in `header`; reports unknown, repeated and missing ones
    /// (a mapped name at its place in the recipients file) and returns `None` when the
    /// rows cannot be read.
    pub(super) fn locate(
        &self,
        source: &SourceFile,
        path: &str,
        header: &Record<'_>,
        diags: &mut Diagnostics,
    ) -> Option<Columns> {
        let found: Vec<&str> = header.fields.iter().map(|(_, f)| f.as_ref()).collect();
        let before = diags.counts().0;
        if !self.mapped {
            self.unknown_columns(path, header, diags);
        }
        let mut fields: [Vec<usize>; 5] = Default::default();
        for (i, names) in self.names.iter().enumerate() {
            for (name, span) in names {
                match found.iter().position(|f| f.eq_ignore_ascii_case(name)) {
                    Some(at) => fields[i].push(at),
                    None => {
                        if let Some(span) = span {
                            let mut d = Diagnostic::error(format!("{path} has no column `{name}`"))
                                .at_span(source, span.clone());
                            for note in unknown_name_notes(name, &found) {
                                d = d.note(note);
                            }
                            diags.push(d);
                        }
                    }
                }
            }
        }
        if fields[0].is_empty() && !self.names[0].iter().any(|(_, s)| s.is_some()) {
            diags.push(
                Diagnostic::error("the first line must be a header with an `email` column")
                    .at(header.locate(path, 0, header.text.chars().count()))
                    .note("e.g. `email,name,segments,topics`, or map another tool's columns with `columns = { email = \"Email Address\" }` in the import"),
            );
        }
        (diags.counts().0 == before).then_some(Columns {
            fields,
            width: header.fields.len(),
        })
    }

    /// Without a mapping, every column must be one of [`FIELDS`], once.
    fn unknown_columns(&self, path: &str, header: &Record<'_>, diags: &mut Diagnostics) {
        let mut seen: Vec<String> = Vec::new();
        for (at, name) in &header.fields {
            let place = header.locate(path, *at, name.chars().count());
            let lower = name.to_ascii_lowercase();
            if !FIELDS.contains(&lower.as_str()) {
                let mut d = Diagnostic::error(format!("unknown column `{name}`")).at(place);
                for note in unknown_name_notes(name, &FIELDS) {
                    d = d.note(note);
                }
                diags.push(d.note(
                    "to read another tool's export, map its columns: `columns = { email = \"Email Address\" }`",
                ));
            } else if seen.contains(&lower) {
                diags.push(Diagnostic::error(format!("column `{name}` appears twice")).at(place));
            } else {
                seen.push(lower);
            }
        }
    }
}

/// The header names a mapping value gives: a string, or an array of strings.
fn header_names(value: &toml::Value) -> Vec<String> {
    match value {
        toml::Value::String(name) => vec![name.clone()],
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
