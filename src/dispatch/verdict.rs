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
    /// The relay refused this message for good. `hard_bounce` for 5.1.x (a bad mailbox).
    Failed {
        /// The reply.
        reply: String,
        /// Whether the address belongs on the suppression list.
        hard_bounce: bool,
    },
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
            Stage::RcptTo | Stage::Data | Stage::FinalReply => {
                let reply = reply_of(&detail);
                let hard_bounce = enhanced(&reply).starts_with("5.1.");
                Verdict::Failed { reply, hard_bounce }
            }
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
            Verdict::Failed {
                reply: "550 5.1.1 no such user".into(),
                hard_bounce: true
            }
        );
        assert_eq!(
            permanent(Stage::FinalReply, "permanent error (554): 5.7.1 spam"),
            Verdict::Failed {
                reply: "554 5.7.1 spam".into(),
                hard_bounce: false
            }
        );
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
