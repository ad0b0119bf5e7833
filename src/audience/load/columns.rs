//! Which CSV columns an import reads: by default the header's own `email,name,greeting,
//! segments,topics`; with `from = "mailchimp"` (or another tool) the columns that tool's
//! export has; with `columns = { email = "Email Address", name = ["First Name", "Last Name"] }`
//! the names the mapping gives, over either. With a tool or a mapping the file's other
//! columns are ignored. Several columns for one field are joined (a space for names, `;` for
//! lists, `,` for tags).

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::hints;
use super::tools::Tool;
use crate::audience::csv::Record;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The fields of a recipient, in the order of the default header, then the tags that an
/// import's `tags` table turns into topics and segments.
pub(super) const FIELDS: [&str; 6] = ["email", "name", "greeting", "segments", "topics", "tags"];

/// The index of the tags in [`FIELDS`].
pub(super) const TAGS: usize = 5;

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
    tags: Option<Spanned<toml::Value>>,
}

/// Where one field's columns come from.
enum Source {
    /// The field's own name, read when the header has it.
    Own,
    /// Named in `columns`: each must be in the header (with its span in recipients.toml).
    Mapped(Vec<(String, Range<usize>)>),
    /// A tool's choices, in order: the first whose columns the header all has.
    Preset(Vec<&'static [&'static str]>),
    /// Not read.
    Nowhere,
}

/// The header names each field is read from.
pub(super) struct Wanted {
    fields: [Source; 6],
    /// The tool whose export the file is, if any.
    tool: Option<Tool>,
    /// Whether other columns are ignored (a tool or a mapping was given).
    lenient: bool,
}

/// The positions of each field's columns in a CSV header, and how many columns it has.
pub(super) struct Columns {
    /// Per field, the indices of its columns.
    pub(super) fields: [Vec<usize>; 6],
    /// How many fields the header has: a row with more is an error.
    pub(super) width: usize,
    /// The header's names, for the columns a tool's status is read from.
    names: Vec<String>,
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
                let separator = match c {
                    0..=2 => " ",
                    TAGS => ",",
                    _ => ";",
                };
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

    /// The cell of the column called `name` (compared without regard to case), if the
    /// header has one.
    pub(super) fn cell<'r>(&self, record: &'r Record<'_>, name: &str) -> Option<&'r str> {
        let i = self
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name.trim()))?;
        Some(record.field(i).1)
    }

    /// Whether the header has a column called `name`.
    pub(super) fn has(&self, name: &str) -> bool {
        self.names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name.trim()))
    }
}

impl Wanted {
    /// Resolves an import's tool and mapping, reporting mapped names that are not text;
    /// `None` when the mapping cannot be used.
    pub(super) fn new(
        source: &SourceFile,
        map: Option<&ColumnMap>,
        tool: Option<Tool>,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let given = map.map_or([None; 6], |m| {
            [
                &m.email,
                &m.name,
                &m.greeting,
                &m.segments,
                &m.topics,
                &m.tags,
            ]
            .map(Option::as_ref)
        });
        let mut ok = true;
        let fields = std::array::from_fn(|i| match (given[i], tool) {
            (Some(value), _) => {
                let names = header_names(value.get_ref());
                if names.is_empty() || (i == 0 && names.len() > 1) {
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
                Source::Mapped(names.into_iter().map(|n| (n, value.span())).collect())
            }
            (None, Some(tool)) => preset(tool, i),
            (None, None) => Source::Own,
        });
        ok.then_some(Self {
            fields,
            tool,
            lenient: tool.is_some() || map.is_some(),
        })
    }

    /// Finds the wanted columns in `header`; reports unknown and missing ones (a mapped
    /// name at its place in the recipients file) and returns `None` when the rows cannot
    /// be read. `status` is the column the import's `status` reads, known in any header.
    pub(super) fn locate(
        &self,
        source: &SourceFile,
        path: &str,
        header: &Record<'_>,
        status: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Option<Columns> {
        if let Some(d) = hints::address_as_header(path, header) {
            diags.push(d);
            return None;
        }
        let found: Vec<&str> = header.fields.iter().map(|(_, f)| f.as_ref()).collect();
        // Header names are read trimmed, and so are the names recipients.toml gives.
        let position = |name: &str| {
            found
                .iter()
                .position(|f| f.eq_ignore_ascii_case(name.trim()))
        };
        let before = diags.counts().0;
        if !self.lenient {
            let lower = status.map(str::to_ascii_lowercase);
            let known: Vec<&str> = FIELDS.iter().copied().chain(lower.as_deref()).collect();
            hints::unknown_columns(path, header, &known, &found, diags);
        }
        let mut fields: [Vec<usize>; 6] = Default::default();
        for (i, source_of) in self.fields.iter().enumerate() {
            match source_of {
                Source::Own => fields[i].extend(position(FIELDS[i])),
                Source::Nowhere => {}
                Source::Preset(choices) => {
                    let chosen = choices.iter().find_map(|names| {
                        names
                            .iter()
                            .map(|n| position(n))
                            .collect::<Option<Vec<_>>>()
                    });
                    fields[i] = chosen.unwrap_or_default();
                }
                Source::Mapped(names) => {
                    for (name, span) in names {
                        match position(name) {
                            Some(at) => fields[i].push(at),
                            None => {
                                diags.push(hints::missing_mapped(source, path, name, span, &found))
                            }
                        }
                    }
                }
            }
        }
        // A column mapped to a field (`topics = "tags"`) is read as that field only, never
        // also as the tags the `tags` table maps.
        let taken: Vec<usize> = fields[..TAGS].iter().flatten().copied().collect();
        fields[TAGS].retain(|c| !taken.contains(c));
        if fields[0].is_empty() && !matches!(self.fields[0], Source::Mapped(_)) {
            diags.push(hints::no_email(path, header, &found, self.tool));
        }
        (diags.counts().0 == before).then(|| Columns {
            fields,
            width: header.fields.len(),
            names: found.iter().map(|f| (*f).to_owned()).collect(),
        })
    }
}

/// Where a tool's export keeps field `i`.
fn preset(tool: Tool, i: usize) -> Source {
    match i {
        0 => Source::Preset(tool.email().iter().map(std::slice::from_ref).collect()),
        1 => Source::Preset(tool.name_columns().to_vec()),
        2 => Source::Preset(vec![tool.greeting_column()]),
        TAGS => Source::Preset(vec![tool.tags_column()]),
        _ => Source::Nowhere,
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
