//! `broadsheet dispatch` end to end: the real binary sending to Postfix's `smtp-sink`, killed
//! with SIGKILL at several points and run again; every recipient gets the volume exactly
//! once, except those the ledger lists as ambiguous (at most one per connection), and
//! `status` agrees with what the sink received. Then the guards: a wrong `--expect`, a
//! second dispatch at once, a volume edited mid-send, a finished volume run again, Ctrl-C.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::dispatching::{
    CONNECTIONS, dispatch, dispatch_command, excluded, interrupted, project, reader, spawn, status,
    wait_for_sends,
};
use crate::support::fault_smtp::{Act, FaultServer, Script};
use crate::support::smtp::SmtpSink;

fn killed_and_resumed(total: usize, kill: usize) {
    let sink = SmtpSink::start_draining();
    let project = interrupted(&sink, total, "", kill);
    let resumed = dispatch(&project, &["--yes", "--expect", &total.to_string()]);
    assert_eq!(resumed.status, 0, "resume failed:\n{}", resumed.stderr);

    let mut received: HashMap<String, usize> = HashMap::new();
    for rcpt_args in sink.recipients() {
        assert_eq!(rcpt_args.len(), 1);
        let rcpt = rcpt_args[0].trim_matches(['<', '>']).to_owned();
        *received.entry(rcpt).or_default() += 1;
    }
    let report = status(&project);
    let ambiguous: Vec<String> = report["ambiguous"]
        .as_array()
        .expect("ambiguous list")
        .iter()
        .map(|a| a["address"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ambiguous.len() <= CONNECTIONS,
        "{} ambiguous",
        ambiguous.len()
    );
    for i in 0..total {
        let address = reader(i);
        let got = received.get(&address).copied().unwrap_or(0);
        if ambiguous.contains(&address) {
            assert!(got <= 1, "{address} (ambiguous) received {got} times");
        } else {
            assert_eq!(got, 1, "{address} received {got} times (kill at {kill})");
        }
    }
    let sent = report["counts"]["sent"].as_u64().unwrap_or(0) as usize;
    let ambiguous_received = ambiguous
        .iter()
        .filter(|a| received.contains_key(*a))
        .count();
    assert_eq!(sent + ambiguous.len(), total, "{report}");
    assert_eq!(
        received.values().sum::<usize>(),
        sent + ambiguous_received,
        "status agrees with the sink"
    );
}

#[test]
fn killed_around_message_5000_of_20000_then_resumed() {
    killed_and_resumed(20_000, 5_000);
}

#[test]
fn killed_before_the_first_send_then_resumed() {
    killed_and_resumed(2_000, 0);
}

#[test]
fn killed_near_the_end_then_resumed() {
    killed_and_resumed(2_000, 1_990);
}

#[test]
fn a_wrong_expect_sends_nothing() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 10, "");
    let run = dispatch(&project, &["--yes", "--expect", "9"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("--expect 9 but this dispatch covers 10 recipients"),
        "{}",
        run.stderr
    );
    let status = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        status.stdout.contains("has not been dispatched"),
        "{}",
        status.stdout
    );
    assert_eq!(sink.count(), 0);
    let unconfirmed = dispatch(&project, &[]);
    assert_eq!(unconfirmed.status, 1, "no terminal, no --yes: refused");
    assert!(
        unconfirmed.stderr.contains("--yes --expect 10"),
        "{}",
        unconfirmed.stderr
    );
}

#[test]
fn a_second_dispatch_of_the_volume_exits_at_once() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 400, "per_second = 50");
    let mut first = spawn(&project, 400);
    wait_for_sends(&mut first, &sink, 5);
    let started = Instant::now();
    let second = dispatch(&project, &["--yes", "--expect", "400"]);
    assert_eq!(second.status, 1);
    assert!(
        second
            .stderr
            .contains("another dispatch of volume 11 is running"),
        "{}",
        second.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn an_edited_volume_makes_resume_refuse() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 400, "per_second = 50", 5);
    project.edit(
        "volumes/011.toml",
        "A state media report",
        "An edited report",
    );
    let resumed = dispatch(&project, &["--yes", "--expect", "400"]);
    assert_eq!(resumed.status, 1);
    assert!(
        resumed
            .stderr
            .contains("changed since this dispatch started"),
        "{}",
        resumed.stderr
    );
}

