//! Readers who ask to leave or complain by mail, in the formats real mail clients and
//! mailbox providers' feedback loops send: each maps to the one reader its token, its
//! return path or our Message-ID names, and nothing else does.

use serde_json::Value;

use crate::bounces::{envelopes, import, message_to, record, verp_project};
use crate::support::Project;
use crate::support::dispatching::dispatch;

const ANA: &str = "ana.lima@example.org";
const WEI: &str = "wei.zhang@example.org";

/// The VERP project dispatched to ana and wei.
fn dispatched() -> Project {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project
}

/// Our message to `to` as its mailbox holds it: the receiving server put the envelope's
/// return path in front.
fn delivered(project: &Project, to: &str) -> String {
    let path = envelopes(project)
        .into_iter()
        .find(|e| e.1 == to)
        .unwrap_or_else(|| panic!("no message to {to}"))
        .0;
    format!("Return-Path: <{path}>\r\n{}", message_to(project, to))
}

/// The headers of `message`.
fn headers(message: &str) -> &str {
    message.split("\r\n\r\n").next().unwrap()
}

fn import_files(project: &Project, files: &[(&str, String)]) -> Vec<Value> {
    for (name, contents) in files {
        project.write(&format!("inbox/{name}"), contents);
    }
    let (status, records) = import(project, &["inbox"]);
    assert_eq!(status, 0, "{records:#?}");
    records
}

fn outcome(records: &[Value], name: &str) -> (String, String, String, String) {
    let r = record(records, name);
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    (
        s(&r["kind"]),
        s(&r["address"]),
        s(&r["mapped_by"]),
        s(&r["effect"]),
    )
}

/// An ARF report (RFC 5965) whose machine part is `fields` and whose third part is
/// `original` under `content_type`.
fn arf(from: &str, fields: &str, content_type: &str, original: &str) -> String {
    format!(
        "From: {from}\r\nTo: fbl@eto.tech\r\nSubject: Abuse report\r\n\
Date: Tue, 08 Dec 2026 03:00:00 +0000\r\nMessage-ID: <fbl-{n}@{host}>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary=\"----=_Part_7\"\r\n\r\n\
------=_Part_7\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
This is an email abuse report for an email message received from IP 192.0.2.25.\r\n\r\n\
------=_Part_7\r\nContent-Type: message/feedback-report\r\n\r\n{fields}\r\n\
------=_Part_7\r\nContent-Type: {content_type}\r\nContent-Disposition: inline\r\n\r\n{original}\r\n\
------=_Part_7--\r\n",
        n = original.len() + fields.len(),
        host = from.rsplit_once('@').unwrap().1.trim_end_matches('>'),
    )
}

/// Microsoft's JMRP report: not ARF, our message attached as `message/rfc822` by
/// staff@hotmail.com, stamped by Outlook.com's delivery with the reader's mailbox.
fn jmrp(stamp: &str, original: &str) -> String {
    format!(
        "From: staff@hotmail.com\r\nTo: fbl@eto.tech\r\nSubject: complaint about message from 192.0.2.25\r\n\
Date: Tue, 08 Dec 2026 03:00:00 -0800\r\nMessage-ID: <jmrp-{n}@hotmail.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"--JMRP\"\r\n\r\n\
----JMRP\r\nContent-Type: text/plain\r\n\r\n\
This is an email abuse report for an email message received from IP 192.0.2.25.\r\n\
----JMRP\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n\
X-HmXmrOriginalRecipient: {stamp}\r\nX-MS-Exchange-EOPDirect: true\r\n{original}\r\n----JMRP--\r\n",
        n = stamp.len() + original.len()
    )
}

