//! An mbox file read as a stream, message by message: bytes in, one [`Message`] out per
//! `From ` separator, with `>From ` lines unquoted (mboxrd, as `mail-parser` reads them). A
//! message past the size limit is counted to its end but never held, and no line is ever
//! held whole, so a 200 MB message, or one without a line break, costs no more memory than
//! a small one.

use std::io::{self, BufRead, Read as _};

/// The most of one line read at once; a longer line is read in pieces of this size.
const PIECE: u64 = 64 * 1024;

/// One message of an mbox.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// Its bytes, without the separator line.
    Bytes(Vec<u8>),
    /// Its size in bytes, over the limit: never held.
    TooLarge(u64),
}

/// The messages of an mbox, in order; reading stops at the first I/O error, which is
/// the last item.
pub(super) struct Mbox<R> {
    reader: R,
    limit: u64,
    /// A separator line has been read and its message's lines follow.
    in_message: bool,
    done: bool,
}

impl<R: BufRead> Mbox<R> {
    /// Reads `reader`, holding messages up to `limit` bytes.
    pub(super) fn new(reader: R, limit: u64) -> Self {
        Self {
            reader,
            limit,
            in_message: false,
            done: false,
        }
    }

    /// The next piece of a line into `piece`: up to its end (`\n` included) or [`PIECE`]
    /// bytes; empty at the end of the file.
    fn piece(&mut self, piece: &mut Vec<u8>) -> io::Result<()> {
        piece.clear();
        (&mut self.reader).take(PIECE).read_until(b'\n', piece)?;
        Ok(())
    }

    /// Reads up to the first separator line; false when the file has none.
    fn find_separator(&mut self, piece: &mut Vec<u8>) -> io::Result<bool> {
        let mut line_start = true;
        loop {
            self.piece(piece)?;
            if piece.is_empty() {
                return Ok(false);
            }
            if line_start && piece.starts_with(b"From ") {
                self.finish_line(piece)?;
                return Ok(true);
            }
            line_start = piece.ends_with(b"\n");
        }
    }

    /// Reads the rest of a line whose first piece is `piece`.
    fn finish_line(&mut self, piece: &mut Vec<u8>) -> io::Result<()> {
        while !piece.is_empty() && !piece.ends_with(b"\n") {
            self.piece(piece)?;
        }
        Ok(())
    }

    /// The lines up to the next separator (or the end of the file), unquoted.
    fn message(&mut self) -> io::Result<Option<Message>> {
        let mut piece = Vec::new();
        if !self.in_message && !self.find_separator(&mut piece)? {
            return Ok(None);
        }
        self.in_message = false;
        let (mut bytes, mut size, mut line_start) = (Vec::new(), 0u64, true);
        loop {
            self.piece(&mut piece)?;
            if piece.is_empty() {
                break;
            }
            if line_start && piece.starts_with(b"From ") {
                self.finish_line(&mut piece)?;
                self.in_message = true;
                break;
            }
            let text = if line_start { unquote(&piece) } else { &piece };
            size += text.len() as u64;
            if size <= self.limit {
                bytes.extend_from_slice(text);
            } else if bytes.capacity() > 0 {
                bytes = Vec::new();
            }
            line_start = piece.ends_with(b"\n");
        }
        Ok(Some(if size <= self.limit {
            Message::Bytes(bytes)
        } else {
            Message::TooLarge(size)
        }))
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = io::Result<Message>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.message().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

/// `line` without the quoting `>` of a `>From ` line (`>>From ` keeps one).
fn unquote(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(mbox: &[u8], limit: u64) -> Vec<Message> {
        Mbox::new(mbox, limit).map(Result::unwrap).collect()
    }

    fn bytes(text: &str) -> Message {
        Message::Bytes(text.as_bytes().to_vec())
    }

    #[test]
    fn messages_are_split_at_separators_and_unquoted() {
        let mbox = b"From a@b Thu Jan  1 00:00:00 2026\nSubject: c\n\n>From here\n>>From there\n>Fromage\n\n\
From a@b Thu Jan  1 00:00:01 2026\nSubject: d\n\nd\n";
        assert_eq!(
            messages(mbox, 1000),
            [
                bytes("Subject: c\n\nFrom here\n>From there\n>Fromage\n\n"),
                bytes("Subject: d\n\nd\n")
            ]
        );
        assert!(messages(b"", 1000).is_empty());
        assert!(messages(b"Subject: no separator\n", 1000).is_empty());
        assert_eq!(messages(b"From a\nFrom b\n", 1000), [bytes(""), bytes("")]);
    }

    #[test]
    fn a_message_past_the_limit_is_counted_not_held() {
        let long_line = "x".repeat(300_000);
        let mbox = format!(
            "From a\nSubject: big\n\n{long_line}\nFrom b\nSubject: small\n\nFrom c\n{long_line}"
        );
        let found = messages(mbox.as_bytes(), 1000);
        assert_eq!(
            found,
            [
                Message::TooLarge(14 + 300_001),
                bytes("Subject: small\n\n"),
                Message::TooLarge(300_000)
            ]
        );
        // A separator is one only at the start of a line, however long the line before.
        let glued = format!("From a\n{long_line}From b\n");
        assert_eq!(
            messages(glued.as_bytes(), 1_000_000),
            [bytes(&format!("{long_line}From b\n"))]
        );
    }

    #[test]
    fn a_read_error_ends_the_messages() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let reader = io::BufReader::new(io::Cursor::new(b"From a\nSubject: a\n").chain(Failing));
        let found: Vec<_> = Mbox::new(reader, 1000).collect();
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .as_ref()
                .is_err_and(|e| e.to_string() == "disk on fire")
        );
    }
}
