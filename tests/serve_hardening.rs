//! `broadsheet serve` against people who are not its readers, through the real binary:
//! refused webhook fields reach the log escaped and bounded; the confirmation mail repeats
//! nothing the form's sender typed; a repeated sign-up cannot rewrite a pending one; and
//! tokens naming strangers never make the service reload its readers, while a change to
//! the recipient files does.

use std::time::Duration;

use serde_json::json;

use crate::recipients::with_recipients;
use crate::serve_webhooks::{
    PASSWORD, POSTMARK_SETTINGS, Sns, add_ses, add_settings, certificate, to_postmark, to_ses,
};
use crate::support::preview::eventually;
use crate::support::serve::{Serve, one_click_path, path_of, readers};
use crate::support::{Project, eventually_files};

/// A log line an attacker would like to see: a forged report, with a terminal escape.
const FORGED: &str =
    "\n2030-01-01T00:00:00.000000Z  INFO report applied effect=Suppressed\u{1b}[2K";

#[test]
fn refused_webhook_fields_are_logged_escaped_and_bounded() {
    let pki = tempfile::tempdir().unwrap();
    let (_, cert) = certificate(pki.path(), "sns");
    let (other_key, _) = certificate(pki.path(), "other");
    let project = with_recipients();
    add_ses(&project, &cert);
    add_settings(&project, POSTMARK_SETTINGS);
    let serve = Serve::start_logging(&project, &[("BROADSHEET_POSTMARK_PASSWORD", PASSWORD)]);
    let id = format!("n-1{FORGED}{}", "x".repeat(5000));
    let forged = Sns::notification(&id, "{}").body(&other_key);
    let answer = to_ses(&serve, "Notification", &forged);
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(!answer.body.contains(FORGED), "{answer:?}");
    let garbage = json!({ "Type": format!("Notification{FORGED}") }).to_string();
    assert_eq!(to_ses(&serve, "Notification", &garbage).status, 400);
    let login = format!("postmark:{PASSWORD}");
    let odd = json!({ "RecordType": format!("Open{FORGED}"), "ID": 1 }).to_string();
    let ignored = to_postmark(&serve, Some(&login), &odd);
    assert_eq!(ignored.status, 200, "{ignored:?}");

    let log = serve.log();
    let escaped = r"\n2030-01-01T00:00:00.000000Z  INFO report applied effect=Suppressed\u{1b}[2K";
    assert_eq!(
        log.matches(escaped).count(),
        3,
        "each refusal, escaped:\n{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no terminal escape reaches the log:\n{log}"
    );
    for line in log.lines() {
        assert!(!line.starts_with("2030-"), "a forged line:\n{log}");
        assert!(line.chars().count() < 600, "an unbounded line: {line}");
    }
    assert!(log.contains("n-1\\n2030") && log.contains("xxx…"), "{log}");
}

/// Posts the sign-up form from our own page.
fn sign_up(serve: &Serve, body: &str) {
    let answer = serve.form("/subscribe", body);
    assert_eq!(answer.status, 303, "{}", answer.body);
}

#[test]
fn the_confirmation_repeats_no_typed_name_and_a_repeated_signup_keeps_the_first_request() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    sign_up(
        &serve,
        "email=nova%40example.org&name=Ana+Nova&topics=chips&website=",
    );
    let mail = std::fs::read_to_string(&eventually_files(&project.path("outbox"), ".eml", 1)[0])
        .expect("read the confirmation");
    assert!(
        mail.contains("\nHello,\r\n") || mail.contains("\nHello,\n"),
        "{mail}"
    );
    assert!(
        !mail.contains("Ana Nova") && !mail.contains("Nova"),
        "{mail}"
    );
    // Someone else repeats the form for the same address before it is confirmed.
    sign_up(
        &serve,
        "email=Nova%40Example.org&name=Visit+evil.example+now&topics=ai&topics=policy",
    );
    let start = mail
        .find("https://scout.eto.tech/confirm/")
        .expect("a link");
    let link = path_of(mail[start..].split_whitespace().next().expect("the link"));
    assert_eq!(serve.form(&link, "").status, 303);
    let story = project
        .ok(&["recipients", "--explain", "nova@example.org"])
        .stdout;
    assert!(story.contains("\n  name: Ana Nova\n"), "{story}");
    assert!(story.contains("\n  topics: chips\n"), "{story}");
    assert!(!story.contains("evil.example"), "{story}");
}

/// Replaces `relative` at once, as editors save (a reader never sees half a file).
fn replace(project: &Project, relative: &str, contents: &str) {
    let fresh = format!("{relative}.new");
    project.write(&fresh, contents);
    std::fs::rename(project.path(&fresh), project.path(relative)).expect("rename");
}

#[test]
fn readers_reload_when_the_recipient_files_change_never_for_a_strangers_token() {
    let project = readers(2);
    let serve = Serve::start_logging(&project, &[]);
    let newcomer = "reader7@example.org";
    let path = one_click_path(newcomer);
    assert_eq!(serve.get(&path).status, 400, "not a reader yet");
    for i in 0..50 {
        let stranger = one_click_path(&format!("stranger{i}@example.org"));
        assert_eq!(serve.one_click(&stranger).status, 400);
    }
    let csv = project.read("recipients/subscribers.csv");
    let csv = format!("{csv}{newcomer},,subscribers,\n");
    replace(&project, "recipients/subscribers.csv", &csv);
    let seen = eventually(Duration::from_secs(20), || serve.get(&path).status == 200);
    assert!(seen, "the changed file was never loaded:\n{}", serve.log());
    assert_eq!(serve.one_click(&path).status, 200);
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(list.starts_with(newcomer), "{list}");
    let log = serve.log();
    let reloads: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("recipient files changed"))
        .collect();
    assert_eq!(reloads.len(), 1, "one change, one reload:\n{log}");
    assert!(reloads[0].ends_with(": 3 readers loaded"), "{log}");
}
