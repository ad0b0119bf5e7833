//! `broadsheet dispatch` against a misbehaving SMTP server on loopback, through the real
//! binary: each fault ends with the ledger outcome, the exit status and the suppression
//! list it should. A relay that refuses everyone is told from recipients that do not exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Project;
use crate::support::dispatching::{confirmed, history, project, reader, status};
use crate::support::fault_smtp::{Act, FaultServer, Script};

/// Counts how often each recipient reached a point, to misbehave the first `k` times.
#[derive(Default)]
struct Seen(Mutex<HashMap<String, usize>>);

impl Seen {
    fn nth(&self, rcpt: &str) -> usize {
        let mut seen = self.0.lock().unwrap();
        let n = seen.entry(rcpt.to_owned()).or_default();
        *n += 1;
        *n
    }
}

/// The fixture project sending `n` messages to `server` with 2-second timeouts (the reply
/// to the final dot's too).
fn faulty(server: &FaultServer, n: usize, limits: &str) -> Project {
    let project = project(server.port, n, limits);
    project.edit(
        "broadsheet.toml",
        "timeout_secs = 5",
        "timeout_secs = 2\nfinal_reply_timeout_secs = 2",
    );
    project
}

fn count(report: &Value, state: &str) -> u64 {
    report["counts"][state].as_u64().unwrap_or(0)
}

fn suppressed(project: &Project) -> String {
    project.ok(&["suppress", "list"]).stdout
}

#[test]
fn a_clean_run_delivers_everyone_once_on_reused_connections() {
    struct Clean;
    impl Script for Clean {}
    let server = FaultServer::start(Clean);
    let project = faulty(&server, 30, "");
    let done = confirmed(&project, 30, &[]);
    assert_eq!(done.status, 0, "{}", done.stderr);
    assert_eq!(count(&status(&project), "sent"), 30);
    let mut got = server.accepted_recipients();
    got.sort();
    let mut want: Vec<String> = (0..30).map(reader).collect();
    want.sort();
    assert_eq!(got, want);
    let log = server.log.lock().unwrap();
    assert!(
        log.rcpts_per_transaction.iter().all(|&n| n == 1),
        "one RCPT per transaction"
    );
    assert!(
        log.connections <= 4,
        "connections are reused: {}",
        log.connections
    );
}

