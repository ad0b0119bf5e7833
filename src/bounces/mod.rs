//! What comes back from the world: bounce reports, complaints, unsubscribe mails and
//! auto-replies, read from files, Maildir folders and mbox files, classified, mapped to the
//! recipients they concern, and applied to the audience store.
//!
//! [`classify`] turns one message's bytes into a [`Report`] (pure, with a real MIME parser);
//! [`source`] finds the messages in the paths given; [`mapping`] finds the recipient of each
//! finding (the VERP token, else the returned Message-ID in the ledger, else a known
//! address); [`effects`] writes suppressions and counts into the store; [`import`] runs
//! them all for `broadsheet bounces import`; [`webhooks`] reads the reports relays post to
//! `serve` instead of mailing them.

pub(crate) mod classify;
mod dsn;
pub(crate) mod effects;
pub(crate) mod fetch;
pub(crate) mod imap;
pub(crate) mod import;
mod legacy;
pub(crate) mod mapping;
mod mbox;
pub(crate) mod source;
pub(crate) mod status;
pub(crate) mod webhooks;

use serde::Serialize;

use crate::status::{Class, Classified, Reason, Status};
use crate::verp;

use status::Action;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A delivery failure or delay (a DSN, or one of the older formats).
    Bounce,
    /// A complaint: a reader marked a message as spam (ARF).
    Complaint,
    /// A mail to the `mailto:` unsubscribe address.
    Unsubscribe,
    /// An automatic answer (out of office, vacation): ignored.
    AutoReply,
    /// Nothing we recognise: listed for a person to read, never guessed at.
    Unknown,
}

impl Kind {
    /// The word in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
            Self::Unsubscribe => "unsubscribe",
            Self::AutoReply => "auto-reply",
            Self::Unknown => "unknown",
        }
    }
}

/// What a report says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The address the report names, as written (not yet known to be ours).
    pub address: Option<String>,
    /// The enhanced status code, when the report gives or implies one.
    pub status: Option<String>,
    /// Failed, delayed or delivered.
    pub action: Action,
    /// Why (see [`crate::status::classify`]).
    pub reason: Reason,
    /// What it means for the reader: only [`Class::Hard`] says the address is gone.
    pub class: Class,
    /// The remote server's words, if given.
    pub diagnostic: Option<String>,
}

impl Finding {
    /// A finding whose reason the kind of report names (a complaint, an unsubscribe mail),
    /// with only an address.
    pub(crate) fn named(address: Option<String>, reason: Reason) -> Self {
        Self {
            address,
            status: None,
            action: Action::Failed,
            reason,
            class: reason.class(true),
            diagnostic: None,
        }
    }

    /// A delivery failure (or delay) of `address` with its `status`, the remote server's
    /// `diagnostic`, and what the classifier made of them: only a failure that is final
    /// can be hard; a delay or a delivery never is, whatever its words.
    pub(crate) fn failure(
        address: Option<String>,
        status: Option<String>,
        action: Action,
        classified: Classified,
        diagnostic: Option<String>,
    ) -> Self {
        let classified = Classified {
            permanent: classified.permanent && action == Action::Failed,
            ..classified
        };
        Self {
            address,
            status,
            action,
            reason: classified.reason,
            class: classified.class(),
            diagnostic,
        }
    }

    /// Whether the address itself is gone for good.
    pub(crate) fn permanent(&self) -> bool {
        self.class == Class::Hard
    }

    /// Whether this failure, when soft, counts toward `[bounces] soft_limit`.
    pub(crate) fn counts_toward_soft_limit(&self) -> bool {
        let status = self.status.as_deref().and_then(Status::parse);
        self.reason.counts_toward_soft_limit(status)
    }
}

/// One message, classified, with what ties it to messages we sent.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The message's own Message-ID, or `sha256:…` of its bytes when it has none: the
    /// reference that makes a second import of it a no-op.
    pub id: String,
    /// What it is.
    pub kind: Kind,
    /// One per recipient it concerns; none for auto-replies and unknown messages.
    pub findings: Vec<Finding>,
    /// Addresses that may hold our VERP token: the report's envelope recipient headers and
    /// the returned original's `Return-Path`.
    pub return_paths: Vec<String>,
    /// Message-IDs that may be ours: the returned original's (its headers, or quoted in the
    /// text), and the report's own `In-Reply-To` and `References`.
    pub returned_ids: Vec<String>,
    /// The `List-Unsubscribe` links of the returned original, which carry the reader's
    /// unsubscribe token.
    pub unsubscribe_links: Vec<String>,
    /// The tokens of a mail to the `mailto:` unsubscribe address (its subject, or a
    /// `+TOKEN` on the address).
    pub mailto_tokens: Vec<verp::Token>,
    /// Whether the relay that sent our message vouched for the report (a webhook whose
    /// signature or credentials were verified): the address it names is then evidence.
    pub vouched: bool,
}

impl Report {
    /// A report with no evidence yet.
    pub(crate) fn new(id: String, kind: Kind, findings: Vec<Finding>) -> Self {
        Self {
            id,
            kind,
            findings,
            return_paths: Vec::new(),
            returned_ids: Vec::new(),
            unsubscribe_links: Vec::new(),
            mailto_tokens: Vec::new(),
            vouched: false,
        }
    }
}

/// The first plausible email address in `text` (`rfc822; a@b.example`, `<a@b.example>`).
pub(crate) fn address_in(text: &str) -> Option<String> {
    addresses_in(text).into_iter().next()
}

/// Every plausible email address in `text`, in order, without duplicates.
pub(crate) fn addresses_in(text: &str) -> Vec<String> {
    let local = |c: char| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let mut found: Vec<String> = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local(c))
            .last()
            .map_or(at, |(i, _)| i);
        let after = &text[at + 1..];
        let end = after.find(|c: char| !domain(c)).unwrap_or(after.len());
        let user = text[start..at].trim_start_matches(['.', '\'', '`']);
        // Exchange writes `smtp=user@host` and `SMTP:user@host`.
        let user = ["smtp=", "rfc822="]
            .iter()
            .find_map(|p| {
                user.get(..p.len())
                    .filter(|u| u.eq_ignore_ascii_case(p))
                    .map(|_| &user[p.len()..])
            })
            .unwrap_or(user);
        let host = after[..end].trim_end_matches('.');
        let labels: Vec<&str> = host.split('.').collect();
        let plausible = !user.is_empty()
            && !user.contains("..")
            && !user.ends_with('.')
            && labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
        let address = format!("{user}@{host}");
        if plausible && !found.iter().any(|f| f.eq_ignore_ascii_case(&address)) {
            found.push(address);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_their_usual_dress() {
        assert_eq!(addresses_in("rfc822; Ana@Example.org"), ["Ana@Example.org"]);
        assert_eq!(
            addresses_in("<a.b+c@x.example.com>: host said... (bo@y.example.)"),
            ["a.b+c@x.example.com", "bo@y.example"]
        );
        assert_eq!(
            addresses_in("smtp=Bo@x.example 'cy@y.example'"),
            ["Bo@x.example", "cy@y.example"]
        );
        assert!(
            addresses_in("user@localhost, id <1234@5678>, @example.org, david...@gmail.com")
                .is_empty()
        );
    }
}
