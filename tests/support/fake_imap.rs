//! A small IMAP server for fault tests of `bounces fetch`, a tokio task on 127.0.0.1: it
//! speaks just the commands broadsheet sends (LOGIN, SELECT, CREATE, UID FETCH, UID MOVE,
//! LOGOUT) over one folder of messages, and misbehaves on one message as its [`Fault`] says.
//! It records every command it received, so a test can tell what was fetched and moved.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
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
    /// On fetching this UID, it sends half the message and hangs up.
    DropMidFetch(u32),
    /// On fetching this UID, it announces a literal of this many bytes, sends a few and
    /// stays silent.
    HugeLiteral(u32, u64),
    /// It answers SELECT with a line of this many bytes that never ends.
    EndlessLine(usize),
}

/// A running fake IMAP server; stopped with its runtime on drop.
pub struct FakeImap {
    pub port: u16,
    commands: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeImap {
    /// Serves `messages` in INBOX, every connection alike, with `fault`.
    pub fn start(messages: Vec<Message>, fault: Fault) -> Self {
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
    commands: Arc<Mutex<Vec<String>>>,
}

/// What the server sends for one command.
enum Answer {
    /// These untagged lines (and literals), then the tagged OK.
    Reply(Vec<u8>),
    /// These bytes, then nothing: it hangs up, or stays silent until the client leaves.
    Fault { bytes: Vec<u8>, hang_up: bool },
}

impl Folder {
    /// One session; it ends when the client leaves or the fault hangs up.
    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        if writer.write_all(b"* OK fake IMAP ready\r\n").await.is_err() {
            return;
        }
        while let Ok(Some(line)) = lines.next_line().await {
            let (tag, command) = line.split_once(' ').unwrap_or((&line, ""));
            self.commands.lock().unwrap().push(command.to_owned());
            let (bytes, hang_up) = match self.answer(command) {
                Answer::Reply(lines) => {
                    let ok = format!("{tag} OK done\r\n");
                    ([lines, ok.into_bytes()].concat(), None)
                }
                Answer::Fault { bytes, hang_up } => (bytes, Some(hang_up)),
            };
            if writer.write_all(&bytes).await.is_err() || hang_up == Some(true) {
                return;
            }
            if hang_up == Some(false) {
                while let Ok(Some(_)) = lines.next_line().await {}
                return;
            }
        }
    }

    /// What answers `command`.
    fn answer(&self, command: &str) -> Answer {
        let words: Vec<&str> = command.split(' ').collect();
        match (words.as_slice(), self.fault) {
            (["SELECT", ..], Fault::EndlessLine(n)) => Answer::Fault {
                bytes: format!("* {}", "x".repeat(n)).into_bytes(),
                hang_up: false,
            },
            (["SELECT", ..], _) => {
                Answer::Reply(format!("* {} EXISTS\r\n", self.messages.len()).into_bytes())
            }
            (["UID", "FETCH", "1:*", ..], _) => Answer::Reply(
                self.messages
                    .iter()
                    .enumerate()
                    .map(|(n, m)| {
                        format!(
                            "* {} FETCH (UID {} RFC822.SIZE {})\r\n",
                            n + 1,
                            m.uid,
                            m.size
                        )
                    })
                    .collect::<String>()
                    .into_bytes(),
            ),
            (["UID", "FETCH", uid, "BODY.PEEK[]"], _) => self.body(uid),
            _ => Answer::Reply(Vec::new()),
        }
    }

    /// The FETCH answer for `uid`, or its fault.
    fn body(&self, uid: &str) -> Answer {
        let found = self
            .messages
            .iter()
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
            _ => Answer::Reply([head(message.size).as_bytes(), &message.bytes, b")\r\n"].concat()),
        }
    }
}
