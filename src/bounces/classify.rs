//! One message's bytes in, a [`Report`] out: what it is and what it says, read with a real
//! MIME parser (mail-parser). Reports come first: a DSN or a feedback report is one whatever
//! else it carries (`Auto-Submitted` included); then the older bounce formats, from a
//! mailer daemon; then mails to the unsubscribe address, auto-replies, and the rest, unknown.

use mail_parser::{Message, MessageParser, MimeHeaders as _, PartType};
use sha2::{Digest as _, Sha256};

use super::{Finding, Kind, Report, addresses_in, dsn, legacy};
use crate::encoding::hex;
use crate::status::{Class, Reason, Status};
use crate::verp::{self, Token};

/// What classification needs to know of the project.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// `[unsubscribe] mailto`, the address unsubscribe mails go to.
    pub mailto: Option<String>,
}

/// Headers that name the envelope recipient of the report itself, where our VERP address
/// shows when the report was mailed to it.
const ENVELOPE_HEADERS: [&str; 5] = [
    "Delivered-To",
    "X-Original-To",
    "X-Envelope-To",
    "Envelope-To",
    "To",
];

/// Classifies `raw`; `None` when it is not a message at all (no header can be read).
pub(crate) fn classify(raw: &[u8], context: &Context) -> Option<Report> {
    // Messages saved by hand or by some tools start with a blank line (even one of spaces),
    // which would make the headers the body.
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let line_start = raw[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let message = MessageParser::default().parse(&raw[line_start..])?;
    message.headers_raw().next()?;
    let id = message
        .message_id()
        .map(|m| format!("<{m}>"))
        .unwrap_or_else(|| format!("sha256:{}", hex(&Sha256::digest(raw))));
    let mut report = Report::new(id, Kind::Unknown, Vec::new());
    report.return_paths = header_addresses(&message, &ENVELOPE_HEADERS);
    returned_original(&message, &mut report);
    // A reply to our message (a forwarded complaint, a reader's answer) names it.
    for name in ["In-Reply-To", "References"] {
        if let Some(value) = header(&message, name) {
            report.returned_ids.extend(message_ids_in(value));
        }
    }
    let to_mailto = mailto_recipients(&message, context);
    // A mail to the unsubscribe address with the token our link put in its subject is a
    // reader's request, whatever daemon's words its sender's name or the newsletter it
    // quotes have: no daemon writes that subject. Only a report's machine-readable part comes
    // first. (Not the `+TOKEN` on the address: `[unsubscribe] mailto` may share the bounce
    // address's mailbox, whose VERP addresses daemons do answer.)
    let requested =
        !to_mailto.is_empty() && !verp::tokens_in(message.subject().unwrap_or_default()).is_empty();
    let report_found = standard(&message).or_else(|| {
        if requested {
            None
        } else {
            older_bounce(&message)
        }
    });
    match report_found {
        Some((kind, findings)) => (report.kind, report.findings) = (kind, findings),
        None => {
            (report.kind, report.findings, report.mailto_tokens) = other(&message, &to_mailto);
        }
    }
    Some(report)
}

/// The addresses in the top-level headers called `names`, in that order.
fn header_addresses(message: &Message<'_>, names: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for name in names {
        for (header, value) in message.headers_raw() {
            if header.eq_ignore_ascii_case(name) {
                found.extend(addresses_in(value));
            }
        }
    }
    found
}

fn header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .headers_raw()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The `<…@…>` Message-IDs in a header value such as `References`.
fn message_ids_in(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>'))
        .map(|(id, _)| id.trim())
        .filter(|id| id.contains('@') && !id.contains(char::is_whitespace))
        .map(|id| format!("<{id}>"))
        .collect()
}

/// The `https:` links of a `List-Unsubscribe` value (`<https://…>, <mailto:…>`).
fn https_links(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(['<', '>', ',', ' ', '\t', '\r', '\n'])
        .filter(|part| part.starts_with("https://"))
        .map(str::to_owned)
}

/// The Return-Path, Message-ID and unsubscribe links of the returned original: an attached
/// message, returned headers, an ARF report's `Original-Mail-From`, or headers quoted in the
/// text of an older format.
fn returned_original(message: &Message<'_>, report: &mut Report) {
    let mut note = |original: &Message<'_>| {
        report
            .return_paths
            .extend(header_addresses(original, &["Return-Path"]));
        report
            .returned_ids
            .extend(original.message_id().map(|m| format!("<{m}>")));
        if let Some(links) = header(original, "List-Unsubscribe") {
            report.unsubscribe_links.extend(https_links(links));
        }
    };
    let mut mail_from = Vec::new();
    for part in message.parts.iter().skip(1) {
        if let PartType::Message(original) = &part.body {
            note(original);
        } else if is_type(part, "text", "rfc822-headers")
            && let Some(headers) = MessageParser::default().parse_headers(part.contents())
        {
            note(&headers);
        } else if is_type(part, "message", "feedback-report") {
            let fields = String::from_utf8_lossy(part.contents());
            mail_from.extend(dsn::original_mail_from(&fields));
        }
    }
    report.return_paths.extend(mail_from);
    if report.returned_ids.is_empty() {
        let text = body_text(message);
        report.returned_ids = legacy::quoted_message_ids(&text);
        for links in legacy::quoted_values(&text, "list-unsubscribe") {
            report.unsubscribe_links.extend(https_links(&links));
        }
    }
}

