//! Hints for the TOML slips editors make, written for someone who knows the newsletter
//! rather than TOML: a date typed as the email prints it, curly quotes as string
//! delimiters, a straight `"` inside a string, a misspelt key.

use std::ops::Range;

use crate::date::Date;
use crate::diag::{SourceFile, unknown_name_notes};

/// The message and notes for a TOML error `message` at `span` of `source`.
pub(super) fn explain(
    source: &SourceFile,
    message: &str,
    span: Option<Range<usize>>,
) -> (String, Vec<String>) {
    if let Some((field, known)) = unknown_field(message) {
        return (
            format!("unknown field `{field}`"),
            unknown_name_notes(field, &known),
        );
    }
    let raw = span
        .as_ref()
        .and_then(|s| source.text.get(s.clone()))
        .unwrap_or_default();
    let unquoted = message.starts_with("string values must be quoted");
    let value = span
        .as_ref()
        .map_or("", |s| value_from(&source.text, s.start));
    let note = if message.contains("expected a TOML datetime") {
        Some(date_note(raw))
    } else if let Some(date) = written_date(value) {
        Some(format!(
            "write dates as TOML dates, year first and without quotes: `{date}`"
        ))
    } else if unquoted && raw.starts_with(['“', '”', '„', '‘', '’', '«']) {
        Some(
            "curly quotes do not start a string in TOML: put the text in straight quotes, \
             \"…\" (curly quotes inside the text are fine)"
                .to_owned(),
        )
    } else if message.starts_with("unexpected key or value")
        && span.is_some_and(|s| quote_inside_string(&source.text, s.start))
    {
        Some(
            "a `\"` inside a string ends it: write each one as `\\\"`, or put the text in \
             single quotes, '…' (or '''…''' when it holds a `'` too)"
                .to_owned(),
        )
    } else if message.starts_with("invalid date") {
        Some(match swapped(raw) {
            Some(date) => format!("dates are year-month-day: did you mean `{date}`?"),
            None => "dates are year-month-day, as in `2024-05-09`".to_owned(),
        })
    } else if message.starts_with("invalid type: string")
        && message.ends_with("expected a sequence")
    {
        Some(format!(
            "a list is written in brackets, one string per item: `{}`",
            as_list(raw)
        ))
    } else {
        super::missing_field(message).map(|key| format!("add `{key} = ...` to this table"))
    };
    (message.to_owned(), note.into_iter().collect())
}

