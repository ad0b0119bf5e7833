//! What the remote server's words say: the phrases MTAs and mailbox providers write in their
//! refusals, as their documentation and published reply texts give them (Postfix, Exim,
//! Sendmail, qmail, Exchange and Microsoft 365, Gmail, Yahoo, Outlook.com, Amazon SES,
//! iCloud, Zoho, Lotus Domino, GroupWise), grouped by reason. Phrases match at the start of
//! a word, case-insensitively, on text whose whitespace and repeated reply codes are
//! folded away (`550-5.1.1` at the start of each line of a multi-line reply).
//!
//! Order is policy: the phrases that put the fault on our side come first, so that "sender
//! address rejected" under a 5.1.1 never reads as the reader's address being gone.

use super::Reason;

/// Phrases that name a reason clearly, checked in order before any code.
const STRONG: [(Reason, &[&str]); 13] = [
    (
        Reason::RelayDenied,
        &[
            "relay access denied",
            "relaying denied",
            "relaying not allowed",
            "relaying not permitted",
            "relay not permitted",
            "relay not allowed",
            "relay denied",
            "not permitted to relay",
            "not allowed to relay",
            "unable to relay",
            "we do not relay",
            "no relaying",
            "in my list of allowed rcpthosts",
        ],
    ),
    (
        Reason::SenderRefused,
        &[
            "sender address rejected",
            "sender email address rejected",
            "sender rejected",
            "sender verify failed",
            "sender verification failed",
            "sender address verification",
            "sender domain must exist",
            "sender domain not found",
            "sender domain is empty",
            "sender domain does not exist",
            "domain of sender address",
            "unroutable sender",
            "unrouteable sender",
            "invalid sender",
            "sender address is",
            "bad sender",
            "sender not allowed",
            "sender is not allowed",
            "sender not authorized",
            "sender denied",
            "email address is not verified",
            "null sender is not allowed",
            "empty envelope senders",
            "from address rejected",
            "mail from address rejected",
        ],
    ),
    (
        Reason::Authentication,
        &[
            "spf",
            "dkim",
            "dmarc",
            "sender policy framework",
            "domainkeys",
            "unauthenticated",
            "not authenticated",
            "failed authentication",
            "authentication check",
            "arc validation",
        ],
    ),
    (Reason::Virus, &["virus", "malware", "infected"]),
    (
        Reason::Blocked,
        &[
            "blocklist",
            "block list",
            "blacklist",
            "black list",
            "denylist",
            "blocked using",
            "listed at",
            "listed on",
            "listed by",
            "spamhaus",
            "spamcop",
            "sorbs",
            "barracuda",
            "dnsbl",
            "uceprotect",
            "banned sending ip",
            "banned sender",
            "reputation",
            "client host rejected",
            "client host blocked",
            "your ip",
            "from your ip",
            "ip address has been blocked",
            "not currently accepting mail from",
            "unusual rate",
            "temporarily deferred due to",
            "reverse dns",
            "reverse lookup",
            "ptr record",
            "dynamic ip",
            "residential ip",
            // Yahoo's codes for blocks and deferrals of a sending IP (its SMTP error codes
            // page): [TS01] to [TS03], [TSS04] and later, [BL21] to [BL23].
            "[ts0",
            "[tss0",
            "[bl2",
            // Outlook.com and Hotmail, "part of their network is on our block list (S3150)".
            "(s3150)",
        ],
    ),
    (
        Reason::ContentRejected,
        &[
            "spam",
            "unsolicited",
            "junk mail",
            "bulk mail",
            "content rejected",
            "content not accepted",
            "message content",
            "rejected due to content",
            "unacceptable content",
            "banned content",
            "content filter",
            "message filtered",
            "phish",
            "uribl",
            "surbl",
            "illegal attachment",
        ],
    ),
    (
        Reason::RateLimited,
        &[
            "rate limit",
            "rate-limit",
            "ratelimit",
            "too many connections",
            "too many concurrent",
            "connection limit",
            "connection rate",
            "sending rate",
            "message rate",
            "too many messages from",
            "too many recipients",
            "too many emails",
            "throttl",
            "message quota",
            "sending quota",
            "sending limit",
            "slow down",
        ],
    ),
    (
        Reason::MailboxFull,
        &[
            "mailbox full",
            "mailbox is full",
            "mail box full",
            "mailbox has exceeded",
            "mailbox would exceed",
            "mailbox size limit",
            "mailbox quota",
            "mailfolder is full",
            "inbox is full",
            "account is full",
            "full mailbox",
            "over quota",
            "overquota",
            "quota exceeded",
            "exceeded quota",
            "exceeds quota",
            "disk quota",
            "diskspace quota",
            "storage quota",
            "disk space",
            "storage allocation",
            "storage space",
            "not enough space",
            "enough storage",
            "space has been used up",
            "out of storage",
            // Gmail, "The user you are trying to contact is receiving mail at a rate that
            // prevents additional messages from being delivered".
            "receiving mail at a rate",
        ],
    ),
    (
        Reason::MessageTooLarge,
        &[
            "message too large",
            "message is too large",
            "message too big",
            "message is too big",
            "message size exceeds",
            "size exceeds",
            "exceeds the maximum size",
            "exceeds size limit",
            "message length exceeds",
            "maximum message size",
            "message size limit",
            "too large",
        ],
    ),
    (
        Reason::MailboxDisabled,
        &[
            "disabled",
            "inactive",
            "not active",
            "no longer active",
            "deactivated",
            "account suspended",
            "account is suspended",
            "mailbox suspended",
            "user suspended",
            "is currently suspended",
            "has been suspended",
            "mailbox is frozen",
            "account closed",
            "account has been closed",
            "mailbox closed",
            "mailbox has moved",
            "has moved",
            "account expired",
            "account has expired",
            "no longer in use",
            "no longer accepts mail",
            "no longer accepting mail",
        ],
    ),
    (
        Reason::HostUnknown,
        &[
            "host unknown",
            "unknown host",
            "host not found",
            "host or domain name not found",
            "domain not found",
            "domain name not found",
            "no such domain",
            "unknown domain",
            "domain does not exist",
            "domain doesn't exist",
            "domain is not reachable",
            "does not accept mail",
            "name service error",
            "nxdomain",
            "null mx",
            "no mx",
            "unrouteable address",
            "unroutable address",
            "name or service not known",
        ],
    ),
    (
        Reason::UserUnknown,
        &[
            "user unknown",
            "unknown user",
            "unknown recipient",
            "recipient unknown",
            "unknown mailbox",
            "unknown address",
            "unknown local part",
            "unknown or illegal alias",
            "unknown alias",
            "no such user",
            "no such recipient",
            "no such mailbox",
            "no such address",
            "no such person",
            "no mailbox",
            "no mail box",
            "no account",
            "mailbox not found",
            "mailbox unavailable",
            "mailbox not present",
            "mailbox does not exist",
            "invalid recipient",
            "invalid mailbox",
            "invalid address",
            "invalid user",
            "address invalid",
            "not a valid mailbox",
            "not a valid recipient",
            "not a valid user",
            "is not a known user",
            "does not exist",
            "doesn't exist",
            "not exist",
            "user not found",
            "recipient not found",
            "recipientnotfound",
            "recipnotfound",
            "address not found",
            "couldn't be found",
            "could not be found",
            "not listed in",
            "user doesn't have",
            "doesn't have a",
            "there is no one at this address",
            "recipient address rejected: access denied",
            "recipient address rejected: user",
            "recipient address rejected: invalid",
            "bad destination mailbox",
            "badrcptto",
            "no longer valid",
        ],
    ),
    (
        Reason::Expired,
        &[
            "delivery time expired",
            "message expired",
            "expired after",
            "retry timeout exceeded",
            "giving up",
            "gave up",
            "in the queue too long",
            "too long in the queue",
            "could not be delivered within",
            "delivery period expired",
            "within the allowed queue period",
            "message timed out",
        ],
    ),
];