fn is_type(part: &mail_parser::MessagePart<'_>, ctype: &str, subtype: &str) -> bool {
    part.content_type().is_some_and(|t| {
        t.ctype().eq_ignore_ascii_case(ctype)
            && t.subtype().is_some_and(|s| s.eq_ignore_ascii_case(subtype))
    })
}

/// A DSN or a feedback report, by the machine-readable part it carries.
fn standard(message: &Message<'_>) -> Option<(Kind, Vec<Finding>)> {
    for part in &message.parts {
        let text = || String::from_utf8_lossy(part.contents()).into_owned();
        if is_type(part, "message", "delivery-status")
            || is_type(part, "message", "global-delivery-status")
        {
            let findings = dsn::delivery_status(&text());
            if !findings.is_empty() {
                let readable = body_text(message);
                let findings = findings
                    .into_iter()
                    .map(|f| with_readable_words(&readable, f))
                    .collect();
                return Some((Kind::Bounce, findings));
            }
        }
        if is_type(part, "message", "feedback-report") {
            let (address, feedback_type) = dsn::feedback(&text());
            // Providers often redact Original-Rcpt-To; the VERP token or the returned
            // Message-ID then names the reader, and `address` stays empty.
            let finding = Finding::named(address, feedback_reason(&feedback_type));
            return Some((Kind::Complaint, vec![finding]));
        }
    }
    jmrp(message)
}

/// Microsoft's complaint (JMRP, Outlook.com and Hotmail), which is not ARF: no feedback
/// report, only the original the reader marked as junk, attached as `message/rfc822` by
/// staff@hotmail.com (some come as a `multipart/report` declared a feedback report and still
/// without one). Outlook.com's delivery stamped the original with `X-HmXmrOriginalRecipient`,
/// the reader's mailbox, often redacted. As for ARF, the return path or the Message-ID of
/// that original names the reader.
fn jmrp(message: &Message<'_>) -> Option<(Kind, Vec<Finding>)> {
    let original = message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(original) => Some(original),
        _ => None,
    })?;
    let from_microsoft = header_addresses(message, &["From"])
        .iter()
        .any(|from| from.eq_ignore_ascii_case("staff@hotmail.com"));
    let declared = message.content_type().is_some_and(|t| {
        t.subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && t.attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("feedback-report"))
    });
    if !from_microsoft && !declared {
        return None;
    }
    let address = header(original, "X-HmXmrOriginalRecipient")
        .and_then(|stamp| addresses_in(stamp).into_iter().next());
    let finding = Finding::named(address, Reason::Complaint);
    Some((Kind::Complaint, vec![finding]))
}

/// `finding` of a DSN, classified again by the words its readable part has about the
/// address: when its `Diagnostic-Code` says nothing ("Reason: recipient reached disk
/// quota", "Domain does not exist"), and when it reads hard, since the readable part may
/// say what the fields leave out: the command the server refused (Postfix's "(in reply to
/// end of DATA command)", a Sendmail transcript), the remote server's own code. A doubt
/// found there wins: a reader is never dropped on words the report itself contradicts.
fn with_readable_words(readable: &str, finding: Finding) -> Finding {
    let unknown = finding.reason == Reason::Unknown;
    let Some(address) = finding
        .address
        .as_deref()
        .filter(|_| unknown || finding.permanent())
    else {
        return finding;
    };
    let Some(words) = legacy::words_about(readable, address) else {
        return finding;
    };
    let status = finding.status.as_deref().and_then(Status::parse);
    let found = if unknown {
        dsn::classified(status, Some(&words), Reason::Unknown)
    } else {
        let both = format!(
            "{} {words}",
            finding.diagnostic.as_deref().unwrap_or_default()
        );
        dsn::classified(status, Some(&both), Reason::Unknown)
    };
    let replaces = if unknown {
        found.reason != Reason::Unknown
    } else {
        found.class() != Class::Hard
    };
    if !replaces {
        return finding;
    }
    let Finding {
        address,
        status,
        action,
        diagnostic,
        ..
    } = finding;
    Finding::failure(address, status, action, found, diagnostic)
}

