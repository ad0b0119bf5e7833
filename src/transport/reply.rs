//! What a transport answered, typed: the SMTP reply code, the enhanced status code
//! (RFC 3463) and the text, read once from lettre's response, or, when no reply came (a
//! timeout, a dropped connection, a file written to the outbox), what happened instead.
//! Verdicts, the breaker, the ledger and `status` read these fields, never a string.

use std::fmt;

use lettre::transport::smtp::response::Response;
use serde::Serialize;

pub use crate::status::Status;
use crate::status::{Class, Classified, Reason, classify};

/// A reply from the relay, or what happened instead of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The three-digit reply code; `None` when no reply came.
    pub code: Option<u16>,
    /// The enhanced status code (`5.1.1`), when the reply carried one.
    pub enhanced: Option<Status>,
    /// The reply's text after the codes, or what happened.
    pub text: String,
}

impl Reply {
    /// A reply with `code` whose text may start with an enhanced status code.
    pub fn with_code(code: u16, text: &str) -> Self {
        let text = text.trim();
        let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
        match Status::parse(first) {
            Some(status) => Self {
                code: Some(code),
                enhanced: Some(status),
                text: rest.trim_start().to_owned(),
            },
            None => Self {
                code: Some(code),
                enhanced: None,
                text: text.to_owned(),
            },
        }
    }

    /// No reply came; `what` says what happened instead.
    pub fn none(what: impl Into<String>) -> Self {
        Self {
            code: None,
            enhanced: None,
            text: what.into(),
        }
    }

    /// The reply lettre parsed.
    pub fn from_response(response: &Response) -> Self {
        let text = response.message().collect::<Vec<_>>().join(" ");
        Self::with_code(u16::from(response.code()), &text)
    }

    /// The reply inside one of lettre's errors, when it holds one; otherwise the error.
    pub fn from_error(error: &lettre::transport::smtp::Error) -> Self {
        match error.status() {
            Some(code) => {
                // lettre keeps a negative reply's lines as the error's source.
                let text = std::error::Error::source(error)
                    .map(|s| s.to_string().replace('\n', " "))
                    .unwrap_or_default();
                Self::with_code(u16::from(code), &text)
            }
            None => Self::none(error.to_string()),
        }
    }

    /// The same reply with `context` before the text of one that is not from the relay
    /// (`connecting to host:25: ...`).
    pub fn context(mut self, context: &str) -> Self {
        if self.code.is_none() {
            self.text = format!("{context}: {}", self.text);
        }
        self
    }

    /// Why the relay refused, read by the one classifier that also reads bounce reports.
    pub fn classified(&self) -> Classified {
        classify(self.code, self.enhanced, &self.text)
    }

    /// Whether the relay refused for good (a 5xx reply).
    pub fn is_permanent(&self) -> bool {
        self.code.is_some_and(|c| c / 100 == 5)
    }

    /// Whether the relay said, for good, that the reader's mailbox or domain is gone
    /// (class `Class::Hard`): the one reply that puts an address on the suppression list.
    pub fn is_hard_bounce(&self) -> bool {
        self.is_permanent() && self.classified().class() == Class::Hard
    }

    /// Whether this refusal for good, seen during a send, counts toward `[bounces]
    /// soft_limit` the way a soft bounce report does: a soft refusal that speaks of the
    /// reader's mailbox or address (RFC 5321's bare "mailbox unavailable", a full or
    /// disabled mailbox, an unexplained refusal under an X.1.x or X.2.x code). A network or
    /// system error is left out, and so is a domain that reads soft (its lookup failed for
    /// now): during a send the server that answers is our relay, and trouble on its way is
    /// ours, never the reader's.
    pub fn counts_toward_soft_limit(&self) -> bool {
        let found = self.classified();
        self.is_permanent()
            && found.class() == Class::Soft
            && matches!(
                found.reason,
                Reason::UserUnknown
                    | Reason::MailboxDisabled
                    | Reason::MailboxFull
                    | Reason::Unknown
            )
            && found.reason.counts_toward_soft_limit(self.enhanced)
    }

    /// Whether the relay refuses on grounds of security or policy (`x.7.x`).
    pub fn is_policy(&self) -> bool {
        self.enhanced.is_some_and(|s| s.subject == 7)
    }

    /// Whether the relay asks us to slow down: 421, or a transient 4.7.x.
    pub fn asks_to_slow_down(&self) -> bool {
        self.code == Some(421) || (self.code.is_some_and(|c| c / 100 == 4) && self.is_policy())
    }

