//! Real mail servers for the tests: Postfix's `smtp-sink` capturing every message to a
//! folder, on a free loopback port. A missing tool fails the test loudly with what to
//! install; it never skips.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// Panics unless `path` exists, naming the Debian package to install.
pub fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's `{package}` (apt-get install {package}; scripts/test does it as root)"
    );
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `smtp-sink` that dumps each transaction into its own file; stopped on drop.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
    drain: Option<Drain>,
}

/// The thread of a sink started with [`SmtpSink::start_draining`]: it keeps the envelope of
/// each whole message and deletes its dump, so that tens of thousands of messages take no
/// disk (20,000 dumps of the fixture volume are 700 MB, enough to fill a CI machine's disk).
struct Drain {
    /// The recipients of each drained message; the lock is also held while a dump is
    /// deleted, so that counting files and drained messages sees each message once.
    recipients: Arc<Mutex<Vec<Vec<String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One captured transaction: smtp-sink's envelope lines and the message as received
/// (smtp-sink stores lines ending in LF).
pub struct Captured {
    pub rcpt_args: Vec<String>,
    pub mail_args: String,
    pub message: Vec<u8>,
}

impl SmtpSink {
    /// Starts smtp-sink on a free loopback port, keeping every message it receives.
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// Starts smtp-sink on a free loopback port, keeping only the envelope of each message
    /// (see [`SmtpSink::recipients`]), for tests that send thousands.
    pub fn start_draining() -> Self {
        Self::launch(true)
    }

    fn launch(draining: bool) -> Self {
        require(SMTP_SINK, "postfix");
        let dir = tempfile::tempdir().expect("temp folder");
        let mut command = Command::new(SMTP_SINK);
        if super::is_root() {
            // smtp-sink refuses to keep root privileges: it needs a user, who must be able
            // to write the dump folder.
            std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o777),
            )
            .expect("chmod");
            command.args(["-u", "nobody"]);
        }
        let port = super::free_port();
        let template = format!("{}/m.", dir.path().display());
        let child = command
            .args(["-d", &template, &format!("127.0.0.1:{port}"), "64"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start smtp-sink");
        wait_for_port(port, "smtp-sink");
        let drain = draining.then(|| Drain::start(dir.path().to_owned()));
        Self {
            port,
            dir,
            child,
            drain,
        }
    }

    /// How many transactions smtp-sink has started to dump (drained ones included).
    pub fn count(&self) -> usize {
        let drained = (self.drain.as_ref()).map(|d| d.recipients.lock().expect("lock"));
        drained.as_ref().map_or(0, |d| d.len()) + dump_paths(self.dir.path()).len()
    }

    /// Every captured transaction so far, in file-name order.
    pub fn captured(&self) -> Vec<Captured> {
        assert!(
            self.drain.is_none(),
            "a draining sink keeps envelopes only: read them with recipients()"
        );
        dump_paths(self.dir.path())
            .iter()
            .map(|p| parse_dump(&std::fs::read(p).expect("read a dump")))
            .collect()
    }

    /// The recipients (RCPT arguments) of every message a draining sink received, once the
    /// dump folder is empty: every transaction ended and each whole message drained (a cut-off
    /// one smtp-sink deletes itself). Fails if dumps are still there after ten seconds.
    pub fn recipients(&self) -> Vec<Vec<String>> {
        let drain = self
            .drain
            .as_ref()
            .expect("recipients() reads a sink started with start_draining()");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let drained = drain.recipients.lock().expect("lock");
            let left = dump_paths(self.dir.path()).len();
            if left == 0 {
                return drained.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{left} dumps are still not whole after ten seconds"
            );
            drop(drained);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `n` transactions are captured (smtp-sink writes after replying).
    pub fn wait_for(&self, n: usize) -> Vec<Captured> {
        self.wait_until(n, |c| is_whole(&c.message))
    }

    /// Waits until `n` transactions are captured and `whole` says each is written out.
    pub fn wait_until(&self, n: usize, whole: impl Fn(&Captured) -> bool) -> Vec<Captured> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let captured = self.captured();
            if captured.len() >= n && captured.iter().all(&whole) {
                return captured;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, smtp-sink has {}",
                captured.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(drain) = &mut self.drain {
            drain.stop.store(true, Ordering::Relaxed);
            if let Some(thread) = drain.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

impl Drain {
    /// Drains `dir` every few milliseconds until stopped.
    fn start(dir: PathBuf) -> Self {
        let recipients = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (recipients, stop) = (recipients.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    for path in dump_paths(&dir) {
                        let Ok(dump) = std::fs::read(&path) else {
                            continue;
                        };
                        if is_whole(&dump) {
                            let mut drained = recipients.lock().expect("lock");
                            std::fs::remove_file(&path).expect("delete a drained dump");
                            drained.push(parse_dump(&dump).rcpt_args);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        Self {
            recipients,
            stop,
            thread: Some(thread),
        }
    }
}

/// The dump files in `dir`, in file-name order.
fn dump_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list the dump folder")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

/// True when smtp-sink has written a dump (or the message part of one) to its end: the
/// message's closing MIME delimiter, then the empty line smtp-sink writes for the
/// terminating dot. smtp-sink deletes the dump
/// of a transaction that is cut off, so only a whole one may be counted and removed. (Its
/// writes are buffered: a dump read early may end anywhere, but the closing delimiter of
/// the top-level boundary occurs once, at the end.)
fn is_whole(dump: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(dump, b"boundary=\"") else {
        return false;
    };
    let start = at + b"boundary=\"".len();
    let Some(length) = dump[start..].iter().position(|&b| b == b'"') else {
        return false;
    };
    let boundary = &dump[start..start + length];
    let ending = [b"--", boundary, b"--\n\n"].concat();
    dump.ends_with(&ending)
}

/// Splits smtp-sink's dump: its `X-*` lines and `Received:` header, then the message.
fn parse_dump(dump: &[u8]) -> Captured {
    let text = String::from_utf8_lossy(dump);
    let mut rcpt_args = Vec::new();
    let mut mail_args = String::new();
    let mut offset = 0;
    let mut in_received = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if let Some(arg) = bare.strip_prefix("X-Rcpt-Args: ") {
            rcpt_args.push(arg.to_owned());
        } else if let Some(arg) = bare.strip_prefix("X-Mail-Args: ") {
            mail_args = arg.to_owned();
        } else if bare.starts_with("Received: ") {
            in_received = true;
        } else if !(bare.starts_with("X-") || in_received && line.starts_with('\t')) {
            break;
        }
        offset += line.len();
    }
    Captured {
        rcpt_args,
        mail_args,
        message: dump[offset..].to_vec(),
    }
}