/// What an ARF `Feedback-Type` (RFC 5965, lowercased; `abuse` when absent) says of the
/// reader: only `abuse` and `fraud` are the reader's complaint, and `opt-out` (ARF's drafts,
/// which feedback loops still send) the reader's request to leave. An authentication failure
/// report (RFC 6591), a virus report, a "not spam" vote or another kind speaks of the
/// message or its sender, never against the reader.
pub(crate) fn feedback_reason(feedback_type: &str) -> Reason {
    match feedback_type {
        "abuse" | "fraud" => Reason::Complaint,
        "opt-out" => Reason::Unsubscribe,
        "auth-failure" | "dkim" => Reason::Authentication,
        "not-spam" => Reason::NotSpam,
        "virus" => Reason::Virus,
        _ => Reason::Feedback,
    }
}

/// A bounce in one of the older, non-standard formats, from a mailer daemon.
fn older_bounce(message: &Message<'_>) -> Option<(Kind, Vec<Finding>)> {
    let from = header(message, "From")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let subject = message.subject().unwrap_or_default().to_ascii_lowercase();
    let reports = message
        .parts
        .iter()
        .any(|p| is_type(p, "message", "delivery-status"));
    // A reader's automatic answer (RFC 3834) echoes our subject, whose words may be a
    // daemon's ("Automatic reply: Returned chips and failed deals"): the subject alone
    // yields to it. A daemon's report is one by its sender or its DSN part, marked
    // `Auto-Submitted` or not.
    let by_subject = !auto_replied(message) && legacy::bounce_subject(&subject);
    if !reports && !legacy::from_daemon(&from) && !by_subject {
        return None;
    }
    let own: Vec<String> = header_addresses(message, &["From", "To", "Reply-To", "Sender"]);
    let findings = legacy::scan(&body_text(message), &subject, &own);
    (!findings.is_empty()).then_some((Kind::Bounce, findings))
}

/// The text a person would read: every text part outside attached messages, and not the
/// returned original's headers (`text/rfc822-headers`).
fn body_text(message: &Message<'_>) -> String {
    let mut text = String::new();
    for part in &message.parts {
        if is_type(part, "text", "rfc822-headers") {
            continue;
        }
        match &part.body {
            PartType::Text(t) => text.push_str(t),
            PartType::Html(h) => text.push_str(&strip_tags(h)),
            _ => continue,
        }
        text.push('\n');
    }
    text
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
}

/// Not a report: a mail to the unsubscribe address (`to_mailto` holds the message's
/// addresses that are it), an auto-reply, or unknown. Only a mail to the `mailto:` address
/// is an unsubscribe request; its tokens (`+TOKEN` on the address,
/// or in the subject our link set) say whose. It is recognised before the auto-reply
/// headers, which mail clients and providers add to requests they send for the reader
/// (`Auto-Submitted: auto-generated`, `Precedence: auto_reply`): a reader who asks to leave
/// is always heard. An "unsubscribe" sent anywhere else is an ordinary unknown message: its
/// From can be forged.
fn other(message: &Message<'_>, to_mailto: &[String]) -> (Kind, Vec<Finding>, Vec<Token>) {
    let subject = message.subject().unwrap_or_default();
    if !to_mailto.is_empty() {
        let (findings, tokens) = unsubscribe_request(message, to_mailto, subject);
        return (Kind::Unsubscribe, findings, tokens);
    }
    if is_auto_reply(message, &subject.trim().to_ascii_lowercase()) {
        return (Kind::AutoReply, Vec::new(), Vec::new());
    }
    (Kind::Unknown, Vec::new(), Vec::new())
}

/// The addresses among the message's envelope headers that are the `mailto:` unsubscribe
/// address (with or without a `+TOKEN`); none when the project has no such address.
fn mailto_recipients(message: &Message<'_>, context: &Context) -> Vec<String> {
    let Some(mailto) = context.mailto.as_deref() else {
        return Vec::new();
    };
    header_addresses(message, &ENVELOPE_HEADERS)
        .into_iter()
        .filter(|t| verp::is_ours(t, mailto))
        .collect()
}

/// The finding and the tokens of a mail sent `to` the `mailto:` unsubscribe address.
fn unsubscribe_request(
    message: &Message<'_>,
    to: &[String],
    subject: &str,
) -> (Vec<Finding>, Vec<Token>) {
    let tokens = to
        .iter()
        .filter_map(|t| verp::decode(t))
        .chain(verp::tokens_in(subject))
        .collect();
    let from = header_addresses(message, &["From"]).into_iter().next();
    (vec![Finding::named(from, Reason::Unsubscribe)], tokens)
}

