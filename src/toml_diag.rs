//! TOML in user files, shared by volumes, settings, layouts and recipients: text in, typed
//! values and located diagnostics out, with every mistake of a file reported in one run.
//!
//! serde stops at the first error, so [`Document::typed`] repairs the parsed tree and tries
//! again: a value the type rejects is taken out, a missing key is filled with a stand-in,
//! until the type accepts what is left. A key taken out is not reported again as missing,
//! and values a syntax error touched are taken out before the first try, so one mistake
//! gives one diagnostic. The hints for the slips an editor makes live in [`hints`].

mod hints;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeInteger, DeString, DeTable, DeValue, ValueDeserializer};

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
                let excused = self.lost_to_syntax(&at)
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
    /// Whether a syntax error lies among the keys of the table starting at `table`, where
    /// it may have swallowed a key that then seems missing.
    fn lost_to_syntax(&self, table: &Range<usize>) -> bool {
        let end = self
            .starts
            .iter()
            .find(|&&s| s > table.start)
            .copied()
            .unwrap_or(usize::MAX);
        self.poisoned
            .iter()
            .any(|p| p.start >= table.start && p.start < end)
    }
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

/// Whether `inner` lies within `outer`.
fn within(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Whether the error at `at` is about `value` or something in it. A table's own span is
/// only its header, so its contents are asked one by one.
fn holds(value: &Spanned<DeValue<'_>>, at: &Range<usize>) -> bool {
    within(&value.span(), at)
        || match value.get_ref() {
            DeValue::Table(table) => table.iter().any(|(k, v)| k.span() == *at || holds(v, at)),
            DeValue::Array(items) => items.iter().any(|v| holds(v, at)),
            _ => false,
        }
}

/// Takes out of `value` the innermost entry that the error at `at` is about (a key whose
/// own span is `at`, or a value holding `at`), remembering each key taken out of a table
/// with that table's span. False when no entry holds `at`.
fn take_out(
    value: &mut Spanned<DeValue<'_>>,
    at: &Range<usize>,
    taken: &mut Vec<(Range<usize>, String)>,
) -> bool {
    let span = value.span();
    match value.get_mut() {
        DeValue::Table(table) => {
            let Some((key, is_key)) = table
                .iter()
                .find(|(k, v)| k.span() == *at || holds(v, at))
                .map(|(k, _)| (k.get_ref().to_string(), k.span() == *at))
            else {
                return false;
            };
            let inner = table.get_mut(key.as_str()).expect("the key was just found");
            if !is_key && take_out(inner, at, taken) {
                return true;
            }
            table.remove(key.as_str());
            taken.push((span, key));
            true
        }
        DeValue::Array(items) => {
            let Some(i) = items.iter().position(|v| holds(v, at)) else {
                return false;
            };
            if take_out(&mut items.as_mut()[i], at, taken) {
                return true;
            }
            let mut kept = DeArray::new();
            for (j, item) in items.iter().enumerate() {
                if j != i {
                    kept.push(item.clone());
                }
            }
            *items = kept;
            true
        }
        _ => false,
    }
}

/// Puts into the table spanned by `table_span` a stand-in for the missing `key`: the first
/// kind of value that `T` accepts there. The stand-in's span is empty, at the table's
/// start, so that what is reported about it can be told apart. False when none fits.
fn stand_in<T: for<'de> Deserialize<'de>>(
    value: &mut Spanned<DeValue<'_>>,
    table_span: &Range<usize>,
    key: &str,
) -> bool {
    let at = table_span.start..table_span.start;
    let date = toml::value::Datetime {
        date: Some(toml::value::Date {
            year: 1970,
            month: 1,
            day: 1,
        }),
        time: None,
        offset: None,
    };
    let kinds = [
        DeValue::String(DeString::Borrowed("")),
        DeValue::Integer(DeInteger::default()),
        DeValue::Datetime(date),
        DeValue::Boolean(false),
        DeValue::Array(DeArray::new()),
        DeValue::Table(DeTable::new()),
    ];
    for kind in kinds {
        let mut trial = value.clone();
        let Some(table) = table_at(&mut trial, table_span) else {
            return false;
        };
        let name = Spanned::new(at.clone(), DeString::Owned(key.to_owned()));
        table.insert(name, Spanned::new(at.clone(), kind));
        let fits = match T::deserialize(ValueDeserializer::from(trial.clone())) {
            Ok(_) => true,
            Err(e) => e.span() != Some(at.clone()) || missing_field(e.message()).is_some(),
        };
        if fits {
            *value = trial;
            return true;
        }
    }
    false
}

/// The innermost table in `value` whose span is `span`.
fn table_at<'v, 'i>(
    value: &'v mut Spanned<DeValue<'i>>,
    span: &Range<usize>,
) -> Option<&'v mut DeTable<'i>> {
    let deeper = match value.get_ref() {
        DeValue::Table(table) => table.values().any(|v| has_table_at(v, span)),
        _ => false,
    };
    if value.span() == *span && !deeper {
        return match value.get_mut() {
            DeValue::Table(table) => Some(table),
            _ => None,
        };
    }
    let children: Vec<&'v mut Spanned<DeValue<'i>>> = match value.get_mut() {
        DeValue::Table(table) => table.iter_mut().map(|(_, v)| v).collect(),
        DeValue::Array(items) => items.iter_mut().collect(),
        _ => return None,
    };
    children
        .into_iter()
        .find(|v| has_table_at(v, span))
        .and_then(|v| table_at(v, span))
}

/// Whether [`table_at`] finds a table in `value` (asked first, since a mutable search
/// cannot fall back to the parent once it has looked into a child).
fn has_table_at(value: &Spanned<DeValue<'_>>, span: &Range<usize>) -> bool {
    match value.get_ref() {
        DeValue::Table(table) => {
            value.span() == *span || table.values().any(|v| has_table_at(v, span))
        }
        DeValue::Array(items) => items.iter().any(|v| has_table_at(v, span)),
        _ => false,
    }
}

/// Turns a TOML parse or deserialization error into a diagnostic in `source`, with a hint
/// when the mistake is one editors make.
pub(crate) fn toml_diagnostic(source: &SourceFile, error: &toml::de::Error) -> Diagnostic {
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
