//! What the client writes into a command: strings as IMAP quoted strings (RFC 3501 §4.3),
//! and folder names as modified UTF-7 (RFC 3501 §5.1.3), since an IMAP4rev1 session
//! carries only 7-bit names: `Rückläufer & Co` goes out as `"R&APw-ckl&AOQ-ufer &- Co"`.

use base64::Engine as _;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::{GeneralPurpose, general_purpose::NO_PAD};

/// Modified BASE64: `,` for `/`, no padding.
const MUTF7: GeneralPurpose = GeneralPurpose::new(&IMAP_MUTF7, NO_PAD);

/// Whether `text` can be a quoted string: 7-bit, without NUL, CR or LF (RFC 3501's
/// `TEXT-CHAR`). Anything else goes as a literal, or in a SASL exchange.
pub(super) fn quotable(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, 0x01..=0x7f) && b != b'\r' && b != b'\n')
}

/// `text` as an IMAP quoted string; it must be [`quotable`].
pub(super) fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The folder `name` as a command argument: modified UTF-7, quoted.
pub(super) fn mailbox(name: &str) -> String {
    let mut encoded = String::new();
    let mut wide = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut wide, &mut encoded);
            encoded.push(c);
            if c == '&' {
                encoded.push('-');
            }
        } else {
            let mut units = [0; 2];
            for unit in c.encode_utf16(&mut units) {
                wide.extend_from_slice(&unit.to_be_bytes());
            }
        }
    }
    flush(&mut wide, &mut encoded);
    quote(&encoded)
}

/// Writes the pending UTF-16 bytes as one `&...-` run.
fn flush(wide: &mut Vec<u8>, encoded: &mut String) {
    if !wide.is_empty() {
        encoded.push('&');
        encoded.push_str(&MUTF7.encode(&*wide));
        encoded.push('-');
        wide.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings() {
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert!(quotable("reader@example.org"));
        assert!(!quotable("pässword"));
        assert!(!quotable("pass\r\nA1 LOGOUT"));
    }

    #[test]
    fn folder_names_in_modified_utf7() {
        // RFC 3501 §5.1.3's own example, and the cases around it.
        assert_eq!(
            mailbox("~peter/mail/台北/日本語"),
            "\"~peter/mail/&U,BTFw-/&ZeVnLIqe-\""
        );
        assert_eq!(mailbox("Rückläufer & Co"), "\"R&APw-ckl&AOQ-ufer &- Co\"");
        assert_eq!(mailbox("[Gmail]/All Mail"), "\"[Gmail]/All Mail\"");
        assert_eq!(mailbox("Отказы"), "\"&BB4EQgQ6BDAENwRL-\"");
        assert_eq!(mailbox("bounces 📬"), "\"bounces &2D3c7A-\"");
    }
}
