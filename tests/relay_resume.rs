//! A relay's refusals across runs, through the real binary and a scripted relay: a relay
//! that starts refusing everyone at a one-domain list stops the run; a resume after such a
//! stop, and a `--retry-failed` run, get further instead of stopping at the same
//! recipients for ever; and once the dispatch is done, another segment can go.

use serde_json::Value;

use crate::support::Project;
use crate::support::dispatching::{CONNECTIONS, confirmed, project, reader, status};
use crate::support::fault_smtp::{Act, FaultServer, Script};

fn count(report: &Value, state: &str) -> u64 {
    report["counts"][state].as_u64().unwrap_or(0)
}

fn suppressed(project: &Project) -> String {
    project.ok(&["suppress", "list"]).stdout
}

/// The fixture project sending `n` readers to `server` on one connection, so that
/// refusals in a row in the ledger's order are in a row at the relay too (on several, others'
/// deliveries would come between them), plus three readers in a segment `late` of their own,
/// to be dispatched once the first dispatch is done.
fn with_late_segment(server: &FaultServer, n: usize) -> Project {
    let project = project(server.port, n, "");
    project.edit(
        "broadsheet.toml",
        &format!("connections = {CONNECTIONS}\n"),
        "connections = 1\n",
    );
    let mut csv = project.read("recipients/subscribers.csv");
    for i in 0..3 {
        csv.push_str(&format!("late{i}@example.net,Late {i},late,\n"));
    }
    project.write("recipients/subscribers.csv", &csv);
    let toml = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &toml.replacen(
            "[[imports]]",
            "[segments.late]\ndescription = \"Joined late\"\n\n[[imports]]",
            1,
        ),
    );
    project
}

/// The dispatch of the `late` segment goes through: nothing unfinished blocks it.
fn late_segment_goes(project: &Project) {
    let late = confirmed(project, 3, &["--segment", "late"]);
    assert_eq!(late.status, 0, "{}{}", late.stdout, late.stderr);
}

/// Accepts the first `accepted` transactions, then refuses every recipient as unknown,
/// the way a smarthost whose recipient directory broke mid-run does.
struct BreaksAfter(usize);

impl Script for BreaksAfter {
    fn rcpt(&self, n: usize, rcpt: &str) -> Act {
        if n <= self.0 {
            Act::Normal
        } else {
            Act::Reply(format!(
                "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in relay \
                 recipient table"
            ))
        }
    }
}

#[test]
fn a_relay_that_starts_refusing_a_one_domain_list_stops_and_suppresses_nobody() {
    let server = FaultServer::start(BreaksAfter(110));
    let project = project(server.port, 150, "");
    let mut csv = String::from("email,name,segments,topics\n");
    for i in 0..150 {
        csv.push_str(&format!("user{i:03}@corp.example,User {i},subscribers,\n"));
    }
    project.write("recipients/subscribers.csv", &csv);
    let stopped = confirmed(&project, 150, &[]);
    assert_eq!(stopped.status, 75, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("in a row with the same reply `550 5.1.1`")
            && stopped.stderr.contains("`[limits] relay_same_reply` is 10"),
        "{}",
        stopped.stderr
    );
    let list = suppressed(&project);
    assert!(!list.contains("corp.example"), "nobody suppressed: {list}");
    let report = status(&project);
    assert_eq!(count(&report, "failed"), 0, "{report}");
    assert_eq!(count(&report, "sent"), 110, "{report}");
    assert_eq!(count(&report, "pending"), 40, "{report}");
}

/// Refuses the readers in `refused` with `reply` at `RCPT` or after the final dot, every
/// time, and accepts everyone else.
struct Refuses {
    refused: Vec<String>,
    reply: &'static str,
    after_dot: bool,
}

impl Refuses {
    fn act(&self, rcpt: &str) -> Act {
        if self.refused.iter().any(|r| r == rcpt) {
            Act::Reply(self.reply.to_owned())
        } else {
            Act::Normal
        }
    }
}

