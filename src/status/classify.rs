//! The one classifier: a reply code, an enhanced status code and the remote server's words
//! in, a [`Classified`] out. The same call reads an SMTP reply during a dispatch and a
//! bounce report afterwards.

use serde::Serialize;

use super::stage::{Stage, stage_in};
use super::{Class, Reason, Status, codes, words};

/// Why a message failed, and whether the failure is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// Why.
    pub reason: Reason,
    /// True for a permanent failure (a 5xx reply, a `5.x.x` status, or a failure report
    /// that names no code); false for a temporary one. Callers that know better (a DSN's
    /// `Action: delayed`, an SES `Transient` bounce) set it.
    pub permanent: bool,
    /// True when the words of a gone mailbox are not proof of it: RFC 5321's generic words
    /// for any 550 ("mailbox unavailable"), which servers also send for policy refusals, or
    /// words that ask to try again. Such a failure is never hard, so it drops nobody at once
    /// but counts toward `[bounces] soft_limit`.
    #[serde(skip)]
    pub doubtful: bool,
}

impl Classified {
    /// What the failure means for the reader.
    pub fn class(self) -> Class {
        match self.reason.class(self.permanent) {
            Class::Hard if self.doubtful => Class::Soft,
            class => class,
        }
    }
}

/// Classifies a failure from its basic `reply_code` (550), its `enhanced` status code
/// (5.1.1) and its `text`, the remote server's words. When `reply_code` or `enhanced` is
/// `None`, the first one written in `text` is used.
///
/// Clear words win over codes, because servers put generic codes on specific refusals
/// (5.0.0 "user unknown", 5.7.1 "relay access denied") and specific codes on refusals of
/// another kind (5.1.1 "sender address rejected"); among words, those that put the fault on
/// our side come first. Only a code about our sender's address or about policy (X.1.7,
/// X.1.8, X.7.x) wins over words that would make the refusal the reader's hard fault: a
/// fault that may be ours never drops a reader. A precise code then wins over vague words
/// ("timed out", "policy"),
/// which win over a code that names only a family (5.0.0, 5.7.1, a bare 550). RFC 5321's
/// generic "mailbox unavailable" alone reads as `user-unknown`, but never hard.
pub(crate) fn classify(
    reply_code: Option<u16>,
    enhanced: Option<Status>,
    text: &str,
) -> Classified {
    let enhanced = enhanced.or_else(|| Status::find_in(text));
    let reply_code = reply_code.or_else(|| reply_code_in(text));
    let permanent = match (enhanced, reply_code) {
        (Some(status), _) if status.class != 2 => status.is_permanent(),
        (_, Some(code)) => code / 100 != 4,
        _ => true,
    };
    let from_code = enhanced
        .and_then(codes::enhanced)
        .or_else(|| reply_code.and_then(codes::basic));
    // A code about our sender or about policy anywhere in the words: a relay quoting the
    // remote server's own reply after its summary (SES, "5.1.0 - Unknown address error
    // 550-'5.7.1 … Access denied'") gives it second.
    let ours = enhanced
        .into_iter()
        .chain(Status::all_in(text))
        .find(|s| about_sender_or_policy(*s));
    let folded = words::fold(text);
    let mut doubtful = false;
    let mut reason = match (words::strong(&folded), from_code) {
        // Words of the reader's side under a code about our sender's address or about
        // security and policy ("does not exist" of our domain, RFC 5321's "mailbox
        // unavailable" on a policy refusal) never make it the reader's hard fault: the code
        // says what the refusal is about.
        (Some(reason), _) if reason.class(permanent) == Class::Hard && ours.is_some() => {
            ours.and_then(codes::enhanced).map_or(reason, |c| c.reason)
        }
        (Some(reason), _) => reason,
        (None, Some(code)) if code.specific => code.reason,
        // RFC 5321's words for any 550, under no code about our side or about policy.
        (None, _) if words::generic(&folded) && ours.is_none() => {
            doubtful = true;
            Reason::UserUnknown
        }
        (None, code) => words::weak(&folded)
            .or(code.map(|c| c.reason))
            .unwrap_or(Reason::Unknown),
    };
    match stage_in(&folded) {
        // Refused before the server was told the recipient: our client or our sender.
        Some(Stage::Session) if reason.class(permanent) != Class::Sender => {
            reason = Reason::Policy;
        }
        Some(Stage::Sender) if reason.class(permanent) != Class::Sender => {
            reason = Reason::SenderRefused;
        }
        _ => {}
    }
    // "Try again" (Postfix's "Host not found, try again", a mailbox "temporarily locked")
    // says the state will pass, whatever the code.
    doubtful |= words::temporary(&folded);
    Classified {
        reason,
        permanent,
        doubtful,
    }
}

/// Whether `status` speaks of the sender's address (X.1.7, X.1.8) or of security and policy
/// (X.7.x), as RFC 3463 defines them, rather than of the recipient. X.7.17 and X.7.18
/// (RFC 7293: the mailbox or domain changed owner) speak of the recipient.
fn about_sender_or_policy(status: Status) -> bool {
    matches!((status.subject, status.detail), (1, 7 | 8))
        || (status.subject == 7 && !matches!(status.detail, 17 | 18))
}

/// The first basic reply code (`550`, `421`) in `text` that stands as a word of its own or
/// starts a multi-line reply (`550-5.1.1`).
pub(crate) fn reply_code_in(text: &str) -> Option<u16> {
    text.split(|c: char| c.is_whitespace() || c == ';')
        .map(|word| word.split('-').next().unwrap_or_default())
        .filter(|word| word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|word| word.parse().ok())
        .find(|code| (400..600).contains(code))
}
