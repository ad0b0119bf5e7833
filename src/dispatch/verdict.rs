//! What a transport's answer means for the ledger: sent, deferred (try again later), failed
//! (never again), ambiguous (never again automatically), or refused (the relay will not take
//! anything from us: stop the run).

use crate::transport::{self, SendError, Stage};

/// The ledger's reading of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The relay took it.
    Sent(String),
    /// Nothing was queued; try again later. `slow_down` for 421 and 4.7.x.
    Deferred {
        /// The reply or error.
        reply: String,
        /// Whether the relay asked us to slow down.
        slow_down: bool,
    },
    /// The relay refused this message for good (see [`is_hard_bounce`] for the replies
    /// that also put the address on the suppression list).
    Failed(String),
    /// The body went out and no reply came.
    Ambiguous(String),
    /// The relay refuses us (credentials, sender, TLS, our own policy): nothing else will
    /// go through, so the run stops, resumable.
    Refused(String),
}

/// Reads a transport's answer.
pub fn judge(result: Result<transport::Delivery, SendError>) -> Verdict {
    match result {
        Ok(delivery) => Verdict::Sent(delivery.reply),
        Err(SendError::Ambiguous { detail }) => Verdict::Ambiguous(detail),
        Err(SendError::Transient { detail, .. }) => {
            let reply = reply_of(&detail);
            let slow_down = reply.starts_with("421") || enhanced(&reply).starts_with("4.7.");
            Verdict::Deferred { reply, slow_down }
        }
        Err(SendError::Permanent { stage, detail }) => match stage {
            Stage::RcptTo | Stage::Data | Stage::FinalReply => Verdict::Failed(reply_of(&detail)),
            _ => Verdict::Refused(format!("{stage}: {}", reply_of(&detail))),
        },
    }
}

/// `550 5.1.1 no such user` from lettre's `permanent error (550): 5.1.1 no such user`;
/// anything else as it is.
fn reply_of(detail: &str) -> String {
    let parsed = detail.split_once(" error (").and_then(|(_, rest)| {
        let (code, text) = rest.split_once("): ").or_else(|| rest.split_once(')'))?;
        code.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| format!("{code} {text}"))
    });
    parsed
        .unwrap_or_else(|| detail.to_owned())
        .trim_end()
        .to_owned()
}

/// Whether a recorded reply says the address itself is bad (enhanced status 5.1.x, no such
/// mailbox), so that no later volume should go to it.
pub fn is_hard_bounce(reply: &str) -> bool {
    enhanced(reply).starts_with("5.1.")
}

/// The enhanced status code (`5.1.1`) after the reply code, if there is one.
fn enhanced(reply: &str) -> &str {
    reply.split_whitespace().nth(1).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(stage: Stage, detail: &str) -> Verdict {
        judge(Err(SendError::Permanent {
            stage,
            detail: detail.into(),
        }))
    }

    fn transient(detail: &str) -> Verdict {
        judge(Err(SendError::Transient {
            stage: Stage::RcptTo,
            detail: detail.into(),
        }))
    }

    #[test]
    fn reads_replies_the_way_the_ledger_needs() {
        assert_eq!(
            permanent(Stage::RcptTo, "permanent error (550): 5.1.1 no such user"),
            Verdict::Failed("550 5.1.1 no such user".into())
        );
        assert!(is_hard_bounce("550 5.1.1 no such user"));
        assert_eq!(
            permanent(Stage::FinalReply, "permanent error (554): 5.7.1 spam"),
            Verdict::Failed("554 5.7.1 spam".into())
        );
        assert!(!is_hard_bounce("554 5.7.1 spam"));
        assert_eq!(
            transient("transient error (451): 4.3.0 later"),
            Verdict::Deferred {
                reply: "451 4.3.0 later".into(),
                slow_down: false
            }
        );
        assert!(matches!(
            transient("transient error (421): 4.3.2 closing"),
            Verdict::Deferred {
                slow_down: true,
                ..
            }
        ));
        assert!(matches!(
            transient("transient error (450): 4.7.1 rate"),
            Verdict::Deferred {
                slow_down: true,
                ..
            }
        ));
        assert!(matches!(
            permanent(Stage::Auth, "permanent error (535): 5.7.8 bad credentials"),
            Verdict::Refused(why) if why.contains("535 5.7.8")
        ));
        assert_eq!(
            transient("connecting to 127.0.0.1:25: no answer within 2 s"),
            Verdict::Deferred {
                reply: "connecting to 127.0.0.1:25: no answer within 2 s".into(),
                slow_down: false
            }
        );
    }
}