/// An automatic answer to a message: RFC 3834's `Auto-Submitted: auto-replied`, the older
/// vacation headers, or an out-of-office subject. `auto-generated` is automated but
/// answers nothing (a notice, a request a provider sends for its user), and
/// `X-Auto-Response-Suppress` (MS-OXCMAIL) asks others not to auto-reply to the message
/// that carries it: neither makes a message an auto-reply.
fn is_auto_reply(message: &Message<'_>, subject: &str) -> bool {
    let auto = auto_replied(message);
    // Not `bulk` or `junk`: list software and daemons set those on everything.
    let precedence =
        header(message, "Precedence").is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));
    let flagged = ["X-Autoreply", "X-Autorespond"]
        .iter()
        .any(|h| header(message, h).is_some());
    let words = [
        "out of office",
        "automatic reply",
        "auto-reply",
        "autoreply",
        "vacation",
        "abwesenheit",
    ]
    .iter()
    .any(|w| subject.contains(w));
    auto || precedence || flagged || words
}

/// RFC 3834's mark of an automatic answer: `Auto-Submitted: auto-replied`.
fn auto_replied(message: &Message<'_>) -> bool {
    header(message, "Auto-Submitted").is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|k| k.trim().eq_ignore_ascii_case("auto-replied"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "From: MAILER-DAEMON@mx.example\nTo: news@example.org\n\
Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\nNo such user.\n\
--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n\
Final-Recipient: rfc822; ana@example.org\nAction: failed\nStatus: 5.1.1\n--b--\n";

    #[test]
    fn a_message_saved_with_leading_blank_lines_is_still_read() {
        let saved = format!("{}\n\n{DSN}", " ".repeat(40));
        let report = classify(saved.as_bytes(), &Context::default()).expect("a message");
        assert_eq!(report.kind, Kind::Bounce);
        assert_eq!(report.findings[0].class, Class::Hard);
    }

    fn mailto() -> Context {
        Context {
            mailto: Some("unsubscribe@eto.tech".to_owned()),
        }
    }

    #[test]
    fn an_unsubscribe_mail_is_heard_whatever_automation_headers_it_carries() {
        let token = "aaaaac3huvn25alyewxcnud35e";
        for header in [
            "",
            "Auto-Submitted: auto-generated\n",
            "Auto-Submitted: auto-replied\n",
            "X-Auto-Response-Suppress: All\n",
            "Precedence: auto_reply\n",
        ] {
            let raw = format!(
                "From: Bo <bo@example.net>\nTo: unsubscribe@eto.tech\n\
Subject: unsubscribe {token}\n{header}\nPlease take me off.\n"
            );
            let report = classify(raw.as_bytes(), &mailto()).expect("a message");
            assert_eq!(report.kind, Kind::Unsubscribe, "{header}");
            assert_eq!(report.mailto_tokens, verp::tokens_in(token), "{header}");
        }
    }

    #[test]
    fn only_an_automatic_reply_is_an_auto_reply() {
        for (header, kind) in [
            ("Auto-Submitted: auto-replied", Kind::AutoReply),
            (
                "Auto-Submitted: Auto-Replied; owner-email=a@b.example",
                Kind::AutoReply,
            ),
            ("X-Autoreply: yes", Kind::AutoReply),
            ("Precedence: auto_reply", Kind::AutoReply),
            // A request not to auto-reply, and an automated message that replies to nothing.
            ("X-Auto-Response-Suppress: All", Kind::Unknown),
            ("Auto-Submitted: auto-generated", Kind::Unknown),
            ("Auto-Submitted: no", Kind::Unknown),
        ] {
            let raw = format!(
                "From: ana@example.org\nTo: scout@eto.tech\nSubject: Re: Scout\n{header}\n\nThanks\n"
            );
            let report = classify(raw.as_bytes(), &mailto()).expect("a message");
            assert_eq!(report.kind, kind, "{header}");
        }
    }

    #[test]
    fn only_abuse_and_fraud_reports_are_the_readers_complaints() {
        for (feedback, class) in [
            ("abuse", Class::Complaint),
            ("fraud", Class::Complaint),
            ("opt-out", Class::Unsubscribe),
            ("auth-failure", Class::Sender),
            ("dkim", Class::Sender),
            ("not-spam", Class::Sender),
            ("virus", Class::Sender),
            ("other", Class::Sender),
        ] {
            assert_eq!(feedback_reason(feedback).class(true), class, "{feedback}");
        }
        let arf = DSN
            .replace("report-type=delivery-status", "report-type=feedback-report")
            .replace("message/delivery-status", "message/feedback-report")
            .replace(
                "Reporting-MTA: dns; mx.example\n\n",
                "Feedback-Type: auth-failure\n",
            );
        let report = classify(arf.as_bytes(), &Context::default()).expect("a message");
        assert_eq!(report.kind, Kind::Complaint);
        assert_eq!(report.findings[0].reason, Reason::Authentication);
        assert_eq!(report.findings[0].class, Class::Sender);
    }
}
