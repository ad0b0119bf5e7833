//! Real mail servers for the tests: Postfix's `smtp-sink` capturing every message to a
//! folder, on a free loopback port. A missing tool fails the test loudly with what to
//! install; it never skips.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// Panics unless `path` exists, naming the Debian package to install.
pub fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's `{package}` (apt-get install {package}; scripts/test does it as root)"
    );
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
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
}

/// One captured transaction: smtp-sink's envelope lines and the message as received
/// (smtp-sink stores lines ending in LF).
pub struct Captured {
    pub rcpt_args: Vec<String>,
    pub mail_args: String,
    pub message: Vec<u8>,
}

impl SmtpSink {
    /// Starts smtp-sink on a free loopback port.
    pub fn start() -> Self {
        require(SMTP_SINK, "postfix");
        let dir = tempfile::tempdir().expect("temp folder");
        let mut command = Command::new(SMTP_SINK);
        if is_root() {
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
        Self { port, dir, child }
    }

    /// How many transactions smtp-sink has started to dump.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path()).map_or(0, Iterator::count)
    }

    /// Every captured transaction so far, in file-name order.
    pub fn captured(&self) -> Vec<Captured> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("list the dump folder")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| parse_dump(&std::fs::read(p).expect("read a dump")))
            .collect()
    }

    /// Waits until `n` transactions are captured (smtp-sink writes after replying).
    pub fn wait_for(&self, n: usize) -> Vec<Captured> {
        // smtp-sink writes line by line; a message is whole once its closing boundary is in.
        self.wait_until(n, |c| c.message.trim_ascii_end().ends_with(b"--"))
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
    }
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