#[test]
fn the_ehlo_name_comes_from_the_settings_on_every_connection() {
    struct Clean;
    impl Script for Clean {}
    let server = FaultServer::start(Clean);
    let project = faulty(&server, 12, "");
    project.edit(
        "broadsheet.toml",
        "timeout_secs = 2",
        "timeout_secs = 2\nehlo = \"mail.eto.tech\"",
    );
    let done = confirmed(&project, 12, &[]);
    assert_eq!(done.status, 0, "{}", done.stderr);
    let log = server.log.lock().unwrap();
    // One EHLO a connection: PIPELINING is read from the reply to lettre's own.
    assert!(log.connections >= 1);
    assert_eq!(
        log.ehlo_per_connection(),
        vec![1; log.connections],
        "EHLOs by connection"
    );
    assert!(
        log.ehlo.iter().all(|(_, n)| n == "mail.eto.tech"),
        "{:?}",
        log.ehlo
    );
    // This relay does not offer PIPELINING: every command waited for the reply before it.
    assert_eq!(log.pipelined, Vec::<String>::new(), "commands pipelined");
    assert_eq!(log.accepted.len(), 12);
    drop(log);
    project.edit(
        "broadsheet.toml",
        "ehlo = \"mail.eto.tech\"",
        "ehlo = \"mail\\r\\nRSET\"",
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(checked.status, 1, "{}", checked.stderr);
    assert!(
        checked.stderr.contains("`ehlo` must be a domain name"),
        "{}",
        checked.stderr
    );
}

#[test]
fn transient_rcpt_replies_are_retried_until_delivered() {
    #[derive(Default)]
    struct TwiceLater(Seen);
    impl Script for TwiceLater {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(1) && self.0.nth(rcpt) <= 2 {
                Act::Reply("451 4.3.0 mailbox busy, try later".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(TwiceLater::default());
    let project = faulty(&server, 5, "");
    assert_eq!(confirmed(&project, 5, &[]).status, 0);
    let h = history(&project, &reader(1));
    assert_eq!(
        (h["state"].as_str(), h["attempts"].as_u64()),
        (Some("sent"), Some(3)),
        "{h}"
    );
    let log = h["attempts_log"].as_array().unwrap();
    let deferred: Vec<&Value> = log.iter().filter(|a| a["state"] == "deferred").collect();
    assert_eq!(deferred.len(), 2, "{h}");
    assert_eq!(
        deferred[0]["reply"]["code"].as_u64(),
        Some(451),
        "typed: {h}"
    );
    assert_eq!(
        deferred[0]["reply"]["enhanced"].as_str(),
        Some("4.3.0"),
        "{h}"
    );
    let delivered = server.accepted_recipients();
    assert_eq!(delivered.iter().filter(|r| **r == reader(1)).count(), 1);
}

#[test]
fn a_connection_dropped_after_rcpt_is_retried_once() {
    #[derive(Default)]
    struct DropOnce(Seen);
    impl Script for DropOnce {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(3) && self.0.nth(rcpt) == 1 {
                Act::Drop
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(DropOnce::default());
    let project = faulty(&server, 6, "");
    assert_eq!(confirmed(&project, 6, &[]).status, 0);
    let h = history(&project, &reader(3));
    assert_eq!(
        (h["state"].as_str(), h["attempts"].as_u64()),
        (Some("sent"), Some(2)),
        "{h}"
    );
    let delivered = server.accepted_recipients();
    assert_eq!(delivered.iter().filter(|r| **r == reader(3)).count(), 1);
    assert_eq!(count(&status(&project), "sent"), 6);
}

#[test]
fn a_connection_dropped_after_the_final_dot_is_ambiguous_and_never_resent() {
    struct DropAfterDot;
    impl Script for DropAfterDot {
        fn after_dot(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(4) {
                Act::Drop
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(DropAfterDot);
    let project = faulty(&server, 6, "");
    let done = confirmed(&project, 6, &[]);
    assert_eq!(
        done.status, 0,
        "every recipient settled, whatever the mix: {}",
        done.stderr
    );
    let report = status(&project);
    assert_eq!(
        (count(&report, "ambiguous"), count(&report, "sent")),
        (1, 5),
        "{report}"
    );
    assert_eq!(history(&project, &reader(4))["attempts"].as_u64(), Some(1));
}

#[test]
fn a_relay_that_scans_a_message_longer_than_a_step_takes_is_waited_for() {
    /// Answers the final dot after longer than `timeout_secs`, as a content scanner may.
    struct Scanning;
    impl Script for Scanning {
        fn after_dot(&self, _n: usize, _rcpt: &str) -> Act {
            std::thread::sleep(Duration::from_millis(2500));
            Act::Normal
        }
    }
    let server = FaultServer::start(Scanning);
    let project = project(server.port, 1, "");
    project.edit("broadsheet.toml", "timeout_secs = 5", "timeout_secs = 1");
    let run = confirmed(&project, 1, &[]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        history(&project, &reader(0))["state"].as_str(),
        Some("sent"),
        "the default wait for the final reply is RFC 5321's 10 minutes, not a step's"
    );
}

#[test]
fn replies_about_the_session_are_warned_of_once_naming_the_relay() {
    /// Says "too many recipients" to the first six readers, at three domains.
    struct TooMany;
    impl Script for TooMany {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if (0..6).any(|i| reader(i) == rcpt) {
                Act::Reply("452 4.5.3 Error: too many recipients".to_owned())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(TooMany);
    let project = faulty(&server, 12, "max_attempts = 1\n");
    let run = confirmed(&project, 12, &[]);
    assert_eq!(run.status, 75, "six deferred: {}", run.stderr);
    let shown = project.ok(&["status", "volumes/011.toml"]);
    let warnings: Vec<&str> = shown
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: the relay 127.0.0.1:{} refused 6 message(s) for reasons on our side \
             (rate-limited 6): a sender problem, not the readers' bounces; send more slowly \
             (`[limits] per_second`, `per_hour`, `connections`)",
            server.port
        )],
        "{}",
        shown.stderr
    );
}

#[test]
fn tls_to_a_plain_text_port_stops_at_once_saying_what_to_change() {
    struct Clean;
    impl Script for Clean {}
    let server = FaultServer::start(Clean);
    let project = faulty(&server, 5, "");
    project.edit(
        "broadsheet.toml",
        "security = \"none\"",
        "security = \"tls\"",
    );
    let run = confirmed(&project, 5, &[]);
    assert_eq!(run.status, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "this port does not speak TLS (the relay answered in plain text): `security = \"tls\"` \
             is for port 465; on 587 or 25 use `security = \"starttls\"`"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("transient failures"), "{}", run.stderr);
    let connections = server.log.lock().unwrap().connections;
    assert!(
        connections <= 4,
        "each of the 4 workers tried once at most: {connections}"
    );
}

#[test]
fn a_stall_mid_data_times_out_as_ambiguous() {
    struct StallBody;
    impl Script for StallBody {
        fn body(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(0) {
                Act::Stall
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(StallBody);
    let project = faulty(&server, 3, "");
    assert_eq!(confirmed(&project, 3, &[]).status, 0);
    // The body fits the socket's buffers: it was written in full, so the lost reply
    // makes the message ambiguous, and the run goes on without it.
    assert_eq!(
        history(&project, &reader(0))["state"].as_str(),
        Some("ambiguous")
    );
    assert_eq!(count(&status(&project), "sent"), 2);
}

#[test]
fn a_421_mid_session_reconnects_and_delivers() {
    #[derive(Default)]
    struct Closing(Seen);
    impl Script for Closing {
        fn after_dot(&self, n: usize, rcpt: &str) -> Act {
            if n == 3 && self.0.nth(rcpt) == 1 {
                Act::Reply("421 4.3.2 service shutting down".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Closing::default());
    let project = faulty(&server, 8, "");
    assert_eq!(confirmed(&project, 8, &[]).status, 0);
    assert_eq!(count(&status(&project), "sent"), 8);
    assert!(
        server.log.lock().unwrap().connections >= 2,
        "reconnected after the 421"
    );
    let mut got = server.accepted_recipients();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 8, "nobody twice");
}

#[test]
fn an_authentication_failure_stops_the_run_resumably() {
    struct BadPassword;
    impl Script for BadPassword {
        fn auth(&self) -> Act {
            Act::Reply("535 5.7.8 authentication credentials invalid".into())
        }
    }
    let server = FaultServer::start(BadPassword);
    let project = faulty(&server, 4, "");
    project.edit(
        "broadsheet.toml",
        "security = \"none\"",
        "security = \"none\"\nusername = \"news\"\npassword_env = \"PATH\"",
    );
    let stopped = confirmed(&project, 4, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(stopped.stderr.contains("535"), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("resume with:"),
        "{}",
        stopped.stderr
    );
    assert_eq!(count(&status(&project), "pending"), 4, "nothing consumed");
}

#[test]
fn a_relay_that_never_greets_ends_resumably_with_the_retry_time() {
    struct Silent;
    impl Script for Silent {
        fn greet(&self, _connection: usize) -> Act {
            Act::Stall
        }
    }
    let server = FaultServer::start(Silent);
    let project = faulty(&server, 3, "breaker = 4");
    let stopped = confirmed(&project, 3, &[]);
    assert_eq!(
        stopped.status, 75,
        "work left is not success:\n{}",
        stopped.stderr
    );
    assert!(
        stopped.stderr.contains("no answer within 2 s"),
        "{}",
        stopped.stderr
    );
    assert!(
        stopped.stderr.contains("resume with: broadsheet dispatch"),
        "{}",
        stopped.stderr
    );
    assert_eq!(count(&status(&project), "sent"), 0);
}

#[test]
fn deferred_messages_left_at_the_end_exit_resumably_and_say_when() {
    struct Greylisting;
    impl Script for Greylisting {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            let i: usize = rcpt[6..rcpt.find('@').unwrap()].parse().unwrap();
            if i.is_multiple_of(10) {
                Act::Reply(format!("450 4.7.1 <{rcpt}>: greylisted, try again later"))
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Greylisting);
    let project = faulty(&server, 50, "max_attempts = 1\nbreaker = 50");
    let stopped = confirmed(&project, 50, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("5 messages are not settled yet; the next retry is due"),
        "{}",
        stopped.stderr
    );
    let report = status(&project);
    assert_eq!(
        (count(&report, "sent"), count(&report, "deferred")),
        (45, 5),
        "{report}"
    );
}

/// Refuses every RCPT with the same reply, naming the recipient, until `healed`.
#[derive(Default)]
struct RefuseAll {
    healed: Mutex<bool>,
    reply: &'static str,
}

impl Script for RefuseAll {
    fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
        if *self.healed.lock().unwrap() {
            Act::Normal
        } else {
            Act::Reply(format!(
                "550 {} <{rcpt}>: Recipient address rejected",
                self.reply
            ))
        }
    }
}

#[test]
fn a_relay_refusing_everyone_stops_the_run_and_the_list_is_kept() {
    let script = Arc::new(RefuseAll {
        reply: "5.1.1",
        ..RefuseAll::default()
    });
    let server = FaultServer::start(script.clone());
    let project = faulty(&server, 40, "");
    let stopped = confirmed(&project, 40, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(stopped.stderr.contains("in a row"), "{}", stopped.stderr);
    assert!(stopped.stderr.contains("`550 5.1.1`"), "{}", stopped.stderr);
    assert!(
        !stopped.stderr.contains("reader1@"),
        "addresses masked: {}",
        stopped.stderr
    );
    assert!(
        !stopped.stdout.contains("hard-bounced"),
        "{}",
        stopped.stdout
    );
    let list = suppressed(&project);
    assert!(!list.contains("reader"), "nobody suppressed: {list}");
    let report = status(&project);
    assert_eq!(
        count(&report, "failed"),
        0,
        "refusals went back to pending: {report}"
    );
    assert_eq!(count(&report, "pending"), 40, "{report}");

    *script.healed.lock().unwrap() = true;
    let resumed = confirmed(&project, 40, &[]);
    assert_eq!(resumed.status, 0, "a plain resume: {}", resumed.stderr);
    let mut got = server.accepted_recipients();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 40, "everyone, once");
    assert_eq!(server.accepted_recipients().len(), 40);
}

#[test]
fn a_dispatch_stopped_by_a_refusing_relay_resumes_on_another_relay() {
    let refusing = FaultServer::start(RefuseAll {
        reply: "5.7.1",
        ..RefuseAll::default()
    });
    struct Clean;
    impl Script for Clean {}
    let working = FaultServer::start(Clean);
    let project = faulty(&refusing, 30, "");
    let stopped = confirmed(&project, 30, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    project.edit(
        "broadsheet.toml",
        &format!("port = {}", refusing.port),
        &format!("port = {}", working.port),
    );
    let resumed = confirmed(&project, 30, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
    assert!(
        resumed.stdout.contains(&format!(
            "started on 127.0.0.1:{}; this run sends through 127.0.0.1:{}",
            refusing.port, working.port
        )),
        "one line says so: {}",
        resumed.stdout
    );
    assert!(refusing.accepted_recipients().is_empty());
    let mut got = working.accepted_recipients();
    got.sort();
    let mut want: Vec<String> = (0..30).map(reader).collect();
    want.sort();
    assert_eq!(got, want, "everyone, exactly once");
    assert_eq!(count(&status(&project), "sent"), 30);
}

#[test]
fn a_resume_asks_for_the_number_it_will_send_and_says_how_many_were_sent() {
    /// Defers two recipients for good, so that a resume has two left of ten.
    struct DeferTwo;
    impl Script for DeferTwo {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt.starts_with("reader1@") || rcpt.starts_with("reader2@") {
                Act::Reply("451 4.3.0 try again later".to_owned())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(DeferTwo);
    let project = faulty(&server, 10, "max_attempts = 1\n");
    let first = confirmed(&project, 10, &[]);
    assert_eq!(first.status, 75, "{}", first.stderr);
    let wrong = confirmed(&project, 7, &[]);
    assert_ne!(wrong.status, 0, "neither this run's 2 nor the planned 10");
    assert!(
        wrong.stderr.contains("covers 2 recipients"),
        "{}",
        wrong.stderr
    );
    let resumed = confirmed(&project, 2, &[]);
    assert_eq!(resumed.status, 75, "deferred again: {}", resumed.stderr);
    let line = resumed
        .stdout
        .lines()
        .find(|l| l.starts_with("resuming dispatch #1 of 10 recipients ("))
        .unwrap_or_else(|| panic!("{}", resumed.stdout));
    assert!(
        line.contains("8 sent") && line.contains("2 deferred") && line.ends_with(": 2 to send now"),
        "{line}"
    );
    let planned = confirmed(&project, 10, &[]);
    assert_eq!(
        planned.status, 75,
        "the planned total is accepted too: {}",
        planned.stderr
    );
}

#[test]
fn policy_refusals_stop_the_run_as_the_relays_problem() {
    let server = FaultServer::start(RefuseAll {
        reply: "5.7.1",
        ..RefuseAll::default()
    });
    let project = faulty(&server, 20, "");
    let stopped = confirmed(&project, 20, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(stopped.stderr.contains("policy"), "{}", stopped.stderr);
    assert_eq!(count(&status(&project), "pending"), 20);
}

#[test]
fn a_few_hard_bounces_among_deliveries_are_the_recipients_own() {
    struct SomeGone;
    impl Script for SomeGone {
        fn pipelining(&self) -> bool {
            true
        }
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if [reader(7), reader(23)].iter().any(|r| r == rcpt) {
                Act::Reply(format!("550 5.1.1 <{rcpt}>: no such user"))
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(SomeGone);
    let project = faulty(&server, 40, "");
    let done = confirmed(&project, 40, &[]);
    assert_eq!(done.status, 0, "{}", done.stderr);
    assert!(
        done.stdout.contains("2 hard-bounced addresses added"),
        "{}",
        done.stdout
    );
    let list = suppressed(&project);
    assert!(
        list.contains(&reader(7)) && list.contains(&reader(23)),
        "{list}"
    );
    assert_eq!(
        server.accepted_recipients().len(),
        38,
        "pipelined sessions carried on"
    );
    // The relay offers PIPELINING: each envelope's MAIL and RCPT came with what followed.
    let log = server.log.lock().unwrap();
    assert_eq!(
        log.pipelined
            .iter()
            .filter(|c| c.starts_with("MAIL FROM"))
            .count(),
        40,
        "{:?}",
        log.pipelined
    );
    assert_eq!(log.ehlo_per_connection(), vec![1; log.connections]);
}

#[test]
fn a_ledger_that_cannot_be_written_stops_the_run_within_seconds() {
    let sink = crate::support::smtp::SmtpSink::start();
    let project = project(sink.port, 400, "per_second = 40");
    let mut child = crate::support::dispatching::spawn(&project, 400);
    crate::support::dispatching::wait_for_sends(&mut child, &sink, 10);
    // Another process takes SQLite's write lock and keeps it.
    let blocker = rusqlite::Connection::open(project.path("state/ledger.sqlite")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let blocked = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            blocked.elapsed() < Duration::from_secs(30),
            "the dispatch hangs"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(75));
    assert!(
        blocked.elapsed() < Duration::from_secs(15),
        "{:?}",
        blocked.elapsed()
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let resumed = confirmed(&project, 400, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
    let report = status(&project);
    assert_eq!(
        count(&report, "sent") + count(&report, "ambiguous"),
        400,
        "{report}"
    );
}

#[test]
fn a_certificate_that_does_not_verify_stops_the_run_at_once() {
    let tls = crate::support::tls::SelfSigned::start();
    let project = project(tls.port, 20, "");
    project.edit(
        "broadsheet.toml",
        "security = \"none\"",
        "security = \"tls\"",
    );
    let started = Instant::now();
    let stopped = confirmed(&project, 20, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("the relay's certificate does not verify (self-signed, expired"),
        "what to do about it: {}",
        stopped.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let report = status(&project);
    assert_eq!(count(&report, "pending"), 20, "{report}");
    let tried: u64 = (0..20)
        .map(|i| history(&project, &reader(i))["attempts"].as_u64().unwrap())
        .sum();
    assert!(
        tried <= 4,
        "one try per connection at most, not retries: {tried}"
    );
}
