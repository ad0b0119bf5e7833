//! What comes back: the VERP return path each dispatched message carries, and
//! `bounces import` reading reports and suppressing exactly the recipients they name.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::recipients::with_recipients;
use crate::support::dispatching::{self, SECRET, dispatch, history};
use crate::support::{Project, Run};

/// The sample project with recipients and `[sender] bounce` set.
pub fn verp_project() -> Project {
    let project = with_recipients();
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"",
        "domain = \"eto.tech\"\nbounce = \"bounces@eto.tech\"",
    );
    project
}

/// The VERP project dispatched to its subscribers (ana and wei; the editor gets nothing).
pub fn verp_dispatched() -> Project {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project
}

/// Runs `broadsheet ARGS` with the unsubscribe secret set.
pub fn run(project: &Project, args: &[&str]) -> Run {
    let output = project
        .command(args)
        .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
        .output()
        .expect("run broadsheet");
    Run::from(output)
}

/// The outbox's envelopes, as (MAIL FROM, RCPT TO, Message-ID), sorted.
pub fn envelopes(project: &Project) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox") {
        let path = entry.expect("an entry").path();
        if path.to_string_lossy().ends_with(".envelope.json") {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let field = |v: &Value| v.as_str().unwrap().to_owned();
            found.push((
                field(&json["mail_from"]),
                field(&json["rcpt_to"][0]),
                field(&json["message_id"]),
            ));
        }
    }
    found.sort();
    found
}

/// The raw message to `to` in the outbox.
pub fn message_to(project: &Project, to: &str) -> String {
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "eml") {
            let text = std::fs::read_to_string(&path).expect("read a message");
            if text.lines().any(|l| l.starts_with("To:") && l.contains(to)) {
                return text;
            }
        }
    }
    panic!("no message to {to} in the outbox")
}

/// The subject the `mailto:` unsubscribe link of the message to `to` sets (it carries the
/// reader's token).
pub fn mailto_subject(project: &Project, to: &str) -> String {
    message_to(project, to)
        .split("subject=")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("a mailto link with a subject")
        .replace("%20", " ")
}

/// The envelope of the message to `to`.
fn envelope_of<'a>(
    found: &'a [(String, String, String)],
    to: &str,
) -> &'a (String, String, String) {
    found
        .iter()
        .find(|e| e.1 == to)
        .unwrap_or_else(|| panic!("no message to {to}"))
}

/// The return path (MAIL FROM) of the message to `to`.
pub fn return_path(project: &Project, to: &str) -> String {
    envelope_of(&envelopes(project), to).0.clone()
}

/// Writes `files` (name, contents) into the project's `inbox/`, imports them and returns
/// the records, asserting a clean run.
pub fn import_files(project: &Project, files: &[(&str, String)]) -> Vec<Value> {
    for (name, contents) in files {
        project.write(&format!("inbox/{name}"), contents);
    }
    let (status, records) = import(project, &["inbox"]);
    assert_eq!(status, 0, "{records:#?}");
    records
}

/// `bounces import ARGS --json`: its exit status and records.
pub fn import(project: &Project, paths: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["bounces", "import"];
    args.extend_from_slice(paths);
    args.push("--json");
    let run = run(project, &args);
    let records: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.status, records.as_array().unwrap().clone())
}

/// The record whose file name ends with `name`.
pub fn record<'a>(records: &'a [Value], name: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no record for {name}: {records:#?}"))
}

#[test]
fn each_dispatched_message_has_its_own_return_path_and_proofs_the_plain_one() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let found = envelopes(&project);
    assert_eq!(found.len(), 2);
    let senders: BTreeSet<&str> = found.iter().map(|(from, _, _)| from.as_str()).collect();
    assert_eq!(senders.len(), 2, "one return path per recipient: {found:?}");
    for (from, to, _) in &found {
        let (local, domain) = from.rsplit_once('@').unwrap();
        let token = local
            .strip_prefix("bounces+")
            .unwrap_or_else(|| panic!("{from}"));
        assert_eq!(domain, "eto.tech");
        assert_eq!(token.len(), 26, "{from}");
        assert!(
            token
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')),
            "{from}"
        );
        let user = to.split('@').next().unwrap();
        assert!(!from.contains(user), "the address does not show: {from}");
    }
    std::fs::remove_dir_all(project.path("outbox")).unwrap();
    let proof = run(
        &project,
        &["proof", "volumes/011.toml", "--to", "editors@eto.tech"],
    );
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    assert_eq!(
        envelopes(&project)[0].0,
        "scout@eto.tech",
        "proofs keep the plain sender"
    );
}

