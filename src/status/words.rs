//! What the remote server's words say: the phrases MTAs and mailbox providers write in their
//! refusals, as their documentation and published reply texts give them (Postfix, Exim,
//! Sendmail, qmail, Exchange and Microsoft 365, Gmail, Yahoo, Outlook.com, Amazon SES,
//! iCloud, Zoho, Lotus Domino), grouped by reason. Phrases match at the start of
//! a word, case-insensitively, on text whose whitespace and repeated reply codes are
//! folded away (`550-5.1.1` at the start of each line of a multi-line reply).
//!
//! Order is policy: the phrases that put the fault on our side come first, so that "sender
//! address rejected" under a 5.1.1 never reads as the reader's address being gone.

use super::Reason;
use super::ours::OURS;
use super::theirs::{GENERIC, TEMPORARY, THEIRS, WEAK};

/// The text as phrases are matched against: lowercase, one space between words, without
/// the reply codes multi-line replies repeat (`550-5.1.1`, `550`, `#5.1.1`).
pub(super) fn fold(text: &str) -> String {
    let is_code = |word: &str| {
        let bare = word.trim_matches(|c: char| "#()[];:,".contains(c));
        let bare = bare.trim_end_matches('-');
        let reply = bare.len() == 3 && bare.bytes().all(|b| b.is_ascii_digit());
        let (head, tail) = bare.split_at(bare.find('-').unwrap_or(0));
        let reply_and_status = head.len() == 3
            && head.bytes().all(|b| b.is_ascii_digit())
            && super::Status::parse(&tail[1..]).is_some();
        reply || reply_and_status || super::Status::parse(bare).is_some()
    };
    let words: Vec<&str> = text.split_whitespace().filter(|w| !is_code(w)).collect();
    words.join(" ").to_lowercase()
}

/// The first reason a phrase of `table` names in `folded`.
fn first(table: &[(Reason, &[&str])], folded: &str) -> Option<Reason> {
    table
        .iter()
        .find(|(_, phrases)| phrases.iter().any(|p| has_word(folded, p)))
        .map(|(reason, _)| *reason)
}

/// Whether `phrase` occurs in `text` starting a word (`spam` in "anti-spam", not in
/// "antispam"'s middle; `listed at` not in "unlisted at").
fn has_word(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        let starts_alnum = phrase.starts_with(|c: char| c.is_alphanumeric());
        !starts_alnum
            || text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The reason a clear phrase in `folded` names, if any.
pub(super) fn strong(folded: &str) -> Option<Reason> {
    first(&OURS, folded).or_else(|| first(&THEIRS, folded))
}

/// The reason a vague phrase in `folded` names, if any.
pub(super) fn weak(folded: &str) -> Option<Reason> {
    first(&WEAK, folded)
}

/// Whether `folded` holds RFC 5321's generic words for a refused mailbox (see
/// [`GENERIC`]).
pub(super) fn generic(folded: &str) -> bool {
    GENERIC.iter().any(|p| has_word(folded, p))
}

/// Whether `folded` says the state it reports will pass (see [`TEMPORARY`]).
pub(super) fn temporary(folded: &str) -> bool {
    TEMPORARY.iter().any(|p| has_word(folded, p))
}
