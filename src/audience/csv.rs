//! A strict CSV reader for recipient imports and the suppression list: text in, records
//! out, each with its line number. A field may be quoted (`"Lima, Ana"`, with `""` for a
//! quote). A quoted field may span lines (an export's notes, a reader's reason for leaving):
//! an import and a list of addresses join its lines, at most [`SPAN`] of them, so that one bad quote
//! cannot swallow the rest of the file and every problem has a line and column. Fields are
//! separated by commas, or by the `;` (European spreadsheets) or tab that a header without
//! a comma uses.

use std::borrow::Cow;

use crate::diag::{Diagnostic, Location};

/// The fields of a line, unquoted, each with its byte offset in the line.
type Fields<'a> = Vec<(usize, Cow<'a, str>)>;

/// The most lines one record may span.
pub(crate) const SPAN: usize = 50;

/// One non-empty record of a CSV file, split into fields.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// 1-based number of its first line.
    pub line: usize,
    /// The record's text, without its line ending (its lines joined by `\n`).
    pub text: &'a str,
    /// The fields, unquoted, each with its byte offset in `text`.
    pub fields: Fields<'a>,
}

impl Record<'_> {
    /// A diagnostic location at byte `offset` of this record, underlining `width`
    /// characters, on the line of the record where `offset` is.
    pub(crate) fn locate(&self, path: &str, offset: usize, width: usize) -> Location {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let start = before.rfind('\n').map_or(0, |n| n + 1);
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |n| start + n);
        Location {
            path: path.to_owned(),
            line: self.line + before.matches('\n').count(),
            column: before[start..].chars().count() + 1,
            line_text: self.text[start..end].to_owned(),
            width: width.max(1),
        }
    }

    /// The record as a header: each name without the spaces around it, which a quoted
    /// field keeps (`"Email Address "` is the column `Email Address`).
    pub(crate) fn into_header(mut self) -> Self {
        for (_, name) in &mut self.fields {
            *name = match std::mem::take(name) {
                Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
                Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
            };
        }
        self
    }

    /// The field at `index`, or "" when the line has fewer fields.
    pub(crate) fn field(&self, index: usize) -> (usize, &str) {
        self.fields
            .get(index)
            .map_or((self.text.len(), ""), |(at, f)| (*at, f.as_ref()))
    }
}

/// Splits `text` into records, skipping blank lines and a leading byte-order mark, its
/// lines ending with LF, CRLF or CR, fields separated as its first line shows (see
/// [`separator`]). A quoted field may span lines (an export's notes) when its quote
/// closes within [`SPAN`] lines into a record that reads; else the line is a record of
/// its own. A line that cannot be split becomes an error diagnostic and is skipped.
pub(crate) fn records<'a>(
    path: &'a str,
    text: &'a str,
) -> impl Iterator<Item = Result<Record<'a>, Box<Diagnostic>>> + 'a {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.split('\n').next().unwrap_or_default();
    // A file whose first line holds a CR ends its lines with CR alone (old Mac exports),
    // as an import reads it.
    let end = if first.trim_end_matches('\r').contains('\r') {
        '\r'
    } else {
        '\n'
    };
    let separator = separator(text.split(end).next().unwrap_or_default().as_bytes());
    let mut starts = vec![0];
    starts.extend(text.match_indices(end).map(|(at, _)| at + 1));
    let mut next = 0;
    std::iter::from_fn(move || {
        // Lines `from..=to` of the text, without the last one's line ending.
        let lines = |from: usize, to: usize| {
            let end = starts.get(to + 1).map_or(text.len(), |s| s - 1);
            &text[starts[from]..end]
        };
        while next < starts.len() {
            let (first, mut last) = (next, next);
            while last + 1 < starts.len()
                && last - first + 1 < SPAN
                && open_quote(lines(first, last).as_bytes(), separator)
            {
                last += 1;
            }
            let joined = (last > first)
                .then(|| record(path, first + 1, lines(first, last), separator))
                .flatten()
                .filter(|r| r.is_ok());
            next = if joined.is_some() {
                last + 1
            } else {
                first + 1
            };
            if let Some(record) =
                joined.or_else(|| record(path, first + 1, lines(first, first), separator))
            {
                return Some(record);
            }
        }
        None
    })
}

/// The separator of a file whose header line is `header`: a comma, else the `;` or tab the
/// header has.
pub(crate) fn separator(header: &[u8]) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .find(|s| header.contains(s))
        .unwrap_or(b',')
}

/// Whether `text` ends inside a quoted field, so that its record goes on on the next line.
/// A field is quoted when its first byte is a quote, as [`split`] reads it.
pub(crate) fn open_quote(text: &[u8], separator: u8) -> bool {
    let (mut quoted, mut field_start) = (false, true);
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if quoted {
            if b == b'"' && bytes.next_if_eq(&b'"').is_none() {
                quoted = false;
            }
            continue;
        }
        quoted = b == b'"' && field_start;
        field_start = b == separator || b == b'\n';
    }
    quoted
}