#[test]
fn feedback_loop_complaints_name_the_reader_by_the_original_they_return() {
    let project = dispatched();
    let ana = delivered(&project, ANA);
    let complaints = [
        // Yahoo's CFL: every optional field, the whole original.
        (
            "yahoo.eml",
            arf(
                "Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
                "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 0.1\r\n\
Original-Mail-From: <bounces@eto.tech>\r\nOriginal-Rcpt-To: ana.lima@example.org\r\n\
Received-Date: Tue, 08 Dec 2026 02:00:00 +0000\r\nReported-Domain: eto.tech\r\n\
Authentication-Results: mta1000.mail.bf1.yahoo.com; dkim=pass header.d=eto.tech\r\n",
                "message/rfc822",
                &ana,
            ),
        ),
        // AOL: no Original-Rcpt-To, the recipient redacted in the report and the original.
        (
            "aol.eml",
            arf(
                "scomp@aol.net",
                "Feedback-Type: abuse\r\nUser-Agent: AOL SComp\r\nVersion: 0.1\r\n\
Received-Date: Tue, 08 Dec 2026 02:00:00 +0000\r\nSource-IP: 192.0.2.25\r\n\
Reported-Domain: eto.tech\r\nRedacted-Address: redacted\r\nRedacted-Address: redacted@\r\n",
                "message/rfc822",
                &ana.replacen("To: ", "To: redacted@aol.com\r\nX-Was-To: ", 1),
            ),
        ),
        // Comcast and Fastmail (through Validity): the recipient redacted to a mask.
        (
            "comcast.eml",
            arf(
                "feedbackloop@comcastfbl.senderscore.net",
                "Feedback-Type: abuse\r\nUser-Agent: ReturnPathFBL/2.0\r\nVersion: 1\r\n\
Original-Mail-From: <bounces@eto.tech>\r\nOriginal-Rcpt-To: xxxxxxxxxxxxxxxx@comcast.net\r\n\
Arrival-Date: Tue, 08 Dec 2026 02:00:00 +0000\r\nSource-IP: 192.0.2.25\r\n",
                "message/rfc822",
                &ana,
            ),
        ),
        (
            "fastmail.eml",
            arf(
                "fbl@fastmail.com",
                "Feedback-Type: abuse\r\nUser-Agent: Fastmail FBL\r\nVersion: 1\r\n",
                "text/rfc822-headers",
                headers(&ana),
            ),
        ),
        // Mail.ru and Yandex: the minimum RFC 5965 asks, the headers only.
        (
            "mailru.eml",
            arf(
                "fbl@corp.mail.ru",
                "Feedback-Type: abuse\r\nUser-Agent: Mail.Ru FBL/1.0\r\nVersion: 1\r\n\
Arrival-Date: Tue, 08 Dec 2026 05:00:00 +0300\r\nSource-IP: 192.0.2.25\r\n",
                "text/rfc822-headers",
                headers(&ana),
            ),
        ),
        (
            "yandex.eml",
            arf(
                "fbl@yandex.ru",
                "Feedback-Type: abuse\r\nUser-Agent: Yandex FBL\r\nVersion: 1\r\n",
                "message/rfc822",
                headers(&ana),
            ),
        ),
        // Microsoft: the mailbox stamped, or redacted.
        ("jmrp.eml", jmrp("<ana.lima@example.org>", &ana)),
        ("jmrp-redacted.eml", jmrp("<redacted>", &ana)),
        // Some JMRP reports are declared feedback reports and carry none.
        (
            "jmrp-report.eml",
            arf(
                "Outlook.com <abuse@outlook.com>",
                "",
                "message/rfc822",
                &format!("X-HmXmrOriginalRecipient: <redacted>\r\n{ana}"),
            )
            .replacen(
                "Content-Type: message/feedback-report\r\n\r\n\r\n------=_Part_7\r\n",
                "",
                1,
            ),
        ),
    ];
    let records = import_files(&project, &complaints);
    for (name, _) in &complaints {
        let (kind, address, by, _) = outcome(&records, name);
        assert_eq!(
            (kind.as_str(), address.as_str()),
            ("complaint", ANA),
            "{name}: {:#}",
            record(&records, name)
        );
        assert!(by == "verp" || by == "message-id", "{name}: {by}");
    }
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with(ANA) && l.contains("complained")),
        "{list}"
    );
    assert!(!list.contains(WEI), "nobody else: {list}");
}

#[test]
fn a_jmrp_report_stamped_for_another_reader_or_a_forwarded_original_drops_nobody() {
    let project = dispatched();
    let ana = delivered(&project, ANA);
    let records = import_files(
        &project,
        &[
            // Our message to ana, stamped for wei: a forgery made with ana's message.
            ("other.eml", jmrp("<wei.zhang@example.org>", &ana)),
            // An Outlook.com reader forwarding the newsletter as an attachment: no complaint.
            (
                "forward.eml",
                jmrp("<ana.lima@example.org>", &ana)
                    .replace("From: staff@hotmail.com", "From: ana.lima@example.org")
                    .replace("Subject: complaint about", "Subject: Fw: look at"),
            ),
        ],
    );
    let other = record(&records, "other.eml");
    assert_eq!(
        (&other["kind"], &other["effect"], &other["unverified"]),
        (
            &"complaint".into(),
            &"unverified".into(),
            &"other-reader".into()
        ),
        "{other:#}"
    );
    let forward = record(&records, "forward.eml");
    assert_ne!(forward["kind"], "complaint", "{forward:#}");
    assert_eq!(project.ok(&["suppress", "list"]).stdout.trim(), "");
}

#[test]
fn an_opt_out_feedback_report_is_the_readers_request_to_leave() {
    let project = dispatched();
    let ana = delivered(&project, ANA);
    // ARF's `opt-out` type (its drafts, which feedback loops still send): the reader asked
    // their provider to take them off the list, named in `Removal-Recipient`.
    let report = arf(
        "Feedback Loop <fbl@isp.example.net>",
        "Feedback-Type: opt-out\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 0.1\r\n\
Removal-Recipient: ana.lima@example.org\r\nReported-Domain: eto.tech\r\n",
        "message/rfc822",
        &ana,
    );
    let records = import_files(&project, &[("opt-out.eml", report)]);
    let r = record(&records, "opt-out.eml");
    assert_eq!(
        (&r["address"], &r["class"], &r["effect"]),
        (&ANA.into(), &"unsubscribe".into(), &"suppressed".into()),
        "{r:#}"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with(ANA) && l.contains("unsubscribed")),
        "{list}"
    );
}
