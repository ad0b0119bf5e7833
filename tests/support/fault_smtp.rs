//! A small SMTP server for fault tests: it speaks enough SMTP for a client to send mail, and
//! misbehaves on cue (4xx or 5xx replies, dropped connections, silence) as a [`Script`] says.
//! It records every message it accepted and every transaction it saw.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does at one point of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Behave normally.
    Normal,
    /// Answer with this reply line (e.g. "451 4.3.0 try again later") instead.
    Reply(String),
    /// Close the connection without answering.
    Drop,
    /// Stop answering and reading, keeping the connection open.
    Stall,
}

/// Decides the server's behaviour; `n` counts transactions (MAIL FROM) across connections,
/// from 1, and `rcpt` is the recipient of the transaction.
pub trait Script: Send + Sync + 'static {
    /// Whether EHLO offers PIPELINING (RFC 2920); commands are read one line at a time
    /// either way.
    fn pipelining(&self) -> bool {
        false
    }
    /// On connection `connection` (from 1), before the greeting.
    fn greet(&self, _connection: usize) -> Act {
        Act::Normal
    }
    /// On AUTH.
    fn auth(&self) -> Act {
        Act::Normal
    }
    /// On RCPT TO.
    fn rcpt(&self, _n: usize, _rcpt: &str) -> Act {
        Act::Normal
    }
    /// While receiving the message body (before the final dot).
    fn body(&self, _n: usize, _rcpt: &str) -> Act {
        Act::Normal
    }
    /// After the final dot, instead of "250 queued".
    fn after_dot(&self, _n: usize, _rcpt: &str) -> Act {
        Act::Normal
    }
}

/// A shared script, so that a test can look at what its script counted.
impl<S: Script> Script for Arc<S> {
    fn pipelining(&self) -> bool {
        S::pipelining(self)
    }
    fn greet(&self, connection: usize) -> Act {
        S::greet(self, connection)
    }
    fn auth(&self) -> Act {
        S::auth(self)
    }
    fn rcpt(&self, n: usize, rcpt: &str) -> Act {
        S::rcpt(self, n, rcpt)
    }
    fn body(&self, n: usize, rcpt: &str) -> Act {
        S::body(self, n, rcpt)
    }
    fn after_dot(&self, n: usize, rcpt: &str) -> Act {
        S::after_dot(self, n, rcpt)
    }
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Recipient and raw message of every message accepted with 250.
    pub accepted: Vec<(String, Vec<u8>)>,
    /// Number of RCPT commands in each transaction.
    pub rcpts_per_transaction: Vec<usize>,
    /// Connections accepted.
    pub connections: usize,
    /// The connection (from 1) and name of each EHLO (or HELO), in order.
    pub ehlo: Vec<(usize, String)>,
    /// Commands read while more input was already waiting: the client sent what followed
    /// before this one's reply, i.e. pipelined (RFC 2920).
    pub pipelined: Vec<String>,
}

impl Log {
    /// How many EHLOs each connection sent, by connection from 1.
    pub fn ehlo_per_connection(&self) -> Vec<usize> {
        let mut counts = vec![0; self.connections];
        for (connection, _) in &self.ehlo {
            counts[connection - 1] += 1;
        }
        counts
    }
}

/// A running fault server on 127.0.0.1.
pub struct FaultServer {
    pub port: u16,
    pub log: Arc<Mutex<Log>>,
}

impl FaultServer {
    /// Starts serving with `script`; runs until the test process ends.
    pub fn start(script: impl Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault server");
        let port = listener.local_addr().expect("address").port();
        let log = Arc::new(Mutex::new(Log::default()));
        let script = Arc::new(script);
        let transactions = Arc::new(Mutex::new(0));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let connection = {
                    let mut log = shared.lock().unwrap();
                    log.connections += 1;
                    log.connections
                };
                let session = Session {
                    script: script.clone(),
                    log: shared.clone(),
                    transactions: transactions.clone(),
                    connection,
                };
                std::thread::spawn(move || session.run(stream));
            }
        });
        Self { port, log }
    }

    /// The accepted messages' recipients, in order.
    pub fn accepted_recipients(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .accepted
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }
}

