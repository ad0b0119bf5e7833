//! MIME content transfer encodings for the email's parts (RFC 2045): quoted-printable for
//! mostly-ASCII text, base64 when that is shorter (Chinese text, say). The size that Gmail's
//! clipping limit applies to is the size after this encoding. And lowercase hexadecimal, for
//! digests: in Message-IDs, fingerprints and the ids of reports that have no Message-ID.

use std::fmt::Write as _;

use base64::Engine as _;

/// The longest encoded line, excluding CRLF (RFC 2045 §6.7 and §6.8).
const LINE: usize = 76;

/// A content transfer encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `quoted-printable`
    QuotedPrintable,
    /// `base64`
    Base64,
}

impl TransferEncoding {
    /// The header value, e.g. `quoted-printable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QuotedPrintable => "quoted-printable",
            Self::Base64 => "base64",
        }
    }
}

/// A body encoded for the wire, lines ending in CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The encoding used.
    pub encoding: TransferEncoding,
    /// The encoded body.
    pub body: String,
}

/// Encodes `text` with whichever encoding gives the shorter result.
pub fn encode(text: &str) -> Encoded {
    let qp = quoted_printable(text);
    if qp.len() <= base64_len(text.len()) {
        Encoded {
            encoding: TransferEncoding::QuotedPrintable,
            body: qp,
        }
    } else {
        Encoded {
            encoding: TransferEncoding::Base64,
            body: base64(text.as_bytes()),
        }
    }
}

/// Quoted-printable with CRLF line breaks and soft breaks keeping lines within 76 octets:
/// a line of up to 76 plain ASCII characters goes out as it is.
pub fn quoted_printable(text: &str) -> String {
    quoted_printable_run(text, true)
}

/// Quoted-printable of `text`; unless `ends` (more follows it after a soft line break), its
/// last line keeps room for that break's `=`.
pub(crate) fn quoted_printable_run(text: &str, ends: bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    qp_pieces(text, ends, |piece| match piece {
        QpPiece::LineBreak => out.push_str("\r\n"),
        QpPiece::SoftBreak => out.push_str("=\r\n"),
        QpPiece::Literal(run) => out.push_str(run),
        QpPiece::Escaped(b) => {
            let _ = write!(out, "={b:02X}");
        }
    });
    out
}

/// The length of [`encode`]'s body, without writing it: what `check` and `build` weigh
/// against Gmail's clipping limit.
pub fn encoded_len(text: &str) -> usize {
    quoted_printable_len(text).min(base64_len(text.len()))
}

/// The length of `text` as quoted-printable, without writing it.
pub(crate) fn quoted_printable_len(text: &str) -> usize {
    let mut qp = 0;
    qp_pieces(text, true, |piece| {
        qp += match piece {
            QpPiece::LineBreak => 2,
            QpPiece::SoftBreak | QpPiece::Escaped(_) => 3,
            QpPiece::Literal(run) => run.len(),
        }
    });
    qp
}

/// One piece of quoted-printable output.
enum QpPiece<'t> {
    /// A line break of the text, CRLF.
    LineBreak,
    /// `=` CRLF, keeping a line within 76 octets.
    SoftBreak,
    /// Bytes that stand for themselves.
    Literal(&'t str),
    /// A byte written `=XX`.
    Escaped(u8),
}

/// Walks `text` as quoted-printable (see [`quoted_printable_run`]), handing each piece to `emit`.
fn qp_pieces<'t>(text: &'t str, ends: bool, mut emit: impl FnMut(QpPiece<'t>)) {
    let lines = text.split('\n').count();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            emit(QpPiece::LineBreak);
        }
        let more = i + 1 < lines;
        // A CR before the LF is the line break's; one that ends the text is its own.
        let line = match line.strip_suffix('\r') {
            Some(before) if more => before,
            _ => line,
        };
        let bytes = line.as_bytes();
        let line_ends = ends || more;
        let mut column = 0;
        let mut j = 0;
        while j < bytes.len() {
            // A run of bytes that stand for themselves before the line's last byte goes out
            // in pieces that fill each line up to the room left for a soft break's `=`.
            let run = bytes[j..bytes.len() - 1]
                .iter()
                .position(|&b| !plain(b))
                .unwrap_or(bytes.len() - 1 - j);
            if run > 0 {
                let mut piece = &line[j..j + run];
                while !piece.is_empty() {
                    if column >= LINE - 1 {
                        emit(QpPiece::SoftBreak);
                        column = 0;
                    }
                    let (now, later) = piece.split_at(piece.len().min(LINE - 1 - column));
                    emit(QpPiece::Literal(now));
                    column += now.len();
                    piece = later;
                }
                j += run;
                continue;
            }
            let b = bytes[j];
            let is_last = j + 1 == bytes.len();
            let literal = plain(b) && !(is_last && matches!(b, b' ' | b'\t'));
            let width = if literal { 1 } else { 3 };
            // Room for the `=` of a soft line break, unless this ends the line for good.
            let room = if is_last && line_ends { LINE } else { LINE - 1 };
            if column + width > room {
                emit(QpPiece::SoftBreak);
                column = 0;
            }
            emit(if literal {
                QpPiece::Literal(&line[j..=j])
            } else {
                QpPiece::Escaped(b)
            });
            column += width;
            j += 1;
        }
    }
}