/// Vague phrases: they speak only when no code says anything precise.
const WEAK: [(Reason, &[&str]); 3] = [
    (
        Reason::Network,
        &[
            "connection refused",
            "connection timed out",
            "timed out",
            "timeout",
            "no route to host",
            "network is unreachable",
            "host unreachable",
            "connection reset",
            "lost connection",
            "connection dropped",
            "connection closed",
            "could not connect",
            "unable to connect",
            "loops back to myself",
            "mail loop",
            "routing loop",
            "too many hops",
            "hop count",
            "lookup failure",
            "dns",
            "tls",
            "certificate",
        ],
    ),
    (
        Reason::System,
        &[
            "system error",
            "internal error",
            "server error",
            "local error",
            "service unavailable",
            "temporarily unavailable",
            "system storage",
            "mail system full",
            "configuration error",
            "misconfigured",
            "temporary failure",
            "temporary error",
            "try again later",
        ],
    ),
    (
        Reason::Policy,
        &[
            "policy",
            "not authorized",
            "not authorised",
            "unauthorized",
            "administrative prohibition",
            "prohibited",
            "access denied",
            "restricted",
            "not allowed",
            "refused",
        ],
    ),
];

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
    first(&STRONG, folded)
}

/// The reason a vague phrase in `folded` names, if any.
pub(super) fn weak(folded: &str) -> Option<Reason> {
    first(&WEAK, folded)
}
