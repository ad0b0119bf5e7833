//! The bounce formats that predate or ignore RFC 3464 (qmail, Exim, old Postfix and Sendmail,
//! Microsoft, Yahoo, and many a home-grown daemon): a report's readable text in, the failed
//! addresses it names out. They have no fields, only prose, so the reading is careful:
//! addresses count only after the first words of failure, never from the returned original
//! (cut at its marker), never from quoted header lines, never the daemon's own.

use super::status::Action;
use super::{Finding, addresses_in, dsn};
use crate::status::{Reason, Status};

/// Where the returned original (or its header block) starts, in a bounce's text.
const ORIGINAL_MARKERS: [&str; 14] = [
    "copy of the message",
    "original message follows",
    "original message ---",
    "original message -----",
    "-----original message-----",
    "returned message",
    "undelivered message",
    "unsent message below",
    "headers of the original",
    "header of the original",
    "text of the original",
    "old message:",
    "message headers follow",
    // Microsoft 365 and Exchange, "Original message headers:".
    "original message headers",
];

/// Whether the (lowercased) `line` opens the returned original. Words that point at the
/// original as an attachment are not where it starts: Postfix's notice asks to "delete
/// your own text from the attached returned message" above the failures it lists.
fn opens_original(line: &str) -> bool {
    ORIGINAL_MARKERS.iter().any(|m| {
        line.match_indices(m)
            .any(|(at, _)| !line[..at].trim_end().ends_with("attached"))
    })
}

/// Words that start the part of a bounce that names its failures.
const FAILURE_WORDS: [&str; 34] = [
    "could not be delivered",
    "couldn't be delivered",
    "undeliverable",
    "unable to deliver",
    "not able to deliver",
    "wasn't able to deliver",
    "could not deliver",
    "delivery failed",
    "delivery has failed",
    "delivery to the following",
    "following address",
    "following recipient",
    "permanent error",
    "permanent fatal",
    "not been delivered",
    "not yet been delivered",
    "not delivered",
    "did not reach",
    "failed",
    "user unknown",
    "unknown user",
    "no such user",
    "error",
    "invalid",
    "intended recipient",
    "is full",
    "rejected",
    "unknown",
    "addressed",
    "generated from",
    "error-for",
    "this address",
    "postponed",
    "recipient",
];

/// Words that make a bounce a warning: the message is still being tried.
const DELAY_WORDS: [&str; 9] = [
    "not yet been delivered",
    "will continue",
    "will be retried",
    "will retry",
    "still trying",
    "has been delayed",
    "delivery is delayed",
    "this is only a warning",
    "warning: message",
];

/// Whether a message's sender is a mailer daemon.
pub(super) fn from_daemon(from: &str) -> bool {
    const SENDERS: [&str; 7] = [
        "mailer-daemon",
        "postmaster",
        "mail delivery",
        "mail administrator",
        "mail system",
        "mailer",
        "daemon",
    ];
    SENDERS.iter().any(|s| from.contains(s))
}

/// Whether a message's subject is that of a mailer daemon's report.
pub(super) fn bounce_subject(subject: &str) -> bool {
    const SUBJECTS: [&str; 12] = [
        "undeliver",
        "delivery",
        "failure",
        "failed",
        "returned mail",
        "returned",
        "bounce",
        "not delivered",
        "nondeliverable",
        "rejected",
        "warning",
        "could not",
    ];
    SUBJECTS.iter().any(|s| subject.contains(s))
}

