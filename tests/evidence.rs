//! Evidence before suppression: anyone can mail the bounce and unsubscribe addresses, so a
//! report drops a reader only when it is tied to a message we sent that reader. Each forgery
//! a stranger can make is listed as unverified and changes nobody; the genuine reports do.

use serde_json::Value;

use crate::bounces::{
    import, import_files, mailto_subject, message_to, record, return_path, run, verp_dispatched,
};
use crate::support::Project;
use crate::support::dispatching::{self, dispatch};

/// A DSN from a mailer daemon, mailed to `to`, saying `recipient` does not exist.
fn dsn(to: &str, recipient: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: {to}\r\n\
Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn.{id}@mx.example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n\r\n--b--\r\n",
        id = format!("{to}.{recipient}").replace(['@', '+'], ".")
    )
}

/// An ARF complaint from a feedback loop about `recipient`, with `original` attached.
fn complaint(recipient: &str, original: &str) -> String {
    format!(
        "From: Feedback Loop <fbl@isp.example>\r\nTo: abuse@eto.tech\r\nSubject: complaint\r\n\
Message-ID: <fbl-{n}@isp.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n\
--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\n\
Version: 1\r\nOriginal-Rcpt-To: {recipient}\r\n\r\n\
--b\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--b--\r\n",
        n = original.len()
    )
}

fn suppressed(project: &Project) -> String {
    project.ok(&["suppress", "list"]).stdout
}

#[test]
fn forged_reports_are_listed_as_unverified_and_drop_nobody() {
    let project = verp_dispatched();
    let ana = "ana.lima@example.org";
    let wei_path = return_path(&project, "wei.zhang@example.org");
    let ana_path = return_path(&project, ana);
    // One character of ana's token changed, keeping it a well-formed token.
    let (local, domain) = ana_path.rsplit_once('@').unwrap();
    let last = local.chars().last().unwrap();
    let flipped = if last == 'a' { 'q' } else { 'a' };
    let bad_token = format!("{}{flipped}@{domain}", &local[..local.len() - 1]);
    let prose = format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: bounces@eto.tech\r\nSubject: failure notice\r\n\
Message-ID: <prose-1@mx.example.org>\r\n\r\nHi. This is the qmail-send program at mx.example.org.\r\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<{ana}>:\r\n\
550 5.1.1 no mailbox here by that name\r\n"
    );
    let records = import_files(
        &project,
        &[
            ("no-token.eml", dsn("bounces@eto.tech", ana)),
            ("bad-token.eml", dsn(&bad_token, ana)),
            ("other-token.eml", dsn(&wei_path, ana)),
            (
                "unknown-loop.eml",
                complaint(
                    ana,
                    "From: scout@eto.tech\r\nTo: ana.lima@example.org\r\nSubject: x\r\n\r\nbody",
                ),
            ),
            ("prose.eml", prose),
            (
                "never-sent.eml",
                dsn("bounces@eto.tech", "editor@example.org"),
            ),
            (
                "no-mailto-token.eml",
                format!("From: {ana}\r\nTo: unsubscribe@eto.tech\r\nSubject: unsubscribe\r\n\r\n"),
            ),
        ],
    );
    for (name, doubt) in [
        ("no-token.eml", "no-evidence"),
        ("bad-token.eml", "bad-token"),
        ("other-token.eml", "other-reader"),
        ("unknown-loop.eml", "no-evidence"),
        ("prose.eml", "no-evidence"),
        ("never-sent.eml", "no-evidence"),
        ("no-mailto-token.eml", "no-evidence"),
    ] {
        let r = record(&records, name);
        assert_eq!(
            (&r["effect"], &r["unverified"], &r["mapped_by"]),
            (&"unverified".into(), &doubt.into(), &Value::Null),
            "{name}: {r:#}"
        );
    }
    let letter = import_files(
        &project,
        &[(
            "letter.eml",
            format!("From: {ana}\r\nTo: scout@eto.tech\r\nSubject: unsubscribe\r\n\r\n"),
        )],
    );
    let letter = record(&letter, "letter.eml");
    assert_eq!(
        (&letter["kind"], &letter["effect"]),
        (&"unknown".into(), &"none".into()),
        "an \"unsubscribe\" sent to another address is an ordinary letter"
    );
    assert_eq!(suppressed(&project), "", "nobody was dropped");

    let text = run(&project, &["bounces", "import", "inbox"]);
    assert!(
        text.stdout
            .contains("inbox/bad-token.eml: bounce ana.lima@example.org 5.1.1: unverified (its token does not verify), nobody changed"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(", 7 unverified, 0 unreadable"),
        "{}",
        text.stdout
    );
    let status = dispatching::status(&project);
    assert_eq!(
        status["returns"]["unverified"], 7,
        "status counts the reports tied to nothing: {status:#}"
    );
    let shown = project.ok(&["status", "volumes/011.toml"]).stdout;
    assert!(
        shown.contains("7 report(s) tied to no message we sent"),
        "{shown}"
    );
}

