//! A small IMAP4rev1 client (RFC 3501), just what `bounces fetch` needs: log in over TLS,
//! STARTTLS or (on loopback only) plain TCP, select a folder, list its messages by UID,
//! fetch one without marking it read, and move it (RFC 6851 `MOVE`) or flag it `\Seen`
//! once applied. Every step has a timeout; the password only ever crosses TLS or loopback.

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_rustls::rustls::{ClientConnection, StreamOwned};

use super::source::human_size;
use crate::settings::Security;
use crate::transport::tls;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The longest response line read, literals aside: every line the commands here get is
/// short, since the message list comes one FETCH line per message.
const MAX_LINE: u64 = 64 * 1024;

/// The most a literal may hold outside a message: nothing here expects one.
const MAX_SMALL_LITERAL: u64 = 64 * 1024;

/// The most one command's response lines may hold in all, literals aside (a folder of a
/// million messages lists in about 40 MB): past it the server is not answering in good faith.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A logged-in IMAP session.
pub struct Session {
    stream: BufReader<Box<dyn Stream>>,
    tag: u32,
}

/// Where and how to log in.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    /// The server's host name or address.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// TLS from the start, STARTTLS, or none (loopback only, checked in the settings).
    pub security: Security,
    /// The user name.
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
}

/// One server response line and the literals (`{N}` bytes) it carried.
struct Line {
    text: String,
    literals: Vec<Vec<u8>>,
}

