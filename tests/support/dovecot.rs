//! A throwaway Dovecot IMAP server for `bounces fetch`: its own configuration, one user
//! (`reader`, password [`PASSWORD`]) whose Maildir the test fills before starting it, plain
//! IMAP on a free loopback port. Needs root (Dovecot's processes switch users); stopped on
//! drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::smtp::{require, wait_for_port};
use super::{is_root, stop_daemon};

/// The test user's password.
pub const PASSWORD: &str = "a test imap password";

/// A running Dovecot.
pub struct Dovecot {
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Dovecot {
    /// Starts Dovecot with `messages` (file name, contents) in the user's INBOX.
    pub fn start(messages: &[(&str, &str)]) -> Self {
        require("/usr/sbin/dovecot", "dovecot-imapd");
        assert!(
            is_root(),
            "the IMAP test runs a real Dovecot, which needs root"
        );
        let dir = tempfile::tempdir().expect("temp folder");
        let root = dir.path();
        let maildir = root.join("home/reader/Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
        }
        for (name, text) in messages {
            std::fs::write(maildir.join("new").join(name), text).expect("write a message");
        }
        let port = super::free_port();
        std::fs::write(root.join("users"), format!("reader:{{PLAIN}}{PASSWORD}\n")).expect("users");
        std::fs::write(root.join("dovecot.conf"), config(root, port)).expect("dovecot.conf");
        run(&["chmod", "755", &root.display().to_string()]);
        run(&[
            "chown",
            "-R",
            "nobody:nogroup",
            &root.join("home").display().to_string(),
        ]);
        let instance = Self { port, dir };
        instance.dovecot(&[]);
        wait_for_port(port, "dovecot");
        instance
    }

    /// The user's Maildir.
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("home/reader/Maildir")
    }

    fn dovecot(&self, args: &[&str]) {
        let config = self.dir.path().join("dovecot.conf");
        // Not `output()`: the daemon it leaves behind keeps the pipes open forever.
        let status = Command::new("/usr/sbin/dovecot")
            .arg("-c")
            .arg(&config)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run dovecot");
        let log = std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default();
        assert!(status.success(), "dovecot {args:?} failed:\n{log}");
    }
}

impl Drop for Dovecot {
    /// Stops the instance with `dovecot stop`, bounded (see [`stop_daemon`]).
    fn drop(&mut self) {
        let mut stop = Command::new("/usr/sbin/dovecot");
        stop.arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .arg("stop");
        stop_daemon(stop, &self.dir.path().join("run/master.pid"));
    }
}

fn run(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("run a command");
    assert!(status.success(), "{args:?}");
}

fn config(root: &Path, port: u16) -> String {
    let r = root.display();
    format!(
        "base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={r}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"
    )
}