#[test]
fn genuine_reports_tied_to_our_messages_still_drop_the_reader() {
    let project = verp_dispatched();
    let wei = "wei.zhang@example.org";
    let ana_message = message_to(&project, "ana.lima@example.org");
    // The feedback loop redacted the recipient and attached our message's headers: its
    // Message-ID names ana.
    let headers = ana_message.split("\r\n\r\n").next().unwrap();
    let subject = mailto_subject(&project, wei);
    assert!(
        subject.starts_with("unsubscribe ") && subject.len() == "unsubscribe ".len() + 26,
        "the mailto link carries wei's token: {subject}"
    );
    let records = import_files(
        &project,
        &[
            (
                "redacted.eml",
                complaint("redacted", &format!("{headers}\r\n\r\nbody")),
            ),
            (
                "mailto.eml",
                format!(
                    "From: Somebody <somebody@example.net>\r\nTo: unsubscribe@eto.tech\r\nSubject: {subject}\r\n\r\n"
                ),
            ),
        ],
    );
    let redacted = record(&records, "redacted.eml");
    assert_eq!(
        (
            &redacted["address"],
            &redacted["mapped_by"],
            &redacted["effect"]
        ),
        (
            &"ana.lima@example.org".into(),
            &"message-id".into(),
            &"suppressed".into()
        ),
        "{redacted:#}"
    );
    let mailto = record(&records, "mailto.eml");
    assert_eq!(
        (&mailto["address"], &mailto["mapped_by"], &mailto["effect"]),
        (&wei.into(), &"mailto".into(), &"suppressed".into()),
        "the token says whose request it is, whatever the From: {mailto:#}"
    );
    assert_eq!(mailto["volume"], 11);
    let list = suppressed(&project);
    assert!(
        list.lines()
            .any(|l| l.starts_with("ana.lima@example.org") && l.contains("complained")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with(wei) && l.contains("unsubscribed")),
        "{list}"
    );
}

#[test]
fn an_attached_original_names_the_reader_by_its_unsubscribe_link() {
    let project = verp_dispatched();
    let ana_message = message_to(&project, "ana.lima@example.org");
    let link = ana_message
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe:"))
        .expect("a List-Unsubscribe header");
    // Only the link survives: no Message-ID, no return path.
    let original =
        format!("From: scout@eto.tech\r\nTo: redacted\r\n{link}\r\nSubject: x\r\n\r\nbody");
    let records = import_files(&project, &[("link.eml", complaint("redacted", &original))]);
    let r = record(&records, "link.eml");
    assert_eq!(
        (&r["address"], &r["mapped_by"], &r["effect"]),
        (
            &"ana.lima@example.org".into(),
            &"unsubscribe-token".into(),
            &"suppressed".into()
        ),
        "{r:#}"
    );
}

