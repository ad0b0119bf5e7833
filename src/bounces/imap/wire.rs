//! IMAP on the wire, bounded: commands out as lines, responses in as lines with their
//! literals (`{N}` then N bytes). A line longer than [`MAX_LINE`], a literal larger than
//! its caller allows, or a response whose lines pass [`MAX_RESPONSE`] is an error before a
//! byte of it is held, so a hostile server cannot make the client allocate what it likes.

use std::io::{BufRead as _, BufReader, Read, Write};

use anyhow::Context as _;

use crate::bounces::source::human_size;

/// The longest response line read, literals aside: every line the commands here get is
/// short, since the message list comes one FETCH line per message.
pub(super) const MAX_LINE: u64 = 64 * 1024;

/// The most one command's response lines may hold in all, literals aside (a batch of the
/// folder's listing is about 25 KB): past it the server is not answering in good faith.
pub(super) const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// A connection: TCP or TLS.
pub(super) trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One server response line and the literals it carried.
pub(super) struct Line {
    /// The text, with each literal's announcement but not its bytes.
    pub text: String,
    /// The literals, in order.
    pub literals: Vec<Vec<u8>>,
}

/// A connection to the server.
pub(super) struct Wire {
    stream: BufReader<Box<dyn Stream>>,
}

impl Wire {
    /// Speaks over `stream`.
    pub(super) fn new(stream: Box<dyn Stream>) -> Self {
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// Whether the server sent bytes not yet read.
    pub(super) fn has_unread(&self) -> bool {
        !self.stream.buffer().is_empty()
    }

    /// Sends `line` and CRLF; `what` names it in an error.
    pub(super) fn send(&mut self, line: &str, what: &str) -> anyhow::Result<()> {
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| stream.flush())
            .with_context(|| format!("cannot send `{what}` to the IMAP server"))
    }

    /// One response line with its literals, each at most `max_literal` bytes, taking the
    /// length of its text from `budget`.
    pub(super) fn line(&mut self, max_literal: u64, budget: &mut u64) -> anyhow::Result<Line> {
        let mut line = Line {
            text: String::new(),
            literals: Vec::new(),
        };
        loop {
            let text = self.text(budget)?;
            let size = literal_size(&text)?;
            line.text.push_str(&text);
            let Some(size) = size else { return Ok(line) };
            anyhow::ensure!(
                size <= max_literal,
                "the IMAP server announced {size} bytes, over the {} limit",
                human_size(max_literal)
            );
            let mut literal = Vec::with_capacity(usize::try_from(size)?);
            (&mut self.stream)
                .take(size)
                .read_to_end(&mut literal)
                .context("lost the IMAP connection")?;
            anyhow::ensure!(
                literal.len() as u64 == size,
                "the IMAP server closed the connection after {} of {size} bytes",
                literal.len()
            );
            line.literals.push(literal);
        }
    }

    /// One line of text up to CRLF (a literal's announcement ends one).
    fn text(&mut self, budget: &mut u64) -> anyhow::Result<String> {
        let mut raw = Vec::new();
        (&mut self.stream)
            .take(MAX_LINE)
            .read_until(b'\n', &mut raw)
            .context("lost the IMAP connection")?;
        let Some(text) = raw.strip_suffix(b"\r\n") else {
            anyhow::ensure!(
                raw.len() as u64 != MAX_LINE,
                "the IMAP server sent a line longer than {}",
                human_size(MAX_LINE)
            );
            anyhow::ensure!(
                !raw.ends_with(b"\n"),
                "the IMAP server ended a line without CR"
            );
            anyhow::bail!("the IMAP server closed the connection");
        };
        *budget = budget.checked_sub(raw.len() as u64).with_context(|| {
            format!(
                "the IMAP server's answer passed {}",
                human_size(MAX_RESPONSE)
            )
        })?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }
}

/// `N` when `text` ends with a literal's announcement `{N}` (or `{N+}`).
fn literal_size(text: &str) -> anyhow::Result<Option<u64>> {
    let Some(open) = text.strip_suffix('}').and_then(|t| t.rfind('{')) else {
        return Ok(None);
    };
    let digits = text[open + 1..text.len() - 1].trim_end_matches('+');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let size = digits.parse().ok();
    size.map(Some)
        .with_context(|| format!("the IMAP server announced a literal of {digits} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first line the server sends in `input`, or the error, with `max_literal` 100.
    fn first_line(input: &[u8], budget: u64) -> Result<(String, Vec<Vec<u8>>), String> {
        let mut wire = Wire::new(Box::new(std::io::Cursor::new(input.to_vec())));
        let mut budget = budget;
        wire.line(100, &mut budget)
            .map(|l| (l.text, l.literals))
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn lines_carry_their_literals() {
        assert_eq!(
            first_line(b"* 1 FETCH (BODY[] {5}\r\nhello)\r\nnext\r\n", 100),
            Ok(("* 1 FETCH (BODY[] {5})".to_owned(), vec![b"hello".to_vec()]))
        );
    }

    #[test]
    fn what_a_server_cannot_make_the_client_hold() {
        let endless = vec![b'x'; 200_000];
        let cases: [(&[u8], u64, &str); 6] = [
            (
                b"* 1 FETCH (BODY[] {101}\r\n",
                100,
                "announced 101 bytes, over the 100 bytes limit",
            ),
            (&endless, 1 << 20, "a line longer than 64 KiB"),
            (b"* OK\r\n", 3, "answer passed 64 MiB"),
            (
                b"* 1 FETCH (BODY[] {5}\r\nhel",
                100,
                "closed the connection after 3 of 5 bytes",
            ),
            (b"* OK\n", 100, "ended a line without CR"),
            (b"* OK", 100, "the IMAP server closed the connection"),
        ];
        for (input, budget, error) in cases {
            let found = first_line(input, budget).unwrap_err();
            assert!(found.ends_with(error), "{found}");
        }
    }

    #[test]
    fn literal_announcements() {
        let size = |text| literal_size(text).map_err(|e| e.to_string());
        assert_eq!(size("* 1 FETCH (UID 1 BODY[] {40}"), Ok(Some(40)));
        assert_eq!(size("* 1 FETCH (UID 1 BODY[] {40+}"), Ok(Some(40)));
        assert_eq!(size("a1 OK done"), Ok(None));
        assert_eq!(size("* OK [ALERT] {braces}"), Ok(None));
        assert_eq!(
            size("* 1 FETCH (BODY[] {99999999999999999999}"),
            Err("the IMAP server announced a literal of 99999999999999999999 bytes".to_owned())
        );
    }
}