struct Session<S> {
    script: Arc<S>,
    log: Arc<Mutex<Log>>,
    transactions: Arc<Mutex<usize>>,
    connection: usize,
}

impl<S: Script> Session<S> {
    fn run(self, stream: TcpStream) {
        // A stalled session ends when the test process does; cap it anyway.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
        let mut writer = stream.try_clone().expect("clone the stream");
        let mut reader = BufReader::new(stream);
        let mut say = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes()).is_ok();
        match self.script.greet(self.connection) {
            Act::Normal => {}
            Act::Reply(line) => {
                say(&line);
                return;
            }
            Act::Drop => return,
            Act::Stall => return stall(),
        }
        say("220 fault.test ESMTP");
        let (mut n, mut rcpt, mut rcpts) = (0, String::new(), 0);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_ascii_uppercase();
            if !reader.buffer().is_empty() {
                self.log.lock().unwrap().pipelined.push(command.clone());
            }
            let act = if command.starts_with("EHLO") || command.starts_with("HELO") {
                let name = line.trim_end().get(5..).unwrap_or_default().to_owned();
                self.log.lock().unwrap().ehlo.push((self.connection, name));
                let pipelining = if self.script.pipelining() {
                    "250-PIPELINING\r\n"
                } else {
                    ""
                };
                say(&format!(
                    "250-fault.test\r\n{pipelining}250-AUTH PLAIN LOGIN\r\n250 8BITMIME"
                ));
                continue;
            } else if command.starts_with("AUTH") {
                self.script.auth()
            } else if command.starts_with("MAIL FROM") {
                n = {
                    let mut t = self.transactions.lock().unwrap();
                    *t += 1;
                    *t
                };
                rcpts = 0;
                Act::Normal
            } else if command.starts_with("RCPT TO") {
                rcpts += 1;
                rcpt = line.trim_end()[8..]
                    .trim()
                    .trim_matches(['<', '>', ':'])
                    .to_owned();
                self.script.rcpt(n, &rcpt)
            } else if command == "DATA" {
                self.log.lock().unwrap().rcpts_per_transaction.push(rcpts);
                say("354 go ahead");
                match self.receive_body(&mut reader, n, &rcpt) {
                    Some(body) => {
                        let act = self.script.after_dot(n, &rcpt);
                        if act == Act::Normal {
                            self.log.lock().unwrap().accepted.push((rcpt.clone(), body));
                            say("250 2.0.0 Ok: queued");
                            continue;
                        }
                        act
                    }
                    None => return,
                }
            } else if command == "QUIT" {
                say("221 bye");
                return;
            } else {
                Act::Normal
            };
            match act {
                Act::Normal if command.starts_with("AUTH") => say("235 2.7.0 authenticated"),
                Act::Normal => say("250 2.0.0 ok"),
                Act::Reply(reply) => {
                    let closing = reply.starts_with("421");
                    say(&reply);
                    if closing {
                        return;
                    }
                    true
                }
                Act::Drop => return,
                Act::Stall => return stall(),
            };
        }
    }

    /// Reads the body up to the final dot; `None` when the script drops or stalls here, or
    /// the client goes away.
    fn receive_body(
        &self,
        reader: &mut BufReader<TcpStream>,
        n: usize,
        rcpt: &str,
    ) -> Option<Vec<u8>> {
        match self.script.body(n, rcpt) {
            Act::Drop => return None,
            Act::Stall => {
                stall();
                return None;
            }
            _ => {}
        }
        let mut body = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).ok()? == 0 {
                return None;
            }
            if line == b".\r\n" {
                return Some(body);
            }
            let unstuffed = line
                .strip_prefix(b".")
                .filter(|_| line.starts_with(b".."))
                .unwrap_or(&line);
            body.extend_from_slice(unstuffed);
        }
    }
}

fn stall() {
    std::thread::sleep(Duration::from_secs(120));
}