/// The failed (or delayed) addresses in a bounce's `text`, except those in `own` (the
/// report's own From, To and the like) and the daemons' addresses. An address counts when
/// its line starts with it, speaks of a failure, or follows a line that does or that
/// introduces a list (ends with `:`).
pub(super) fn scan(text: &str, subject: &str, own: &[String]) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let lower: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let end = lower
        .iter()
        .position(|l| opens_original(l))
        .unwrap_or(lines.len());
    // qmail's `<user@host>:` line is a failure by itself, in whatever language follows.
    let qmail = |l: &str| {
        let l = l.trim();
        l.starts_with('<') && l.ends_with(">:") && l.contains('@')
    };
    let speaks = |l: &str| {
        FAILURE_WORDS.iter().any(|w| l.contains(w)) || Status::find_in(l).is_some() || qmail(l)
    };
    if !lower[..end].iter().any(|l| speaks(l)) && !speaks(subject) {
        return Vec::new();
    }
    let whole = lower[..end].join("\n");
    let delayed = DELAY_WORDS
        .iter()
        .any(|w| whole.contains(w) || subject.contains(w))
        || subject.contains("delayed")
        || subject.starts_with("warning");
    let mut findings: Vec<Finding> = Vec::new();
    let mut previous = "";
    for at in 0..end {
        let line = lower[at].as_str();
        if line.trim().is_empty() {
            continue;
        }
        let introduced = speaks(previous) || previous.trim_end().ends_with(':');
        // Exim's "A message sent by\n\n  <sender>\n\ncould not be delivered": the sender.
        let sender_line = previous.trim_end().ends_with("sent by");
        previous = line;
        if is_quoted_header(line) {
            continue;
        }
        for address in addresses_in(lines[at]) {
            let key = address.to_ascii_lowercase();
            let leads = line
                .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
                .starts_with(&key);
            let before = line.split(&key).next().unwrap_or_default().trim_end();
            let from_sender = sender_line
                || ["mail from", "from:", "sent by"]
                    .iter()
                    .any(|w| before.ends_with(w));
            let known = findings.iter().any(|f| {
                f.address
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&key))
            });
            let local = key.split('@').next().unwrap_or_default();
            if known
                || from_sender
                || !(leads || introduced || speaks(line))
                || is_daemon(local)
                || own.iter().any(|o| o.eq_ignore_ascii_case(&key))
            {
                continue;
            }
            let context = window(&lines[at..end], &key);
            findings.push(finding(address, &context, delayed));
        }
    }
    findings
}

/// The most lines of one address's block that are read: an Exim or Sendmail session
/// transcript with a long multi-line reply fits well within it.
const BLOCK_LINES: usize = 40;

/// The words about `address` (lowercased) in `lines`, which start at its mention: its whole
/// block, that line and the ones after it up to a blank line that ends the paragraph (one
/// right after the address line is passed over: some MTAs leave it before the reason), up
/// to a line led by another address (the next failed recipient's block), and at most
/// [`BLOCK_LINES`]. MTAs put the reason a line or several after the address (qmail,
/// Exchange), or after a transcript of the session (Exim, hMailServer), where the part that
/// names our side's fault may come last.
fn window(lines: &[&str], address: &str) -> String {
    let mut taken: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let bare = line
            .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_ascii_lowercase();
        if bare.is_empty() {
            if taken.len() > 1 {
                break;
            }
            continue;
        }
        let another = line_subject(&bare).is_some_and(|who| who != address);
        if (i > 0 && another) || taken.len() == BLOCK_LINES {
            break;
        }
        taken.push(line.trim());
    }
    taken.join(" ")
}

/// Whom a (lowercased, trimmed) line of a bounce is about, when it leads with it: an
/// address (`user@host: reason`, qmail's `<user@host>:`), or Sendmail's `WHO... reason`
/// after a failure's reply code (`554 <user@host>... Remote protocol error`, `550 example.org
/// (smtp)... Host unknown`), WHO being an address or a host.
fn line_subject(bare: &str) -> Option<String> {
    let rest = match bare.split_once(' ') {
        Some((code, rest))
            if code.len() == 3
                && code.starts_with(['4', '5'])
                && code.bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        _ => bare,
    };
    let rest = rest.trim_start_matches('<');
    if let Some(first) = addresses_in(rest).into_iter().next()
        && rest.starts_with(&first)
    {
        return Some(first);
    }
    let (who, _) = rest.split_once("...")?;
    let who = who.trim_end_matches(" (smtp)").trim_end_matches('>');
    (!who.is_empty() && !who.contains(' ') && rest.len() < bare.len()).then(|| who.to_owned())
}

/// The words about `address` in a report's readable `text`, before the returned original:
/// for a standard report whose machine-readable part says nothing of the reason.
pub(super) fn words_about(text: &str, address: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| opens_original(&l.to_ascii_lowercase()))
        .unwrap_or(lines.len());
    let key = address.to_ascii_lowercase();
    let at = lines[..end]
        .iter()
        .position(|l| l.to_ascii_lowercase().contains(&key))?;
    Some(window(&lines[at..end], &key))
}

fn finding(address: String, context: &str, delayed: bool) -> Finding {
    let status = Status::find_in(context);
    let action = if delayed {
        Action::Delayed
    } else {
        Action::Failed
    };
    // The whole block is classified; only what is shown and kept is cut.
    let classified = dsn::classified(status, Some(context), Reason::Unknown);
    let diagnostic: String = context.trim().chars().take(300).collect();
    let status = status.map(|s| s.to_string());
    Finding::failure(Some(address), status, action, classified, Some(diagnostic))
}