    /// Whether two replies are "the same" for spotting a relay that refuses everyone: the
    /// same code and enhanced code (the text names each recipient, so it differs).
    pub fn same_kind(&self, other: &Self) -> bool {
        self.code.is_some() && self.code == other.code && self.enhanced == other.enhanced
    }

    /// The text with every email address in it masked, for logs.
    pub fn masked(&self) -> String {
        mask_addresses(&self.to_string())
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.enhanced) {
            (Some(code), Some(status)) => write!(f, "{code} {status} {}", self.text),
            (Some(code), None) => write!(f, "{code} {}", self.text),
            _ => f.write_str(&self.text),
        }
    }
}

/// `text` with every `local@domain` shown as `l…@domain`: replies name recipients
/// (`450 4.7.1 <user@example.org>: ...`), and logs must not carry addresses.
pub fn mask_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match word.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                let first: String = local.chars().take(1).collect();
                out.push_str(&first);
                out.push('…');
                out.push('@');
                out.push_str(domain);
            }
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | '"' | '(' | ')' | ',' | ';' | ':' | '[' | ']' | '='
            )
        {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_codes_of_a_reply() {
        let r = Reply::with_code(550, "5.1.1 <ana@example.org>: Recipient address rejected");
        assert_eq!(r.code, Some(550));
        assert_eq!(r.enhanced.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        assert_eq!(r.text, "<ana@example.org>: Recipient address rejected");
        assert!(r.is_hard_bounce());
        assert_eq!(
            r.to_string(),
            "550 5.1.1 <ana@example.org>: Recipient address rejected"
        );
        let plain = Reply::with_code(250, "Ok: queued as 1234");
        assert_eq!(
            (plain.enhanced, plain.text.as_str()),
            (None, "Ok: queued as 1234")
        );
        assert!(!Reply::with_code(554, "5.7.1 spam").is_hard_bounce());
        assert!(Reply::with_code(554, "5.7.1 spam").is_policy());
        assert!(!Reply::none("no answer within 5 s").is_hard_bounce());
        assert!(Reply::with_code(421, "4.3.2 closing").asks_to_slow_down());
        assert!(Reply::with_code(450, "4.7.1 rate").asks_to_slow_down());
        assert!(!Reply::with_code(451, "4.3.0 later").asks_to_slow_down());
        let sender = Reply::with_code(550, "5.1.1 <news@example.org>: Sender address rejected");
        assert!(!sender.is_hard_bounce(), "a 5.1.1 about our sender");
        assert!(Reply::with_code(550, "5.0.0 User unknown").is_hard_bounce());
    }

    #[test]
    fn a_soft_refusal_of_the_readers_mailbox_counts_toward_the_soft_limit() {
        let counts = |code, text| Reply::with_code(code, text).counts_toward_soft_limit();
        // Outlook.com's words for an address that no longer exists, and full mailboxes.
        assert!(counts(
            550,
            "Requested action not taken: mailbox unavailable"
        ));
        assert!(counts(552, "5.2.2 <ana@example.org>: Mailbox full"));
        assert!(counts(550, "5.1.0 Address rejected"));
        // Hard ones suppress at once instead; 4xx ones are deferred, not refused.
        assert!(!counts(550, "5.1.1 User unknown"));
        assert!(!counts(452, "4.2.2 Mailbox full"));
        // Our side, our relay's trouble, and a refusal nothing explains never count.
        assert!(!counts(
            554,
            "5.7.1 Client host blocked using zen.spamhaus.org"
        ));
        assert!(!counts(554, "5.4.6 Too many hops"));
        assert!(!counts(554, "5.3.0 Local configuration error"));
        assert!(!counts(550, "5.4.4 Host not found, try again"));
        assert!(!counts(550, "5.0.0 Rejected"));
        assert!(!Reply::none("connection reset").counts_toward_soft_limit());
    }

    #[test]
    fn same_kind_ignores_the_text() {
        let a = Reply::with_code(550, "5.1.1 <a@example.org> unknown");
        let b = Reply::with_code(550, "5.1.1 <b@example.net> unknown");
        let c = Reply::with_code(550, "5.1.2 <b@example.net> unknown");
        assert!(a.same_kind(&b));
        assert!(!a.same_kind(&c));
        assert!(!Reply::none("x").same_kind(&Reply::none("x")));
    }

    #[test]
    fn masks_addresses_for_logs() {
        assert_eq!(
            mask_addresses("450 4.7.1 <user@example.org>: Recipient address rejected"),
            "450 4.7.1 <u…@example.org>: Recipient address rejected"
        );
        assert_eq!(mask_addresses("no address here"), "no address here");
        assert_eq!(
            mask_addresses("to=ana.lima@example.org, from=x@y"),
            "to=a…@example.org, from=x…@y"
        );
    }
}
