//! What the codes alone say: an enhanced status code (RFC 3463 and the IANA registry of
//! RFC 5248, with the details Microsoft 365 documents for its own 5.7.x replies) or a basic
//! reply code (RFC 5321, RFC 7504) in, a reason out, and whether the code is specific
//! enough to stand against the server's vaguer words ("timed out", "policy").

use super::{Reason, Status};

/// A reason read from a code, and whether the code names it precisely (5.1.1) or only a
/// family (5.0.0, 5.7.1, a bare 550).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FromCode {
    pub reason: Reason,
    pub specific: bool,
}

fn specific(reason: Reason) -> Option<FromCode> {
    Some(FromCode {
        reason,
        specific: true,
    })
}

fn family(reason: Reason) -> Option<FromCode> {
    Some(FromCode {
        reason,
        specific: false,
    })
}

/// The reason an enhanced status code gives; `None` for a success (2.x.x).
pub(super) fn enhanced(status: Status) -> Option<FromCode> {
    if status.class == 2 {
        return None;
    }
    let permanent = status.is_permanent();
    match (status.subject, status.detail) {
        (1, 1 | 3) => specific(Reason::UserUnknown),
        // 5.1.10: the recipient's domain has a null MX (RFC 7505).
        (1, 2 | 10) => specific(Reason::HostUnknown),
        (1, 6) => specific(Reason::MailboxDisabled),
        (1, 7 | 8) => specific(Reason::SenderRefused),
        // 5.2.1 is "mailbox disabled" in RFC 3463; Postfix and Gmail also send it for a
        // mailbox over quota or receiving too fast, which their words then say.
        (2, 1) => specific(Reason::MailboxDisabled),
        (2, 2) => specific(Reason::MailboxFull),
        (2, 3) | (3, 4) => specific(Reason::MessageTooLarge),
        (3, _) | (2, 4) => family(Reason::System),
        // 5.4.4: no route to the domain (Postfix: "Host or domain name not found"), but
        // also a DNS lookup that failed otherwise ("Malformed or unexpected name server
        // reply"): the words say which.
        (4, 4) if permanent => family(Reason::HostUnknown),
        (4, 6) => specific(Reason::Network),
        (4, 7) => specific(Reason::Expired),
        (4, 5) => family(Reason::System),
        (4, _) => family(Reason::Network),
        (5, 3) => specific(Reason::RateLimited),
        (6, _) => specific(Reason::ContentRejected),
        (7, _) => security(status.detail),
        _ => family(Reason::Unknown),
    }
}

/// The security and policy codes, `X.7.detail`.
fn security(detail: u16) -> Option<FromCode> {
    match detail {
        // SMTP AUTH and message integrity (RFC 4954), DKIM, SPF, reverse DNS, ARC
        // (RFC 7372, RFC 8617), Microsoft's 5.7.57 and 5.7.509 (DMARC).
        7..=9 | 11..=14 | 20..=24 | 26 | 29 | 57 | 509 => specific(Reason::Authentication),
        // Reverse DNS failed (RFC 7372), a mail flood (the registry's X.7.28), and
        // Microsoft's banned IPs and senders (5.7.511, 5.7.606 to 5.7.649, 5.7.7xx).
        25 | 28 | 511 | 606..=649 | 700..=799 => specific(Reason::Blocked),
        // The mailbox or domain changed owner since the reader subscribed (RFC 7293).
        17 | 18 => specific(Reason::MailboxDisabled),
        // The sender's domain has a null MX (RFC 7505).
        27 => specific(Reason::SenderRefused),
        _ => family(Reason::Policy),
    }
}

/// The reason a basic reply code gives, without an enhanced code (RFC 5321 section 4.2.3,
/// RFC 7504 for 521 and 556): never specific, since servers use 550 and 554 for anything.
pub(super) fn basic(code: u16) -> Option<FromCode> {
    match code {
        421 | 451 | 452 => family(Reason::System),
        // "User not local": the mailbox moved.
        551 => family(Reason::MailboxDisabled),
        552 => family(Reason::MailboxFull),
        // "Host / domain does not accept mail".
        521 | 556 => family(Reason::HostUnknown),
        // Authentication required, failed or too weak: our login to the relay.
        530 | 534 | 535 | 538 => family(Reason::Authentication),
        400..=599 => family(Reason::Unknown),
        _ => None,
    }
}