#[test]
fn without_verp_the_address_rule_stays_and_check_warns_that_reports_can_be_forged() {
    let project = crate::recipients::with_recipients();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project.write(
        "inbox/dsn.eml",
        &dsn("scout@eto.tech", "ana.lima@example.org"),
    );
    let imported = run(&project, &["bounces", "import", "inbox", "--json"]);
    assert!(
        imported.stderr.contains("anyone can forge one"),
        "{}",
        imported.stderr
    );
    let records: Value = serde_json::from_str(&imported.stdout).unwrap();
    assert_eq!(records[0]["mapped_by"], "address");
    assert_eq!(records[0]["effect"], "suppressed");
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!(
            "{text}\n[bounces]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"u\"\npassword_env = \"P\"\n"
        ),
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(checked.status, 0, "a warning: {}", checked.stderr);
    assert!(
        checked
            .stderr
            .contains("warning: reports are read, but `[sender] bounce` is not set")
            && checked.stderr.contains("broadsheet.toml:"),
        "{}",
        checked.stderr
    );
}

/// The Message-ID versions before the keyed ones gave volume 11's message to `address`: a
/// hash of the List-Id, the volume and the address, which anyone can compute.
fn public_message_id(address: &str) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    for part in [&b"scout.eto.tech"[..], b"\0", &11u32.to_be_bytes(), b"\0"] {
        hash.update(part);
    }
    hash.update(address.as_bytes());
    let hex: String = hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<{hex}@eto.tech>")
}

/// A DSN about `recipient` that names our message only in its `References`.
fn referencing(recipient: &str, message_id: &str) -> String {
    dsn("bounces@eto.tech", recipient).replacen(
        "MIME-Version: 1.0\r\n",
        &format!("References: {message_id}\r\nMIME-Version: 1.0\r\n"),
        1,
    )
}

