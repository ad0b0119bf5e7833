//! Bodies encoded once and spliced per recipient: a rendered part with placeholders in, its
//! chunks transfer-encoded once, and per recipient only the short values (unsubscribe URL,
//! greeting) encoded and put between them.
//!
//! The spliced bytes equal `encode_segments` (the tests' reference) of the same segments,
//! which encodes everything from scratch; the segmentation is the definition of the
//! encoding, so splicing is exact:
//! - quoted-printable: each segment is encoded from column 0, and every segment but the last
//!   that does not end a line ends with a soft line break (`=` CRLF), so no line depends on
//!   what is spliced next to it and none exceeds 76 octets;
//! - base64 (of the CRLF form): bytes are encoded in runs that start on a 3-byte boundary of
//!   the decoded body; the few bytes of a literal chunk before its next boundary travel with
//!   the spliced value, so only 3 encodings of each chunk exist, made once. Each run starts a
//!   new line; padding comes only at the very end.

use std::borrow::Cow;

use crate::encoding::{self, TransferEncoding};

/// What fills a slot of a rendered part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The recipient's unsubscribe URL.
    Unsubscribe,
    /// The name the recipient is greeted by.
    Greeting,
}

/// A part split at its slots, with every literal chunk already encoded.
#[derive(Debug, Clone)]
pub(crate) struct SplicedPart {
    encoding: TransferEncoding,
    slots: Vec<Slot>,
    chunks: Vec<Chunk>,
}

#[derive(Debug, Clone)]
struct Chunk {
    /// The chunk as encoded: LF text for quoted-printable, CRLF bytes for base64.
    raw: String,
    /// Quoted-printable: the one encoding. Base64: the encodings for 0, 1 and 2 bytes
    /// taken by the run before, each with the end of the bytes it covers.
    encoded: Vec<(usize, String)>,
}

/// Splits `text` at every placeholder: the literal chunks (one more than the slots) and the
/// slot at each gap.
pub(crate) fn split<'a>(text: &'a str, placeholders: &[(&str, Slot)]) -> (Vec<&'a str>, Vec<Slot>) {
    let mut chunks = Vec::new();
    let mut slots = Vec::new();
    let mut rest = text;
    loop {
        let next = placeholders
            .iter()
            .filter_map(|&(p, slot)| rest.find(p).map(|at| (at, p.len(), slot)))
            .min_by_key(|&(at, _, _)| at);
        let Some((at, len, slot)) = next else {
            chunks.push(rest);
            return (chunks, slots);
        };
        chunks.push(&rest[..at]);
        slots.push(slot);
        rest = &rest[at + len..];
    }
}

/// The text as a base64 part carries it: lines ending in CRLF (RFC 2046 canonical form).
fn canonical(text: &str) -> Cow<'_, str> {
    if text.contains('\n') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\n', "\r\n"))
    } else {
        Cow::Borrowed(text)
    }
}

impl SplicedPart {
    /// Encodes the chunks of `text` (split at `placeholders`) once, choosing the encoding
    /// that suits the whole part.
    pub(crate) fn new(text: &str, placeholders: &[(&str, Slot)]) -> Self {
        let encoding = encoding::encode(text).encoding;
        let (chunks, slots) = split(text, placeholders);
        let chunks = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| match encoding {
                TransferEncoding::QuotedPrintable => Chunk {
                    raw: chunk.to_owned(),
                    encoded: vec![(chunk.len(), qp_segment(chunk, i == slots.len()))],
                },
                TransferEncoding::Base64 => {
                    let raw = canonical(chunk).into_owned();
                    let encoded = (0..3)
                        .map(|need| aligned_run(raw.as_bytes(), need))
                        .collect();
                    Chunk { raw, encoded }
                }
            })
            .collect();
        Self {
            encoding,
            slots,
            chunks,
        }
    }

    /// The part's transfer encoding.
    pub(crate) fn encoding(&self) -> TransferEncoding {
        self.encoding
    }

    /// Appends the encoded part with each slot filled by `value`.
    pub(crate) fn write<'v>(&self, out: &mut String, value: &dyn Fn(Slot) -> &'v str) {
        match self.encoding {
            TransferEncoding::QuotedPrintable => {
                for (i, chunk) in self.chunks.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&qp_segment(value(self.slots[i - 1]), false));
                    }
                    out.push_str(&chunk.encoded[0].1);
                }
            }
            TransferEncoding::Base64 => {
                let mut pending = Vec::new();
                for (i, chunk) in self.chunks.iter().enumerate() {
                    if i > 0 {
                        pending.extend_from_slice(value(self.slots[i - 1]).as_bytes());
                    }
                    base64_chunk(
                        out,
                        &mut pending,
                        chunk.raw.as_bytes(),
                        Some(&chunk.encoded),
                    );
                }
                out.push_str(&encoding::base64(&pending));
            }
        }
    }
}

