//! Repairs of a parsed TOML tree between deserialization attempts (see
//! [`super::Document::typed`]): taking out the entry an error is about, and putting in a
//! stand-in for a missing key.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeInteger, DeString, DeTable, DeValue, ValueDeserializer};

use super::missing_field;

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
pub(super) fn take_out(
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
pub(super) fn stand_in<T: for<'de> Deserialize<'de>>(
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