/// A TOML string written where a list was expected, as the list it means: `"ai, policy"`
/// becomes `["ai", "policy"]` (commas and semicolons separate items).
fn as_list(raw: &str) -> String {
    let raw = raw.trim();
    let inner = ['"', '\'']
        .iter()
        .find_map(|q| raw.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(raw);
    let items: Vec<String> = inner
        .split([',', ';'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| toml::Value::String(item.to_owned()).to_string())
        .collect();
    format!("[{}]", items.join(", "))
}

/// The field and the expected fields of serde's "unknown field `X`, expected ..." message.
pub(super) fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let known = expected.split('`').skip(1).step_by(2).collect();
    Some((field, known))
}

/// The value written on the line of `at`, from `at` to the end of the line or a comment:
/// a TOML error points at one token of it (`16` of `16.12.2026`, `18` of `18 Dec 2026`).
fn value_from(text: &str, at: usize) -> &str {
    let rest = text.get(at..).unwrap_or_default();
    let line = rest.split('\n').next().unwrap_or_default();
    line.split(" #").next().unwrap_or(line).trim()
}

/// The date a value means when it is written as people write dates rather than as TOML:
/// `05/15/24` (as the email prints it), `16.12.2026`, `18 Dec 2026`, `December 18, 2026`,
/// quoted or not.
fn written_date(raw: &str) -> Option<Date> {
    let raw = raw.trim_matches(['"', '\'']).trim();
    slashed(raw).or_else(|| dotted(raw)).or_else(|| worded(raw))
}

/// `DD.MM.YYYY` (or `D.M.YY`), as much of Europe writes dates.
fn dotted(raw: &str) -> Option<Date> {
    let parts: Vec<&str> = raw.split('.').collect();
    let [day, month, year] = parts.as_slice() else {
        return None;
    };
    let number = |p: &str| -> Option<u16> {
        (!p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()))
            .then(|| p.parse().ok())?
    };
    let (day, month, year) = (number(day)?, number(month)?, number(year)?);
    let year = if year < 100 { 2000 + year } else { year };
    Date::new(
        i32::from(year),
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// A day, an English month's name (or its first three letters) and a four-digit year, in
/// either order: `18 Dec 2026`, `December 18, 2026`.
fn worded(raw: &str) -> Option<Date> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let (mut day, mut month, mut year) = (None, None, None);
    for word in raw
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
    {
        let lower = word.trim_end_matches('.').to_lowercase();
        if let Some(m) = MONTHS
            .iter()
            .position(|m| lower.len() >= 3 && m.starts_with(&lower))
        {
            month = Some(u8::try_from(m + 1).ok()?);
        } else if let Some((digits, n)) =
            Some(lower.trim_end_matches(['s', 't', 'n', 'd', 'r', 'h']))
                .and_then(|d| Some((d, d.parse::<u16>().ok()?)))
        {
            if digits.len() == 4 {
                year = Some(i32::from(n));
            } else {
                day = Some(u8::try_from(n).ok()?);
            }
        } else {
            return None;
        }
    }
    Date::new(year?, month?, day?)
}

/// The note for a date written as text: the TOML date it means, when it can be read.
fn date_note(raw: &str) -> String {
    let iso = Date::parse_iso(raw.trim_matches(['"', '\'']));
    match iso.or_else(|| written_date(raw)) {
        Some(date) => format!("write dates as TOML dates, year first and without quotes: `{date}`"),
        None => "write dates as TOML dates, year first and without quotes, as in `2024-05-09`"
            .to_owned(),
    }
}

/// A date written `MM/DD/YY` or `MM/DD/YYYY`, as the email prints them.
fn slashed(raw: &str) -> Option<Date> {
    let mut parts = raw.trim_matches(['"', '\'']).split('/');
    let mut next = || -> Option<u16> {
        let part = parts.next()?;
        (part.len() <= 4 && part.chars().all(|c| c.is_ascii_digit())).then(|| part.parse().ok())?
    };
    let (month, day, year) = (next()?, next()?, next()?);
    if parts.next().is_some() {
        return None;
    }
    let year = if year < 100 { 2000 + year } else { year };
    Date::new(
        i32::from(year),
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
}

/// The date `YYYY-MM-DD` means with its month and day swapped, if that is a date.
fn swapped(raw: &str) -> Option<Date> {
    let mut parts = raw.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    Date::parse_iso(&format!("{year}-{day}-{month}"))
}

/// Whether the parser stopped at `at` just after a string closed early by a `"` that the
/// editor meant as part of the text: the line holds `= "` before and another `"` after.
fn quote_inside_string(text: &str, at: usize) -> bool {
    let Some(before) = text.get(..at) else {
        return false;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let (head, tail) = (&text[line_start..at], &text[at..line_end]);
    head.trim_end().ends_with('"') && head.contains("= \"") && tail.contains('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(text: &str, message: &str, span: Range<usize>) -> Vec<String> {
        let source = SourceFile::new(std::path::Path::new("v.toml"), text.to_owned());
        explain(&source, message, Some(span)).1
    }

    #[test]
    fn slashed_dates_become_toml_dates() {
        let text = "date = 05/15/24\n";
        let found = notes(
            text,
            "string values must be quoted, expected literal string",
            7..15,
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("`2024-05-15`"), "{found:?}");
        assert!(slashed("13/01/24").is_none());
        assert_eq!(
            slashed("\"4/28/2024\"").map(|d| d.to_string()).as_deref(),
            Some("2024-04-28")
        );
    }

    #[test]
    fn dates_as_people_write_them_become_toml_dates() {
        for (value, date) in [
            ("16.12.2026", "2026-12-16"),
            ("18 Dec 2026", "2026-12-18"),
            ("December 18, 2026", "2026-12-18"),
            ("\"14.12.2026\"", "2026-12-14"),
            ("2nd March 2025", "2025-03-02"),
        ] {
            assert_eq!(
                written_date(value).map(|d| d.to_string()).as_deref(),
                Some(date),
                "{value}"
            );
        }
        for value in ["12.5", "Dec 2026", "May the 4th", "1.2.3.4"] {
            assert_eq!(written_date(value), None, "{value}");
        }
        let text = "date = 16.12.2026 # the day\n";
        assert_eq!(value_from(text, 7), "16.12.2026");
    }

    #[test]
    fn an_impossible_date_suggests_day_and_month_swapped() {
        let text = "date = 2024-13-12\n";
        let found = notes(
            text,
            "invalid date, expected month between 01 and 12",
            7..17,
        );
        assert!(found[0].contains("`2024-12-13`"), "{found:?}");
        let text = "date = 2024-05-32\n";
        let found = notes(text, "invalid date, expected day between 01 and 31", 7..17);
        assert!(found[0].contains("as in `2024-05-09`"), "{found:?}");
    }

    #[test]
    fn curly_and_inner_quotes() {
        let curly = notes(
            "s = “x”\n",
            "string values must be quoted, expected literal string",
            4..11,
        );
        assert!(curly[0].contains("curly quotes"), "{curly:?}");
        let text = "s = \"he said \"hi\" ok\"\n";
        let inner = notes(
            text,
            "unexpected key or value, expected newline, `#`",
            14..14,
        );
        assert!(inner[0].contains("'''"), "{inner:?}");
    }

    #[test]
    fn a_string_for_a_list_is_split_into_items() {
        let text = "topics = \"ai, policy\"\n";
        let found = notes(
            text,
            "invalid type: string \"ai, policy\", expected a sequence",
            9..21,
        );
        assert!(found[0].ends_with("`[\"ai\", \"policy\"]`"), "{found:?}");
        assert_eq!(as_list("'chips'"), "[\"chips\"]");
        assert_eq!(as_list("\"ai;  robotics ,\""), "[\"ai\", \"robotics\"]");
    }

    #[test]
    fn unknown_fields_suggest_the_closest() {
        let (message, notes) = explain(
            &SourceFile::new(std::path::Path::new("v.toml"), String::new()),
            "unknown field `sumary`, expected one of `summary`, `source`",
            None,
        );
        assert_eq!(message, "unknown field `sumary`");
        assert!(notes[0].contains("did you mean `summary`?"), "{notes:?}");
    }
}