#[test]
fn check_warns_when_the_return_path_is_off_the_from_domain() {
    let project = verp_project();
    project.edit(
        "broadsheet.toml",
        "bounces@eto.tech",
        "bounces@relay.example.net",
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(
        checked.status, 0,
        "a warning, not an error: {}",
        checked.stderr
    );
    assert!(
        checked
            .stderr
            .contains("warning: `bounce` is on `relay.example.net`")
            && checked.stderr.contains("broadsheet.toml:"),
        "{}",
        checked.stderr
    );
}

const COMPLAINT: &str = "From: Feedback Loop <fbl@isp.example>\r\nTo: abuse@eto.tech\r\n\
Subject: complaint\r\nMessage-ID: <fbl-1@isp.example>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nA complaint about a message from your domain.\r\n\
--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n\
Original-Rcpt-To: redacted@redacted\r\n\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\nReturn-Path: <RETURN_PATH>\r\nFrom: ETO Scout <scout@eto.tech>\r\n\
To: redacted\r\nSubject: Editors' picks\r\n\r\nbody\r\n--b--\r\n";

const FULL_MAILBOX: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n\
To: scout@eto.tech\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-2@mx.example.org>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nThe mailbox is full.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; forwarded@elsewhere.example\r\nAction: failed\r\nStatus: 5.2.2\r\n\
Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: MESSAGE_ID\r\nFrom: scout@eto.tech\r\n\r\n--b--\r\n";

#[test]
fn complaints_unsubscribe_mails_auto_replies_and_unknown_mail_are_told_apart() {
    let project = verp_project();
    let sent = dispatch(
        &project,
        &[
            "--segment",
            "subscribers",
            "--segment",
            "staff",
            "--yes",
            "--expect",
            "3",
        ],
    );
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let found = envelopes(&project);
    let ana = envelope_of(&found, "ana.lima@example.org");
    let editor = envelope_of(&found, "editor@example.org");
    project.write(
        "inbox/complaint.eml",
        &COMPLAINT.replace("RETURN_PATH", &ana.0),
    );
    project.write(
        "inbox/full.eml",
        &FULL_MAILBOX.replace("MESSAGE_ID", &editor.2),
    );
    project.write(
        "inbox/unsubscribe.eml",
        &format!(
            "From: Wei Zhang <Wei.Zhang@example.org>\r\nTo: unsubscribe@eto.tech\r\nSubject: {}\r\n\r\n\r\n",
            mailto_subject(&project, "wei.zhang@example.org")
        ),
    );
    project.write(
        "inbox/away.eml",
        "From: policy@example.org\r\nTo: scout@eto.tech\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n",
    );
    project.write(
        "inbox/letter.eml",
        "From: reader@example.net\r\nTo: scout@eto.tech\r\nSubject: Thanks\r\n\r\nGreat issue.\r\n",
    );
    project.write("inbox/empty.eml", "");
    let (status, records) = import(&project, &["inbox"]);
    assert_eq!(status, 1, "the empty file could not be read: {records:#?}");
    let complaint = record(&records, "complaint.eml");
    assert_eq!(complaint["kind"], "complaint");
    assert_eq!(
        complaint["address"], "ana.lima@example.org",
        "from the token, the recipient redacted"
    );
    assert_eq!(complaint["mapped_by"], "verp");
    assert_eq!(complaint["effect"], "suppressed");
    let full = record(&records, "full.eml");
    assert_eq!(
        (&full["kind"], &full["status"], &full["permanent"]),
        (&"bounce".into(), &"5.2.2".into(), &false.into())
    );
    assert_eq!(
        full["address"], "editor@example.org",
        "from the returned Message-ID"
    );
    assert_eq!(
        (&full["mapped_by"], &full["effect"]),
        (&"message-id".into(), &"counted".into())
    );
    let unsubscribe = record(&records, "unsubscribe.eml");
    assert_eq!(
        (
            &unsubscribe["kind"],
            &unsubscribe["mapped_by"],
            &unsubscribe["effect"]
        ),
        (
            &"unsubscribe".into(),
            &"mailto".into(),
            &"suppressed".into()
        )
    );
    for (name, kind) in [("away.eml", "auto-reply"), ("letter.eml", "unknown")] {
        let r = record(&records, name);
        assert_eq!(
            (&r["kind"], &r["effect"], &r["address"]),
            (&kind.into(), &"none".into(), &Value::Null),
            "{name}"
        );
    }
    assert!(record(&records, "empty.eml")["error"].is_string());

    let list = project.ok(&["suppress", "list"]).stdout;
    let listed: Vec<&str> = list.lines().collect();
    assert_eq!(listed.len(), 2, "{list}");
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("ana.lima@example.org") && l.contains("complained")),
        "{list}"
    );
    assert!(
        listed
            .iter()
            .any(|l| l.starts_with("wei.zhang@example.org") && l.contains("unsubscribed")),
        "{list}"
    );

    std::fs::remove_file(project.path("inbox/empty.eml")).unwrap();
    let (status, again) = import(&project, &["inbox"]);
    assert_eq!(status, 0);
    for name in ["complaint.eml", "full.eml", "unsubscribe.eml"] {
        assert_eq!(record(&again, name)["effect"], "already-imported", "{name}");
    }
    assert_eq!(
        project.ok(&["suppress", "list"]).stdout,
        list,
        "a second import changes nothing"
    );
    let text = run(&project, &["bounces", "import", "inbox"]);
    assert_eq!(
        text.stdout.lines().last(),
        Some(
            "5 message(s), 5 finding(s): 0 suppressed, 0 counted, 2 no change, 3 already imported, 0 unverified, 0 unreadable"
        ),
        "{}",
        text.stdout
    );

    // The volume's status counts what came back, once, beside the messages it concerns.
    let returns = &dispatching::status(&project)["returns"];
    assert_eq!(
        (
            &returns["attempted"],
            &returns["complaints"],
            &returns["soft_bounced"],
            &returns["bounced"]
        ),
        (&3.into(), &1.into(), &1.into(), &0.into()),
        "{returns:#}"
    );
    let reasons = returns["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|g| g["kind"] == "soft-bounce"
            && g["domain"] == "example.org"
            && g["status"] == "5.2.2"),
        "{reasons:#?}"
    );
    let text = project.ok(&["status", "volumes/011.toml"]);
    assert!(
        text.stdout
            .contains("returned: 0 bounced, 1 soft-bounced, 0 refused on our side, 1 complaint(s)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stderr
            .contains("warning: the complaint rate is 33.33% (1 of 3), above 0.1%"),
        "{}",
        text.stderr
    );
    let history = history(&project, "editor@example.org");
    let came = history["returns"].as_array().unwrap();
    assert_eq!(came.len(), 1, "{history:#}");
    assert_eq!(
        (&came[0]["kind"], &came[0]["status"], &came[0]["report"]),
        (
            &"soft-bounce".into(),
            &"5.2.2".into(),
            &record(&records, "full.eml")["message_id"]
        )
    );
}

