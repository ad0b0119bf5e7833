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

use crate::settings::Security;
use crate::transport::tls;

const TIMEOUT: Duration = Duration::from_secs(30);

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
            .line()
            .with_context(|| format!("no greeting from the {what}"))?;
        anyhow::ensure!(
            greeting.text.starts_with("* OK"),
            "the {what} greeted with `{}`",
            greeting.text
        );
        if login.security == Security::Starttls {
            session.command("STARTTLS")?;
            anyhow::ensure!(
                session.stream.buffer().is_empty(),
                "the {what} spoke before TLS started"
            );
            session = Self::new(Box::new(wrap(plain, login.host)?));
        }
        let command = format!("LOGIN {} {}", quote(login.username), quote(login.password));
        session.command(&command).context("the IMAP login failed")?;
        Ok(session)
    }

    fn new(stream: Box<dyn Stream>) -> Self {
        Self {
            stream: BufReader::new(stream),
            tag: 0,
        }
    }

    /// Selects `folder` for the commands that follow.
    pub fn select(&mut self, folder: &str) -> anyhow::Result<()> {
        self.command(&format!("SELECT {}", quote(folder)))
            .with_context(|| format!("cannot open the IMAP folder `{folder}`"))?;
        Ok(())
    }

    /// The UIDs of every message in the selected folder.
    pub fn uids(&mut self) -> anyhow::Result<Vec<u32>> {
        let lines = self.command("UID SEARCH ALL")?;
        Ok(lines
            .iter()
            .filter_map(|l| l.text.strip_prefix("* SEARCH"))
            .flat_map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect())
    }

    /// The message `uid`, left unread.
    pub fn fetch(&mut self, uid: u32) -> anyhow::Result<Vec<u8>> {
        let lines = self.command(&format!("UID FETCH {uid} BODY.PEEK[]"))?;
        lines
            .into_iter()
            .find_map(|l| l.literals.into_iter().next())
            .with_context(|| format!("the IMAP server sent no message for UID {uid}"))
    }

    /// Creates `folder` unless it exists.
    pub fn create(&mut self, folder: &str) -> anyhow::Result<()> {
        match self.command(&format!("CREATE {}", quote(folder))) {
            Err(e) if e.to_string().contains("ALREADYEXISTS") => Ok(()),
            other => other
                .map(drop)
                .with_context(|| format!("cannot create the IMAP folder `{folder}`")),
        }
    }

    /// Moves message `uid` to `folder`, or flags it read when no folder is given.
    pub fn settle(&mut self, uid: u32, folder: Option<&str>) -> anyhow::Result<()> {
        match folder {
            Some(folder) => self.command(&format!("UID MOVE {uid} {}", quote(folder))),
            None => self.command(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)")),
        }?;
        Ok(())
    }

    /// Logs out, ignoring a server that hangs up first.
    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }

    /// Sends `command` and reads up to its tagged answer, which must be OK.
    fn command(&mut self, command: &str) -> anyhow::Result<Vec<Line>> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        let stream = self.stream.get_mut();
        stream.write_all(format!("{tag} {command}\r\n").as_bytes())?;
        stream.flush()?;
        let mut lines = Vec::new();
        loop {
            let line = self.line()?;
            if let Some(status) = line.text.strip_prefix(&format!("{tag} ")) {
                let verb = command
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                // LOGIN's arguments never reach a message.
                anyhow::ensure!(
                    status.starts_with("OK"),
                    "IMAP `{verb}` answered `{status}`"
                );
                return Ok(lines);
            }
            lines.push(line);
        }
    }

    /// One response line with its literals.
    fn line(&mut self) -> anyhow::Result<Line> {
        let mut line = Line {
            text: String::new(),
            literals: Vec::new(),
        };
        loop {
            let mut raw = Vec::new();
            self.stream.read_until(b'\n', &mut raw)?;
            anyhow::ensure!(
                raw.ends_with(b"\r\n"),
                "the IMAP server closed the connection"
            );
            let text = String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned();
            let size = literal_size(&text);
            line.text.push_str(&text);
            let Some(size) = size else { return Ok(line) };
            let mut literal = vec![0; size];
            self.stream.read_exact(&mut literal)?;
            line.literals.push(literal);
        }
    }
}

/// `N` when `text` ends with a literal's announcement `{N}`.
fn literal_size(text: &str) -> Option<usize> {
    let open = text.strip_suffix('}')?.rfind('{')?;
    text[open + 1..text.len() - 1]
        .trim_end_matches('+')
        .parse()
        .ok()
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
    fn literals_and_quotes() {
        assert_eq!(literal_size("* 1 FETCH (UID 1 BODY[] {40}"), Some(40));
        assert_eq!(literal_size("* 1 FETCH (UID 1 BODY[] {40+}"), Some(40));
        assert_eq!(literal_size("a1 OK done"), None);
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