#[test]
fn a_finished_volume_run_again_makes_no_smtp_transaction() {
    struct Accepting;
    impl Script for Accepting {}
    let server = FaultServer::start(Accepting);
    let project = project(server.port, 25, "");
    let first = dispatch(&project, &["--yes", "--expect", "25"]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    let connections = server.log.lock().unwrap().connections;
    let again = dispatch(&project, &["--yes", "--expect", "25"]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert!(again.stdout.contains("nothing to send"), "{}", again.stdout);
    assert_eq!(
        server.log.lock().unwrap().connections,
        connections,
        "no new connection"
    );
    assert_eq!(server.accepted_recipients().len(), 25);
}

#[test]
fn ctrl_c_stops_resumably_and_says_how_to_resume() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 400, "per_second = 40");
    let mut child = dispatch_command(&project, &["--yes", "--expect", "400"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dispatch");
    wait_for_sends(&mut child, &sink, 5);
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let run = crate::support::Run::from(child.wait_with_output().expect("wait"));
    assert_eq!(run.status, 75, "resumable exit status:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("resume with: broadsheet dispatch volumes/011.toml --segment subscribers"),
        "{}",
        run.stderr
    );
    let report = status(&project);
    assert_eq!(
        report["counts"]["in_flight"].as_u64().unwrap_or(0),
        0,
        "in-flight messages finished: {report}"
    );
    let resumed = dispatch(&project, &["--yes", "--expect", "400"]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
    assert_eq!(status(&project)["counts"]["sent"].as_u64(), Some(400));
}

#[test]
fn a_hard_bounce_fails_once_and_joins_the_suppression_list() {
    struct NoSuchUser;
    impl Script for NoSuchUser {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(3) {
                Act::Reply("550 5.1.1 no such user".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(NoSuchUser);
    let project = project(server.port, 6, "");
    let run = dispatch(&project, &["--yes", "--expect", "6"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 hard-bounced addresses added"),
        "{}",
        run.stdout
    );
    let report = status(&project);
    assert_eq!(report["counts"]["failed"].as_u64(), Some(1), "{report}");
    assert_eq!(
        report["failures"][0]["code"].as_u64(),
        Some(550),
        "{report}"
    );
    assert_eq!(
        report["failures"][0]["status"].as_str(),
        Some("5.1.1"),
        "{report}"
    );
    let list = project.ok(&["suppress", "list"]);
    assert!(
        list.stdout
            .contains(&format!("{}  bounced (user-unknown)  bounce", reader(3))),
        "{}",
        list.stdout
    );
    let plan = project.ok(&[
        "plan",
        "volumes/011.toml",
        "--segment",
        "subscribers",
        "--json",
    ]);
    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    assert!(
        plan["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["address"] == reader(3).as_str()
                && e["reason"].as_str().unwrap().contains("bounced")),
        "{plan}"
    );
}

#[test]
fn plan_counts_variants_and_says_why_people_are_excluded() {
    let project = project(2525, 6, "per_second = 2");
    let recipients = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!(
            "{recipients}\n[[recipients]]\nemail = \"READER2@Example2.org\"\nsegments = [\"subscribers\"]\n\n[[recipients]]\nemail = \"ai.reader@example.org\"\nsegments = [\"subscribers\"]\ntopics = [\"ai\"]\n\n[[recipients]]\nemail = \"robots@example.org\"\nsegments = [\"subscribers\"]\ntopics = [\"no-such-topic\"]\n"
        ),
    );
    project.ok(&["suppress", "add", &reader(4)]);
    let run = project.ok(&[
        "plan",
        "volumes/011.toml",
        "--segment",
        "subscribers",
        "--json",
    ]);
    let plan: Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    let reasons = excluded(&plan);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with(&format!("{}: suppressed (unsubscribed)", reader(4)))),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("robots@example.org: no pick")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("1 rows: duplicate")),
        "{reasons:?}"
    );
    // 6 + 2 new people, less the suppressed one and the one with no matching picks.
    assert_eq!(plan["recipients"], 6, "{plan}");
    let variants: Vec<(String, u64)> = plan["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["variant"].as_str().unwrap().to_owned(),
                v["recipients"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        variants,
        [("all".to_owned(), 5), ("topics:ai".to_owned(), 1)]
    );
    assert_eq!(plan["duration_secs"], 3, "6 messages at 2 per second");
    let text = project.ok(&["plan", "volumes/011.toml", "--segment", "subscribers"]);
    assert!(
        text.stdout
            .contains("6 to send, about 3 s at the configured rate"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_volume_numbered_as_another_is_neither_built_nor_sent() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 3, "");
    // Last week's file copied for next week, its number left as it was.
    project.write("volumes/012.toml", &project.read("volumes/011.toml"));
    let at = "--> volumes/012.toml:8:10";
    for args in [
        &["check", "volumes/012.toml"][..],
        &["build", "volumes/012.toml"],
        &["proof", "volumes/012.toml", "--to", "editors@eto.tech"],
        &[
            "dispatch",
            "volumes/012.toml",
            "--segment",
            "subscribers",
            "--yes",
            "--expect",
            "3",
        ],
    ] {
        let mut command = project.command(args);
        command.env(
            "BROADSHEET_UNSUBSCRIBE_SECRET",
            crate::support::dispatching::SECRET,
        );
        let run = crate::support::Run::from(command.output().expect("run"));
        assert_eq!(run.status, 1, "{args:?}: {}", run.stderr);
        for expected in [
            "error: volume number 11 does not match the file name (`012`)",
            "set `number = 12`, or rename the file to `011.toml`",
            at,
        ] {
            assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        }
    }
    assert!(
        !project.path("out/011/email.html").exists(),
        "nothing built as volume 11"
    );
    assert_eq!(sink.count(), 0, "nothing sent");
    // The real volume 11 is its file's: it checks.
    project.ok(&["check", "volumes/011.toml"]);
    // A file not named by a number is held to the numbers of the folder's volumes.
    std::fs::rename(
        project.path("volumes/012.toml"),
        project.path("volumes/special.toml"),
    )
    .expect("rename");
    let run = project.run(&["build", "volumes/special.toml"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: volume 11 is also volumes/011.toml"),
        "{}",
        run.stderr
    );
    assert!(!project.path("out/011/email.html").exists());
    project.ok(&["check", "volumes/011.toml"]);
}
