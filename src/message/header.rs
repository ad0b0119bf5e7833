//! Mail headers written by our own writer: values in, header lines out, RFC 2047 encoded
//! words for anything that is not plain printable ASCII (so no CR, LF or other control
//! character from data can ever reach a header raw), and folding so that lines stay within
//! 78 octets where the words allow and never exceed 998.

use base64::Engine as _;

/// Lines are folded before this many octets where possible (RFC 5322 §2.1.1).
const FOLD_AT: usize = 78;
/// Bytes of UTF-8 per encoded word: 42 bytes make a 68-octet word, which fits on a line
/// after `Reply-To: ` within 78 octets (RFC 2047 allows 75).
const WORD_BYTES: usize = 42;

/// True when `text` can appear in a header as it is.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b)) && !text.contains("=?")
}

/// RFC 2047 `b` encoded words for `text`, never splitting a character, joined by folding
/// white space.
fn encoded_words(text: &str) -> String {
    let mut out = String::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + WORD_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if !out.is_empty() {
            out.push_str("\r\n ");
        }
        out.push_str("=?utf-8?b?");
        out.push_str(
            &base64::engine::general_purpose::STANDARD.encode(&text.as_bytes()[start..end]),
        );
        out.push_str("?=");
        start = end;
    }
    out
}

/// An unstructured value such as a subject: plain ASCII folded at spaces, anything else as
/// encoded words.
pub(crate) fn unstructured(name: &str, value: &str) -> String {
    if !is_plain(value) {
        return format!("{name}: {}\r\n", encoded_words(value));
    }
    let mut out = format!("{name}:");
    let mut line = out.len();
    for word in value.split(' ') {
        if line + 1 + word.len() > FOLD_AT && line > name.len() + 1 {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(word);
        line += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

/// A display name as a phrase: atoms as they are, other plain ASCII quoted, the rest
/// encoded.
pub(crate) fn phrase(name: &str) -> String {
    let atom = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
    if !is_plain(name) {
        encoded_words(name)
    } else if name.chars().all(atom) && !name.starts_with(' ') && !name.ends_with(' ') {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A mailbox header such as `To: Ana Lima <ana@example.org>`; the address must be valid.
pub(crate) fn mailbox(name: &str, display: Option<&str>, address: &str) -> String {
    match display.filter(|d| !d.is_empty()) {
        Some(display) => fold_list(name, &[&phrase(display), &format!("<{address}>")], ""),
        None => format!("{name}: {address}\r\n"),
    }
}

/// A header whose items (already safe) follow `separator` (`,` or nothing) and a space,
/// folding before an item that would pass 78 octets.
pub(crate) fn fold_list(name: &str, items: &[&str], separator: &str) -> String {
    let mut out = format!("{name}:");
    let mut line = out.len();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
            line += separator.len();
        }
        let first_line = item.split("\r\n").next().map_or(0, str::len);
        if i > 0 && line + 1 + first_line > FOLD_AT {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(item);
        line = match item.rfind("\r\n") {
            Some(at) => item.len() - at - 2,
            None => line + 1 + item.len(),
        };
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_ok(header: &str) {
        assert!(header.ends_with("\r\n"));
        for line in header.trim_end().split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
        }
        assert!(!header.trim_end().contains("\r\n\r\n") && !header.contains("\n\n"));
        assert!(
            !header
                .trim_end()
                .replace("\r\n ", "")
                .contains(['\r', '\n']),
            "{header:?}"
        );
    }

    #[test]
    fn subjects_fold_and_encode() {
        let ascii = unstructured("Subject", &"Farming robots and synthetic video ".repeat(4));
        lines_ok(&ascii);
        let chinese = unstructured(
            "Subject",
            "[TEST] 人工智能周报 🔭 第十一期：芯片、机器人与合成视频",
        );
        lines_ok(&chinese);
        assert!(chinese.starts_with("Subject: =?utf-8?b?"));
        let injected = unstructured("Subject", "Hi\r\nBcc: x@evil.test");
        lines_ok(&injected);
        assert!(!injected.contains("Bcc"));
    }

    #[test]
    fn display_names_are_atoms_quoted_or_encoded() {
        assert_eq!(
            mailbox("To", Some("Ana Lima"), "ana@example.org"),
            "To: Ana Lima <ana@example.org>\r\n"
        );
        assert_eq!(
            mailbox("To", Some("Lima, Ana \"A\""), "a@x.org"),
            "To: \"Lima, Ana \\\"A\\\"\" <a@x.org>\r\n"
        );
        assert_eq!(mailbox("To", None, "a@x.org"), "To: a@x.org\r\n");
        let encoded = mailbox("To", Some("张伟"), "wei@example.org");
        assert_eq!(encoded, "To: =?utf-8?b?5byg5Lyf?= <wei@example.org>\r\n");
        lines_ok(&mailbox("To", Some(&"Zoë ".repeat(40)), "z@example.org"));
    }

    #[test]
    fn lists_fold_between_items() {
        let url = format!("<https://scout.eto.tech/unsubscribe/{}>", "A".repeat(38));
        let header = fold_list(
            "List-Unsubscribe",
            &[&url, "<mailto:unsubscribe@eto.tech>"],
            ",",
        );
        assert_eq!(
            header,
            format!("List-Unsubscribe: {url},\r\n <mailto:unsubscribe@eto.tech>\r\n")
        );
    }
}
