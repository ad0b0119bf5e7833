//! What a dispatch guarantees beyond delivery, through the real binary and a real SMTP
//! server: the suppression list is the last word (paused, running, retried), a volume goes
//! to several audiences with nobody twice, a resume refuses changed settings, a ledger
//! that lost its writes is refused, and bad settings stop it before `state/` exists.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::dispatching::{
    SECRET, confirmed, dispatch, dispatch_command, excluded, history, interrupted, project, reader,
    spawn, status, wait_for_sends,
};
use crate::support::fault_smtp::{Act, FaultServer, Script};
use crate::support::smtp::SmtpSink;
use crate::support::{Project, free_port};

fn received(sink: &SmtpSink, address: &str) -> usize {
    sink.captured()
        .iter()
        .filter(|c| {
            c.rcpt_args
                .iter()
                .any(|r| r.trim_matches(['<', '>']) == address)
        })
        .count()
}

#[test]
fn an_address_suppressed_while_paused_or_while_sending_gets_nothing() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 300, "per_second = 40", 10);
    // Paused: suppressed before the resume.
    let paused = reader(200);
    project.ok(&["suppress", "add", &paused]);
    let mut child = spawn(&project, 300);
    wait_for_sends(&mut child, &sink, 60);
    // Running: suppressed while the dispatch sends, long before its turn.
    let running = reader(290);
    project.ok(&["suppress", "add", &running]);
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    std::thread::sleep(Duration::from_millis(300));
    for address in [&paused, &running] {
        assert_eq!(received(&sink, address), 0, "{address} got the volume");
        let h = history(&project, address);
        assert_eq!(h["state"].as_str(), Some("suppressed"), "{h}");
        let why = h["reply"]["text"].as_str().unwrap();
        assert!(why.contains("unsubscribed"), "{h}");
    }
    assert_eq!(status(&project)["counts"]["suppressed"].as_u64(), Some(2));
    let text = project.ok(&["status", "volumes/011.toml", "--recipient", &paused]);
    assert!(text.stdout.contains("suppressed"), "{}", text.stdout);
}