/// Lines that quote the original's headers or the report's bookkeeping, whose addresses
/// are not the failed ones.
fn is_quoted_header(line: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "from:",
        "to:",
        "cc:",
        "reply-to:",
        "sender:",
        "return-path:",
        "received:",
        "message-id:",
        "subject:",
        "date:",
    ];
    let trimmed = line.trim_start_matches(|c: char| c.is_whitespace() || "*>|".contains(c));
    // `X-BeenThere:`, `List-Id:` and their kind.
    let field = [
        "x-",
        "list-",
        "resent-",
        "errors-to:",
        "in-reply-to:",
        "content-",
    ]
    .iter()
    .any(|p| trimmed.starts_with(p));
    field
        || PREFIXES.iter().any(|p| trimmed.starts_with(p))
        || line.contains("message-id")
        || line.contains("message identifier")
        || line.contains(" id <")
        || line.contains("please contact")
}

fn is_daemon(local: &str) -> bool {
    [
        "postmaster",
        "mailer-daemon",
        "mailer_daemon",
        "mail-daemon",
        "root",
        "abuse",
    ]
    .contains(&local)
}

/// Message-IDs quoted in a bounce's text (`Message-ID: <…>` lines of the returned headers).
pub(super) fn quoted_message_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        let Some(at) = lower.find("message-id") else {
            continue;
        };
        let rest = &line[at..];
        if let (Some(open), Some(close)) = (rest.find('<'), rest.find('>'))
            && open < close
            && rest[open..close].contains('@')
        {
            ids.push(rest[open..=close].to_owned());
        }
    }
    ids
}

/// The values of the header `name` (lowercase) quoted in a bounce's text, with their
/// continuation lines: the returned original's headers, copied inline by older formats.
pub(super) fn quoted_values(text: &str, name: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        // `> ` quoting, as mail clients and some daemons write it, then the header line.
        let unquoted = match line.strip_prefix('>') {
            Some(rest) => {
                let rest = rest.trim_start_matches('>');
                rest.strip_prefix(' ').unwrap_or(rest)
            }
            None => line,
        };
        let trimmed = unquoted.trim_start();
        if open && unquoted.starts_with([' ', '\t']) {
            if let Some(value) = values.last_mut() {
                value.push(' ');
                value.push_str(unquoted.trim());
            }
            continue;
        }
        open = trimmed
            .get(..name.len() + 1)
            .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{name}:")));
        if open {
            values.push(trimmed[name.len() + 1..].trim().to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const QMAIL: &str = "Hi. This is the qmail-send program at gate0.n-h.net.\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\n\
This is a permanent error; I've given up. Sorry it didn't work out.\n\n\
<userx@example.de>:\n550 5.1.1 no mailbox here by that name\n\n\
--- Below this line is a copy of the message.\n\nTo: list@example.org\nFrom: other@example.org\n";

    #[test]
    fn qmail_names_the_failed_address_and_not_the_original_headers() {
        let found = scan(QMAIL, "failure notice", &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].address.as_deref(), Some("userx@example.de"));
        assert_eq!(found[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(found[0].reason, Reason::UserUnknown);
        assert!(found[0].permanent());
    }

    #[test]
    fn a_warning_is_a_delay_and_daemons_are_never_findings() {
        let text = "This message was created automatically by mail delivery software.\n\
A message that you sent has not yet been delivered to all its recipients.\n\
The message identifier is: <abc@example.org>\nPlease contact <postmaster@example.org>\n\n  userx@example.za\n";
        let found = scan(text, "warning: message delayed", &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].address.as_deref(), Some("userx@example.za"));
        assert_eq!(found[0].action, Action::Delayed);
        assert!(!found[0].permanent());
    }

    #[test]
    fn quoted_headers_are_read_with_their_continuations() {
        let text =
            "> List-Unsubscribe: <https://eto.tech/u/abc>,\n>  <mailto:u@eto.tech>\nSubject: x\n";
        assert_eq!(
            quoted_values(text, "list-unsubscribe"),
            ["<https://eto.tech/u/abc>, <mailto:u@eto.tech>"]
        );
        assert!(quoted_values(text, "list-id").is_empty());
    }

    #[test]
    fn quoted_message_ids_are_found() {
        let text = "   Message-ID: <19990920022322.A19735@stereo.rotzorg.org>\nfoo <a@b.example>\n";
        assert_eq!(
            quoted_message_ids(text),
            ["<19990920022322.A19735@stereo.rotzorg.org>"]
        );
    }
}
