//! What a transport's answer means for the ledger: sent, deferred (try again later), failed
//! (never again), ambiguous (never again automatically), or refused (the relay will not take
//! anything from us: stop the run).

use crate::transport::{self, Reply, SendError, Stage};

/// The ledger's reading of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The relay took it.
    Sent(Reply),
    /// Nothing was queued; try again later.
    Deferred(Reply),
    /// The relay refused this message for good (one of class hard also puts the address on the
    /// suppression list, unless the relay turns out to refuse everyone).
    Failed(Reply),
    /// The body went out and no reply came.
    Ambiguous(Reply),
    /// The relay refuses us (credentials, sender, certificate, our own policy): nothing
    /// else will go through, so the run stops, resumable.
    Refused(Stage, Reply),
}

/// Reads a transport's answer.
pub(crate) fn judge(result: Result<transport::Delivery, SendError>) -> Verdict {
    match result {
        Ok(delivery) => Verdict::Sent(delivery.reply),
        Err(SendError::Ambiguous { reply }) => Verdict::Ambiguous(reply),
        Err(SendError::Transient { reply, .. }) => Verdict::Deferred(reply),
        Err(SendError::Permanent { stage, reply }) => match stage {
            Stage::RcptTo | Stage::Data | Stage::FinalReply => Verdict::Failed(reply),
            _ => Verdict::Refused(stage, reply),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(stage: Stage, code: u16, text: &str) -> Verdict {
        judge(Err(SendError::Permanent {
            stage,
            reply: Reply::with_code(code, text),
        }))
    }

    #[test]
    fn reads_replies_the_way_the_ledger_needs() {
        let bounce = permanent(Stage::RcptTo, 550, "5.1.1 no such user");
        assert_eq!(
            bounce,
            Verdict::Failed(Reply::with_code(550, "5.1.1 no such user"))
        );
        assert!(matches!(
            permanent(Stage::FinalReply, 554, "5.7.1 spam"),
            Verdict::Failed(r) if !r.is_hard_bounce()
        ));
        assert!(matches!(
            permanent(Stage::Auth, 535, "5.7.8 bad credentials"),
            Verdict::Refused(Stage::Auth, r) if r.code == Some(535)
        ));
        assert!(matches!(
            permanent(Stage::MailFrom, 553, "5.7.1 sender not allowed"),
            Verdict::Refused(Stage::MailFrom, _)
        ));
        assert!(matches!(
            permanent(Stage::Connect, 0, "invalid peer certificate"),
            Verdict::Refused(Stage::Connect, _)
        ));
        let timeout = judge(Err(SendError::Transient {
            stage: Stage::Connect,
            reply: Reply::none("connecting to 127.0.0.1:25: no answer within 2 s"),
        }));
        assert!(matches!(timeout, Verdict::Deferred(r) if r.code.is_none()));
    }
}
