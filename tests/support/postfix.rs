//! A throwaway Postfix for the delivery test: its own configuration, queue and Maildir in a
//! temp folder, an SMTP listener on a free loopback port, virtual delivery of
//! `editor@example.org` to a Maildir. Needs root (Postfix's daemons switch users); stopped
//! with `postfix -c DIR stop` on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::smtp::{require, wait_for_port};
use super::{is_root, stop_daemon};

/// The services this instance runs, chroot off (the queue holds no chroot files).
const MASTER_CF: &str = "\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
";

/// A running Postfix instance.
pub struct Postfix {
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Postfix {
    /// Configures and starts an instance that delivers `editor@example.org` to a Maildir.
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// Like [`Postfix::start`], with the settings of `extra` in `main.cf` in place of the
    /// base's settings of the same names.
    pub fn start_with(extra: &str) -> Self {
        require("/usr/sbin/postfix", "postfix");
        assert!(
            is_root(),
            "the Postfix delivery test runs a real Postfix instance, which needs root"
        );
        let dir = tempfile::tempdir().expect("temp folder");
        let root = dir.path();
        for sub in ["etc", "queue", "data", "mail"] {
            std::fs::create_dir(root.join(sub)).expect("create a Postfix folder");
        }
        // The daemons run as postfix and nobody: they must reach into the folder.
        chmod(root, 0o755);
        chown("postfix", &root.join("data"));
        chown("nobody:nogroup", &root.join("mail"));
        let port = super::free_port();
        std::fs::write(root.join("etc/main.cf"), merged(&main_cf(root), extra))
            .expect("write main.cf");
        std::fs::write(
            root.join("etc/master.cf"),
            format!("127.0.0.1:{port} inet n - n - - smtpd\n{MASTER_CF}"),
        )
        .expect("write master.cf");
        let instance = Self { port, dir };
        instance.postfix("start");
        wait_for_port(port, "postfix");
        instance
    }

    fn etc(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    fn postfix(&self, action: &str) {
        let out = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.etc())
            .arg(action)
            .output()
            .expect("run postfix");
        assert!(
            out.status.success(),
            "postfix {action} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// The instance's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The Maildir folder of `mailbox`.
    pub fn maildir(&self, mailbox: &str) -> PathBuf {
        self.dir.path().join("mail").join(mailbox)
    }

    /// Waits for one message in the Maildir of `mailbox` and returns it.
    pub fn wait_for_mail(&self, mailbox: &str) -> Vec<u8> {
        let new = self.dir.path().join("mail").join(mailbox).join("new");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(entry) = std::fs::read_dir(&new).ok().and_then(|mut d| d.next()) {
                return std::fs::read(entry.expect("entry").path())
                    .expect("read the delivered message");
            }
            assert!(
                Instant::now() < deadline,
                "nothing delivered to {mailbox}; the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Postfix {
    /// Stops the instance with `postfix stop`, bounded (see [`stop_daemon`]): a daemon
    /// stuck on its log must not hang the suite.
    fn drop(&mut self) {
        let mut stop = Command::new("/usr/sbin/postfix");
        stop.arg("-c").arg(self.etc()).arg("stop");
        stop_daemon(stop, &self.dir.path().join("queue/pid/master.pid"));
    }
}

/// `base` (a `main.cf`) with the settings of `extra`: a setting `extra` names replaces the
/// base's line of that name, where it was. Postfix would take the later one too, but it
/// warns of the override from every daemon at start, and those warnings can fill the
/// logging socket's queue (ten datagrams on Debian's default) before `postlogd` reads it,
/// which then blocks on its own warning: the instance hangs.
fn merged(base: &str, extra: &str) -> String {
    let name = |line: &str| line.split_once('=').map(|(n, _)| n.trim().to_owned());
    let mut settings: Vec<(Option<String>, String)> =
        base.lines().map(|l| (name(l), l.to_owned())).collect();
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let key = name(line);
        match settings.iter_mut().find(|(n, _)| n.is_some() && *n == key) {
            Some(setting) => setting.1 = line.to_owned(),
            None => settings.push((key, line.to_owned())),
        }
    }
    settings.into_iter().map(|(_, l)| l + "\n").collect()
}

fn main_cf(root: &Path) -> String {
    let r = root.display();
    format!(
        "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
maillog_file_prefixes = {r}
maillog_file = {r}/maillog
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.broadsheet.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.org
virtual_mailbox_base = {r}/mail
virtual_mailbox_maps = inline:{{ {{editor@example.org=editor/}} }}
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
alias_maps =
alias_database =
biff = no
"
    )
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .expect("chmod");
}

fn chown(owner: &str, path: &Path) {
    let status = Command::new("chown")
        .arg(owner)
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {owner} {}", path.display());
}
