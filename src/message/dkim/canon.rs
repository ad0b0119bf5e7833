//! DKIM's "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4): a message's header fields
//! and body in, the bytes that are hashed out. Relaxed, not simple, because relays refold
//! headers and re-wrap whitespace; a signature that breaks on that proves nothing.

use std::sync::LazyLock;

use memchr::memmem;

/// One header field as it stands in the message: its name and its raw value (everything
/// after the colon, folding included, without the final CRLF).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a [u8],
}

/// Splits `message` into its header fields and its body (after the blank line). `None` when
/// there is no blank line or a field has no colon: we only sign messages we built.
pub(crate) fn split(message: &[u8]) -> Option<(Vec<Field<'_>>, &[u8])> {
    let end = memmem::find(message, b"\r\n\r\n")?;
    let (head, body) = (&message[..end + 2], &message[end + 4..]);
    let mut fields = Vec::new();
    let mut start = 0;
    while start < head.len() {
        let mut stop = start;
        // A field ends at a CRLF not followed by whitespace (a fold continues it).
        loop {
            let at = stop + memmem::find(&head[stop..], b"\r\n")?;
            stop = at + 2;
            if !matches!(head.get(stop), Some(b' ' | b'\t')) {
                break;
            }
        }
        let line = &head[start..stop - 2];
        let colon = line.iter().position(|&b| b == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?;
        fields.push(Field {
            name: name.trim_end(),
            value: &line[colon + 1..],
        });
        start = stop;
    }
    Some((fields, body))
}

/// `name:value` in relaxed form: the name lowercased, the value unfolded, every run of
/// whitespace one space, none at either end. Ends with CRLF when `crlf`.
pub(crate) fn header(out: &mut Vec<u8>, field: &Field<'_>, crlf: bool) {
    out.extend(field.name.bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let value: Vec<u8> = field
        .value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let mut words = value
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.extend_from_slice(first);
        for word in words {
            out.push(b' ');
            out.extend_from_slice(word);
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

/// Feeds the relaxed form of `body` to `sink` (RFC 6376 §3.4.4, its two steps in order):
/// each run of spaces and tabs one space, none before a CRLF; then no empty lines at the
/// end of the body, and a CRLF after a last line that lacks one.
///
/// Nearly all of a message we built is in that form already (quoted-printable and base64
/// lines hold no tab and end in neither space nor tab; the text part's indents are the
/// exception), so the body is searched at memchr's speed for the three places
/// canonicalization changes: a tab, two spaces in a row, a space before CRLF. Only those
/// runs are rewritten; everything between them goes to `sink` as it stands.
pub(crate) fn body(body: &[u8], sink: &mut impl FnMut(&[u8])) {
    let body = &body[..content_end(body)];
    let mut marks = Marks::new(body);
    let mut at = 0;
    while let Some(mark) = marks.next(at) {
        // The whole run the mark is in; `at` follows a run already rewritten, or a line.
        let start = mark - spaces(body[at..mark].iter().rev());
        let stop = mark + spaces(body[mark..].iter());
        if at < start {
            sink(&body[at..start]);
        }
        // A run before CRLF goes; any other becomes one space.
        if !body[stop..].starts_with(b"\r\n") {
            sink(b" ");
        }
        at = stop;
    }
    if at < body.len() {
        sink(&body[at..]);
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        sink(b"\r\n");
    }
}

/// Where the body ends once the lines at its end that hold only whitespace (empty lines,
/// once it is reduced) are left out. A last line without CRLF is never empty: it stays.
fn content_end(body: &[u8]) -> usize {
    let mut end = body.len();
    while let Some(text) = body[..end].strip_suffix(b"\r\n") {
        let start = memmem::rfind(text, b"\r\n").map_or(0, |i| i + 2);
        if !text[start..].iter().all(is_space) {
            break;
        }
        end = start;
    }
    end
}

fn is_space(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

/// How many spaces and tabs `bytes` starts with.
fn spaces<'a>(bytes: impl Iterator<Item = &'a u8>) -> usize {
    bytes.take_while(|b| is_space(b)).count()
}

/// The places where relaxed canonicalization changes a line: a tab, two spaces, a space
/// before CRLF. Each pattern's next match is kept, so the body is searched once for each of
/// the three, however many places there are.
struct Marks<'a> {
    body: &'a [u8],
    next: [Option<usize>; 3],
}

/// The three patterns' searchers, built once (building one is most of a short search).
static PATTERNS: LazyLock<[memmem::Finder<'static>; 3]> =
    LazyLock::new(|| [b"\t".as_slice(), b"  ", b" \r\n"].map(memmem::Finder::new));

impl<'a> Marks<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            next: PATTERNS.each_ref().map(|pattern| pattern.find(body)),
        }
    }

    /// The first place at or after `from`.
    fn next(&mut self, from: usize) -> Option<usize> {
        for (next, pattern) in self.next.iter_mut().zip(PATTERNS.iter()) {
            if next.is_some_and(|at| at < from) {
                *next = pattern.find(&self.body[from..]).map(|i| from + i);
            }
        }
        self.next.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed_body(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        body(text, &mut |bytes| out.extend_from_slice(bytes));
        out
    }

    #[test]
    fn bodies_lose_trailing_space_runs_and_trailing_blank_lines() {
        assert_eq!(
            relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C\r\nD E\r\n".to_vec()
        );
        assert_eq!(relaxed_body(b"a\r\n\r\nb\r\n"), b"a\r\n\r\nb\r\n".to_vec());
        assert_eq!(relaxed_body(b"\r\n\r\n"), Vec::<u8>::new());
    }

    /// Relaxed body canonicalization as RFC 6376 §3.4.4 words it, one step at a time.
    fn by_the_rfc(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8(body.to_vec()).unwrap();
        // Step (a) trims whitespace before a line's CRLF: a last line without one keeps it.
        let unterminated = !text.is_empty() && !text.ends_with("\r\n");
        let mut lines: Vec<String> = text.split_terminator("\r\n").map(str::to_owned).collect();
        let count = lines.len();
        for (n, line) in lines.iter_mut().enumerate() {
            let mut out = String::new();
            for (i, word) in line.split([' ', '\t']).enumerate() {
                if i > 0 && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(word);
            }
            if !(unterminated && n + 1 == count) {
                out = out.trim_end_matches(' ').to_owned();
            }
            *line = out;
        }
        // Step (b): empty lines at the end go, and every line ends with CRLF.
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
            .iter()
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn bodies_of_every_shape_canonicalize_as_the_rfc_says() {
        let mut rng = fastrand::Rng::with_seed(6376);
        // Bare CR and LF are not line breaks: they stay, as any other character.
        let pieces: [&[u8]; 8] = [b"a", b"=3D", b" ", b"\t", b"\r\n", b"  x", b"\r", b"\n"];
        for round in 0..4_000 {
            let mut body = Vec::new();
            for _ in 0..rng.usize(0..40) {
                body.extend_from_slice(pieces[rng.usize(..pieces.len())]);
            }
            // Every other body ends without CRLF, which canonicalization adds.
            if round % 2 == 0 {
                body.extend_from_slice(b"\r\n");
            }
            assert_eq!(
                relaxed_body(&body),
                by_the_rfc(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn headers_unfold_and_lowercase() {
        // The example of RFC 6376 §3.4.5.
        let message = b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\nbody";
        let (fields, body) = split(message).expect("a message");
        assert_eq!(body, b"body");
        let mut out = Vec::new();
        for field in &fields {
            header(&mut out, field, true);
        }
        assert_eq!(out, b"a:X\r\nb:Y Z\r\n".to_vec());
    }
}
