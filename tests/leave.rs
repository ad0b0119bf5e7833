//! Readers who ask to leave or complain by mail, in the formats real mail clients and
//! mailbox providers' feedback loops send: each maps to the one reader its token, its
//! return path or our Message-ID names, and nothing else does.

use serde_json::Value;

use crate::bounces::{
    import_files, mailto_subject, message_to, record, return_path, verp_dispatched,
};
use crate::support::Project;

const ANA: &str = "ana.lima@example.org";
const WEI: &str = "wei.zhang@example.org";

/// Our message to `to` as its mailbox holds it: the receiving server put the envelope's
/// return path in front.
fn delivered(project: &Project, to: &str) -> String {
    let path = return_path(project, to);
    format!("Return-Path: <{path}>\r\n{}", message_to(project, to))
}

/// The headers of `message`.
fn headers(message: &str) -> &str {
    message.split("\r\n\r\n").next().unwrap()
}

/// The token the `mailto:` link of the message to `to` carries.
fn token(project: &Project, to: &str) -> String {
    mailto_subject(project, to)
        .strip_prefix("unsubscribe ")
        .unwrap()
        .to_owned()
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
    let project = verp_dispatched();
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
        // Microsoft's JMRP as ARF with only the three required fields, the rest in the
        // stamped original (as rspamd's parser found it).
        (
            "jmrp-arf.eml",
            arf(
                "staff@hotmail.com",
                "Feedback-Type: abuse\r\nUser-Agent: JMRP/1.0\r\nVersion: 1\r\n",
                "message/rfc822",
                &format!("X-HmXmrOriginalRecipient: <redacted>\r\n{ana}"),
            ),
        ),
        // Microsoft's JMRP without a feedback report: the mailbox stamped, or redacted.
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
    let project = verp_dispatched();
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
    let project = verp_dispatched();
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

#[test]
fn a_complaint_whose_original_lost_its_headers_is_tied_by_original_mail_from() {
    let project = verp_dispatched();
    let verp = |to: &str| return_path(&project, to);
    // Yahoo's CFL has sent reports whose original kept none of our headers: only the
    // report's Original-Mail-From (RFC 5965: the original's envelope sender) is ours.
    let stripped = |path: &str| {
        arf(
            "Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>",
            &format!(
                "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 0.1\r\n\
Original-Mail-From: <{path}>\r\nOriginal-Rcpt-To: redacted@yahoo.com\r\n\
Received-Date: Tue, 08 Dec 2026 02:00:00 +0000\r\nReported-Domain: eto.tech\r\n"
            ),
            "message/rfc822",
            "Subject: Scout\r\n\r\nbody",
        )
    };
    let ana_path = verp(ANA);
    let (local, domain) = ana_path.rsplit_once('@').unwrap();
    let last = local.chars().last().unwrap();
    let forged = format!(
        "{}{}@{domain}",
        &local[..local.len() - 1],
        if last == 'a' { 'q' } else { 'a' }
    );
    let records = import_files(
        &project,
        &[
            ("stripped.eml", stripped(&ana_path)),
            ("forged.eml", stripped(&forged)),
        ],
    );
    let r = record(&records, "stripped.eml");
    assert_eq!(
        (&r["kind"], &r["address"], &r["mapped_by"], &r["effect"]),
        (
            &"complaint".into(),
            &ANA.into(),
            &"verp".into(),
            &"suppressed".into()
        ),
        "{r:#}"
    );
    let f = record(&records, "forged.eml");
    assert_eq!(
        (&f["effect"], &f["unverified"]),
        (&"unverified".into(), &"bad-token".into()),
        "{f:#}"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(!list.contains(WEI), "{list}");
}

#[test]
fn a_mail_to_the_unsubscribe_address_is_never_taken_for_a_daemons_bounce() {
    let project = verp_dispatched();
    let token = token(&project, WEI);
    let newsletter = message_to(&project, ANA).replace("\r\n", "\r\n> ");
    // A reader whose name has a daemon's word in it ("Mailer"), answering about a failed
    // delivery, quoting the newsletter that was sent to ana: the older bounce formats are
    // read from such words, and must not take the reader's request for a report on ana.
    let mail = format!(
        "From: Wei Mailer <wei.zhang@example.org>\r\nTo: unsubscribe@eto.tech\r\n\
Subject: Re: unsubscribe {token}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Please stop: delivery to my old address failed, and ana.lima@example.org forwards me this.\r\n\r\n\
> {newsletter}\r\n"
    );
    let records = import_files(&project, &[("mailer.eml", mail)]);
    let r = record(&records, "mailer.eml");
    assert_eq!(
        (&r["kind"], &r["address"], &r["mapped_by"], &r["effect"]),
        (
            &"unsubscribe".into(),
            &WEI.into(),
            &"mailto".into(),
            &"suppressed".into()
        ),
        "{r:#}"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(!list.contains(ANA), "{list}");
}

/// Unsubscribe mails as mail clients send them when a reader clicks the `mailto:` of our
/// List-Unsubscribe, each carrying `token` where that client keeps it.
fn unsubscribe_mails(project: &Project, token: &str) -> Vec<(&'static str, String)> {
    let wei = "Wei Zhang <wei.zhang@example.org>";
    let newsletter = message_to(project, ANA).replace("\r\n", "\r\n> ");
    vec![
        (
            "gmail.eml",
            format!(
                "From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: unsubscribe {token}\r\n\
Message-ID: <CAB1@mail.gmail.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n\
This message was automatically generated by Gmail.\r\n"
            ),
        ),
        (
            "apple.eml",
            format!(
                "From: {wei}\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))\r\nSubject: unsubscribe {token}\r\n\
Message-Id: <A1B2@example.org>\r\nDate: Tue, 8 Dec 2026 04:00:00 +0100\r\nTo: unsubscribe@eto.tech\r\n\r\n\
This message was automatically generated by Mail to unsubscribe you from this mailing list.\r\n"
            ),
        ),
        (
            "outlook.eml",
            format!(
                "From: {wei}\r\nTo: \"unsubscribe@eto.tech\" <unsubscribe@eto.tech>\r\n\
Subject: unsubscribe {token}\r\nThread-Topic: unsubscribe {token}\r\nThread-Index: AQHbSGQ=\r\n\
Message-ID: <DB9P1@DB9PR01.eurprd01.prod.outlook.com>\r\nContent-Language: en-GB\r\n\
X-MS-Has-Attach:\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"_000_DB9P1_\"\r\n\r\n\
--_000_DB9P1_\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\r\n\
--_000_DB9P1_\r\nContent-Type: text/html; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
<html><head>\r\n<meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Dus-ascii\">\r\n\
</head><body><div></div></body></html>\r\n--_000_DB9P1_--\r\n"
            ),
        ),
        (
            "yahoo.eml",
            format!(
                "From: Wei Zhang <wei.zhang@example.org>\r\nTo: \"unsubscribe@eto.tech\" <unsubscribe@eto.tech>\r\n\
Message-ID: <1.2@mail.yahoo.com>\r\nSubject: unsubscribe {token}\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"----=_Part_1\"\r\nX-Mailer: WebService/1.1 YMailNorrin\r\n\r\n\
------=_Part_1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\r\n\
------=_Part_1\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
<html><body><div class=\"ydp\"></div></body></html>\r\n------=_Part_1--\r\n"
            ),
        ),
        (
            "thunderbird.eml",
            format!(
                "Message-ID: <5e1f@example.org>\r\nDate: Tue, 8 Dec 2026 04:00:00 +0100\r\nMIME-Version: 1.0\r\n\
User-Agent: Mozilla Thunderbird\r\nContent-Language: en-US\r\nTo: unsubscribe@eto.tech\r\nFrom: {wei}\r\n\
Subject: unsubscribe {token}\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\
Content-Transfer-Encoding: 7bit\r\n\r\n\r\n"
            ),
        ),
        (
            "local-part.eml",
            format!(
                "From: {wei}\r\nTo: <unsubscribe+{token}@eto.tech>\r\nSubject: Unsubscribe\r\n\r\n"
            ),
        ),
        (
            "html-only.eml",
            format!(
                "From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: unsubscribe {token}\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>Please stop.</p>\r\n"
            ),
        ),
        (
            "quoted-printable.eml",
            format!(
                "From: =?UTF-8?Q?W=C3=A9i_Zh=C4=81ng?= <wei.zhang@example.org>\r\nTo: unsubscribe@eto.tech\r\n\
Subject: =?UTF-8?Q?D=C3=A9sabonnement_unsubscribe_{token}?=\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Merci de me d=C3=A9sabonner.\r\n"
            ),
        ),
        (
            "base64-subject.eml",
            format!(
                "From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: =?utf-8?B?{}?=\r\n\r\n",
                b64(&format!("退订 unsubscribe {token}"))
            ),
        ),
        (
            // An encoded-word subject split in the middle of the token: the two words join.
            "split-word.eml",
            format!(
                "From: {wei}\r\nTo: unsubscribe@eto.tech\r\n\
Subject: =?UTF-8?Q?D=C3=A9sabonnement_unsubscribe_{}?=\r\n =?UTF-8?Q?{}?=\r\n\r\n",
                &token[..10],
                &token[10..]
            ),
        ),
        (
            // A reply quoting ana's newsletter, ana's own tokens with it.
            "reply.eml",
            format!(
                "From: {wei}\r\nTo: unsubscribe@eto.tech\r\nSubject: Re: unsubscribe {token}\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease.\r\n\r\n> {newsletter}\r\n"
            ),
        ),
    ]
}

#[test]
fn unsubscribe_mails_as_mail_clients_send_them_drop_the_reader_whose_token_they_carry() {
    let project = verp_dispatched();
    let mails = unsubscribe_mails(&project, &token(&project, WEI));
    let records = import_files(&project, &mails);
    for (name, _) in &mails {
        let (kind, address, by, _) = outcome(&records, name);
        assert_eq!(
            (kind.as_str(), address.as_str(), by.as_str()),
            ("unsubscribe", WEI, "mailto"),
            "{name}: {:#}",
            record(&records, name)
        );
    }
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with(WEI) && l.contains("unsubscribed")),
        "{list}"
    );
    assert!(!list.contains(ANA), "nobody else: {list}");
}

#[test]
fn unsubscribe_mails_whose_token_does_not_verify_drop_nobody_and_are_shown() {
    let project = verp_dispatched();
    let genuine = token(&project, WEI);
    // One character of the tag changed: a well-formed token nobody was given.
    let mut forged: Vec<char> = genuine.chars().collect();
    forged[20] = if forged[20] == 'a' { 'b' } else { 'a' };
    let forged: String = forged.into_iter().collect();
    let mails = unsubscribe_mails(&project, &forged);
    let records = import_files(&project, &mails);
    for (name, _) in &mails {
        let r = record(&records, name);
        assert_eq!(
            (&r["kind"], &r["effect"], &r["unverified"]),
            (
                &"unsubscribe".into(),
                &"unverified".into(),
                &"bad-token".into()
            ),
            "{name}: {r:#}"
        );
    }
    assert_eq!(project.ok(&["suppress", "list"]).stdout.trim(), "");
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