/// The server refused a command (a tagged `NO` or `BAD`): the session itself goes on.
#[derive(Debug)]
pub struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Session {
    /// Connects and logs in.
    pub fn open(login: &Login<'_>) -> anyhow::Result<Self> {
        let what = format!("IMAP server {}:{}", login.host, login.port);
        let tcp = TcpStream::connect((login.host, login.port))
            .with_context(|| format!("cannot connect to the {what}"))?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        tcp.set_write_timeout(Some(TIMEOUT))?;
        // STARTTLS goes on over the same socket, so keep a handle on it.
        let plain = tcp.try_clone()?;
        let mut session = match login.security {
            Security::Tls => Self::new(Box::new(wrap(tcp, login.host)?)),
            Security::None | Security::Starttls => Self::new(Box::new(tcp)),
        };
        let greeting = session
            .line(MAX_SMALL_LITERAL, &mut MAX_RESPONSE.clone())
            .with_context(|| format!("no greeting from the {what}"))?;
        anyhow::ensure!(
            greeting.text.starts_with("* OK"),
            "the {what} greeted with `{}`",
            greeting.text
        );
        if login.security == Security::Starttls {
            session.simple("STARTTLS")?;
            anyhow::ensure!(
                session.stream.buffer().is_empty(),
                "the {what} spoke before TLS started"
            );
            session = Self::new(Box::new(wrap(plain, login.host)?));
        }
        let command = format!("LOGIN {} {}", quote(login.username), quote(login.password));
        session.simple(&command).context("the IMAP login failed")?;
        Ok(session)
    }

    fn new(stream: Box<dyn Stream>) -> Self {
        Self {
            stream: BufReader::new(stream),
            tag: 0,
        }
    }

    /// Selects `folder` for the commands that follow; the number of messages it holds.
    pub fn select(&mut self, folder: &str) -> anyhow::Result<u32> {
        let mut exists = 0;
        self.command(
            &format!("SELECT {}", quote(folder)),
            MAX_SMALL_LITERAL,
            |line| {
                let count = line.text.strip_prefix("* ");
                if let Some(n) = count.and_then(|c| c.strip_suffix(" EXISTS")) {
                    exists = n
                        .parse()
                        .context("the IMAP server's EXISTS is not a count")?;
                }
                Ok(())
            },
        )
        .with_context(|| format!("cannot open the IMAP folder `{folder}`"))?;
        Ok(exists)
    }

    /// The UID and size (`RFC822.SIZE`) of every message in the selected folder, by UID:
    /// what a message is is known before a byte of it is fetched.
    pub fn sizes(&mut self) -> anyhow::Result<Vec<(u32, u64)>> {
        let mut found = Vec::new();
        self.command("UID FETCH 1:* (RFC822.SIZE)", MAX_SMALL_LITERAL, |line| {
            let item = |name| fetch_item(&line.text, name);
            if let (Some(uid), Some(size)) = (item("UID"), item("RFC822.SIZE")) {
                found.push((u32::try_from(uid).context("a UID past 2^32")?, size));
            }
            Ok(())
        })?;
        found.sort_unstable();
        found.dedup_by_key(|(uid, _)| *uid);
        Ok(found)
    }

    /// The message `uid`, left unread, if it is at most `limit` bytes; a server that sends
    /// more than it announced is not read further (an error: the session cannot go on).
    pub fn fetch(&mut self, uid: u32, limit: u64) -> anyhow::Result<Vec<u8>> {
        let mut message = None;
        self.command(&format!("UID FETCH {uid} BODY.PEEK[]"), limit, |line| {
            if message.is_none() {
                message = line.literals.into_iter().next();
            }
            Ok(())
        })?;
        message
            .ok_or_else(|| Refused(format!("the IMAP server sent no message for UID {uid}")).into())
    }

    /// Creates `folder` unless it exists.
    pub fn create(&mut self, folder: &str) -> anyhow::Result<()> {
        match self.simple(&format!("CREATE {}", quote(folder))) {
            Err(e) if e.to_string().contains("ALREADYEXISTS") => Ok(()),
            other => other.with_context(|| format!("cannot create the IMAP folder `{folder}`")),
        }
    }

    /// Moves message `uid` to `folder`, or flags it read when no folder is given.
    pub fn settle(&mut self, uid: u32, folder: Option<&str>) -> anyhow::Result<()> {
        match folder {
            Some(folder) => self.simple(&format!("UID MOVE {uid} {}", quote(folder))),
            None => self.simple(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)")),
        }
    }

    /// Logs out, ignoring a server that hangs up first.
    pub fn logout(mut self) {
        let _ = self.simple("LOGOUT");
    }

    /// Sends `command`, whose answer needs nothing but OK.
    fn simple(&mut self, command: &str) -> anyhow::Result<()> {
        self.command(command, MAX_SMALL_LITERAL, |_| Ok(()))
    }

    /// Sends `command`, hands each untagged response line to `each`, and reads up to its
    /// tagged answer: [`Refused`] unless OK. Literals may hold up to `max_literal` bytes.
    fn command(
        &mut self,
        command: &str,
        max_literal: u64,
        mut each: impl FnMut(Line) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.tag += 1;
        let tag = format!("a{} ", self.tag);
        // LOGIN's arguments never reach a message.
        let verb = command
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{tag}{command}\r\n").as_bytes())
            .and_then(|()| stream.flush())
            .with_context(|| format!("cannot send `{verb}` to the IMAP server"))?;
        let mut budget = MAX_RESPONSE;
        loop {
            let line = self.line(max_literal, &mut budget)?;
            match line.text.strip_prefix(&tag) {
                Some(status) if status.starts_with("OK") => return Ok(()),
                Some(status) => {
                    return Err(Refused(format!("IMAP `{verb}` answered `{status}`")).into());
                }
                None => each(line)?,
            }
        }
    }

    /// One response line with its literals, taking its text's length from `budget`.
    fn line(&mut self, max_literal: u64, budget: &mut u64) -> anyhow::Result<Line> {
        let mut line = Line {
            text: String::new(),
            literals: Vec::new(),
        };
        loop {
            let mut raw = Vec::new();
            (&mut self.stream)
                .take(MAX_LINE)
                .read_until(b'\n', &mut raw)
                .context("lost the IMAP connection")?;
            if !raw.ends_with(b"\r\n") {
                anyhow::ensure!(
                    raw.len() as u64 != MAX_LINE,
                    "the IMAP server sent a line longer than {}",
                    human_size(MAX_LINE)
                );
                anyhow::bail!("the IMAP server closed the connection");
            }
            *budget = budget.checked_sub(raw.len() as u64).with_context(|| {
                format!(
                    "the IMAP server's answer passed {}",
                    human_size(MAX_RESPONSE)
                )
            })?;
            let text = String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned();
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

/// The number after `name` in a FETCH response (`* 3 FETCH (UID 7 RFC822.SIZE 1234)`).
fn fetch_item(text: &str, name: &str) -> Option<u64> {
    let (_, items) = text.strip_prefix("* ")?.split_once(" FETCH (")?;
    let mut words = items.split_whitespace();
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case(name) {
            return words.next()?.trim_end_matches(')').parse().ok();
        }
    }
    None
}

/// `text` as an IMAP quoted string.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn wrap(tcp: TcpStream, host: &str) -> anyhow::Result<StreamOwned<ClientConnection, TcpStream>> {
    let config = Arc::new(tls::client_config()?);
    let connection = ClientConnection::new(config, tls::server_name(host)?)?;
    Ok(StreamOwned::new(connection, tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_fetch_items_and_quotes() {
        let size = |text| literal_size(text).map_err(|e| e.to_string());
        assert_eq!(size("* 1 FETCH (UID 1 BODY[] {40}"), Ok(Some(40)));
        assert_eq!(size("* 1 FETCH (UID 1 BODY[] {40+}"), Ok(Some(40)));
        assert_eq!(size("a1 OK done"), Ok(None));
        assert_eq!(size("* OK [ALERT] {braces}"), Ok(None));
        assert_eq!(
            size("* 1 FETCH (BODY[] {99999999999999999999}"),
            Err("the IMAP server announced a literal of 99999999999999999999 bytes".to_owned())
        );
        let line = "* 3 FETCH (RFC822.SIZE 1234 UID 7)";
        assert_eq!(fetch_item(line, "UID"), Some(7));
        assert_eq!(fetch_item(line, "RFC822.SIZE"), Some(1234));
        assert_eq!(fetch_item("* 3 FETCH (FLAGS (\\Seen))", "UID"), None);
        assert_eq!(fetch_item("* 3 EXPUNGE", "UID"), None);
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
