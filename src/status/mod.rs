//! Mail system status codes and what they mean for a reader: the one place where a refusal
//! during a send and a report afterwards are read. A reply code, an enhanced status code
//! (RFC 3463, with the IANA registry of RFC 5248) and the remote server's words in; a
//! [`Reason`] and its [`Class`] out, through one [`classify()`].
//!
//! A leaf: it imports nothing from the rest of the crate, and both `transport` (replies
//! during a dispatch) and `bounces` (reports afterwards) import it, so the two can never
//! disagree on whether a reader's address is gone.

mod classify;
mod codes;
mod ours;
mod reason;
mod stage;
mod theirs;
mod words;

use std::fmt;

use serde::Serialize;

pub(crate) use classify::{Classified, classify, reply_code_in};
pub(crate) use reason::{Class, Reason};

/// An enhanced mail system status code, `class.subject.detail` (RFC 3463).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// What the status is about: 1 addressing, 2 mailbox, 7 security or policy, ...
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl Status {
    /// Reads `5.1.1`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let class: u8 = parts.next()?.parse().ok()?;
        let subject = parts.next()?.parse().ok()?;
        let detail = parts.next()?.parse().ok()?;
        (parts.next().is_none() && matches!(class, 2 | 4 | 5)).then_some(Self {
            class,
            subject,
            detail,
        })
    }

    /// The first enhanced status code in `text` that stands as a word of its own
    /// (`550 5.1.1 <a@b>`, `#5.2.2`), if any; version numbers and IP addresses are not codes.
    pub fn find_in(text: &str) -> Option<Self> {
        Self::all_in(text).next()
    }

    /// Every enhanced status code in `text` that stands as a word of its own, in order.
    pub fn all_in(text: &str) -> impl Iterator<Item = Self> + '_ {
        let bytes = text.as_bytes();
        let mut at = 0;
        std::iter::from_fn(move || {
            while at < bytes.len() {
                let start = at;
                at += 1;
                let starts_word = start == 0
                    || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'.');
                if !(starts_word && matches!(bytes[start], b'2' | b'4' | b'5')) {
                    continue;
                }
                let found = code_len(&bytes[start..])
                    .and_then(|len| Some((len, Self::parse(&text[start..start + len])?)));
                if let Some((len, status)) = found {
                    at = start + len;
                    return Some(status);
                }
            }
            None
        })
    }

    /// True for a permanent failure (`5.x.x`).
    pub fn is_permanent(self) -> bool {
        self.class == 5
    }

    /// True when the code speaks of the recipient's address or mailbox (RFC 3463: X.1.x but
    /// X.1.7 and X.1.8, which are the sender's address; X.2.x).
    pub fn about_recipient(self) -> bool {
        matches!((self.subject, self.detail), (1, d) if d != 7 && d != 8) || self.subject == 2
    }

    /// True when the code says nothing beyond its class (`5.0.0`, `4.0.0`).
    pub fn is_generic(self) -> bool {
        self.subject == 0 && self.detail == 0
    }
}

/// The length of a code like `5.1.1` at the start of `bytes`, ending at a word boundary.
fn code_len(bytes: &[u8]) -> Option<usize> {
    let digits = |from: usize| {
        let n = bytes
            .get(from..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (1..=3).contains(&n).then_some(n)
    };
    if bytes.get(1) != Some(&b'.') {
        return None;
    }
    let dot = 2 + digits(2)?;
    if bytes.get(dot) != Some(&b'.') {
        return None;
    }
    let end = dot + 1 + digits(dot + 1)?;
    let boundary = bytes
        .get(end)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'.'));
    boundary.then_some(end)
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests;
