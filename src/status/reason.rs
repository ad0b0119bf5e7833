//! The vocabulary: why a message came back ([`Reason`]) and what that means for the reader
//! it was sent to ([`Class`]). The words are stored in the ledger and the audience store,
//! shown by `status` and `suppress list`, and written in `--json` output, so they never
//! change once published.

use std::fmt;

use serde::Serialize;

use super::Status;

/// Why a message was refused or reported: one word, read from the codes and the words of
/// the server that refused it (see [`super::classify()`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// No such mailbox at the domain (X.1.1, "user unknown", "does not exist").
    UserUnknown,
    /// No such domain, or one that takes no mail (X.1.2, X.1.10 null MX, 5.4.4).
    HostUnknown,
    /// The mailbox exists but is disabled, suspended, inactive or moved (X.2.1, X.1.6).
    MailboxDisabled,
    /// The mailbox is full or receives mail too fast to take more now (X.2.2).
    MailboxFull,
    /// Our message is larger than the receiving system takes (X.2.3, X.3.4).
    MessageTooLarge,
    /// We sent too much, too fast, or over too many connections (X.4.5, "rate limit").
    RateLimited,
    /// The message's content was judged to be spam or otherwise refused (X.6.x, "spam").
    ContentRejected,
    /// A virus or malware was found in the message.
    Virus,
    /// Our sending IP or domain is on a blocklist or has a poor reputation.
    Blocked,
    /// SPF, DKIM or DMARC failed for our message (X.7.20 to X.7.26).
    Authentication,
    /// Our sender address was refused (X.1.7, X.1.8, "sender address rejected").
    SenderRefused,
    /// The server will not relay for us (X.7.1 "relay access denied").
    RelayDenied,
    /// Refused by a local policy that says nothing of the reader (X.7.x).
    Policy,
    /// Given up after retrying for too long (X.4.7).
    Expired,
    /// A connection, DNS or routing problem on the way (X.4.x, a routing loop).
    Network,
    /// An error of the remote mail system itself (X.3.x).
    System,
    /// The reader marked the message as spam (an ARF `abuse` or `fraud` report).
    Complaint,
    /// The reader marked the message as *not* spam (an ARF `not-spam` report).
    NotSpam,
    /// A feedback report of another kind (`other`): about the message, not the reader.
    Feedback,
    /// An automatic answer: out of office, vacation, a changed address notice.
    AutoReply,
    /// A mail to the `mailto:` unsubscribe address.
    Unsubscribe,
    /// Nothing in the report says why.
    Unknown,
}

/// What a [`Reason`] means for the reader the message was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// The reader's address is gone: suppress it.
    Hard,
    /// A temporary failure: count it; suppress after `[bounces] soft_limit` volumes in a row.
    Soft,
    /// Our side or a policy: never counts against the reader.
    Sender,
    /// The reader complained: suppress.
    Complaint,
    /// An automatic answer: nothing to do.
    AutoReply,
    /// The reader asked to leave: suppress.
    Unsubscribe,
}

impl Reason {
    /// Every reason, in the order of the table in the README.
    pub const ALL: [Self; 22] = [
        Self::UserUnknown,
        Self::HostUnknown,
        Self::MailboxDisabled,
        Self::MailboxFull,
        Self::MessageTooLarge,
        Self::RateLimited,
        Self::ContentRejected,
        Self::Virus,
        Self::Blocked,
        Self::Authentication,
        Self::SenderRefused,
        Self::RelayDenied,
        Self::Policy,
        Self::Expired,
        Self::Network,
        Self::System,
        Self::Complaint,
        Self::NotSpam,
        Self::Feedback,
        Self::AutoReply,
        Self::Unsubscribe,
        Self::Unknown,
    ];

    /// The word stored and shown (`user-unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserUnknown => "user-unknown",
            Self::HostUnknown => "host-unknown",
            Self::MailboxDisabled => "mailbox-disabled",
            Self::MailboxFull => "mailbox-full",
            Self::MessageTooLarge => "message-too-large",
            Self::RateLimited => "rate-limited",
            Self::ContentRejected => "content-rejected",
            Self::Virus => "virus",
            Self::Blocked => "blocked",
            Self::Authentication => "authentication",
            Self::SenderRefused => "sender-refused",
            Self::RelayDenied => "relay-denied",
            Self::Policy => "policy",
            Self::Expired => "expired",
            Self::Network => "network",
            Self::System => "system",
            Self::Complaint => "complaint",
            Self::NotSpam => "not-spam",
            Self::Feedback => "feedback",
            Self::AutoReply => "auto-reply",
            Self::Unsubscribe => "unsubscribe",
            Self::Unknown => "unknown",
        }
    }

    /// The reason stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a soft failure of this reason with the enhanced code `status` counts toward
    /// `[bounces] soft_limit`. An `unknown` failure that is not temporary (4.x.x) counts only
    /// when its code speaks of the recipient's address or mailbox: a permanent refusal that
    /// nothing explains may be our fault (a blocklisted IP worded the server's own way), and
    /// a reader is never dropped for a fault that may be ours. It is still reported.
    pub fn counts_toward_soft_limit(self, status: Option<Status>) -> bool {
        self != Self::Unknown || status.is_some_and(|s| !s.is_permanent() || s.about_recipient())
    }

    /// What this reason means for the reader when the failure is `permanent` (a 5xx, a
    /// failed DSN) or not. Only a mailbox or domain that is gone for good is hard: the same
    /// words in a 4xx reply are a temporary state of the reader's mailbox.
    pub fn class(self, permanent: bool) -> Class {
        match self {
            Self::UserUnknown | Self::HostUnknown | Self::MailboxDisabled if permanent => {
                Class::Hard
            }
            Self::UserUnknown
            | Self::HostUnknown
            | Self::MailboxDisabled
            | Self::MailboxFull
            | Self::Expired
            | Self::Network
            | Self::System
            | Self::Unknown => Class::Soft,
            Self::MessageTooLarge
            | Self::RateLimited
            | Self::ContentRejected
            | Self::Virus
            | Self::Blocked
            | Self::Authentication
            | Self::SenderRefused
            | Self::RelayDenied
            | Self::Policy
            | Self::NotSpam
            | Self::Feedback => Class::Sender,
            Self::Complaint => Class::Complaint,
            Self::AutoReply => Class::AutoReply,
            Self::Unsubscribe => Class::Unsubscribe,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Class {
    const ALL: [Self; 6] = [
        Self::Hard,
        Self::Soft,
        Self::Sender,
        Self::Complaint,
        Self::AutoReply,
        Self::Unsubscribe,
    ];

    /// The word stored and shown (`hard`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
            Self::Sender => "sender",
            Self::Complaint => "complaint",
            Self::AutoReply => "auto-reply",
            Self::Unsubscribe => "unsubscribe",
        }
    }

    /// The class stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