#[test]
fn retry_failed_skips_addresses_suppressed_since() {
    struct Refusing;
    impl Script for Refusing {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(1) || rcpt == reader(2) {
                Act::Reply("554 5.7.1 <x>: message refused".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Refusing);
    let project = project(server.port, 30, "");
    assert_eq!(confirmed(&project, 30, &[]).status, 0);
    assert_eq!(status(&project)["counts"]["failed"].as_u64(), Some(2));
    project.ok(&["suppress", "add", &reader(1)]);
    let again = confirmed(&project, 30, &["--retry-failed"]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert_eq!(
        history(&project, &reader(1))["state"].as_str(),
        Some("suppressed")
    );
    assert_eq!(
        history(&project, &reader(2))["attempts"].as_u64(),
        Some(2),
        "retried"
    );
}

#[test]
fn json_into_an_output_closed_before_it_is_written_ends_quietly() {
    let project = crate::recipients::with_recipients();
    // `plan --json` is written as it is serialized; `| head` closing the pipe is the
    // reader's choice, not an error.
    let mut plan = project
        .command(&[
            "plan",
            "volumes/011.toml",
            "--segment",
            "subscribers",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start plan");
    drop(plan.stdout.take());
    let plan = plan.wait_with_output().expect("run plan");
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(plan.status.success(), "{:?}: {stderr}", plan.status);
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn the_text_plan_lists_the_first_excluded_of_the_json_plan_and_counts_them_all() {
    let project = project(free_port(), 60, "");
    let suppressed: String = (0..45).map(|i| format!("{}\n", reader(i))).collect();
    project.write("suppressed.txt", &suppressed);
    project.ok(&["suppress", "import", "suppressed.txt"]);
    let args = ["plan", "volumes/011.toml", "--segment", "subscribers"];
    let json: Value = serde_json::from_str(&project.ok(&[&args[..], &["--json"]].concat()).stdout)
        .expect("plan JSON");
    let json_lines: Vec<String> = excluded(&json).iter().map(|e| format!("  {e}")).collect();
    assert_eq!(json_lines.len(), 45, "{json}");
    let text = project.ok(&args).stdout;
    assert!(text.contains("\nvariants:\n  all "), "{text}");
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("excluded (45):"))
        .skip(1)
        .take_while(|l| l.contains(": suppressed"))
        .collect();
    assert_eq!(listed, json_lines[..20], "{text}");
    assert!(
        text.contains("  ... and 25 more (`--json` lists everyone)"),
        "{text}"
    );
}

#[test]
fn a_volume_goes_to_staff_then_subscribers_and_nobody_gets_it_twice() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 20, "");
    // Staff: three subscribers and one person who is staff only.
    let recipients = project.read("recipients.toml");
    let mut staff = String::new();
    for address in [
        reader(0),
        reader(5),
        reader(9),
        "editor@eto.tech".to_owned(),
    ] {
        staff.push_str(&format!(
            "\n[[recipients]]\nemail = \"{address}\"\nsegments = [\"staff\"]\n"
        ));
    }
    project.write("recipients.toml", &format!("{recipients}{staff}"));
    let first = confirmed(&project, 4, &["--segment", "staff"]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    let plan = project.ok(&[
        "plan",
        "volumes/011.toml",
        "--segment",
        "subscribers",
        "--json",
    ]);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["recipients"].as_u64(), Some(17), "{plan}");
    let received_before = plan["already_received"].as_array().unwrap();
    assert_eq!(received_before.len(), 3, "{plan}");
    assert_eq!(received_before[0]["segments"][0].as_str(), Some("staff"));
    let text = project.ok(&["plan", "volumes/011.toml", "--segment", "subscribers"]);
    assert!(
        text.stdout.contains("3 in dispatch #1 (--segment staff)"),
        "{}",
        text.stdout
    );
    let again = project.ok(&["plan", "volumes/011.toml", "--segment", "staff"]);
    assert!(
        again
            .stdout
            .contains("variants: none, nobody selected gets the volume\n"),
        "{}",
        again.stdout
    );
    let second = confirmed(&project, 17, &["--segment", "subscribers"]);
    assert_eq!(second.status, 0, "{}", second.stderr);
    // The dispatch's briefing counts them as the plan did, without a line each.
    assert!(
        second.stdout.contains("already received (3):")
            && second.stdout.contains("3 in dispatch #1 (--segment staff)"),
        "{}",
        second.stdout
    );
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..20 {
        assert_eq!(received(&sink, &reader(i)), 1, "{}", reader(i));
    }
    assert_eq!(received(&sink, "editor@eto.tech"), 1);
    let report = status(&project);
    assert_eq!(
        report["dispatches"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    assert_eq!(report["counts"]["sent"].as_u64(), Some(21), "{report}");
    let again = confirmed(&project, 0, &["--segment", "subscribers"]);
    assert_eq!(again.status, 0, "{}", again.stderr);
    assert!(again.stdout.contains("nothing to send"), "{}", again.stdout);
}

#[test]
fn an_unfinished_dispatch_must_finish_before_another_starts() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 200, "per_second = 50", 5);
    let other = confirmed(&project, 1, &["--segment", "staff"]);
    assert_eq!(other.status, 1);
    assert!(
        other.stderr.contains(
            "is not finished; finish it first: broadsheet dispatch volumes/011.toml --segment subscribers"
        ),
        "{}",
        other.stderr
    );
}

#[test]
fn a_resume_refuses_changed_settings_and_names_them() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 200, "per_second = 50", 5);
    project.edit(
        "broadsheet.toml",
        "name = \"ETO Scout\"",
        "name = \"ETO Scout Weekly\"",
    );
    let mut changed_secret = dispatch_command(&project, &["--yes", "--expect", "200"]);
    changed_secret.env(
        "BROADSHEET_UNSUBSCRIBE_SECRET",
        format!("{SECRET}, rotated"),
    );
    let run = crate::support::Run::from(changed_secret.output().unwrap());
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("from name"), "{}", run.stderr);
    assert!(run.stderr.contains("unsubscribe secret"), "{}", run.stderr);
    project.edit(
        "broadsheet.toml",
        "name = \"ETO Scout Weekly\"",
        "name = \"ETO Scout\"",
    );
    let resumed = confirmed(&project, 200, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
}

#[test]
fn a_resume_refuses_changed_files_and_names_them() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 200, "per_second = 50", 5);
    let volume = project.read("volumes/011.toml");
    project.write("volumes/011.toml", &format!("{volume}# a comment\n"));
    let run = confirmed(&project, 200, &[]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: volumes/011.toml changed since this dispatch started"),
        "{}",
        run.stderr
    );
    project.write("volumes/011.toml", &volume);
    let layout = project.read("layouts/scout/layout.toml");
    project.write(
        "layouts/scout/layout.toml",
        &format!("{layout}# a comment\n"),
    );
    project.write("layouts/scout/partials/new.hbs", "new");
    let run = confirmed(&project, 200, &[]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: layouts/scout/layout.toml, layouts/scout/partials/new.hbs changed since"
        ),
        "{}",
        run.stderr
    );
    project.write("layouts/scout/layout.toml", &layout);
    std::fs::remove_file(project.path("layouts/scout/partials/new.hbs")).unwrap();
    let resumed = confirmed(&project, 200, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
}

