//! Status codes and what they mean for an address: an enhanced status (`5.1.1`, RFC 3463)
//! or a text in, whether the failure is the address's own and final, out. The rule is
//! deliberately narrow, because a suppression is hard to undo: only "this mailbox does not
//! exist or is disabled" is permanent; policy refusals (5.7.x, often a spam filter or our
//! own reputation), a full mailbox (5.2.2) and expiry after retries (5.4.7) are not.

/// How a report ended for one recipient (the DSN's `Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The message was not delivered and will not be.
    Failed,
    /// Delivery is still being tried: a warning that changes nothing.
    Delayed,
    /// Delivered, relayed or expanded: not a failure.
    Delivered,
}

impl Action {
    /// The DSN `Action` value's meaning.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "delayed" => Self::Delayed,
            "delivered" | "relayed" | "expanded" => Self::Delivered,
            _ => Self::Failed,
        }
    }
}

/// The first enhanced status code (`class.subject.detail`) in `text`, if any.
pub fn enhanced_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let starts_word =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'.');
        if starts_word
            && matches!(bytes[at], b'2' | b'4' | b'5')
            && let Some(len) = code_len(&bytes[at..])
        {
            return Some(text[at..at + len].to_owned());
        }
        at += 1;
    }
    None
}

/// The length of a code like `5.1.1` at the start of `bytes`, ending at a word boundary.
fn code_len(bytes: &[u8]) -> Option<usize> {
    let digits = |from: usize, max: usize| {
        let n = bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (1..=max).contains(&n).then_some(n)
    };
    if bytes.get(1) != Some(&b'.') {
        return None;
    }
    let subject = digits(2, 3)?;
    let dot = 2 + subject;
    if bytes.get(dot) != Some(&b'.') {
        return None;
    }
    let detail = digits(dot + 1, 3)?;
    let end = dot + 1 + detail;
    let boundary = bytes
        .get(end)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'.'));
    boundary.then_some(end)
}

/// Whether `status` (an enhanced code) says the address itself is gone for good.
pub fn is_permanent(status: &str) -> bool {
    let mut parts = status.split('.');
    let (Some(class), Some(subject), Some(detail)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    class == "5"
        && match subject {
            // Bad destination mailbox or address; a bad destination system (no such domain).
            "1" => true,
            // Mailbox disabled (5.2.1); not full (5.2.2) nor too big a message (5.2.3).
            "2" => detail == "1",
            _ => false,
        }
}

/// A status for a failure that names none, read from its words: "user unknown" and its
/// kin give 5.1.1, "mailbox full" 4.2.2; `None` when the words say nothing certain.
pub fn from_words(text: &str) -> Option<&'static str> {
    const UNKNOWN: [&str; 16] = [
        "user unknown",
        "unknown user",
        "no such user",
        "no such mailbox",
        "no such recipient",
        "unknown recipient",
        "invalid recipient",
        "recipient unknown",
        "mailbox unavailable",
        "mailbox not found",
        "does not exist",
        "doesn't exist",
        "not a valid mailbox",
        "address rejected",
        "no mailbox here",
        "account has been disabled",
    ];
    const FULL: [&str; 6] = [
        "mailbox full",
        "quota exceeded",
        "over quota",
        "overquota",
        "mailbox is full",
        "mailfolder is full",
    ];
    let lower = text.to_ascii_lowercase();
    if UNKNOWN.iter().any(|w| lower.contains(w)) {
        Some("5.1.1")
    } else if FULL.iter().any(|w| lower.contains(w)) {
        Some("4.2.2")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_are_found_at_word_boundaries() {
        assert_eq!(
            enhanced_in("smtp; 550 5.1.1 <a@b>: no such user").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_in("#5.2.2 mailbox full").as_deref(), Some("5.2.2"));
        assert_eq!(enhanced_in("version 15.1.1 and 1.2.3.4 and 5.1"), None);
        assert_eq!(enhanced_in("4.4.7"), Some("4.4.7".to_owned()));
    }

    #[test]
    fn only_a_missing_or_disabled_mailbox_is_permanent() {
        for status in ["5.1.1", "5.1.10", "5.1.2", "5.2.1"] {
            assert!(is_permanent(status), "{status}");
        }
        for status in ["5.7.1", "5.2.2", "4.2.2", "5.4.7", "4.1.1", "5.0.0", "x"] {
            assert!(!is_permanent(status), "{status}");
        }
    }

    #[test]
    fn words_give_a_status_only_when_certain() {
        assert_eq!(from_words("550 User unknown"), Some("5.1.1"));
        assert_eq!(from_words("Quota exceeded"), Some("4.2.2"));
        assert_eq!(from_words("delivery failed"), None);
    }
}
