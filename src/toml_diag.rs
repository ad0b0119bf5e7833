//! TOML in user files, shared by volumes, settings, layouts and recipients: text in, typed
//! values and located diagnostics out, with every mistake of a file reported in one run.
//!
//! serde stops at the first error, so [`Document::typed`] repairs the parsed tree
//! ([`repair`]) and tries again: a value the type rejects is taken out, a missing key is
//! filled with a stand-in (with an empty span, which later checks skip), until the type
//! accepts what is left. One mistake gives one diagnostic: a key taken out, misspelt or
//! lost to a syntax error is not reported again as missing, and what deserialization finds
//! wrong where the parser already reported an error is taken out silently. The hints for
//! the slips an editor makes live in [`hints`].

mod hints;
mod repair;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use repair::{stand_in, take_out};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The most repairs one value gets: each takes out a bad value or fills a missing one, so a
/// table would need this many mistakes to reach it.
const MAX_REPAIRS: usize = 1000;

/// A TOML document parsed as far as its syntax allows.
pub(crate) struct Document<'i> {
    /// The top-level table, as far as the parser could read it.
    root: Spanned<DeTable<'i>>,
    /// The spans of the syntax errors: what deserialization finds wrong there is their
    /// consequence, already reported.
    poisoned: Vec<Range<usize>>,
    /// Where each table starts (its header, or its `{`), in order: a table's keys lie
    /// between its start and the next one's, which is where one can be lost to a syntax
    /// error.
    starts: Vec<usize>,
    /// The document's text, to tell a key lost to a syntax error from one never written.
    text: &'i str,
}

impl<'i> Document<'i> {
    /// Parses `source`, adding every syntax error the parser recovers from to `diags`, one
    /// per line: the rest of a line after a mistake is rarely what it seems.
    pub(crate) fn parse(source: &'i SourceFile, diags: &mut Diagnostics) -> Self {
        let (root, mut errors) = DeTable::parse_recoverable(&source.text);
        errors.sort_by_key(|e| e.span().map(|s| s.start));
        let mut poisoned = Vec::new();
        let mut last_line = None;
        for error in &errors {
            let diagnostic = toml_diagnostic(source, error);
            let line = diagnostic.location.as_ref().map(|l| l.line);
            if line.is_none() || line != last_line {
                diags.push(diagnostic);
            }
            last_line = line;
            poisoned.extend(error.span());
        }
        let mut starts = Vec::new();
        for value in root.get_ref().values() {
            table_starts(value, &mut starts);
        }
        starts.sort_unstable();
        // The whole text, never empty: an empty span marks a stand-in (see `stand_in`).
        let whole = 0..source.text.len().max(1);
        Self {
            root: Spanned::new(whole, root.into_inner()),
            poisoned,
            starts,
            text: &source.text,
        }
    }

    /// The top-level table.
    pub(crate) fn root(&self) -> &DeTable<'i> {
        self.root.get_ref()
    }

    /// The top-level table as a value, for deserializing the whole document.
    pub(crate) fn root_value(&self) -> Spanned<DeValue<'i>> {
        Spanned::new(
            self.root.span(),
            DeValue::Table(self.root.get_ref().clone()),
        )
    }

    /// Deserializes `value` (a part of this document), reporting every problem into
    /// `diags`. Returns what the type accepted once the bad values were taken out, so
    /// that later checks can run on the rest; `None` when nothing could be made of it.
    pub(crate) fn typed<T: for<'de> Deserialize<'de>>(
        &self,
        source: &SourceFile,
        value: Spanned<DeValue<'i>>,
        diags: &mut Diagnostics,
    ) -> Option<T> {
        let mut value = value;
        let mut taken: Vec<(Range<usize>, String)> = Vec::new();
        for _ in 0..MAX_REPAIRS {
            let error = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(typed) => return Some(typed),
                Err(error) => error,
            };
            let Some(at) = error.span() else {
                diags.push(toml_diagnostic(source, &error));
                return None;
            };
            if let Some(key) = missing_field(error.message()) {
                // A stand-in's own keys (empty span), and keys taken out or lost to a
                // syntax error, are consequences of a mistake already reported.
                let excused = self.lost_to_syntax(&at, key)
                    || at.is_empty()
                    || taken.contains(&(at.clone(), key.to_owned()));
                if !excused {
                    diags.push(toml_diagnostic(source, &error));
                }
                let key = key.to_owned();
                if !stand_in::<T>(&mut value, &at, &key) {
                    return None;
                }
            } else {
                if !self
                    .poisoned
                    .iter()
                    .any(|p| p.start <= at.end && at.start <= p.end)
                {
                    diags.push(toml_diagnostic(source, &error));
                }
                if !take_out(&mut value, &at, &mut taken) {
                    return None;
                }
                // `sumary` for `summary`: the missing `summary` is the same mistake.
                if let Some((field, known)) = hints::unknown_field(error.message())
                    && let Some(meant) = crate::diag::closest(field, &known)
                    && let Some((table, _)) = taken.last().cloned()
                {
                    taken.push((table, meant.to_owned()));
                }
            }
        }
        None
    }

    /// Deserializes `value` as [`Document::typed`] does, but returns it only when it had no
    /// problem at all: for callers that cannot tell a stand-in from a value.
    pub(crate) fn exact<T: for<'de> Deserialize<'de>>(
        &self,
        source: &SourceFile,
        value: Spanned<DeValue<'i>>,
        diags: &mut Diagnostics,
    ) -> Option<T> {
        let before = diags.counts().0;
        let typed = self.typed(source, value, diags)?;
        (diags.counts().0 == before).then_some(typed)
    }
}

