//! One classifier for refusals during a dispatch and reports afterwards, through the
//! binary: a refusal on our side (a blocklisted IP, our sender address refused, a DMARC
//! failure) never suppresses the reader, even under a 5.1.1; `status`, `status --recipient`
//! and `suppress list` show the reason, and `status` warns of our side's problem per domain.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::bounces::{run, verp_project};
use crate::support::Run;
use crate::support::dispatching::{
    dispatch, history, project, reader, status, volume_dispatch_command,
};
use crate::support::fault_smtp::{Act, FaultServer, Script};

/// A relay that refuses three readers: one for our IP, one for our sender address (under a
/// 5.1.1), one because the mailbox does not exist.
struct Refusing;

impl Script for Refusing {
    fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
        let reply = if rcpt == reader(1) {
            "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
        } else if rcpt == reader(4) {
            "550 5.1.1 <news@eto.tech>: Sender address rejected: Domain not found"
        } else if rcpt == reader(3) {
            "550 5.1.1 <reader3@example0.org>: Recipient address rejected: User unknown in virtual mailbox table"
        } else {
            return Act::Normal;
        };
        Act::Reply(reply.into())
    }
}

#[test]
fn a_refusal_on_our_side_during_a_dispatch_never_suppresses_the_reader() {
    let server = FaultServer::start(Refusing);
    let project = project(server.port, 6, "");
    let run = dispatch(&project, &["--yes", "--expect", "6"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("1 hard-bounced addresses added"),
        "{}",
        run.stdout
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.starts_with(&format!("{}  bounced (user-unknown)  bounce", reader(3))),
        "{list}"
    );
    let report = status(&project);
    let failures = report["failures"].as_array().unwrap();
    let of = |address: String| {
        let domain = address.split('@').nth(1).unwrap().to_owned();
        let mut found: Vec<(&str, &str)> = failures
            .iter()
            .filter(|g| g["domain"] == domain.as_str())
            .map(|g| (g["reason"].as_str().unwrap(), g["class"].as_str().unwrap()))
            .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(
        of(reader(1)),
        [("blocked", "sender"), ("sender-refused", "sender")],
        "{report:#}"
    );
    assert_eq!(of(reader(3)), [("user-unknown", "hard")], "{report:#}");
    let returns = &report["returns"];
    assert_eq!(
        (&returns["refused"], &returns["refused_on_our_side"]),
        (&3.into(), &2.into())
    );
    assert!(
        (returns["bounce_rate"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-9,
        "only the reader's own bounce counts: {returns:#}"
    );
    let text = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        text.stderr.contains(
            "warning: example1.org refused 2 message(s) for reasons on our side \
             (blocked 1, sender-refused 1): a sender problem, not the readers' bounces"
        ),
        "{}",
        text.stderr
    );
    assert!(text.stdout.contains("sender-refused"), "{}", text.stdout);
    assert_eq!(history(&project, &reader(4))["reason"], "sender-refused");
    let shown = project.ok(&["status", "volumes/011.toml", "--recipient", &reader(3)]);
    assert!(
        shown
            .stdout
            .contains(": failed (user-unknown) (dispatch #1"),
        "{}",
        shown.stdout
    );
}

#[test]
fn rfc_5321s_generic_mailbox_unavailable_drops_nobody_at_once() {
    /// Refuses one reader with RFC 5321's generic words alone, another with specific ones.
    struct Generic;
    impl Script for Generic {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            if rcpt == reader(2) {
                Act::Reply("550 Requested action not taken: mailbox unavailable".into())
            } else if rcpt == reader(5) {
                Act::Reply("550 Mailbox not found".into())
            } else {
                Act::Normal
            }
        }
    }
    let server = FaultServer::start(Generic);
    let project = project(server.port, 8, "");
    let run = dispatch(&project, &["--yes", "--expect", "8"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(!list.contains(&reader(2)), "the generic words: {list}");
    assert!(list.contains(&reader(5)), "the specific words: {list}");
    let h = history(&project, &reader(2));
    assert_eq!(
        (h["state"].as_str(), h["reason"].as_str()),
        (Some("failed"), Some("user-unknown")),
        "{h}"
    );
}

#[test]
fn a_mailbox_refused_in_soft_limit_volumes_in_a_row_is_suppressed_and_ours_never() {
    /// Refuses reader 2 with RFC 5321's generic words (Outlook.com's for a dead address)
    /// every time, reader 1 for our IP every time, and reader 4 as over quota except while
    /// `full` is off.
    struct Weekly {
        full: AtomicBool,
    }
    impl Script for Weekly {
        fn rcpt(&self, _n: usize, rcpt: &str) -> Act {
            let reply = if rcpt == reader(2) {
                "550 Requested action not taken: mailbox unavailable"
            } else if rcpt == reader(1) {
                "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
            } else if rcpt == reader(4) && self.full.load(Ordering::SeqCst) {
                "552 5.2.2 <reader4@example1.org>: Mailbox full"
            } else {
                return Act::Normal;
            };
            Act::Reply(reply.into())
        }
    }
    let script = Arc::new(Weekly {
        full: AtomicBool::new(true),
    });
    let server = FaultServer::start(Arc::clone(&script));
    let project = project(server.port, 8, "");
    let volume = project.read("volumes/011.toml");
    for number in [12, 13, 14] {
        // A later week: its own number, hero and links (a link sent before is refused).
        let next = volume
            .replace("number = 11", &format!("number = {number}"))
            .replace("volume-11-hero", &format!("volume-{number}-hero"))
            .replace("?pick=", &format!("?v{number}-pick="));
        project.write(&format!("volumes/0{number}.toml"), &next);
    }
    let send = |number: u32| {
        let path = format!("volumes/0{number}.toml");
        let run = Run::from(
            volume_dispatch_command(&project, &path, &["--yes", "--expect", "8"])
                .output()
                .expect("run dispatch"),
        );
        assert_eq!(run.status, 0, "volume {number}: {}", run.stderr);
        run
    };
    let suppressed = || project.ok(&["suppress", "list"]).stdout;
    for number in [11, 12] {
        let run = send(number);
        assert!(
            !run.stdout.contains("added to the suppression list"),
            "{}",
            run.stdout
        );
        script.full.store(false, Ordering::SeqCst);
    }
    assert_eq!(suppressed(), "", "two volumes of three");
    let shown = project.ok(&["recipients", "--explain", &reader(2)]).stdout;
    for number in [11, 12] {
        assert!(
            shown.contains(&format!(
                "temporary failure in volume {number} (user-unknown, no status)"
            )),
            "{shown}"
        );
    }
    script.full.store(true, Ordering::SeqCst);
    let third = send(13);
    assert!(
        third.stdout.contains(
            "1 addresses added to the suppression list: refused for their mailbox in 3 volumes \
             in a row ([bounces] soft_limit)"
        ),
        "{}",
        third.stdout
    );
    let list = suppressed();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.starts_with(&format!("{}  bounced (user-unknown)  bounce", reader(2))),
        "{list}"
    );
    let shown = project.ok(&["recipients", "--explain", &reader(4)]).stdout;
    assert!(
        shown.contains("temporary failure in volume 13 (mailbox-full, 5.2.2)"),
        "reader 4's mailbox took volume 12 between its two refusals: {shown}"
    );
    // Reader 2 comes back; the next refusal counts from there, not from volume 11.
    project.ok(&["suppress", "remove", &reader(2)]);
    let fourth = send(14);
    assert!(
        !fourth.stdout.contains("added to the suppression list"),
        "{}",
        fourth.stdout
    );
    assert_eq!(suppressed(), "", "one refusal since the reader came back");
    let shown = project.ok(&["recipients", "--explain", &reader(2)]).stdout;
    assert!(
        shown.contains("temporary failure in volume 14 (user-unknown, no status)"),
        "{shown}"
    );
}

/// A DSN for `recipient`'s message `message_id`, whose remote server said `diagnostic`.
fn dsn(message_id: &str, recipient: &str, status: &str, diagnostic: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: bounces@eto.tech\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{status}@mx.example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n\
Diagnostic-Code: smtp; {diagnostic}\r\n\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nSubject: Scout\r\n\r\n--b--\r\n"
    )
}

#[test]
fn a_report_of_a_refusal_on_our_side_is_kept_and_shown_never_acted_on() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let id = |address: &str| -> String {
        history(&project, address)["message_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ana, wei) = ("ana.lima@example.org", "wei.zhang@example.org");
    project.write(
        "inbox/dmarc.eml",
        &dsn(
            &id(ana),
            ana,
            "5.7.26",
            "550-5.7.26 Unauthenticated email from eto.tech is not accepted due to domain's DMARC policy.",
        ),
    );
    project.write(
        "inbox/gone.eml",
        &dsn(
            &id(wei),
            wei,
            "5.0.0",
            "554 delivery error: dd This user doesn't have a example.org account",
        ),
    );
    let imported = run(&project, &["bounces", "import", "inbox", "--json"]);
    assert_eq!(imported.status, 0, "{}", imported.stderr);
    let records: Vec<Value> = serde_json::from_str(&imported.stdout).unwrap();
    let of = |address: &str| {
        let r = records
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address}: {records:#?}"));
        (
            r["reason"].as_str().unwrap().to_owned(),
            r["class"].as_str().unwrap().to_owned(),
            r["permanent"].as_bool().unwrap(),
            r["effect"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        of(ana),
        (
            "authentication".into(),
            "sender".into(),
            false,
            "none".into()
        )
    );
    assert_eq!(
        of(wei),
        (
            "user-unknown".into(),
            "hard".into(),
            true,
            "suppressed".into()
        ),
        "5.0.0 with clear words"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.starts_with(&format!("{wei}  bounced (user-unknown)")),
        "{list}"
    );
    let returns = &status(&project)["returns"];
    assert_eq!(
        (&returns["bounced"], &returns["sender_refused"]),
        (&1.into(), &1.into()),
        "{returns:#}"
    );
    let came = &history(&project, ana)["returns"][0];
    assert_eq!(
        (&came["kind"], &came["reason"], &came["class"]),
        (&"sender".into(), &"authentication".into(), &"sender".into())
    );
    let text = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        text.stderr.contains(
            "example.org refused 1 message(s) for reasons on our side (authentication 1)"
        ),
        "{}",
        text.stderr
    );
}

#[test]
fn a_code_about_our_sender_or_policy_wins_over_words_that_would_drop_the_reader() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let ana = "ana.lima@example.org";
    let id = history(&project, ana)["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refusals = [
        (
            "5.1.8",
            "550 5.1.8 Die Absenderdomain existiert nicht",
            "sender-refused",
        ),
        (
            "5.1.8",
            "553 5.1.8 The domain of your return address eto.tech does not exist",
            "sender-refused",
        ),
        (
            "5.7.1",
            "550 5.7.1 Messaggio rifiutato: mittente inesistente",
            "policy",
        ),
        (
            "5.7.1",
            "550 5.7.1 Requested action not taken: mailbox unavailable",
            "policy",
        ),
    ];
    for (i, (status, diagnostic, _)) in refusals.iter().enumerate() {
        let report = dsn(&id, ana, status, diagnostic).replacen("<dsn-", &format!("<dsn-{i}-"), 1);
        project.write(&format!("inbox/{i}.eml"), &report);
    }
    let imported = run(&project, &["bounces", "import", "inbox", "--json"]);
    assert_eq!(imported.status, 0, "{}", imported.stderr);
    let records: Vec<Value> = serde_json::from_str(&imported.stdout).unwrap();
    for (i, (_, diagnostic, reason)) in refusals.iter().enumerate() {
        let r = records
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(&format!("/{i}.eml")))
            .unwrap_or_else(|| panic!("{i}: {records:#?}"));
        assert_eq!(
            (&r["reason"], &r["class"], &r["effect"]),
            (&(*reason).into(), &"sender".into(), &"none".into()),
            "{diagnostic}: {r:#}"
        );
    }
    let list = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(list, "", "nobody was dropped");
}

#[test]
fn the_reason_at_the_end_of_a_long_exim_transcript_is_read() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let ana = "ana.lima@example.org";
    let (path, _, _) = crate::bounces::envelopes(&project)
        .into_iter()
        .find(|e| e.1 == ana)
        .expect("a message to ana");
    // The words that put the fault on our side are on the seventh line of ana's block.
    project.write(
        "inbox/exim.eml",
        &format!(
            "From: Mail Delivery System <Mailer-Daemon@relay.eto.tech>\r\nTo: {path}\r\n\
Subject: Mail delivery failed: returning message to sender\r\nMessage-ID: <exim-1@relay.eto.tech>\r\n\r\n\
This message was created automatically by mail delivery software.\r\n\r\n\
A message that you sent could not be delivered to one or more of its\r\n\
recipients. This is a permanent error. The following address(es) failed:\r\n\r\n\
  {ana}\r\n    host mx1.example.org [192.0.2.10]\r\n\
    SMTP error from remote mail server after RCPT TO:<{ana}>:\r\n\
    550-Mailbox unavailable or access denied\r\n\
    550-Please see the documentation below for the reason of this rejection:\r\n\
    550-(1) Your sending IP 203.0.113.5 appears on the\r\n\
    550-    Spamhaus ZEN list; see https://check.spamhaus.org/\r\n    550 Rejected.\r\n\r\n\
------ This is a copy of the message, including all the headers. ------\r\n\r\n\
From: ETO Scout <scout@eto.tech>\r\nTo: {ana}\r\nSubject: Scout\r\n\r\nbody\r\n"
        ),
    );
    let imported = run(&project, &["bounces", "import", "inbox", "--json"]);
    assert_eq!(imported.status, 0, "{}", imported.stderr);
    let records: Vec<Value> = serde_json::from_str(&imported.stdout).unwrap();
    assert_eq!(
        (
            &records[0]["address"],
            &records[0]["reason"],
            &records[0]["class"],
            &records[0]["effect"]
        ),
        (
            &ana.into(),
            &"blocked".into(),
            &"sender".into(),
            &"none".into()
        ),
        "{records:#?}"
    );
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "");
}
