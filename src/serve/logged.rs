//! Text from outside (a relay's fields, a refused payload's words, a mail server's reply)
//! made fit for one log line: control characters, backslashes and invisible formatting
//! characters escaped, so that nobody can forge a line or hide text from the operator, and
//! at most [`MAX_CHARS`] characters kept, the rest cut with an ellipsis.

/// The most characters one outside value may take in a log line.
pub(super) const MAX_CHARS: usize = 200;

/// `text`, escaped and bounded for a log line (or an answer that quotes it).
pub(super) fn logged(text: &str) -> String {
    let mut shown = String::new();
    let mut length = 0;
    for c in text.chars() {
        let escaped: String = if c == '\\' || c.is_control() {
            c.escape_debug().collect()
        } else if invisible(c) {
            c.escape_unicode().collect()
        } else {
            c.into()
        };
        // Escapes are ASCII: their byte length is their length in characters.
        let width = if escaped.len() == c.len_utf8() {
            1
        } else {
            escaped.len()
        };
        if length + width > MAX_CHARS {
            shown.push('…');
            break;
        }
        shown.push_str(&escaped);
        length += width;
    }
    shown
}

/// Unicode format characters that change how a line reads without showing: bidirectional
/// overrides and isolates, zero-width characters, the soft hyphen and the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        assert_eq!(
            logged("id\r\n2024-01-01 INFO forged\u{1b}[31m\t\\n"),
            r"id\r\n2024-01-01 INFO forged\u{1b}[31m\t\\n"
        );
        assert_eq!(logged("abc\u{202E}fed\u{200B}"), r"abc\u{202e}fed\u{200b}");
        assert_eq!(
            logged("Ünïcödé stays, quotes \" too"),
            "Ünïcödé stays, quotes \" too"
        );
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis_and_never_mid_escape() {
        let long = "x".repeat(1000);
        let cut = logged(&long);
        assert_eq!(cut, format!("{}…", "x".repeat(MAX_CHARS)));
        assert_eq!(logged(&"é".repeat(MAX_CHARS)), "é".repeat(MAX_CHARS));
        let newlines = logged(&"\n".repeat(MAX_CHARS));
        assert_eq!(newlines, format!("{}…", r"\n".repeat(MAX_CHARS / 2)));
        let tail = format!("{}\u{202E}", "x".repeat(MAX_CHARS - 3));
        assert_eq!(logged(&tail), format!("{}…", "x".repeat(MAX_CHARS - 3)));
    }
}
