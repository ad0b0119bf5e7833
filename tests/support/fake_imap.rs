//! A small IMAP server for `bounces fetch`, a tokio task on 127.0.0.1: it speaks the
//! commands broadsheet sends (CAPABILITY, LOGIN, AUTHENTICATE PLAIN, SELECT, LIST, CREATE,
//! FETCH, UID FETCH, UID MOVE or UID COPY, UID STORE, UID EXPUNGE and EXPUNGE, LOGOUT) over
//! one folder of messages, which each session sees leave as it moves or expunges them
//! (with the EXPUNGE responses that say so), as a real server's [`Dialect`] does, and misbehaves on one message
//! as its [`Fault`] says. It records every command it received, so a test can tell what
//! was fetched and moved.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};

/// A message of the folder: its UID, the size the server announces, and its bytes.
#[derive(Debug, Clone)]
pub struct Message {
    pub uid: u32,
    pub size: u64,
    pub bytes: Vec<u8>,
}

impl Message {
    /// A message whose announced size is its own.
    pub fn new(uid: u32, text: &str) -> Self {
        Self {
            uid,
            size: text.len() as u64,
            bytes: text.as_bytes().to_vec(),
        }
    }
}

/// How the server misbehaves.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Nothing.
    None,
    /// On fetching this UID, it sends half the message and hangs up.
    DropMidFetch(u32),
    /// On fetching this UID, it announces a literal of this many bytes, sends a few and
    /// stays silent.
    HugeLiteral(u32, u64),
    /// It answers SELECT with a line of this many bytes that never ends.
    EndlessLine(usize),
    /// On fetching this UID, it says `* BYE` (RFC 3501 §7.1.5's own example) and hangs up.
    Bye(u32),
}

/// How one real server speaks, as far as `bounces fetch` can tell: what it says and can
/// do, quoted from transcripts of that server (the source is named at each constant).
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// The greeting, after `* `.
    pub greeting: &'static str,
    /// What CAPABILITY lists before the login.
    pub before_login: &'static str,
    /// What CAPABILITY lists after it.
    pub after_login: &'static str,
    /// The folders that exist besides INBOX, as their names go on the wire.
    pub folders: &'static [&'static str],
    /// The answer to CREATE of a folder that exists, after the tag.
    pub create_existing: &'static str,
    /// The answer to every login, after the tag, when it refuses them.
    pub refuses_login: Option<&'static str>,
}

/// Dovecot 2.3 as tests/support/dovecot.rs runs it (`telnet` to it).
pub const DOVECOT: Dialect = Dialect {
    greeting: "OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.",
    before_login: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN",
    after_login: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 LITERAL+ MOVE",
    folders: &[],
    create_existing: "NO [ALREADYEXISTS] Mailbox already exists",
    refuses_login: None,
};

/// Courier-IMAP 5.0 on Debian 12, with TLS: no MOVE (a session on its port 143 quoted in
/// a Hack The Box write-up, `* OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE
/// THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION STARTTLS ENABLE
/// UTF8=ACCEPT] Courier-IMAP ready. ...`), AUTH=PLAIN once under TLS (its imapd-ssl's
/// `IMAP_CAPABILITY_TLS="$IMAP_CAPABILITY AUTH=PLAIN"`), and no SASL-IR.
pub const COURIER: Dialect = Dialect {
    greeting: "OK [CAPABILITY IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT AUTH=PLAIN] Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information.",
    before_login: "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT AUTH=PLAIN",
    after_login: "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION ENABLE UTF8=ACCEPT",
    folders: &[],
    create_existing: "NO Cannot create this folder.",
    refuses_login: None,
};

/// A server of RFC 3501 alone: no MOVE, no UIDPLUS, no capability in its greeting, and
/// no SASL: it logs in with LOGIN only.
pub const RFC3501: Dialect = Dialect {
    greeting: "OK IMAP4rev1 Service Ready",
    before_login: "IMAP4rev1",
    after_login: "IMAP4rev1",
    folders: &[],
    create_existing: "NO Mailbox already exists",
    refuses_login: None,
};

/// Outlook.com and Exchange Online: the greeting, and the capabilities of a Microsoft
/// 365 mailbox with basic authentication off (imapflow's test/quirks transcript for its
/// issue #392: `AUTH=XOAUTH2 LOGINDISABLED`, no AUTH=PLAIN); CREATE of an existing
/// folder answered `NO Mailbox already exists.` without RFC 5530's code (OfflineIMAP
/// issues #645 and offlineimap3 #130, on outlook.live.com and Office 365).
pub const MICROSOFT_365: Dialect = Dialect {
    greeting: "OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAAMQBDAEEAMAAwADAANwA=]",
    before_login: "IMAP4 IMAP4rev1 AUTH=XOAUTH2 LOGINDISABLED SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
    after_login: "IMAP4 IMAP4rev1 AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
    folders: &["Processed"],
    create_existing: "NO Mailbox already exists.",
    refuses_login: Some("NO LOGIN failed."),
};