#[test]
fn a_ledger_restored_without_its_wal_or_deleted_is_refused() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 300, "per_second = 100");
    let backup = project.path("ledger-backup.sqlite");
    let mut child = spawn(&project, 300);
    wait_for_sends(&mut child, &sink, 10);
    // The operator copies the one file the old README named, mid-run.
    std::fs::copy(project.path("state/ledger.sqlite"), &backup).unwrap();
    wait_for_sends(&mut child, &sink, 250);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::copy(&backup, project.path("state/ledger.sqlite")).unwrap();
    let _ = std::fs::remove_file(project.path("state/ledger.sqlite-wal"));
    let _ = std::fs::remove_file(project.path("state/ledger.sqlite-shm"));
    // The sink may still be writing what the killed run sent last: count once it is still.
    let mut sent_before = sink.count();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now = sink.count();
        if now == sent_before {
            break;
        }
        sent_before = now;
    }
    let stale = confirmed(&project, 300, &[]);
    assert_eq!(stale.status, 1, "{}", stale.stderr);
    // Depending on what the copy caught, the file lacks the dispatch or its latest writes.
    assert!(
        stale.stderr.contains("Restore the whole state/ folder"),
        "{}",
        stale.stderr
    );
    std::fs::remove_file(project.path("state/ledger.sqlite")).unwrap();
    let deleted = confirmed(&project, 300, &[]);
    assert_eq!(deleted.status, 1, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains("was dispatched before"),
        "{}",
        deleted.stderr
    );
    assert_eq!(sink.count(), sent_before, "nothing sent twice");
    let accepted = confirmed(&project, 300, &["--ledger-lost"]);
    assert_eq!(
        accepted.status, 0,
        "the operator's call: {}",
        accepted.stderr
    );
}