/// A Postfix that accepts unknown users at RCPT and bounces them afterwards, as relays do,
/// delivering `ana.lima@example.org` and the return path's mailbox `bounces@eto.tech`.
const BOUNCING_POSTFIX: &str = "virtual_mailbox_domains = example.org, eto.tech
virtual_mailbox_maps = inline:{ {ana.lima@example.org=ana/}, {bounces@eto.tech=bounces/} }
recipient_delimiter = +
smtpd_reject_unlisted_recipient = no
";

#[test]
fn a_real_postfix_dsn_to_the_return_path_suppresses_exactly_that_recipient() {
    let postfix = crate::support::postfix::Postfix::start_with(BOUNCING_POSTFIX);
    let project = crate::sending::smtp_project(postfix.port);
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"",
        "domain = \"eto.tech\"\nbounce = \"bounces@eto.tech\"",
    );
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    postfix.wait_for_mail("ana");
    let dsn = postfix.wait_for_mail("bounces");
    assert!(
        String::from_utf8_lossy(&dsn).contains("report-type=delivery-status"),
        "a real DSN"
    );
    let maildir = postfix.maildir("bounces");
    let (status, records) = import(&project, &[maildir.to_str().unwrap()]);
    assert_eq!(status, 0, "{records:#?}");
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(
        (&r["kind"], &r["address"]),
        (&"bounce".into(), &"wei.zhang@example.org".into())
    );
    assert_eq!(
        (&r["status"], &r["permanent"]),
        (&"5.1.1".into(), &true.into())
    );
    assert_eq!(
        (&r["mapped_by"], &r["effect"]),
        (&"verp".into(), &"suppressed".into())
    );
    assert_eq!(r["volume"], 11, "the token names the volume");
    let list = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.starts_with("wei.zhang@example.org") && list.contains("bounced"),
        "{list}"
    );
    let row = history(&project, "wei.zhang@example.org");
    assert_eq!(
        row["state"], "sent",
        "the relay took it: the row says so still"
    );
    let came = row["returns"].as_array().unwrap();
    assert_eq!(came.len(), 1, "{row:#}");
    assert_eq!(
        (&came[0]["kind"], &came[0]["status"]),
        (&"bounce".into(), &"5.1.1".into()),
        "and marks the bounce beside it"
    );
    assert!(
        history(&project, "ana.lima@example.org")["returns"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let returns = &dispatching::status(&project)["returns"];
    assert_eq!(
        (&returns["bounced"], &returns["attempted"]),
        (&1.into(), &2.into())
    );
}

/// A DSN as a relay mails it to the return path `to`, for `recipient`.
fn dsn_to(to: &str, recipient: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: {to}\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-9@mx.example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
}

#[test]
fn bounces_fetch_reads_an_imap_folder_and_moves_what_it_applied() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let found = envelopes(&project);
    let wei = envelope_of(&found, "wei.zhang@example.org");
    let dsn = dsn_to(&wei.0, "wei.zhang@example.org");
    let away = "From: ana.lima@example.org\r\nAuto-Submitted: auto-replied\r\nSubject: Away\r\n\r\nBack soon.\r\n";
    let dovecot = crate::support::dovecot::Dovecot::start(&[("1.eml", &dsn), ("2.eml", away)]);
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!(
            "{text}\n[bounces]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nusername = \"reader\"\n\
             password_env = \"BROADSHEET_IMAP_PASSWORD\"\nmove_to = \"Processed\"\n",
            dovecot.port
        ),
    );
    let fetch = || {
        let output = project
            .command(&["bounces", "fetch", "--json"])
            .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
            .env(
                "BROADSHEET_IMAP_PASSWORD",
                crate::support::dovecot::PASSWORD,
            )
            .output()
            .expect("run bounces fetch");
        let run = Run::from(output);
        assert_eq!(run.status, 0, "{}", run.stderr);
        let records: Value = serde_json::from_str(&run.stdout).expect("JSON");
        records.as_array().unwrap().clone()
    };
    let records = fetch();
    assert_eq!(records.len(), 2, "{records:#?}");
    let bounce = &records[0];
    assert_eq!(
        (&bounce["kind"], &bounce["address"]),
        (&"bounce".into(), &"wei.zhang@example.org".into())
    );
    assert_eq!(
        (&bounce["mapped_by"], &bounce["effect"]),
        (&"verp".into(), &"suppressed".into())
    );
    assert_eq!(records[1]["kind"], "auto-reply");
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("wei.zhang@example.org") && list.lines().count() == 1,
        "{list}"
    );
    let count = |folder: &str| {
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(dovecot.maildir().join(folder).join(sub)).map_or(0, |d| d.count())
            })
            .sum::<usize>()
    };
    assert_eq!(
        (count(""), count(".Processed")),
        (0, 2),
        "both moved out of the INBOX"
    );
    assert!(fetch().is_empty(), "nothing left to fetch");
}
