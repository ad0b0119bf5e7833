//! A throwaway rspamd (Debian's `rspamd`) on a free loopback port, with the configuration in
//! `tests/fixtures/rspamd/` and no network, and `rspamc` to scan a message with it: the
//! symbols it adds, the score and the action. Stopped on drop.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::oracle::{run_ok, system_tool};

/// The modules of Debian's configuration that this rspamd turns off, each with why: all of
/// them ask the network or Redis. What they would judge is either judged elsewhere (DKIM,
/// by dkimpy and OpenDKIM in tests/dkim.rs) or a property of the sending domain's DNS and
/// reputation, which a test domain does not have.
pub const DISABLED: [(&str, &str); 18] = [
    (
        "rbl",
        "DNS blocklists of IPs, HELO names and URLs (Spamhaus, SURBL, ...)",
    ),
    (
        "spf",
        "the SPF record is a DNS lookup of the sending domain",
    ),
    (
        "dkim",
        "the public key is a DNS lookup; tests/dkim.rs verifies the signatures",
    ),
    ("dmarc", "the DMARC policy is a DNS lookup"),
    ("arc", "ARC keys are DNS lookups"),
    ("asn", "the sender IP's AS number is a DNS lookup"),
    (
        "fuzzy_check",
        "rspamd.com's fuzzy hash servers, over the network",
    ),
    ("rspamd_update", "rule updates downloaded from rspamd.com"),
    (
        "multimap",
        "its only maps (free and disposable mail domains) are downloaded",
    ),
    (
        "whitelist",
        "downloaded maps, keyed on SPF, DKIM and DMARC results",
    ),
    (
        "url_redirector",
        "follows redirects over HTTP and caches them in Redis",
    ),
    ("neural", "a network trained and kept in Redis"),
    ("ratelimit", "counters in Redis"),
    ("greylist", "state in Redis"),
    ("replies", "state in Redis"),
    ("reputation", "state in Redis"),
    ("history_redis", "history in Redis"),
    ("bimi", "logos fetched over HTTPS and cached in Redis"),
];

/// A running rspamd with one scanning worker.
pub struct Rspamd {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// What rspamd made of one message.
#[derive(Debug)]
pub struct Verdict {
    /// The action: `no action` below the greylist threshold (4 in Debian's actions.conf,
    /// itself below `add header` at 6).
    pub action: String,
    /// The total score.
    pub score: f64,
    /// Each symbol added, with its options.
    pub symbols: BTreeMap<String, Vec<String>>,
}

/// The score from which rspamd adds a spam header, as Debian's `/etc/rspamd/actions.conf`
/// sets it (`add_header = 6;`).
pub fn add_header_threshold() -> f64 {
    let actions = std::fs::read_to_string("/etc/rspamd/actions.conf")
        .expect("/etc/rspamd/actions.conf: run scripts/test, or `apt-get install rspamd`");
    actions
        .lines()
        .find_map(|line| {
            let value = line.trim().strip_prefix("add_header")?.trim_start();
            value
                .strip_prefix('=')?
                .split(';')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .expect("an add_header threshold in actions.conf")
}

impl Rspamd {
    /// Starts rspamd and waits until its worker answers `/ping`.
    pub fn start() -> Self {
        let mut command = system_tool("/usr/bin/rspamd", "rspamd");
        let dir = tempfile::tempdir().expect("a temp folder");
        let local = dir.path().join("local");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rspamd");
        super::copy_tree(&fixture.join("override.d"), &local.join("override.d"));
        std::fs::create_dir_all(local.join("local.d")).expect("create local.d");
        for (module, _) in DISABLED {
            std::fs::write(
                local.join("local.d").join(format!("{module}.conf")),
                "enabled = false;\n",
            )
            .expect("write a local.d file");
        }
        let port = super::free_port();
        let var = |name: &str, value: &Path| format!("{name}={}", value.display());
        // -f stays in the foreground, so the test owns the process; -i lets the worker run
        // as root, as CI does.
        command
            .args(["-f", "-i", "-c"])
            .arg(fixture.join("rspamd.conf"))
            .args(["--var", &format!("PORT={port}")])
            .args(["--var", &var("DBDIR", dir.path())])
            .args(["--var", &var("LOCAL_CONFDIR", &local)])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("start rspamd");
        let mut rspamd = Self { port, child, dir };
        rspamd.wait_ready();
        rspamd
    }

    /// Waits (at most 120 s: the first start compiles its expressions) for `/ping`.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = format!("http://127.0.0.1:{}/ping", self.port);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rspamd exited ({status}):\n{}", self.log());
            }
            if let Ok(mut answer) = ureq::get(&url).call()
                && answer
                    .body_mut()
                    .read_to_string()
                    .is_ok_and(|b| b.contains("pong"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("rspamd did not answer on {url}:\n{}", self.log());
    }

    /// The end of rspamd's log, for a failure's message.
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("rspamd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Scans `message` with `rspamc` as the receiving MTA would hand it over: from a relay
    /// on 127.0.0.1, with its SMTP envelope.
    pub fn scan(&self, message: &Path, mail_from: &str, rcpt_to: &str) -> Verdict {
        let mut command = system_tool("/usr/bin/rspamc", "rspamd");
        command
            .args(["-h", &format!("127.0.0.1:{}", self.port), "-j"])
            .args(["-i", "127.0.0.1", "-F", mail_from, "-r", rcpt_to])
            .arg(message);
        let report: Value = serde_json::from_str(&run_ok(command))
            .unwrap_or_else(|e| panic!("rspamc's JSON: {e}\n{}", self.log()));
        let symbols = report["symbols"]
            .as_object()
            .unwrap_or_else(|| panic!("no symbols in {report}"))
            .iter()
            .map(|(name, symbol)| {
                let options = symbol["options"]
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (name.clone(), options)
            })
            .collect();
        Verdict {
            action: report["action"].as_str().unwrap_or_default().to_owned(),
            score: report["score"].as_f64().expect("a score"),
            symbols,
        }
    }
}

impl Drop for Rspamd {
    /// SIGTERM lets the main process stop its worker; a kill of the main process alone
    /// would leave the worker running.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