/// Runs `sql` on the project's ledger.
fn ledger_sql(project: &Project, sql: &str) {
    rusqlite::Connection::open(project.path("state/ledger.sqlite"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn a_message_id_anyone_can_compute_or_that_never_left_drops_nobody() {
    let project = verp_dispatched();
    let (ana, wei) = ("ana.lima@example.org", "wei.zhang@example.org");
    let wei_id = dispatching::history(&project, wei)["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(wei_id, public_message_id(wei), "keyed, not computable");
    // A dispatch frozen before the keyed Message-IDs: ana's row keeps the computable one.
    let old = public_message_id(ana);
    ledger_sql(
        &project,
        &format!("UPDATE recipients SET message_id = '{old}' WHERE address = '{ana}'"),
    );
    // Wei's message never left: the relay deferred it.
    ledger_sql(
        &project,
        &format!("UPDATE recipients SET state = 'deferred' WHERE address = '{wei}'"),
    );
    let records = import_files(
        &project,
        &[
            ("computed.eml", referencing(ana, &old)),
            ("deferred.eml", referencing(wei, &wei_id)),
        ],
    );
    for name in ["computed.eml", "deferred.eml"] {
        let r = record(&records, name);
        assert_eq!(
            (&r["effect"], &r["unverified"]),
            (&"unverified".into(), &"no-evidence".into()),
            "{name}: {r:#}"
        );
    }
    assert_eq!(suppressed(&project), "", "nobody was dropped");
    // Once wei's message left, its keyed Message-ID is evidence, and without the secret
    // no Message-ID is.
    ledger_sql(
        &project,
        &format!("UPDATE recipients SET state = 'sent' WHERE address = '{wei}'"),
    );
    project.write("later/sent.eml", &referencing(wei, &wei_id));
    let unkeyed = project.run(&["bounces", "import", "later", "--json"]);
    let unkeyed: Value = serde_json::from_str(&unkeyed.stdout).unwrap();
    assert_eq!(unkeyed[0]["unverified"], "no-evidence", "{unkeyed:#}");
    let (_, records) = import(&project, &["later"]);
    assert_eq!(
        (&records[0]["mapped_by"], &records[0]["effect"]),
        (&"message-id".into(), &"suppressed".into()),
        "{records:#?}"
    );
}

#[test]
fn a_dispatch_frozen_with_the_old_message_ids_resumes_with_them() {
    let sink = crate::support::smtp::SmtpSink::start();
    let project = dispatching::interrupted(&sink, 60, "per_second = 20", 10);
    let old = |address: &str| format!("<old.{}@eto.tech>", address.replace('@', "."));
    let pending: Vec<String> = {
        let ledger = rusqlite::Connection::open(project.path("state/ledger.sqlite")).unwrap();
        let mut rows = ledger
            .prepare("SELECT address FROM recipients WHERE state = 'pending'")
            .unwrap();
        rows.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(!pending.is_empty(), "the dispatch was interrupted");
    for address in &pending {
        let id = old(address);
        ledger_sql(
            &project,
            &format!("UPDATE recipients SET message_id = '{id}' WHERE address = '{address}'"),
        );
    }
    let resumed = dispatching::confirmed(&project, 60, &[]);
    assert_eq!(resumed.status, 0, "{}", resumed.stderr);
    let captured = sink.captured();
    for address in &pending {
        let id = old(address);
        let message = captured
            .iter()
            .find(|c| {
                c.rcpt_args
                    .iter()
                    .any(|a| a.contains(&format!("<{address}>")))
            })
            .map(|c| String::from_utf8_lossy(&c.message).into_owned())
            .unwrap_or_else(|| panic!("no message to {address}"));
        let line = format!("Message-ID: {id}");
        assert!(
            message.lines().any(|l| l.trim_end() == line),
            "{address} got the Message-ID the dispatch froze"
        );
    }
}

#[test]
fn an_unsubscribe_mail_is_heard_whatever_automation_headers_its_client_added() {
    let project = verp_dispatched();
    let wei = "wei.zhang@example.org";
    let subject = mailto_subject(&project, wei);
    let mail = |header: &str| {
        format!(
            "From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: {subject}\r\n\
Message-ID: <{n}@example.org>\r\n{header}\r\n\r\nSent for the user by the provider.\r\n",
            n = header.len()
        )
    };
    let headers = [
        "Auto-Submitted: auto-generated",
        "X-Auto-Response-Suppress: All",
        "Precedence: auto_reply",
    ];
    let files: Vec<(String, String)> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (format!("u{i}.eml"), mail(h)))
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, m)| (n.as_str(), m.clone())).collect();
    let records = import_files(&project, &files);
    for (i, header) in headers.iter().enumerate() {
        let r = record(&records, &format!("u{i}.eml"));
        assert_eq!(
            (&r["kind"], &r["address"], &r["mapped_by"]),
            (&"unsubscribe".into(), &wei.into(), &"mailto".into()),
            "{header}: {r:#}"
        );
    }
    assert!(
        suppressed(&project)
            .lines()
            .any(|l| l.starts_with(wei) && l.contains("unsubscribed")),
        "wei was heard"
    );
}

#[test]
fn an_unsubscribe_mail_is_its_tokens_readers_request_even_from_another_reader() {
    let project = verp_dispatched();
    let (ana, wei) = ("ana.lima@example.org", "wei.zhang@example.org");
    // Wei forwarded the issue to ana's other mailbox, or they share a computer: ana's mail
    // client sends wei's unsubscribe request From ana.
    let subject = mailto_subject(&project, wei);
    let records = import_files(
        &project,
        &[(
            "other-from.eml",
            format!("From: {ana}\r\nTo: unsubscribe@eto.tech\r\nSubject: {subject}\r\n\r\n"),
        )],
    );
    let r = record(&records, "other-from.eml");
    assert_eq!(
        (&r["address"], &r["mapped_by"], &r["effect"]),
        (&wei.into(), &"mailto".into(), &"suppressed".into()),
        "{r:#}"
    );
    let list = suppressed(&project);
    assert!(
        list.lines()
            .any(|l| l.starts_with(wei) && l.contains("unsubscribed")),
        "{list}"
    );
    assert!(!list.contains(ana), "ana stays: {list}");
}

#[test]
fn a_return_path_token_that_does_not_verify_maps_nobody_whatever_else_the_report_says() {
    let project = verp_dispatched();
    let ana = "ana.lima@example.org";
    let ana_path = return_path(&project, ana);
    let (local, domain) = ana_path.rsplit_once('@').unwrap();
    let last = local.chars().last().unwrap();
    let flipped = if last == 'a' { 'q' } else { 'a' };
    let bad_token = format!("{}{flipped}@{domain}", &local[..local.len() - 1]);
    // The returned original's headers are genuine: ana's own Message-ID.
    let headers = message_to(&project, ana);
    let headers = headers.split("\r\n\r\n").next().unwrap();
    let report = dsn(&bad_token, ana).replacen(
        "--b--",
        &format!("--b\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n\r\n--b--"),
        1,
    );
    let records = import_files(&project, &[("bad-token-real-id.eml", report)]);
    let r = record(&records, "bad-token-real-id.eml");
    assert_eq!(
        (&r["effect"], &r["unverified"], &r["mapped_by"]),
        (&"unverified".into(), &"bad-token".into(), &Value::Null),
        "{r:#}"
    );
    assert_eq!(suppressed(&project), "", "nobody was dropped");
}

#[test]
fn an_out_of_office_echoing_a_bouncy_title_is_an_auto_reply_and_a_marked_bounce_a_bounce() {
    let project = verp_dispatched();
    let (ana, wei) = ("ana.lima@example.org", "wei.zhang@example.org");
    let ana_id = dispatching::history(&project, ana)["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let away = format!(
        "From: {ana}\r\nTo: {path}\r\nSubject: Automatic reply: Returned chips and failed export deals\r\n\
Message-ID: <away-1@example.org>\r\nIn-Reply-To: {ana_id}\r\nReferences: {ana_id}\r\n\
Auto-Submitted: auto-replied\r\n\r\nAna has left and this address is no longer active.\r\n\
Please write to:\r\n\r\n  info@example.org\r\n",
        path = return_path(&project, ana)
    );
    let marked = format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: {path}\r\nSubject: failure notice\r\n\
Message-ID: <prose-2@mx.example.org>\r\nAuto-Submitted: auto-replied\r\n\r\n\
Hi. This is the qmail-send program at mx.example.org.\r\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<{wei}>:\r\n\
550 5.1.1 no mailbox here by that name\r\n",
        path = return_path(&project, wei)
    );
    let records = import_files(&project, &[("away.eml", away), ("marked.eml", marked)]);
    let away = record(&records, "away.eml");
    assert_eq!(
        (&away["kind"], &away["effect"]),
        (&"auto-reply".into(), &"none".into()),
        "{away:#}"
    );
    let marked = record(&records, "marked.eml");
    assert_eq!(
        (&marked["kind"], &marked["address"], &marked["effect"]),
        (&"bounce".into(), &wei.into(), &"suppressed".into()),
        "{marked:#}"
    );
    let list = suppressed(&project);
    assert!(!list.contains(ana), "{list}");
}

#[test]
fn an_unsubscribe_subject_left_percent_encoded_by_the_client_still_carries_its_token() {
    let project = verp_dispatched();
    let wei = "wei.zhang@example.org";
    let subject = mailto_subject(&project, wei).replace(' ', "%20");
    let records = import_files(
        &project,
        &[(
            "encoded.eml",
            format!("From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: {subject}\r\n\r\n"),
        )],
    );
    let r = record(&records, "encoded.eml");
    assert_eq!(
        (&r["address"], &r["mapped_by"], &r["effect"]),
        (&wei.into(), &"mailto".into(), &"suppressed".into()),
        "{subject}: {r:#}"
    );
}
