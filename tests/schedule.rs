//! `dispatch --at`: a send at a set hour checks and shows the plan at once, sends nothing
//! before the hour and everything after it (dated then, and as the volume is then),
//! refuses an hour long past, and leaves `state/` untouched when cancelled while waiting.

use std::process::{Child, Stdio};
use std::time::Duration;

use mail_parser::MessageParser;

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::dispatch_command;
use crate::support::smtp::SmtpSink;

/// The hour `seconds` from now, in UTC, as `--at` reads it.
fn in_seconds(seconds: i64) -> String {
    let at = broadsheet::clock::instant()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .expect("a time");
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Starts `dispatch --at AT --zone UTC --yes --expect 2` in the background.
fn scheduled(project: &Project, at: &str) -> Child {
    dispatch_command(
        project,
        &["--at", at, "--zone", "UTC", "--yes", "--expect", "2"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start dispatch")
}

fn sent(project: &Project) -> usize {
    std::fs::read_dir(project.path("outbox")).map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}

#[test]
fn a_dispatch_at_an_hour_sends_nothing_before_it_and_everyone_after() {
    let project = with_recipients();
    let child = scheduled(&project, &in_seconds(4));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(sent(&project), 0, "nothing before the hour");
    assert!(
        !project.path("state").exists(),
        "state/ untouched while waiting"
    );
    let out = child.wait_with_output().expect("wait for dispatch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting until 20") && stderr.contains("(UTC)"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("volume 11 to segments: subscribers"),
        "the plan first: {stdout}"
    );
    assert_eq!(sent(&project), 2, "everyone after it");
}

#[test]
fn an_hour_long_past_is_refused_with_yes() {
    let project = with_recipients();
    let out = scheduled(&project, &in_seconds(-3600))
        .wait_with_output()
        .expect("wait for dispatch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("60 minutes ago") && stderr.contains("nothing sent"),
        "{stderr}"
    );
    assert_eq!(sent(&project), 0);
    assert!(!project.path("state").exists());
}

#[test]
fn sigint_while_waiting_cancels_and_leaves_state_untouched() {
    let project = with_recipients();
    let child = scheduled(&project, &in_seconds(120));
    std::thread::sleep(Duration::from_millis(1500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait for dispatch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cancelled while waiting; nothing sent"),
        "{stderr}"
    );
    assert_eq!(sent(&project), 0);
    assert!(!project.path("state").exists(), "state/ untouched");
}

#[test]
fn an_unknown_zone_is_named() {
    let project = with_recipients();
    project.edit(
        "broadsheet.toml",
        "layout = ",
        "zone = \"Europe/Berlln\"\nlayout = ",
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(checked.status, 1);
    assert!(
        checked.stderr.contains("unknown time zone `Europe/Berlln`")
            && checked.stderr.contains("broadsheet.toml:"),
        "{}",
        checked.stderr
    );
}

#[test]
fn a_dispatch_warns_when_the_page_view_in_browser_links_to_was_not_archived() {
    let project = with_recipients();
    let unarchived = crate::support::dispatching::confirmed(&project, 1, &["--segment", "staff"]);
    assert_eq!(unarchived.status, 0, "{}", unarchived.stderr);
    assert!(
        unarchived.stdout.contains(
            "warning: every message links \"View in browser\" to https://scout.eto.tech/newsletter/011.html, \
             but the last `broadsheet archive` did not write"
        ),
        "{}",
        unarchived.stdout
    );
    project.ok(&["archive"]);
    let archived = crate::support::dispatching::confirmed(&project, 2, &[]);
    assert_eq!(archived.status, 0, "{}", archived.stderr);
    assert!(
        !archived.stdout.contains("View in browser"),
        "{}",
        archived.stdout
    );
}

/// A dispatch of the three-subscriber project to `sink` at the hour `seconds` from now, in
/// the background, its output captured.
fn scheduled_to_sink(project: &Project, seconds: i64) -> Child {
    dispatch_command(
        project,
        &[
            "--at",
            &in_seconds(seconds),
            "--zone",
            "UTC",
            "--yes",
            "--expect",
            "3",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start dispatch")
}

/// Each message `sink` received, parsed: its `Date` (Unix seconds) and its subject.
fn dates_and_subjects(sink: &SmtpSink, n: usize) -> Vec<(i64, String)> {
    sink.wait_for(n)
        .iter()
        .map(|captured| {
            let message = MessageParser::default()
                .parse(&captured.message)
                .expect("a message");
            let date = message.date().expect("a Date").to_timestamp();
            (date, message.subject().expect("a subject").to_owned())
        })
        .collect()
}

#[test]
fn a_scheduled_message_is_dated_when_it_is_sent_not_when_it_was_scheduled() {
    let sink = SmtpSink::start();
    let project = crate::support::dispatching::project(sink.port, 3, "");
    let scheduled_at = broadsheet::clock::instant().as_second();
    let out = scheduled_to_sink(&project, 6)
        .wait_with_output()
        .expect("wait for dispatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (date, _) in dates_and_subjects(&sink, 3) {
        // The hour is 5 to 6 seconds after `scheduled_at` (`--at` has whole seconds).
        assert!(
            date >= scheduled_at + 5,
            "Date {date} is before the hour ({scheduled_at} + 5)"
        );
    }
}

#[test]
fn an_edit_made_while_waiting_is_what_goes() {
    let sink = SmtpSink::start();
    let project = crate::support::dispatching::project(sink.port, 3, "");
    let child = scheduled_to_sink(&project, 6);
    // The checks and the plan run at once; the editor fixes the headline while it waits.
    std::thread::sleep(Duration::from_secs(3));
    project.edit(
        "volumes/011.toml",
        "headline = \"Farming robots",
        "headline = \"Corrected: farming robots",
    );
    let out = child.wait_with_output().expect("wait for dispatch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("volumes/011.toml or its layout changed while waiting"),
        "{stdout}"
    );
    for (_, subject) in dates_and_subjects(&sink, 3) {
        assert!(
            subject.starts_with("Corrected: farming robots"),
            "{subject}"
        );
    }
}

#[test]
fn a_volume_broken_while_waiting_sends_nothing() {
    let sink = SmtpSink::start();
    let project = crate::support::dispatching::project(sink.port, 3, "");
    let child = scheduled_to_sink(&project, 6);
    std::thread::sleep(Duration::from_secs(3));
    project.edit("volumes/011.toml", "url = \"https://", "url = \"http://");
    let out = child.wait_with_output().expect("wait for dispatch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--> volumes/011.toml:")
            && stderr.contains("nothing sent (the volume is checked again at the hour)"),
        "{stderr}"
    );
    assert_eq!(sink.count(), 0, "nothing sent");
    assert!(
        !project.path("state/ledger.sqlite").exists(),
        "nothing frozen"
    );
}
