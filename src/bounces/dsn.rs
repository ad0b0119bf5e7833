//! The machine-readable parts of standard reports: a `message/delivery-status` body
//! (RFC 3464) or a `message/feedback-report` body (RFC 5965) in, its fields out. Both are
//! groups of header-like fields separated by blank lines: the first group describes the
//! message, each later one a recipient.

use super::status::Action;
use super::{Finding, address_in};
use crate::status::{Reason, Status, classify, reply_code_in};

/// The field groups of a report body, each as (lowercased name, unfolded value) pairs. A
/// field that its group already has starts the next group: no field repeats within one
/// (RFC 3464 section 2.1), and AOL writes its recipients' groups without the blank line.
pub(super) fn groups(body: &str) -> Vec<Vec<(String, String)>> {
    let mut groups = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if current.iter().any(|(n, _)| *n == name) {
                groups.push(std::mem::take(&mut current));
            }
            current.push((name, value.trim().to_owned()));
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

fn field<'a>(group: &'a [(String, String)], name: &str) -> Option<&'a str> {
    group
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// One finding per recipient group of a delivery-status body.
pub(super) fn delivery_status(body: &str) -> Vec<Finding> {
    groups(body)
        .iter()
        .filter(|g| field(g, "action").is_some() || field(g, "final-recipient").is_some())
        .map(|group| recipient(group))
        .collect()
}

fn recipient(group: &[(String, String)]) -> Finding {
    // `rfc822; user@example.org`: the address type comes first. Original-Recipient, when
    // given, is the address we sent to (Final-Recipient may be where an alias led).
    let address = ["original-recipient", "final-recipient"]
        .iter()
        .find_map(|name| field(group, name).and_then(address_in));
    let diagnostic = field(group, "diagnostic-code").map(str::to_owned);
    let action = field(group, "action").map_or(Action::Failed, Action::parse);
    let status = recipient_status(field(group, "status"), diagnostic.as_deref());
    let classified = classified(status, diagnostic.as_deref(), Reason::Unknown);
    let status = status.map(|s| s.to_string());
    Finding::failure(address, status, action, classified, diagnostic)
}

/// A recipient's enhanced status from the report's `Status` (`given`) and the remote
/// server's words (`diagnostic`). The diagnostic's code is the remote server's own and often
/// more precise than a bare `X.0.0` Status (5.0.0 beside "550 5.1.1 user unknown").
pub(super) fn recipient_status(given: Option<&str>, diagnostic: Option<&str>) -> Option<Status> {
    let given = given.and_then(Status::find_in);
    let remote = diagnostic.and_then(Status::find_in);
    match (given, remote) {
        (Some(given), Some(remote)) if given.is_generic() && remote.class == given.class => {
            Some(remote)
        }
        (given, remote) => given.or(remote),
    }
}

/// What a report's `status` and the remote server's `diagnostic` say, or `otherwise` when
/// neither says anything (a relay's own classification, such as SES's bounce sub-type).
pub(super) fn classified(
    status: Option<Status>,
    diagnostic: Option<&str>,
    otherwise: Reason,
) -> crate::status::Classified {
    let text = diagnostic.unwrap_or_default();
    let mut found = classify(reply_code_in(text), status, text);
    if found.reason == Reason::Unknown {
        found.reason = otherwise;
    }
    found
}

/// The recipient an ARF report names (`Original-Rcpt-To`, often redacted by the mailbox
/// provider, or the `Removal-Recipient` of an `opt-out` report) and its feedback type
/// (`abuse` when absent).
pub(super) fn feedback(body: &str) -> (Option<String>, String) {
    let all = report_fields(body);
    let address = field(&all, "original-rcpt-to")
        .or_else(|| field(&all, "removal-recipient"))
        .and_then(address_in);
    let kind = field(&all, "feedback-type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    (address, kind)
}

/// The `Original-Mail-From` of an ARF report (RFC 5965): the original's envelope sender,
/// our return path, which the report gives even when its copy of the original lost the
/// headers that carried it.
pub(super) fn original_mail_from(body: &str) -> Option<String> {
    field(&report_fields(body), "original-mail-from").and_then(address_in)
}

/// Every field of an ARF report, which is one group (some put blank lines in it).
fn report_fields(body: &str) -> Vec<(String, String)> {
    groups(body).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; ana@example.org\n\
Original-Recipient: rfc822;ana@example.org\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1\n <ana@example.org>: \
Recipient address rejected\n\nFinal-Recipient: rfc822; bo@example.org\nAction: delayed\nStatus: 4.4.1\n";

    #[test]
    fn each_recipient_group_is_a_finding() {
        let found = delivery_status(BODY);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].address.as_deref(), Some("ana@example.org"));
        assert_eq!(
            found[0].status.as_deref(),
            Some("5.1.1"),
            "the diagnostic's code"
        );
        assert!(found[0].permanent());
        assert_eq!(found[0].reason, Reason::UserUnknown);
        assert!(
            found[0]
                .diagnostic
                .as_deref()
                .unwrap()
                .contains("Recipient address rejected")
        );
        assert_eq!(found[1].action, Action::Delayed);
        assert!(!found[1].permanent());
    }

    #[test]
    fn a_policy_refusal_is_not_permanent() {
        let body = "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.7.1\n";
        let found = delivery_status(body);
        assert_eq!(found[0].status.as_deref(), Some("5.7.1"));
        assert!(!found[0].permanent());
        assert_eq!(found[0].class, crate::status::Class::Sender);
    }

    #[test]
    fn words_decide_what_a_generic_status_means() {
        let body = "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.0.0\n\
Diagnostic-Code: X-Notes; User a (a@b.example) not listed in Domino Directory\n";
        let found = delivery_status(body);
        assert_eq!(found[0].reason, Reason::UserUnknown);
        assert!(found[0].permanent());
        let sender = "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n\
Diagnostic-Code: smtp; 550 5.1.1 <news@x.example>: Sender address rejected\n";
        let found = delivery_status(sender);
        assert_eq!(found[0].reason, Reason::SenderRefused);
        assert!(!found[0].permanent(), "our sender, not the reader");
    }

    #[test]
    fn recipients_without_a_blank_line_between_them_are_apart() {
        // AOL's omr-m09.mx.aol.com, as sisimai's set-of-emails rhost-aol-03 holds it.
        let body = "Reporting-MTA: dns; omr-m09.mx.aol.com\nArrival-Date: Fri, 21 Nov 2014\n\
Final-Recipient: rfc822; sabineko@example.jp\nAction: failed\nStatus: 5.2.2\n\
Diagnostic-Code: smtp; 550 5.2.2 <sabineko@example.jp>... Mailbox Full\n\
Final-Recipient: rfc822; mikeneko@example.jp\nOriginal-Recipient: rfc822;mikeneko@example.jp\n\
Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <mikeneko@example.jp>... User Unknown\n";
        let found = delivery_status(body);
        let read: Vec<(Option<&str>, Reason)> = found
            .iter()
            .map(|f| (f.address.as_deref(), f.reason))
            .collect();
        assert_eq!(
            read,
            [
                (Some("sabineko@example.jp"), Reason::MailboxFull),
                (Some("mikeneko@example.jp"), Reason::UserUnknown)
            ]
        );
    }

    #[test]
    fn feedback_reports_give_the_original_recipient() {
        let body = "Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n\
Original-Rcpt-To: <ana@example.org>\n";
        assert_eq!(
            feedback(body),
            (Some("ana@example.org".to_owned()), "abuse".to_owned())
        );
    }
}