#[test]
fn status_names_a_ledger_or_wal_that_is_missing_and_never_says_not_dispatched() {
    let sink = SmtpSink::start();
    let project = interrupted(&sink, 300, "per_second = 40", 10);
    // A copy of the ledger file alone: its write-ahead log, which held the run, is gone.
    std::fs::remove_file(project.path("state/ledger.sqlite-wal")).unwrap();
    let _ = std::fs::remove_file(project.path("state/ledger.sqlite-shm"));
    for run in [
        project.run(&["status", "volumes/011.toml"]),
        confirmed(&project, 300, &[]),
    ] {
        assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .contains("state/ledger.sqlite-wal is missing or empty")
                && run.stderr.contains("Restore the whole state/ folder"),
            "{}",
            run.stderr
        );
    }
    // The ledger deleted, its marker kept.
    for file in [
        "state/ledger.sqlite",
        "state/ledger.sqlite-wal",
        "state/ledger.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(project.path(file));
    }
    let run = project.run(&["status", "volumes/011.toml"]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("has not been dispatched"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("volume 11 was dispatched before (dispatch #1)")
            && run.stderr.contains("state/ledger.sqlite is missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn status_after_a_killed_run_says_none_is_alive_and_prints_working_commands() {
    /// Accepts three messages, then holds every reply to the final dot until `healed`.
    #[derive(Default)]
    struct Holding {
        healed: std::sync::atomic::AtomicBool,
    }
    impl Script for Holding {
        fn after_dot(&self, n: usize, _rcpt: &str) -> Act {
            if n > 3 && !self.healed.load(std::sync::atomic::Ordering::SeqCst) {
                Act::Stall
            } else {
                Act::Normal
            }
        }
    }
    let script = std::sync::Arc::new(Holding::default());
    let server = FaultServer::start(script.clone());
    let project = project(server.port, 20, "");
    project.edit("broadsheet.toml", "timeout_secs = 5", "timeout_secs = 120");
    let mut child = spawn(&project, 20);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // Until the dispatch has frozen its audience, status has nothing to say in JSON.
    let in_flight_now = || {
        let run = project.run(&["status", "volumes/011.toml", "--json"]);
        serde_json::from_str::<Value>(&run.stdout)
            .map_or(0, |v| v["counts"]["in_flight"].as_u64().unwrap_or(0))
    };
    while in_flight_now() == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing in flight");
        std::thread::sleep(Duration::from_millis(50));
    }
    let running = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        running.stdout.contains("dispatch #1 is running"),
        "{}",
        running.stdout
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let in_flight = status(&project)["counts"]["in_flight"].as_u64().unwrap();
    let killed = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        killed.stdout.contains(&format!(
            "no run of dispatch #1 is alive; the {in_flight} message(s) in flight when it \
             stopped will count as ambiguous"
        )) && killed
            .stdout
            .contains("resume with: broadsheet dispatch volumes/011.toml --segment subscribers"),
        "{}",
        killed.stdout
    );
    script
        .healed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let resumed = confirmed(&project, 20, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
    let shown = project.ok(&["status", "volumes/011.toml"]);
    let hint = shown
        .stdout
        .split('`')
        .find(|part| part.ends_with("--resend-ambiguous"))
        .unwrap_or_else(|| panic!("{}", shown.stdout));
    assert_eq!(
        hint,
        "broadsheet dispatch volumes/011.toml --segment subscribers --resend-ambiguous"
    );
    // `broadsheet dispatch volumes/011.toml` and the secret come from the helper.
    let mut args: Vec<&str> = hint.split(' ').skip(3).collect();
    let expect = in_flight.to_string();
    args.extend(["--yes", "--expect", &expect]);
    let resent = dispatch(&project, &args);
    assert_eq!(resent.status, 0, "the hint works: {}", resent.stderr);
}

#[test]
fn bad_settings_stop_the_dispatch_before_state_is_touched() {
    let project = project(2525, 3, "");
    project.edit("broadsheet.toml", "port = 2525", "port = 0");
    let run = confirmed(&project, 3, &[]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("`port` must be between 1 and 65535"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("broadsheet.toml:"),
        "located: {}",
        run.stderr
    );
    assert!(!project.path("state").exists(), "state/ was created");
    let project = project_without_secret();
    assert!(!project.path("state").exists());
}

/// A dispatch without the signing secret in the environment fails before `state/`.
fn project_without_secret() -> Project {
    let project = project(2525, 3, "");
    let mut command = dispatch_command(&project, &["--yes", "--expect", "3"]);
    command.env_remove("BROADSHEET_UNSUBSCRIBE_SECRET");
    let run = crate::support::Run::from(command.output().unwrap());
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("BROADSHEET_UNSUBSCRIBE_SECRET"),
        "{}",
        run.stderr
    );
    project
}

#[test]
fn at_most_bounds_an_unattended_dispatch() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 12, "");
    let refused = dispatch(&project, &["--yes", "--at-most", "10"]);
    assert_eq!(refused.status, 1);
    assert!(
        refused.stderr.contains("more than --at-most 10"),
        "{}",
        refused.stderr
    );
    assert_eq!(sink.count(), 0);
    let bare = dispatch(&project, &["--yes"]);
    assert_eq!(
        bare.status, 2,
        "--yes alone is a usage error: {}",
        bare.stderr
    );
    let sent = dispatch(&project, &["--yes", "--at-most", "12"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
}

#[test]
fn replies_are_logged_without_addresses() {
    struct Greylisting;
    impl Script for Greylisting {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(2) {
                Act::Reply(format!("421 4.7.0 <{rcpt}>: try again later"))
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Greylisting);
    let project = project(server.port, 5, "max_attempts = 1");
    let mut command = dispatch_command(&project, &["--yes", "--expect", "5"]);
    command.env("BROADSHEET_LOG", "debug");
    let run = crate::support::Run::from(command.output().unwrap());
    assert!(
        run.stderr.contains("slow down"),
        "the reply was logged: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(&reader(2)), "{}", run.stderr);
}

#[test]
fn status_reads_a_read_only_state_folder() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 5, "");
    assert_eq!(confirmed(&project, 5, &[]).status, 0);
    let state = project.path("state");
    let frozen = crate::support::ReadOnly::new(&state);
    let run = frozen.run(&project, &["status", "volumes/011.toml", "--json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["counts"]["sent"].as_u64(), Some(5), "{report}");
}

#[test]
fn a_dispatched_message_greets_by_the_frozen_greeting_only() {
    let sink = SmtpSink::start();
    let project = project(sink.port, 2, "");
    let recipients = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!(
            "{recipients}\n[[recipients]]\nemail = \"quinn@example.org\"\nname = \"Zhang, Quinn\"\ngreeting = \"Quinn\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    assert_eq!(confirmed(&project, 3, &[]).status, 0);
    std::thread::sleep(Duration::from_millis(300));
    let texts: Vec<(String, String)> = sink
        .captured()
        .iter()
        .map(|c| {
            let parsed = mail_parser::MessageParser::default()
                .parse(&c.message)
                .expect("a MIME message");
            let to = c.rcpt_args[0].trim_matches(['<', '>']).to_owned();
            (to, parsed.body_text(0).expect("a text part").into_owned())
        })
        .collect();
    let quinn = &texts
        .iter()
        .find(|(to, _)| to == "quinn@example.org")
        .unwrap()
        .1;
    assert!(quinn.contains("Hi Quinn,"), "{quinn}");
    let reader = &texts.iter().find(|(to, _)| *to == reader(0)).unwrap().1;
    assert!(
        !reader.contains("Hi "),
        "no greeting, no fallback to the name: {reader}"
    );
}
