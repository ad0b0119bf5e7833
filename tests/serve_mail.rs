//! The mails `serve` sends itself: one welcome after a confirmation (with the latest issue
//! and the reader's preferences), one reminder of a sign-up left pending, both never twice
//! across restarts, and all of them DKIM-signed like the newsletter when `[dkim]` is set
//! (verified by dkimpy and OpenDKIM).

use std::path::PathBuf;

use crate::recipients::with_recipients;
use crate::support::serve::{Serve, path_of};
use crate::support::{Project, eventually_files};

const SIGNUP: &str = "email=new.reader%40example.org&name=New+Reader&topics=ai&website=";

fn outbox(project: &Project, n: usize) -> Vec<PathBuf> {
    eventually_files(&project.path("outbox"), ".eml", n)
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).expect("read a mail")
}

/// The mail whose Subject starts with `subject`.
fn mail_with(project: &Project, n: usize, subject: &str) -> String {
    outbox(project, n)
        .iter()
        .map(read)
        .find(|m| m.contains(&format!("Subject: {subject}")))
        .unwrap_or_else(|| panic!("no mail with subject {subject}"))
}

/// The path of the first link under `prefix` in `mail`.
fn link(mail: &str, prefix: &str) -> String {
    let start = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {mail}"));
    path_of(mail[start..].split_whitespace().next().unwrap())
}

/// Signs up through `serve` and confirms with the mailed link.
fn sign_up_and_confirm(serve: &Serve, project: &Project) {
    assert_eq!(serve.form("/subscribe", SIGNUP).status, 303);
    let confirmation = mail_with(project, 1, "Confirm");
    let confirm = link(&confirmation, "https://scout.eto.tech/confirm/");
    assert_eq!(serve.form(&confirm, "").status, 303);
}

fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(700));
}

#[test]
fn a_confirmed_reader_is_welcomed_once_with_the_latest_issue_and_their_preferences() {
    let project = with_recipients();
    project.ok(&["archive"]);
    let serve = Serve::start(&project);
    sign_up_and_confirm(&serve, &project);
    let welcome = mail_with(&project, 2, "Welcome to");
    assert!(welcome.contains("To: new.reader@example.org"), "{welcome}");
    assert!(
        welcome.contains("Hello New Reader,"),
        "the name, now that the owner confirmed: {welcome}"
    );
    assert!(
        welcome.contains("https://scout.eto.tech/newsletter/011.html"),
        "the latest issue: {welcome}"
    );
    let preferences = link(&welcome, "https://scout.eto.tech/preferences/");
    let page = serve.get(&preferences);
    assert_eq!(page.status, 200, "the reader's own preferences page");
    assert!(page.body.contains("value=\"ai\" checked"), "{}", page.body);
    serve.kill();
    let again = Serve::start(&project);
    settle();
    assert_eq!(outbox(&project, 2).len(), 2, "never twice after a restart");
    drop(again);
}

#[test]
fn welcome_mail_can_be_turned_off() {
    let project = with_recipients();
    project.edit("broadsheet.toml", "[serve]\n", "[serve]\nwelcome = false\n");
    let serve = Serve::start(&project);
    sign_up_and_confirm(&serve, &project);
    settle();
    assert_eq!(outbox(&project, 1).len(), 1, "the confirmation only");
}

#[test]
fn a_signup_left_pending_gets_one_reminder_whose_link_works() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    assert_eq!(serve.form("/subscribe", SIGNUP).status, 303);
    outbox(&project, 1);
    serve.kill();
    // A day and an hour later.
    let store = rusqlite::Connection::open(project.path("state/audience.sqlite")).unwrap();
    let moved = store
        .execute("UPDATE signups SET requested_at = requested_at - 90000", [])
        .unwrap();
    assert_eq!(moved, 1);
    drop(store);
    let serve = Serve::start(&project);
    let reminder = mail_with(&project, 2, "Reminder: confirm");
    assert!(
        reminder.contains("a reminder: someone, probably you"),
        "{reminder}"
    );
    assert!(
        !reminder.contains("New Reader"),
        "no typed name before confirmation"
    );
    let confirm = link(&reminder, "https://scout.eto.tech/confirm/");
    assert_eq!(serve.get(&confirm).status, 200, "the reminder's link works");
    serve.kill();
    let again = Serve::start(&project);
    settle();
    assert_eq!(outbox(&project, 2).len(), 2, "one reminder, never two");
    drop(again);
}

#[test]
fn the_mails_serve_sends_are_dkim_signed() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = crate::dkim::signing_project(keys_dir.path());
    let serve = Serve::start_with(&project, &[(crate::dkim::KEY_ENV, &pem)]);
    sign_up_and_confirm(&serve, &project);
    let files = outbox(&project, 2);
    let (ok, report) = crate::dkim::verify(&records, &files);
    assert!(ok, "{report}");
    assert_eq!(
        report.matches(" ok rsa-sha256 ed25519-sha256\n").count(),
        2,
        "the confirmation and the welcome: {report}"
    );
    crate::opendkim::assert_all_pass(&records, &files);
    let prepended = keys_dir.path().join("prepended.eml");
    std::fs::write(
        &prepended,
        format!("From: x@evil.example\r\n{}", read(&files[0])),
    )
    .unwrap();
    let (ok, report) = crate::dkim::verify(&records, &[prepended]);
    assert!(!ok && report.contains(" FAIL "), "{report}");
}

#[test]
fn through_a_relay_the_welcome_arrives_once() {
    let sink = crate::support::smtp::SmtpSink::start();
    let project = crate::sending::smtp_project(sink.port);
    let serve = Serve::start(&project);
    assert_eq!(serve.form("/subscribe", SIGNUP).status, 303);
    // A notice is written out once its last line is in.
    let ends = |c: &crate::support::smtp::Captured| {
        let text = String::from_utf8_lossy(&c.message);
        text.contains("nothing will be sent.") || text.contains("/preferences/")
    };
    let confirmation = String::from_utf8_lossy(&sink.wait_until(1, ends)[0].message).into_owned();
    let confirm = link(&confirmation, "https://scout.eto.tech/confirm/");
    assert_eq!(serve.form(&confirm, "").status, 303);
    let captured = sink.wait_until(2, ends);
    let welcome = captured
        .iter()
        .find(|c| String::from_utf8_lossy(&c.message).contains("Subject: Welcome to"))
        .expect("the welcome, through the relay");
    assert_eq!(welcome.rcpt_args, ["<new.reader@example.org>"]);
    settle();
    assert_eq!(sink.captured().len(), 2, "one welcome, once");
}