/// A running fake IMAP server; stopped with its runtime on drop.
pub struct FakeImap {
    pub port: u16,
    commands: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeImap {
    /// Serves `messages` in INBOX as Dovecot does, every connection alike, with `fault`.
    pub fn start(messages: Vec<Message>, fault: Fault) -> Self {
        Self::speaking(DOVECOT, messages, fault, crate::support::dovecot::PASSWORD)
    }

    /// Serves `messages` in INBOX as `dialect` does, to user `reader` with `password`.
    pub fn speaking(
        dialect: Dialect,
        messages: Vec<Message>,
        fault: Fault,
        password: &str,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the fake IMAP server");
        let port = listener.local_addr().expect("its address").port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let folder = Arc::new(Folder {
            messages,
            fault,
            dialect,
            password: password.to_owned(),
            folders: Mutex::new(dialect.folders.iter().map(|f| format!("\"{f}\"")).collect()),
            commands: commands.clone(),
        });
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(folder.clone().serve(stream));
            }
        });
        Self {
            port,
            commands,
            _runtime: runtime,
        }
    }

    /// Every command received, without its tag, in order.
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    /// The UIDs fetched (`UID FETCH N BODY.PEEK[]`) or moved (`UID MOVE N ...`).
    pub fn uids(&self, verb: &str) -> Vec<u32> {
        let prefix = format!("UID {verb} ");
        self.commands()
            .iter()
            .filter_map(|c| c.strip_prefix(&prefix))
            .filter(|rest| verb != "FETCH" || rest.ends_with("BODY.PEEK[]"))
            .filter_map(|rest| rest.split(' ').next()?.parse().ok())
            .collect()
    }
}

struct Folder {
    messages: Vec<Message>,
    fault: Fault,
    dialect: Dialect,
    password: String,
    /// The folders besides INBOX, quoted as on the wire.
    folders: Mutex<Vec<String>>,
    commands: Arc<Mutex<Vec<String>>>,
}

/// What the server sends for one command.
enum Answer {
    /// These untagged lines (and literals), then the tagged OK.
    Reply(Vec<u8>),
    /// These untagged lines, then this tagged answer instead of OK.
    Status(Vec<u8>, String),
    /// These bytes, then nothing: it hangs up, or stays silent until the client leaves.
    Fault { bytes: Vec<u8>, hang_up: bool },
}

/// One command as it came: its text (with each literal's announcement) and its literals.
struct Command {
    text: String,
    literals: Vec<Vec<u8>>,
}

