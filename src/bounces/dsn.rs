//! The machine-readable parts of standard reports: a `message/delivery-status` body
//! (RFC 3464) or a `message/feedback-report` body (RFC 5965) in, its fields out. Both are
//! groups of header-like fields separated by blank lines: the first group describes the
//! message, each later one a recipient.

use super::status::{self, Action};
use super::{Finding, address_in};

/// The field groups of a report body, each as (lowercased name, unfolded value) pairs.
pub fn groups(body: &str) -> Vec<Vec<(String, String)>> {
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
            current.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
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
pub fn delivery_status(body: &str) -> Vec<Finding> {
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
    let permanent = action == Action::Failed && status.as_deref().is_some_and(status::is_permanent);
    Finding {
        address,
        status,
        action,
        permanent,
        diagnostic,
    }
}

/// A recipient's enhanced status from the report's `Status` (`given`) and the remote
/// server's words (`diagnostic`). The diagnostic's code is the remote server's own and often
/// more precise than a bare `X.0.0` Status (5.0.0 beside "550 5.1.1 user unknown").
pub(super) fn recipient_status(given: Option<&str>, diagnostic: Option<&str>) -> Option<String> {
    let given = given.and_then(status::enhanced_in);
    let remote = diagnostic.and_then(status::enhanced_in);
    let words = diagnostic.and_then(status::from_words);
    match (given, remote) {
        (Some(given), Some(remote))
            if given.ends_with(".0.0") && remote.starts_with(&given[..1]) =>
        {
            Some(remote)
        }
        (Some(given), _) if given.ends_with(".0.0") && words.is_some() => words.map(str::to_owned),
        (Some(given), _) => Some(given),
        (None, remote) => remote.or(words.map(str::to_owned)),
    }
}

/// The recipient an ARF report names (`Original-Rcpt-To`, often redacted by the mailbox
/// provider) and its feedback type (`abuse` when absent).
pub fn feedback(body: &str) -> (Option<String>, String) {
    let all: Vec<(String, String)> = groups(body).into_iter().flatten().collect();
    let address = field(&all, "original-rcpt-to").and_then(address_in);
    let kind = field(&all, "feedback-type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    (address, kind)
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
        assert!(found[0].permanent);
        assert!(
            found[0]
                .diagnostic
                .as_deref()
                .unwrap()
                .contains("Recipient address rejected")
        );
        assert_eq!(found[1].action, Action::Delayed);
        assert!(!found[1].permanent);
    }

    #[test]
    fn a_policy_refusal_is_not_permanent() {
        let body = "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.7.1\n";
        let found = delivery_status(body);
        assert_eq!(found[0].status.as_deref(), Some("5.7.1"));
        assert!(!found[0].permanent);
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
