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
/// The longest word a plain header value may hold: with a header name before it, a longer
/// one could not fold within 78 octets, so such a value is written as encoded words.
const PLAIN_WORD: usize = 58;
/// The longest display name put in a header, in characters. A longer one (a pasted
/// paragraph, a corrupt import) is cut here: it still folds, but a 10 MB `To` helps nobody.
pub(crate) const MAX_DISPLAY_NAME: usize = 200;

/// True when `text` can appear in a header as it is: printable ASCII, no `=?` that a reader
/// would take for an encoded word, and no word too long to fold.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !text.contains("=?")
        && text.split(' ').all(|w| w.len() <= PLAIN_WORD)
}

/// RFC 2047 `b` encoded words for `text`, split between words: each word after the first
/// carries its leading space inside it, because the white space between two encoded words
/// is dropped when they are decoded (RFC 2047 §6.2). Only a word longer than one encoded
/// word is split inside, and never inside a character.
fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = start;
        for token in tokens(&text[start..]) {
            if end + token > start + WORD_BYTES {
                break;
            }
            end += token;
        }
        if end == start {
            end = (start + WORD_BYTES).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
        }
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(&text.as_bytes()[start..end]);
        words.push(format!("=?utf-8?b?{encoded}?="));
        start = end;
    }
    words
}

/// The byte lengths of the words of `text`, each but the first with the space before it.
fn tokens(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let skip = rest.len() - rest.trim_start_matches(' ').len();
        let len = rest[skip..].find(' ').map_or(rest.len(), |at| skip + at);
        rest = &rest[len..];
        Some(len)
    })
}

/// An unstructured value such as a subject: plain ASCII folded at spaces, anything else as
/// encoded words.
pub(crate) fn unstructured(name: &str, value: &str) -> String {
    if is_plain(value) {
        fold_list(name, &value.split(' ').collect::<Vec<_>>(), "")
    } else {
        fold_list(name, &encoded_words(value), "")
    }
}

/// A display name as the words of a phrase, between which a header may fold: atoms as they
/// are, other plain ASCII as one quoted string (folding inside a quoted string is allowed),
/// the rest encoded. Runs of white space become one space.
pub(crate) fn phrase(name: &str) -> Vec<String> {
    let atom = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if !is_plain(&name) {
        encoded_words(&name)
    } else if name.chars().all(atom) {
        name.split(' ').map(str::to_owned).collect()
    } else {
        let quoted = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
        quoted.split(' ').map(str::to_owned).collect()
    }
}

/// A mailbox header such as `To: Ana Lima <ana@example.org>`; the address must be valid.
/// A display name longer than [`MAX_DISPLAY_NAME`] characters is cut there.
pub(crate) fn mailbox(name: &str, display: Option<&str>, address: &str) -> String {
    match display.filter(|d| !d.trim().is_empty()) {
        Some(display) => {
            let cut = display
                .char_indices()
                .nth(MAX_DISPLAY_NAME)
                .map_or(display, |(at, _)| &display[..at]);
            let mut items = phrase(cut);
            items.push(format!("<{address}>"));
            fold_list(name, &items, "")
        }
        None => format!("{name}: {address}\r\n"),
    }
}
/// A header whose items (already safe) follow `separator` (`,` or nothing) and a space,
/// folding before an item that would pass 78 octets.
pub(crate) fn fold_list<S: AsRef<str>>(name: &str, items: &[S], separator: &str) -> String {
    let mut out = format!("{name}:");
    let mut line = out.len();
    for (i, item) in items.iter().map(AsRef::as_ref).enumerate() {
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

    /// The text of each encoded word of a header, in order.
    fn decoded_words(header: &str) -> Vec<String> {
        header
            .split("=?utf-8?b?")
            .skip(1)
            .map(|w| {
                let b64 = w.split_once("?=").expect("an encoded word ends").0;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                String::from_utf8(bytes).expect("words hold whole characters")
            })
            .collect()
    }

    #[test]
    fn encoded_words_split_between_words_never_inside_one() {
        let subject =
            "Zoë's weekly display of farming robots, synthetic video and chip export controls";
        let header = unstructured("Subject", subject);
        lines_ok(&header);
        let words = decoded_words(&header);
        assert!(words.len() > 1, "{header}");
        assert_eq!(words.concat(), subject);
        for pair in words.windows(2) {
            assert!(
                pair[1].starts_with(' ') && !pair[0].ends_with(' '),
                "split inside a word: {pair:?}"
            );
        }
        let chinese = "人工智能周报第十一期：芯片、机器人与合成视频的一周综述与专家观点";
        let words = decoded_words(&unstructured("Subject", chinese));
        assert_eq!(
            words.concat(),
            chinese,
            "a word longer than an encoded word splits"
        );
    }

    #[test]
    fn long_display_names_fold_and_are_cut() {
        for name in [
            "Quinn ".repeat(400),
            "Zhang, Quinn ".repeat(160),
            "Zoë ".repeat(500),
            "q".repeat(2000),
        ] {
            let header = mailbox("To", Some(&name), "q@example.org");
            lines_ok(&header);
            assert!(header.trim_end().ends_with(" <q@example.org>"), "{header}");
            assert!(
                header.len() < MAX_DISPLAY_NAME * 4,
                "{} octets",
                header.len()
            );
        }
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