impl Document<'_> {
    /// Whether `key` was written among the keys of the table starting at `table` and lost
    /// to a syntax error there: a key that is simply not written is missing, syntax errors
    /// or not.
    fn lost_to_syntax(&self, table: &Range<usize>, key: &str) -> bool {
        let end = self
            .starts
            .iter()
            .find(|&&s| s > table.start)
            .copied()
            .unwrap_or(self.text.len());
        let broken = self
            .poisoned
            .iter()
            .any(|p| p.start >= table.start && p.start < end);
        broken
            && self
                .text
                .get(table.start..end)
                .is_some_and(|keys| keys.lines().any(|line| writes_key(line, key)))
    }
}

/// Whether `line` assigns `key` (bare or quoted).
fn writes_key(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    let rest = line.strip_prefix(key).or_else(|| {
        line.strip_prefix(['"', '\''])
            .and_then(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix(['"', '\'']))
    });
    rest.is_some_and(|r| r.trim_start().starts_with('='))
}

/// Adds where every table in `value` starts to `starts`.
fn table_starts(value: &Spanned<DeValue<'_>>, starts: &mut Vec<usize>) {
    match value.get_ref() {
        DeValue::Table(table) => {
            starts.push(value.span().start);
            table.values().for_each(|v| table_starts(v, starts));
        }
        DeValue::Array(items) => items.iter().for_each(|v| table_starts(v, starts)),
        _ => {}
    }
}

/// The key named by serde's "missing field `KEY`" message.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split_once('`')
        .map(|(key, _)| key)
}

/// Turns a TOML parse or deserialization error into a diagnostic in `source`, with a hint
/// when the mistake is one editors make.
fn toml_diagnostic(source: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let span = error.span();
    let (message, notes) = hints::explain(source, error.message().trim_end(), span.clone());
    let mut diagnostic = Diagnostic::error(message);
    for note in notes {
        diagnostic = diagnostic.note(note);
    }
    match span {
        Some(span) => diagnostic.at_span(source, span),
        None => diagnostic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "read only to be deserialized")]
    struct Pick {
        summary: String,
        url: String,
    }

    fn messages(text: &str) -> Vec<String> {
        let source = SourceFile::new(std::path::Path::new("v.toml"), text.to_owned());
        let mut diags = Diagnostics::default();
        let doc = Document::parse(&source, &mut diags);
        doc.typed::<Pick>(&source, doc.root_value(), &mut diags);
        diags.iter().map(|d| d.message.clone()).collect()
    }

    #[test]
    fn a_key_never_written_is_missing_beside_a_syntax_error() {
        let found = messages("summary = \"a \"quoted\" word\"\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[1], "missing field `url`");
    }

    #[test]
    fn a_key_lost_to_a_syntax_error_is_not_missing_too() {
        let found = messages("summary = \"s\"\nurl = \"https://x.test/\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(writes_key("  \"url\" = 1", "url") && !writes_key("urls = 1", "url"));
    }
}
