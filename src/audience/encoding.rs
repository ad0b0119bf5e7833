//! The text of a list file as UTF-8 bytes: a UTF-8 file as it is, a UTF-16 one (Excel's
//! "Unicode text", and other spreadsheets' UTF-16 CSV) known by its byte-order mark and
//! turned into UTF-8 as it is read, so that a large list never sits in memory twice. The
//! UTF-16 mark comes out as the UTF-8 one, which the CSV reader skips.

use std::io::{self, BufRead, BufReader, Read};

/// The reader of a list file's text in UTF-8.
pub(crate) fn utf8_reader<'r>(file: impl Read + 'r) -> io::Result<Box<dyn BufRead + 'r>> {
    let mut buffered = BufReader::new(file);
    let big_endian = match buffered.fill_buf()? {
        [0xFF, 0xFE, ..] => false,
        [0xFE, 0xFF, ..] => true,
        _ => return Ok(Box::new(buffered)),
    };
    Ok(Box::new(BufReader::new(Utf16 {
        inner: buffered,
        big_endian,
        raw: Vec::new(),
        decoded: Vec::new(),
        at: 0,
    })))
}

/// A UTF-16 stream read as UTF-8.
struct Utf16<R> {
    inner: R,
    big_endian: bool,
    /// Bytes read but not yet decoded: an odd byte, or a high surrogate whose pair is still
    /// to come.
    raw: Vec<u8>,
    /// Decoded text not yet handed out, from `at` on.
    decoded: Vec<u8>,
    at: usize,
}

impl<R: Read> Utf16<R> {
    /// Decodes the next piece of the stream; false at its end.
    fn refill(&mut self) -> io::Result<bool> {
        let mut chunk = [0; 8192];
        let read = self.inner.read(&mut chunk)?;
        if read == 0 {
            if self.raw.is_empty() {
                return Ok(false);
            }
            return Err(invalid("the file ends inside a UTF-16 character"));
        }
        self.raw.extend_from_slice(&chunk[..read]);
        let mut units: Vec<u16> = self
            .raw
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair[0], pair[1]];
                if self.big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            })
            .collect();
        // A high surrogate at the end waits for its pair in the next chunk.
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            units.pop();
        }
        self.raw.drain(..units.len() * 2);
        self.decoded.clear();
        self.at = 0;
        let mut utf8 = [0; 4];
        for c in char::decode_utf16(units) {
            let c = c.map_err(|_| invalid("the file is not UTF-16 text"))?;
            self.decoded
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.decoded.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.decoded.len() - self.at);
        buf[..n].copy_from_slice(&self.decoded[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(bytes: &[u8]) -> io::Result<String> {
        let mut text = String::new();
        utf8_reader(bytes)?.read_to_string(&mut text)?;
        Ok(text)
    }

    fn utf16(text: &str, big: bool) -> Vec<u8> {
        let mut bytes = if big {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn utf16_of_either_order_reads_as_utf8_and_utf8_as_it_is() {
        // Long enough that a surrogate pair falls across the reader's chunks.
        let text = format!(
            "email\tname\r\n{}\r\n",
            "ana@example.org\t𝒜na 张\r\n".repeat(900)
        );
        for big in [false, true] {
            assert_eq!(
                text_of(&utf16(&text, big)).unwrap(),
                format!("\u{feff}{text}")
            );
        }
        assert_eq!(text_of(text.as_bytes()).unwrap(), text);
        assert_eq!(text_of(b"").unwrap(), "");
    }

    #[test]
    fn broken_utf16_is_an_error_not_a_guess() {
        let mut bytes = utf16("a", false);
        bytes.extend([0x00, 0xD8, b'b', 0x00]);
        assert!(text_of(&bytes).is_err());
        assert!(text_of(&[0xFF, 0xFE, b'a']).is_err());
    }
}
