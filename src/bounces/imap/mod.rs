//! A small IMAP4rev1 client (RFC 3501), just what `bounces fetch` needs: log in over TLS,
//! STARTTLS or (on loopback only) plain TCP, select a folder, list its messages by UID with
//! their sizes, fetch one without marking it read, and move it (RFC 6851 `MOVE`, or COPY,
//! `\Deleted` and EXPUNGE where the server has no MOVE) or flag it `\Seen` once applied.
//! It reads the server's capabilities (from the greeting, the login or CAPABILITY) to
//! choose how to log in and move. Every step has a timeout, every response is bounded
//! (`wire`), and the password only ever crosses TLS or loopback.

mod login;
mod names;
mod wire;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_rustls::rustls::{ClientConnection, StreamOwned};

use crate::settings::Security;
use crate::transport::tls;
use names::mailbox;
use wire::{Line, MAX_RESPONSE, Wire};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The most a literal may hold outside a message: nothing here expects one.
const MAX_SMALL_LITERAL: u64 = 64 * 1024;

/// A logged-in IMAP session.
pub(crate) struct Session {
    wire: Wire,
    tag: u32,
    /// The server's capabilities as it last listed them, upper-case.
    capabilities: Vec<String>,
    /// The server's `* BYE`, once it said it: the reason when the connection then closes.
    bye: Option<String>,
    /// How many messages the selected folder holds, as its EXISTS and EXPUNGE say.
    exists: u32,
    /// The sequence number of the first message not yet listed.
    cursor: u32,
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
            .with_context(|| format!("no greeting from the {what}"))?
            .text;
        anyhow::ensure!(
            greeting.starts_with("* OK"),
            "the {what} greeted with `{greeting}`"
        );
        session.note(&greeting);
        if login.security == Security::Starttls {
            session.simple("STARTTLS")?;
            anyhow::ensure!(
                !session.wire.has_unread(),
                "the {what} spoke before TLS started"
            );
            // RFC 3501 §6.2.1: what the server said it can do before TLS no longer holds.
            session = Self::new(Box::new(wrap(plain, login.host)?));
        }
        if session.capabilities.is_empty() {
            session.simple("CAPABILITY")?;
        }
        session.login(login.username, login.password, &greeting)?;
        // The capabilities change once logged in (MOVE and UIDPLUS often appear only
        // then): the login's answer may list them (RFC 3501 §6.2.3), else ask.
        if session.capabilities.is_empty() {
            session.simple("CAPABILITY")?;
        }
        Ok(session)
    }

    fn new(stream: Box<dyn wire::Stream>) -> Self {
        Self {
            wire: Wire::new(stream),
            tag: 0,
            capabilities: Vec::new(),
            bye: None,
            exists: 0,
            cursor: 1,
        }
    }

    /// Whether the server listed `capability` (upper-case).
    fn can(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Selects `folder` for the commands that follow, its listing starting at its first
    /// message.
    pub(crate) fn select(&mut self, folder: &str) -> anyhow::Result<()> {
        self.command(
            &format!("SELECT {}", mailbox(folder)),
            MAX_SMALL_LITERAL,
            |_| Ok(()),
        )
        .with_context(|| format!("cannot open the IMAP folder `{folder}`"))?;
        self.cursor = 1;
        Ok(())
    }

    /// The UID and size (`RFC822.SIZE`) of the next `most` messages of the selected folder
    /// not yet listed, none at its end: how large a message is is known before a byte of
    /// it is fetched (a server that leaves the size out gets its message fetched, within
    /// the limit all the same). A folder of any size is listed a batch at a time, by
    /// sequence number: the server's EXPUNGE responses (for the messages moved out
    /// meanwhile, by us or anyone) keep the place. A message flagged `\Deleted` is on its
    /// way out (a COPY not yet expunged): left out.
    pub(crate) fn batch(&mut self, most: u32) -> anyhow::Result<Vec<(u32, Option<u64>)>> {
        if self.cursor > self.exists {
            return Ok(Vec::new());
        }
        let last = self.exists.min(self.cursor.saturating_add(most - 1));
        let mut found = Vec::new();
        let command = format!("FETCH {}:{last} (UID FLAGS RFC822.SIZE)", self.cursor);
        self.cursor = last + 1;
        self.command(&command, MAX_SMALL_LITERAL, |line| {
            let item = |name| fetch_item(&line.text, name);
            if let Some(uid) = item("UID")
                && !line.text.to_ascii_uppercase().contains("\\DELETED")
            {
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
            // Another message's FETCH (its flags changed meanwhile) is not this one.
            let other = fetch_item(&line.text, "UID").is_some_and(|u| u != u64::from(uid));
            if message.is_none() && !other {
                message = line.literals.into_iter().next();
            }
            Ok(())
        })?;
        message
            .ok_or_else(|| Refused(format!("the IMAP server sent no message for UID {uid}")).into())
    }

    /// Creates `folder` unless the server lists it (a server may refuse to create an
    /// existing folder in words of its own, without RFC 5530's `ALREADYEXISTS`).
    pub(crate) fn create(&mut self, folder: &str) -> anyhow::Result<()> {
        let mut listed = false;
        // `*` and `%` are wildcards to LIST: such a name is only ever created.
        if !folder.contains(['*', '%']) {
            let command = format!("LIST \"\" {}", mailbox(folder));
            self.command(&command, MAX_SMALL_LITERAL, |line| {
                listed |= line.text.to_ascii_uppercase().starts_with("* LIST ");
                Ok(())
            })
            .with_context(|| format!("cannot look for the IMAP folder `{folder}`"))?;
        }
        if listed {
            return Ok(());
        }
        match self.simple(&format!("CREATE {}", mailbox(folder))) {
            Err(e) if e.to_string().contains("ALREADYEXISTS") => Ok(()),
            other => other.with_context(|| format!("cannot create the IMAP folder `{folder}`")),
        }
    }

    /// Moves message `uid` to `folder`, or flags it read when no folder is given. Without
    /// MOVE, as RFC 6851 §3.3 says: COPY, `\Deleted`, then UID EXPUNGE of this message
    /// (UIDPLUS), or else EXPUNGE, which also removes what others flagged `\Deleted`.
    pub(crate) fn settle(&mut self, uid: u32, folder: Option<&str>) -> anyhow::Result<()> {
        let Some(folder) = folder else {
            return self.simple(&format!("UID STORE {uid} +FLAGS.SILENT (\\Seen)"));
        };
        if self.can("MOVE") {
            return self.simple(&format!("UID MOVE {uid} {}", mailbox(folder)));
        }
        self.simple(&format!("UID COPY {uid} {}", mailbox(folder)))?;
        self.simple(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))?;
        if self.can("UIDPLUS") {
            self.simple(&format!("UID EXPUNGE {uid}"))
        } else {
            self.simple("EXPUNGE")
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
        each: impl FnMut(Line) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.exchange(&[command], max_literal, each)
    }

    /// Sends the first of `parts` as a command and each next one when the server asks
    /// for it (`+`: the literal the part before announced, or a SASL response); otherwise
    /// as [`Session::command`].
    fn exchange(
        &mut self,
        parts: &[&str],
        max_literal: u64,
        mut each: impl FnMut(Line) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let (first, rest) = parts.split_first().expect("a command has a first part");
        self.tag += 1;
        let tag = format!("a{} ", self.tag);
        // Credentials never reach a message: LOGIN is named alone.
        let words: Vec<&str> = first.split_whitespace().take(2).collect();
        let verb = match words.as_slice() {
            ["LOGIN", ..] => "LOGIN".to_owned(),
            words => words.join(" "),
        };
        self.wire.send(&format!("{tag}{first}"), &verb)?;
        let mut rest = rest.iter();
        let mut budget = MAX_RESPONSE;
        loop {
            let line = match self.wire.line(max_literal, &mut budget) {
                Ok(line) => line,
                Err(e) => return Err(self.hung_up(e)),
            };
            if line.text.starts_with('+') {
                let next = rest.next().with_context(|| {
                    format!("the IMAP server asked for more of `{verb}` than it takes")
                })?;
                self.wire.send(next, &verb)?;
                continue;
            }
            self.note(&line.text);
            match line.text.strip_prefix(&tag) {
                Some(status)
                    if status
                        .get(..2)
                        .is_some_and(|s| s.eq_ignore_ascii_case("OK")) =>
                {
                    return Ok(());
                }
                Some(status) => {
                    return Err(Refused(format!("IMAP `{verb}` answered `{status}`")).into());
                }
                None => each(line)?,
            }
        }
    }

    /// Takes what a response line says of the session itself: the capabilities
    /// (`* CAPABILITY ...`, or a `[CAPABILITY ...]` response code), a `* BYE`, and how
    /// many messages the folder holds.
    fn note(&mut self, text: &str) {
        let upper = text.to_ascii_uppercase();
        let rest = upper.split_once(' ').map_or("", |(_, rest)| rest);
        let listed = rest.strip_prefix("CAPABILITY ").or_else(|| {
            let code = rest.split_once(" [CAPABILITY ")?.1;
            Some(code.split_once(']')?.0)
        });
        if let Some(listed) = listed {
            self.capabilities = listed.split_whitespace().map(str::to_owned).collect();
        }
        if upper.starts_with("* BYE") {
            self.bye = Some(text.to_owned());
        }
        // RFC 3501 §7.3.1, §7.4.1: sent whenever the folder changes, in any response.
        let number = |suffix| rest.strip_suffix(suffix)?.parse::<u32>().ok();
        if let Some(count) = number(" EXISTS") {
            self.exists = count;
        } else if let Some(gone) = number(" EXPUNGE") {
            self.exists = self.exists.saturating_sub(1);
            if gone < self.cursor {
                self.cursor -= 1;
            }
        }
    }

    /// `error`, with the server's `* BYE` when it said one before the connection ended.
    fn hung_up(&mut self, error: anyhow::Error) -> anyhow::Error {
        match self.bye.take() {
            Some(bye) => error.context(format!("the IMAP server said `{bye}`")),
            None => error,
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

fn wrap(tcp: TcpStream, host: &str) -> anyhow::Result<StreamOwned<ClientConnection, TcpStream>> {
    let config = Arc::new(tls::client_config()?);
    let connection = ClientConnection::new(config, tls::server_name(host)?)?;
    Ok(StreamOwned::new(connection, tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_items() {
        let line = "* 3 FETCH (RFC822.SIZE 1234 UID 7)";
        assert_eq!(fetch_item(line, "UID"), Some(7));
        assert_eq!(fetch_item(line, "RFC822.SIZE"), Some(1234));
        assert_eq!(fetch_item("* 3 FETCH (FLAGS (\\Seen))", "UID"), None);
        assert_eq!(fetch_item("* 3 EXPUNGE", "UID"), None);
    }
}