impl Script for Refuses {
    fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
        if self.after_dot {
            Act::Normal
        } else {
            self.act(rcpt)
        }
    }
    fn after_dot(&self, _n: usize, rcpt: &str) -> Act {
        if self.after_dot {
            self.act(rcpt)
        } else {
            Act::Normal
        }
    }
}

#[test]
fn a_resume_after_policy_refusals_in_a_row_settles_them_and_finishes() {
    let server = FaultServer::start(Refuses {
        refused: (30..34).map(reader).collect(),
        reply: "554 5.7.1 Message rejected as spam",
        after_dot: true,
    });
    let project = with_late_segment(&server, 80);
    let stopped = confirmed(&project, 80, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    let resumed = confirmed(&project, 80, &[]);
    assert_eq!(
        resumed.status, 0,
        "the resume finishes: {}{}",
        resumed.stdout, resumed.stderr
    );
    assert!(
        stopped.stderr.contains("relay_policy_refusals"),
        "the stop names the key: {}",
        stopped.stderr
    );
    let report = status(&project);
    assert_eq!(
        (count(&report, "sent"), count(&report, "failed")),
        (76, 4),
        "{report}"
    );
    let list = suppressed(&project);
    assert!(
        !list.contains("reader"),
        "a policy refusal drops nobody: {list}"
    );
    let mut got = server.accepted_recipients();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 76, "everyone else, once");
    late_segment_goes(&project);
}

#[test]
fn a_resume_after_unknown_users_in_a_row_settles_and_suppresses_them() {
    let server = FaultServer::start(Refuses {
        refused: (20..30).map(reader).collect(),
        reply: "550 No such user here",
        after_dot: false,
    });
    let project = with_late_segment(&server, 80);
    let stopped = confirmed(&project, 80, &[]);
    assert_eq!(stopped.status, 75, "{}", stopped.stderr);
    assert!(!suppressed(&project).contains("reader"));
    let resumed = confirmed(&project, 80, &[]);
    assert_eq!(resumed.status, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        stopped.stderr.contains("relay_same_reply"),
        "{}",
        stopped.stderr
    );
    let report = status(&project);
    assert_eq!(
        (count(&report, "sent"), count(&report, "failed")),
        (70, 10),
        "{report}"
    );
    let list = suppressed(&project);
    for i in 20..30 {
        assert!(list.contains(&reader(i)), "{i} is gone for good: {list}");
    }
    late_segment_goes(&project);
}

#[test]
fn a_retry_of_failed_recipients_refused_again_finishes() {
    let replies = [
        "554 5.7.9 Message not accepted for policy reasons",
        "552 5.2.2 Mailbox full",
        "550 5.7.26 Unauthenticated email is not accepted",
        "554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
    ];
    /// Refuses every tenth reader from the fifth, each with one of `replies` in turn.
    struct Mixed([&'static str; 4]);
    impl Script for Mixed {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            match (0..120).step_by(10).position(|i| reader(i + 5) == rcpt) {
                Some(k) => Act::Reply(self.0[k % 4].to_owned()),
                None => Act::Normal,
            }
        }
    }
    let server = FaultServer::start(Mixed(replies));
    let project = with_late_segment(&server, 120);
    let first = confirmed(&project, 120, &[]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    assert_eq!(count(&status(&project), "failed"), 12);
    let retried = confirmed(&project, 120, &["--retry-failed"]);
    assert_eq!(
        retried.status, 0,
        "their refusals repeat: no sign of the relay's: {}{}",
        retried.stdout, retried.stderr
    );
    let report = status(&project);
    assert_eq!(
        (count(&report, "sent"), count(&report, "failed")),
        (108, 12),
        "{report}"
    );
    assert!(!suppressed(&project).contains("reader"));
    late_segment_goes(&project);
}