/// Encodes `segments` (literal chunks at even places, values at odd ones) from scratch,
/// exactly as a [`SplicedPart`] splices them: the reference that splicing must equal.
#[cfg(test)]
pub(crate) fn encode_segments(encoding: TransferEncoding, segments: &[&str]) -> String {
    let mut out = String::new();
    match encoding {
        TransferEncoding::QuotedPrintable => {
            for (i, segment) in segments.iter().enumerate() {
                out.push_str(&qp_segment(segment, i + 1 == segments.len()));
            }
        }
        TransferEncoding::Base64 => {
            let mut pending = Vec::new();
            for (i, segment) in segments.iter().enumerate() {
                let bytes = canonical(segment);
                if i % 2 == 1 {
                    pending.extend_from_slice(bytes.as_bytes());
                } else {
                    base64_chunk(&mut out, &mut pending, bytes.as_bytes(), None);
                }
            }
            out.push_str(&encoding::base64(&pending));
        }
    }
    out
}

/// One quoted-printable segment, ending with a soft line break unless it is the last or
/// ends a line already.
fn qp_segment(segment: &str, last: bool) -> String {
    let mut encoded = encoding::quoted_printable_run(segment, last);
    if !last && !encoded.is_empty() && !encoded.ends_with("\r\n") {
        encoded.push_str("=\r\n");
    }
    encoded
}

/// The base64 run of `raw` that starts after its first `need` bytes and ends on a 3-byte
/// boundary, with the end of the bytes it covers.
fn aligned_run(raw: &[u8], need: usize) -> (usize, String) {
    let start = need.min(raw.len());
    let end = start + (raw.len() - start) / 3 * 3;
    (end, encoding::base64(&raw[start..end]))
}

/// Moves one literal chunk through the base64 stream: completes the pending run to a 3-byte
/// boundary with the chunk's first bytes, writes it, writes the chunk's aligned run (from
/// `cache` when given), and keeps the chunk's last bytes pending.
fn base64_chunk(
    out: &mut String,
    pending: &mut Vec<u8>,
    raw: &[u8],
    cache: Option<&[(usize, String)]>,
) {
    let need = (3 - pending.len() % 3) % 3;
    if raw.len() <= need {
        pending.extend_from_slice(raw);
        return;
    }
    pending.extend_from_slice(&raw[..need]);
    out.push_str(&encoding::base64(pending));
    pending.clear();
    let fresh;
    let (end, run) = match cache {
        Some(cache) => (cache[need].0, cache[need].1.as_str()),
        None => {
            fresh = aligned_run(raw, need);
            (fresh.0, fresh.1.as_str())
        }
    };
    out.push_str(run);
    pending.extend_from_slice(&raw[end..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACEHOLDERS: [(&str, Slot); 2] =
        [("<URL>", Slot::Unsubscribe), ("<NAME>", Slot::Greeting)];

    fn spliced(text: &str, url: &str, name: &str) -> (TransferEncoding, String, String) {
        let part = SplicedPart::new(text, &PLACEHOLDERS);
        let mut out = String::new();
        part.write(&mut out, &|slot| {
            if slot == Slot::Greeting { name } else { url }
        });
        let (chunks, slots) = split(text, &PLACEHOLDERS);
        let mut segments = vec![chunks[0]];
        for (slot, chunk) in slots.iter().zip(&chunks[1..]) {
            segments.push(if *slot == Slot::Greeting { name } else { url });
            segments.push(chunk);
        }
        let reference = encode_segments(part.encoding(), &segments);
        (part.encoding(), out, reference)
    }

    #[test]
    fn splices_equal_full_encodings_for_every_alignment() {
        let ascii = format!(
            "Hi <NAME>,\n{}\nUnsubscribe: <URL>\nend\n",
            "word ".repeat(40)
        );
        let chinese = format!("你好 <NAME>，\n{}\n退订：<URL>\n", "中文内容".repeat(60));
        let adjacent = "<NAME><URL>x<URL>".to_owned();
        for text in [&ascii, &chinese, &adjacent] {
            for name in ["", "A", "Ab", "Ana María", "张伟", "Zoë Ünal-Şahin"] {
                for url in [
                    "https://x.test/u/a",
                    "https://x.test/u/ab",
                    "https://x.test/u/abc",
                ] {
                    let (encoding, spliced, reference) = spliced(text, url, name);
                    assert_eq!(spliced, reference, "{encoding:?} {name:?} {url:?}");
                    assert!(spliced.split("\r\n").all(|l| l.len() <= 76), "{spliced}");
                }
            }
        }
        assert_eq!(spliced(&chinese, "u", "n").0, TransferEncoding::Base64);
        assert_eq!(
            spliced(&ascii, "u", "n").0,
            TransferEncoding::QuotedPrintable
        );
    }

    #[test]
    fn base64_has_padding_only_at_the_end() {
        let text = format!("{}<URL>{}", "中".repeat(30), "文".repeat(31));
        let (_, body, _) = spliced(&text, "https://x.test/a", "");
        let trimmed = body.trim_end().trim_end_matches('=');
        assert!(!trimmed.contains('='), "{body}");
    }
}
