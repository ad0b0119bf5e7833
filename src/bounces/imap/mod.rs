//! A small IMAP4rev1 client (RFC 3501), just what `bounces fetch` needs: log in over TLS,
//! STARTTLS or (on loopback only) plain TCP, select a folder, list its messages by UID with
//! their sizes, fetch one without marking it read, and move it (RFC 6851 `MOVE`) or flag it
//! `\Seen` once applied. Every step has a timeout, every response is bounded (`wire`),
//! and the password only ever crosses TLS or loopback.

mod wire;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_rustls::rustls::{ClientConnection, StreamOwned};

use crate::settings::Security;
use crate::transport::tls;
use wire::{Line, MAX_RESPONSE, Wire};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The most a literal may hold outside a message: nothing here expects one.
const MAX_SMALL_LITERAL: u64 = 64 * 1024;

/// A logged-in IMAP session.
pub(crate) struct Session {
    wire: Wire,
    tag: u32,
}

/// Where and how to log in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Login<'a> {
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

/// The server refused a command (a tagged `NO` or `BAD`): the session itself goes on.
#[derive(Debug)]
pub(crate) struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Session {
    /// Connects and logs in.
    pub(crate) fn open(login: &Login<'_>) -> anyhow::Result<Self> {
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
            .wire
            .line(MAX_SMALL_LITERAL, &mut { MAX_RESPONSE })
            .with_context(|| format!("no greeting from the {what}"))?;
        anyhow::ensure!(
            greeting.text.starts_with("* OK"),
            "the {what} greeted with `{}`",
            greeting.text
        );
        if login.security == Security::Starttls {
            session.simple("STARTTLS")?;
            anyhow::ensure!(
                !session.wire.has_unread(),
                "the {what} spoke before TLS started"
            );
            session = Self::new(Box::new(wrap(plain, login.host)?));
        }
        let command = format!("LOGIN {} {}", quote(login.username), quote(login.password));
        session.simple(&command).context("the IMAP login failed")?;
        Ok(session)
    }

    fn new(stream: Box<dyn wire::Stream>) -> Self {
        Self {
            wire: Wire::new(stream),
            tag: 0,
        }
    }

    /// Selects `folder` for the commands that follow; the number of messages it holds.
    pub(crate) fn select(&mut self, folder: &str) -> anyhow::Result<u32> {
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
    /// how large a message is is known before a byte of it is fetched (a server that leaves
    /// the size out gets its message fetched, within the limit all the same).
    pub(crate) fn sizes(&mut self) -> anyhow::Result<Vec<(u32, Option<u64>)>> {
        let mut found = Vec::new();
        self.command("UID FETCH 1:* (RFC822.SIZE)", MAX_SMALL_LITERAL, |line| {
            let item = |name| fetch_item(&line.text, name);
            if let Some(uid) = item("UID") {
                let uid = u32::try_from(uid).context("a UID past 2^32")?;
                found.push((uid, item("RFC822.SIZE")));
            }
            Ok(())
        })?;
        found.sort_unstable();
        found.dedup_by_key(|(uid, _)| *uid);
        Ok(found)
    }

    /// The message `uid`, left unread, if it is at most `limit` bytes; a server that sends
    /// more than it announced is not read further (an error: the session cannot go on).
    pub(crate) fn fetch(&mut self, uid: u32, limit: u64) -> anyhow::Result<Vec<u8>> {
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
    pub(crate) fn create(&mut self, folder: &str) -> anyhow::Result<()> {
        match self.simple(&format!("CREATE {}", quote(folder))) {
            Err(e) if e.to_string().contains("ALREADYEXISTS") => Ok(()),
            other => other.with_context(|| format!("cannot create the IMAP folder `{folder}`")),
        }
    }

    /// Moves message `uid` to `folder`, or flags it read when no folder is given.
    pub(crate) fn settle(&mut self, uid: u32, folder: Option<&str>) -> anyhow::Result<()> {
        match folder {
            Some(folder) => self.simple(&format!("UID MOVE {uid} {}", quote(folder))),
            None => self.simple(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)")),
        }
    }

    /// Logs out, ignoring a server that hangs up first.
    pub(crate) fn logout(mut self) {
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
        self.wire.send(&format!("{tag}{command}"), &verb)?;
        let mut budget = MAX_RESPONSE;
        loop {
            let line = self.wire.line(max_literal, &mut budget)?;
            match line.text.strip_prefix(&tag) {
                Some(status) if status.starts_with("OK") => return Ok(()),
                Some(status) => {
                    return Err(Refused(format!("IMAP `{verb}` answered `{status}`")).into());
                }
                None => each(line)?,
            }
        }
    }
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
    fn fetch_items_and_quotes() {
        let line = "* 3 FETCH (RFC822.SIZE 1234 UID 7)";
        assert_eq!(fetch_item(line, "UID"), Some(7));
        assert_eq!(fetch_item(line, "RFC822.SIZE"), Some(1234));
        assert_eq!(fetch_item("* 3 FETCH (FLAGS (\\Seen))", "UID"), None);
        assert_eq!(fetch_item("* 3 EXPUNGE", "UID"), None);
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
