//! A strict CSV reader for recipient imports and the suppression list: text in, one record
//! per line out, each with its line number. A field may be quoted (`"Lima, Ana"`, with `""`
//! for a quote) but may not span lines, so one bad quote cannot swallow the rest of the file
//! and every problem has a line and column.

use std::borrow::Cow;

use crate::diag::{Diagnostic, Location};

/// The fields of a line, unquoted, each with its byte offset in the line.
type Fields<'a> = Vec<(usize, Cow<'a, str>)>;

/// One non-empty line of a CSV file, split into fields.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The line's text, without its line ending.
    pub text: &'a str,
    /// The fields, unquoted, each with its byte offset in `text`.
    pub fields: Fields<'a>,
}

impl Record<'_> {
    /// A diagnostic location at byte `offset` of this line, underlining `width` characters.
    pub(crate) fn locate(&self, path: &str, offset: usize, width: usize) -> Location {
        let column = self.text.get(..offset).map_or(1, |t| t.chars().count() + 1);
        Location {
            path: path.to_owned(),
            line: self.line,
            column,
            line_text: self.text.to_owned(),
            width: width.max(1),
        }
    }

    /// The field at `index`, or "" when the line has fewer fields.
    pub(crate) fn field(&self, index: usize) -> (usize, &str) {
        self.fields
            .get(index)
            .map_or((self.text.len(), ""), |(at, f)| (*at, f.as_ref()))
    }
}

/// Splits `text` into records, skipping blank lines and a leading byte-order mark. A line
/// that cannot be split becomes an error diagnostic and is skipped.
pub(crate) fn records<'a>(
    path: &'a str,
    text: &'a str,
) -> impl Iterator<Item = Result<Record<'a>, Box<Diagnostic>>> + 'a {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .filter_map(move |(i, line)| record(path, i + 1, line))
}

/// The record on line `line` (1-based) whose text is `text`, or `None` for a blank line.
/// A trailing CR is not part of the record.
pub(crate) fn record<'a>(
    path: &str,
    line: usize,
    text: &'a str,
) -> Option<Result<Record<'a>, Box<Diagnostic>>> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return None;
    }
    let mut record = Record {
        line,
        text,
        fields: Vec::new(),
    };
    Some(match split(text) {
        Ok(fields) => {
            record.fields = fields;
            Ok(record)
        }
        Err((at, message)) => Err(Box::new(
            Diagnostic::error(message).at(record.locate(path, at, 1)),
        )),
    })
}

/// Splits one line into fields with their byte offsets, or says where and why it cannot.
fn split(line: &str) -> Result<Fields<'_>, (usize, String)> {
    let mut fields = Vec::new();
    let mut at = 0;
    loop {
        let rest = &line[at..];
        let (field, used) = if let Some(quoted) = rest.strip_prefix('"') {
            let (value, len) = quoted_field(quoted).ok_or_else(|| {
                (
                    at,
                    "this quote is never closed on its line (a field cannot span lines)".to_owned(),
                )
            })?;
            (value, len + 1)
        } else {
            let len = rest.find(',').unwrap_or(rest.len());
            if let Some(q) = rest[..len].find('"') {
                let message = "a quote inside an unquoted field: quote the whole field and double the quote (`\"\"`)";
                return Err((at + q, message.to_owned()));
            }
            (Cow::Borrowed(rest[..len].trim()), len)
        };
        fields.push((at, field));
        at += used;
        match line[at..].chars().next() {
            None => return Ok(fields),
            Some(',') => at += 1,
            Some(_) if line[at..].trim().is_empty() => return Ok(fields),
            Some(_) => return Err((at, "text after a closing quote; add a comma".to_owned())),
        }
    }
}

/// The value of a quoted field whose opening quote is already consumed, and the bytes it
/// used including the closing quote; `None` when the quote is not closed.
fn quoted_field(text: &str) -> Option<(Cow<'_, str>, usize)> {
    let mut value = String::new();
    let mut from = 0;
    loop {
        let q = from + text[from..].find('"')?;
        if text[q + 1..].starts_with('"') {
            value.push_str(&text[from..=q]);
            from = q + 2;
        } else if value.is_empty() {
            return Some((Cow::Borrowed(&text[..q]), q + 1));
        } else {
            value.push_str(&text[from..q]);
            return Some((Cow::Owned(value), q + 1));
        }
    }
}

/// Quotes a field for writing when it needs it.
pub(crate) fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"']) || field.trim() != field {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        split(line)
            .unwrap()
            .into_iter()
            .map(|(_, f)| f.into_owned())
            .collect()
    }

    #[test]
    fn splits_quoted_and_plain_fields() {
        assert_eq!(
            fields(r#"ana@example.org,"Lima, Ana ""A""",subscribers;staff,"#),
            [
                "ana@example.org",
                "Lima, Ana \"A\"",
                "subscribers;staff",
                ""
            ]
        );
        assert_eq!(fields(" a , b "), ["a", "b"]);
        assert_eq!(fields(r#""a""#), ["a"]);
    }

    #[test]
    fn reports_bad_quoting_with_its_column() {
        assert_eq!(split(r#"a,"open"#).unwrap_err().0, 2);
        assert_eq!(split(r#"a,b"c,d"#).unwrap_err().0, 3);
        assert_eq!(split(r#""a"b,c"#).unwrap_err().0, 3);
    }

    #[test]
    fn quoting_round_trips() {
        for value in ["plain", "a, b", "say \"hi\"", " padded"] {
            assert_eq!(fields(&quote(value)), [value]);
        }
        let records: Vec<_> = records("f.csv", "\u{feff}a,b\r\n\n\"x\n").collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].as_ref().unwrap().line, 1);
        let err = records[1].as_ref().unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 3);
    }
}