/// Whether `b` stands for itself in quoted-printable where it does not end a line (a space
/// or tab that ends one is escaped, or the line's end would drop it).
fn plain(b: u8) -> bool {
    matches!(b, 33..=60 | 62..=126 | b' ' | b'\t')
}

/// `bytes` in lowercase hexadecimal, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Base64 in lines of 76 characters, each ending in CRLF.
pub fn base64(bytes: &[u8]) -> String {
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(base64_len(bytes.len()));
    for chunk in flat.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 output is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// The length of `n` bytes as base64 in lines of 76.
pub(crate) fn base64_len(n: usize) -> usize {
    let chars = n.div_ceil(3) * 4;
    chars + chars.div_ceil(LINE) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn encoded_len_is_the_length_of_the_encoded_body() {
        let long = "x".repeat(200);
        let samples = [
            String::new(),
            "plain\n".to_owned(),
            format!("a=b café \t\r\n{long}\n\n{long} \n"),
            "中文的新闻摘要，每一个字都要转义。\n".repeat(40),
            format!("{}\n{}", "x".repeat(LINE), "x".repeat(LINE + 1)),
        ];
        for text in &samples {
            assert_eq!(encoded_len(text), encode(text).body.len(), "{text:?}");
        }
    }

    #[test]
    fn qp_escapes_and_soft_breaks() {
        let encoded = quoted_printable(&format!("a=b café \n{}", "x".repeat(200)));
        assert!(encoded.starts_with("a=3Db caf=C3=A9=20\r\n"));
        for line in encoded.split("\r\n") {
            assert!(line.len() <= LINE, "{line}");
        }
    }

    #[test]
    fn qp_keeps_lines_of_76_whole() {
        let line = "x".repeat(LINE);
        assert_eq!(
            quoted_printable(&format!("{line}\n{line}")),
            format!("{line}\r\n{line}")
        );
        let longer = quoted_printable(&format!("{line}y"));
        assert!(longer.split("\r\n").all(|l| l.len() <= LINE), "{longer}");
        let open = quoted_printable_run(&line, false) + "=";
        assert!(open.split("\r\n").all(|l| l.len() <= LINE), "{open}");
    }

    /// Texts of up to 300 pieces drawn from letters, blanks, `=`, line ends, controls and
    /// multibyte characters, most of them long plain runs (a fixed generator: the same
    /// texts every run).
    fn generated_texts() -> impl Iterator<Item = String> {
        const PIECES: [&str; 14] = [
            "a", "b", " ", "\t", "=", "\r", "\n", "é", "中", "x", ".", "~", "\u{7f}", "\u{1}",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).expect("31 bits fit")
        };
        (0..20_000).map(move |_| {
            let (len, mostly_plain) = (next() % 300, next() % 4 > 0);
            (0..len)
                .map(|_| {
                    let pick = next();
                    PIECES[if mostly_plain && pick % 10 < 8 {
                        pick % 2
                    } else {
                        pick % PIECES.len()
                    }]
                })
                .collect()
        })
    }

    #[test]
    fn qp_decodes_back_with_an_independent_decoder_in_lines_of_76() {
        for text in generated_texts() {
            for ends in [true, false] {
                let encoded = quoted_printable_run(&text, ends);
                let decoded = mail_parser::decoders::quoted_printable::quoted_printable_decode(
                    encoded.as_bytes(),
                )
                .expect("mail-parser decodes it");
                assert_eq!(
                    String::from_utf8(decoded)
                        .expect("UTF-8")
                        .replace("\r\n", "\n"),
                    text.replace("\r\n", "\n"),
                    "{encoded:?}"
                );
                let room = if ends { LINE } else { LINE - 1 };
                for (i, line) in encoded.split("\r\n").enumerate() {
                    assert!(line.len() <= LINE, "line {i} of {encoded:?}");
                    assert!(!line.ends_with([' ', '\t']), "line {i} of {encoded:?}");
                }
                let last = encoded.rsplit("\r\n").next().unwrap_or_default();
                assert!(last.len() <= room, "{encoded:?}");
            }
            assert_eq!(encoded_len(&text), encode(&text).body.len(), "{text:?}");
        }
    }

    #[test]
    fn qp_never_splits_an_escape() {
        let encoded = quoted_printable(&"é".repeat(100));
        for line in encoded.split("\r\n") {
            let body = line.strip_suffix('=').unwrap_or(line);
            assert_eq!(body.len() % 3, 0, "{line}");
        }
    }

    #[test]
    fn chooses_base64_for_chinese() {
        let chinese = "中文内容".repeat(200);
        let encoded = encode(&chinese);
        assert_eq!(encoded.encoding, TransferEncoding::Base64);
        assert_eq!(encoded.body.len(), base64_len(chinese.len()));
        assert_eq!(
            encode("plain ascii").encoding,
            TransferEncoding::QuotedPrintable
        );
    }
}