/// One session's connection.
struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Connection {
    /// The next line, without CRLF; none once the client left.
    async fn line(&mut self) -> Option<String> {
        let mut raw = Vec::new();
        match self.reader.read_until(b'\n', &mut raw).await {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(String::from_utf8_lossy(raw.trim_ascii_end()).into_owned()),
        }
    }

    /// The next command, asking for each literal it announces (`+`, RFC 3501 §7.5).
    async fn command(&mut self) -> Option<Command> {
        let mut command = Command {
            text: String::new(),
            literals: Vec::new(),
        };
        loop {
            let line = self.line().await?;
            command.text.push_str(&line);
            let Some(size) = line
                .strip_suffix('}')
                .and_then(|l| l.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            else {
                return Some(command);
            };
            self.send(b"+ Ready for literal data\r\n").await?;
            let mut literal = vec![0; size];
            self.reader.read_exact(&mut literal).await.ok()?;
            command.literals.push(literal);
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Option<()> {
        self.writer.write_all(bytes).await.ok()
    }
}

impl Folder {
    /// One session; it ends when the client leaves or the fault hangs up.
    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let (reader, writer) = stream.into_split();
        let mut connection = Connection {
            reader: BufReader::new(reader),
            writer,
        };
        let greeting = format!("* {}\r\n", self.dialect.greeting);
        if connection.send(greeting.as_bytes()).await.is_none() {
            return;
        }
        let mut logged_in = false;
        // This session's view of the folder: each message and whether it is `\Deleted`.
        let mut state: Vec<(Message, bool)> =
            self.messages.iter().map(|m| (m.clone(), false)).collect();
        while let Some(command) = connection.command().await {
            let (tag, text) = command.text.split_once(' ').unwrap_or((&command.text, ""));
            let tag = tag.to_owned();
            self.commands.lock().unwrap().push(text.to_owned());
            let answer = if text.starts_with("LOGIN ") || text.starts_with("AUTHENTICATE ") {
                let answer = self.login(text, &command.literals, &mut connection).await;
                logged_in = matches!(answer, Answer::Reply(_));
                answer
            } else {
                self.answer(text, logged_in, &mut state)
            };
            let (bytes, hang_up) = match answer {
                Answer::Reply(lines) => {
                    let ok = format!("{tag} OK done\r\n");
                    ([lines, ok.into_bytes()].concat(), None)
                }
                Answer::Status(lines, status) => (
                    [lines, format!("{tag} {status}\r\n").into_bytes()].concat(),
                    None,
                ),
                Answer::Fault { bytes, hang_up } => (bytes, Some(hang_up)),
            };
            if connection.send(&bytes).await.is_none() || hang_up == Some(true) {
                return;
            }
            if hang_up == Some(false) {
                while connection.line().await.is_some() {}
                return;
            }
        }
    }

    /// The answer to LOGIN or AUTHENTICATE PLAIN: OK for `reader` and the password.
    async fn login(&self, text: &str, literals: &[Vec<u8>], connection: &mut Connection) -> Answer {
        if let Some(refusal) = self.dialect.refuses_login {
            return Answer::Status(Vec::new(), refusal.to_owned());
        }
        let words: Vec<&str> = text.split(' ').collect();
        let credentials = match words.as_slice() {
            ["AUTHENTICATE", "PLAIN", ..] if !self.dialect.before_login.contains("AUTH=PLAIN") => {
                return Answer::Status(
                    Vec::new(),
                    "NO Unsupported authentication mechanism.".into(),
                );
            }
            ["AUTHENTICATE", "PLAIN", response] => plain(response),
            ["AUTHENTICATE", "PLAIN"] => {
                connection.send(b"+ \r\n").await;
                plain(&connection.line().await.unwrap_or_default())
            }
            ["LOGIN", ..] if self.dialect.before_login.contains("LOGINDISABLED") => {
                return Answer::Status(Vec::new(), "NO LOGIN is disabled".into());
            }
            ["LOGIN", ..] if literals.len() == 2 => {
                Some((literals[0].clone(), literals[1].clone()))
            }
            ["LOGIN", ..] => quoted_pair(text.trim_start_matches("LOGIN ")),
            _ => None,
        };
        let Some((user, password)) = credentials else {
            // RFC 3501 §9: a quoted string holds 7-bit text only.
            return Answer::Status(Vec::new(), "BAD Invalid arguments.".into());
        };
        if user == b"reader" && password == self.password.as_bytes() {
            Answer::Reply(Vec::new())
        } else {
            Answer::Status(
                Vec::new(),
                "NO [AUTHENTICATIONFAILED] Authentication failed.".into(),
            )
        }
    }

    /// What answers `command`, in a session whose folder is `state`.
    fn answer(&self, command: &str, logged_in: bool, state: &mut Vec<(Message, bool)>) -> Answer {
        let words: Vec<&str> = command.split(' ').collect();
        let capabilities = if logged_in {
            self.dialect.after_login
        } else {
            self.dialect.before_login
        };
        let refuse = |status: &str| Answer::Status(Vec::new(), status.to_owned());
        let position = |uid: &str| state.iter().position(|(m, _)| m.uid.to_string() == uid);
        match (words.as_slice(), self.fault) {
            (["CAPABILITY"], _) => {
                Answer::Reply(format!("* CAPABILITY {capabilities}\r\n").into_bytes())
            }
            (["SELECT", ..], Fault::EndlessLine(n)) => Answer::Fault {
                bytes: format!("* {}", "x".repeat(n)).into_bytes(),
                hang_up: false,
            },
            (["SELECT", ..], _) => {
                Answer::Reply(format!("* {} EXISTS\r\n", state.len()).into_bytes())
            }
            (["LIST", "\"\"", ..], _) => {
                let name = command.trim_start_matches("LIST \"\" ");
                let listed = self.folders.lock().unwrap().iter().any(|f| f == name);
                let line = format!("* LIST (\\HasNoChildren) \"/\" {name}\r\n");
                Answer::Reply(if listed {
                    line.into_bytes()
                } else {
                    Vec::new()
                })
            }
            (["CREATE", ..], _) => {
                let name = command.trim_start_matches("CREATE ").to_owned();
                let mut folders = self.folders.lock().unwrap();
                if folders.contains(&name) {
                    return refuse(self.dialect.create_existing);
                }
                folders.push(name);
                Answer::Reply(Vec::new())
            }
            (["UID", verb @ ("MOVE" | "EXPUNGE"), ..], _)
                if !capabilities
                    .split(' ')
                    .any(|c| c == *verb || (*verb == "EXPUNGE" && c == "UIDPLUS")) =>
            {
                refuse("BAD Unknown command.")
            }
            (["FETCH", range, ..], _) => {
                let (first, last) = range.split_once(':').expect("a range");
                let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
                if first == 0 || last > state.len() {
                    return refuse("BAD Error in IMAP command FETCH: Invalid messageset");
                }
                Answer::Reply(
                    (first..=last)
                        .map(|n| {
                            let (m, deleted) = &state[n - 1];
                            let flags = if *deleted { "\\Deleted" } else { "" };
                            format!(
                                "* {n} FETCH (UID {} RFC822.SIZE {} FLAGS ({flags}))\r\n",
                                m.uid, m.size
                            )
                        })
                        .collect::<String>()
                        .into_bytes(),
                )
            }
            (["UID", "FETCH", uid, "BODY.PEEK[]"], _) => self.body(uid, state),
            (["UID", "STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"], _) => {
                if let Some(n) = position(uid) {
                    state[n].1 = true;
                }
                Answer::Reply(Vec::new())
            }
            (["UID", "MOVE", uid, ..], _) => {
                Answer::Reply(position(uid).map_or(Vec::new(), |n| expunge(state, n)))
            }
            (["UID", "EXPUNGE", uid], _) => Answer::Reply(
                position(uid)
                    .filter(|&n| state[n].1)
                    .map_or(Vec::new(), |n| expunge(state, n)),
            ),
            (["EXPUNGE"], _) => {
                let mut lines = Vec::new();
                while let Some(n) = state.iter().position(|(_, deleted)| *deleted) {
                    lines.extend(expunge(state, n));
                }
                Answer::Reply(lines)
            }
            _ => Answer::Reply(Vec::new()),
        }
    }

    /// The FETCH answer for `uid`, or its fault.
    fn body(&self, uid: &str, state: &[(Message, bool)]) -> Answer {
        let found = state
            .iter()
            .map(|(m, _)| m)
            .enumerate()
            .find(|(_, m)| m.uid.to_string() == uid);
        let Some((n, message)) = found else {
            return Answer::Reply(Vec::new());
        };
        let head = |size: u64| format!("* {} FETCH (UID {uid} BODY[] {{{size}}}\r\n", n + 1);
        match self.fault {
            Fault::DropMidFetch(bad) if bad == message.uid => Answer::Fault {
                bytes: [
                    head(message.size).as_bytes(),
                    &message.bytes[..message.bytes.len() / 2],
                ]
                .concat(),
                hang_up: true,
            },
            Fault::HugeLiteral(bad, size) if bad == message.uid => Answer::Fault {
                bytes: [head(size).as_bytes(), b"Subject: huge\r\n"].concat(),
                hang_up: false,
            },
            Fault::Bye(bad) if bad == message.uid => Answer::Fault {
                bytes: b"* BYE Autologout; idle for too long\r\n".to_vec(),
                hang_up: true,
            },
            _ => Answer::Reply([head(message.size).as_bytes(), &message.bytes, b")\r\n"].concat()),
        }
    }
}

/// Takes message `n` (from 0) out of `state`: its EXPUNGE response (RFC 3501 §7.4.1).
fn expunge(state: &mut Vec<(Message, bool)>, n: usize) -> Vec<u8> {
    state.remove(n);
    format!("* {} EXPUNGE\r\n", n + 1).into_bytes()
}

/// The user and password of a SASL PLAIN response (RFC 4616: `\0user\0password`).
fn plain(response: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(response)
        .ok()?;
    let mut parts = decoded.splitn(3, |&b| b == 0);
    let (_, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some((user.to_vec(), password.to_vec()))
}

/// Two quoted strings, unescaped; none if either holds 8-bit text or is not quoted.
fn quoted_pair(text: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut strings = Vec::new();
    let mut chars = text.chars();
    while strings.len() < 2 {
        while chars.clone().next() == Some(' ') {
            chars.next();
        }
        if chars.next()? != '"' {
            return None;
        }
        let mut string = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => string.push(chars.next()?),
                c if c.is_ascii() => string.push(c),
                _ => return None,
            }
        }
        strings.push(string.into_bytes());
    }
    let password = strings.pop()?;
    Some((strings.pop()?, password))
}