/// The record starting on line `line` (1-based) whose text is `text`, fields separated by
/// `separator`, or `None` for a blank line or one of separators only (a spreadsheet's
/// formatted but empty row). A trailing CR is not part of the record.
pub(crate) fn record<'a>(
    path: &str,
    line: usize,
    text: &'a str,
    separator: u8,
) -> Option<Result<Record<'a>, Box<Diagnostic>>> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text
        .bytes()
        .all(|b| b == separator || b.is_ascii_whitespace())
    {
        return None;
    }
    let mut record = Record {
        line,
        text,
        fields: Vec::new(),
    };
    Some(match split(text, char::from(separator)) {
        Ok(fields) => {
            record.fields = fields;
            Ok(record)
        }
        Err((at, message)) => Err(Box::new(
            Diagnostic::error(message).at(record.locate(path, at, 1)),
        )),
    })
}

/// Splits one record into fields with their byte offsets, or says where and why it cannot.
fn split(line: &str, separator: char) -> Result<Fields<'_>, (usize, String)> {
    let mut fields = Vec::new();
    let mut at = 0;
    loop {
        let rest = &line[at..];
        let (field, used) = if let Some(quoted) = rest.strip_prefix('"') {
            let (value, len) = quoted_field(quoted).ok_or_else(|| {
                (
                    at,
                    format!("this quote is never closed (a field may span at most {SPAN} lines)"),
                )
            })?;
            (value, len + 1)
        } else {
            let len = rest.find(separator).unwrap_or(rest.len());
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
            Some(c) if c == separator => at += c.len_utf8(),
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
        split(line, ',')
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
        assert_eq!(split(r#"a,"open"#, ',').unwrap_err().0, 2);
        assert_eq!(split(r#"a,b"c,d"#, ',').unwrap_err().0, 3);
        assert_eq!(split(r#""a"b,c"#, ',').unwrap_err().0, 3);
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

    #[test]
    fn a_quote_left_open_carries_the_record_to_the_next_line() {
        assert!(open_quote(b"a,\"note", b','));
        assert!(open_quote(b"a,\"say \"\"hi\"\"\nand", b','));
        assert!(!open_quote(b"a,\"note\nend\",b", b','));
        assert!(
            !open_quote(b"a,b\"c", b','),
            "a quote inside a field opens nothing"
        );
        assert!(open_quote(b"a;\"x,y", b';'));
        assert!(!open_quote(b"a,\"\"", b','));
    }

    #[test]
    fn records_join_the_lines_of_a_quoted_field_that_closes() {
        let text =
            "email,note\r\na@example.org,\"one\r\ntwo\"\r\nb@example.org,\"open\nc@example.org,x\n";
        let records: Vec<_> = records("f.csv", text).collect();
        let lines: Vec<usize> = records
            .iter()
            .map(|r| {
                r.as_ref()
                    .map_or_else(|d| d.location.as_ref().unwrap().line, |r| r.line)
            })
            .collect();
        assert_eq!(lines, [1, 2, 4, 5]);
        assert_eq!(records[1].as_ref().unwrap().fields[1].1, "one\r\ntwo");
        assert!(
            records[2].is_err(),
            "the quote left open is an error on its line"
        );
        assert_eq!(records[3].as_ref().unwrap().fields[0].1, "c@example.org");
        let old_mac: Vec<_> = super::records("f.csv", "email\ra@example.org\rb@example.org\r")
            .map(|r| r.unwrap().fields[0].1.clone())
            .collect();
        assert_eq!(old_mac, ["email", "a@example.org", "b@example.org"]);
    }

    #[test]
    fn a_record_over_lines_places_its_problems_on_their_own_line() {
        let text = "ana@example.org,\"first\nsecond\",x\"y";
        let err = record("f.csv", 7, text, b',').unwrap().unwrap_err();
        let at = err.location.as_ref().unwrap();
        assert_eq!((at.line, at.column), (8, 10));
        assert_eq!(at.line_text, "second\",x\"y");
        let ok = record("f.csv", 7, "a,\"one\ntwo\"", b',').unwrap().unwrap();
        assert_eq!(ok.fields[1].1, "one\ntwo");
    }

    #[test]
    fn a_header_without_a_comma_names_its_separator_and_empty_rows_are_skipped() {
        assert_eq!(separator(b"Email;Name"), b';');
        assert_eq!(separator(b"Email\tName"), b'\t');
        assert_eq!(separator(b"Email,Name;x"), b',');
        let fields: Vec<_> = record("f.csv", 1, "a@b.org;\"Lima; Ana\"", b';')
            .unwrap()
            .unwrap()
            .fields
            .into_iter()
            .map(|(_, f)| f.into_owned())
            .collect();
        assert_eq!(fields, ["a@b.org", "Lima; Ana"]);
        assert!(record("f.csv", 2, ",,, ,", b',').is_none());
        assert!(record("f.csv", 2, ";;", b';').is_none());
    }
}
