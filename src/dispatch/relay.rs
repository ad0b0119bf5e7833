//! The seam between the dispatcher and the SMTP relay: a connection that sends one message
//! at a time and says precisely what happened to it.

use std::future::Future;

/// What happened to one message, classified the way the ledger needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// 250 after the final dot.
    Sent(String),
    /// A 4xx reply, or a failure before the body was sent: safe to try again later.
    /// `slow_down` is set for 421 and 4.7.x, the relay's way of saying "too fast".
    Transient {
        /// The reply or error.
        reply: String,
        /// Whether the relay asked us to slow down.
        slow_down: bool,
    },
    /// A 5xx reply: never tried again. `hard_bounce` for 5.1.x (no such mailbox).
    Permanent {
        /// The reply.
        reply: String,
        /// Whether the address itself is bad, so it joins the suppression list.
        hard_bounce: bool,
    },
    /// The body went out and no reply came: it may have been delivered.
    Ambiguous(String),
}

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The relay is unreachable, busy or timing out: try again later.
    Transient(String),
    /// The relay refused our credentials or our sender: stop the run.
    Refused(String),
}

/// One open connection to the relay.
pub trait Connection: Send {
    /// Sends `message` from `from` to the single recipient `to`. Returns what happened and
    /// whether the connection can be used again (never after a timeout or a broken stream).
    fn send(
        &mut self,
        from: &str,
        to: &str,
        message: &[u8],
    ) -> impl Future<Output = (Delivery, bool)> + Send;
}

/// Opens connections to the relay.
pub trait Relay: Send + Sync + 'static {
    /// The connection type.
    type Connection: Connection + 'static;

    /// Opens, greets, secures and authenticates a new connection.
    fn connect(&self) -> impl Future<Output = Result<Self::Connection, ConnectError>> + Send;
}

/// Classifies an SMTP reply code and text.
pub fn classify(code: u16, text: &str) -> Delivery {
    let reply = format!("{code} {text}").trim_end().to_owned();
    let enhanced = text.split_whitespace().next().unwrap_or_default();
    match code {
        200..=299 => Delivery::Sent(reply),
        400..=499 => Delivery::Transient {
            slow_down: code == 421 || enhanced.starts_with("4.7."),
            reply,
        },
        _ => Delivery::Permanent {
            hard_bounce: enhanced.starts_with("5.1."),
            reply,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_replies() {
        assert_eq!(
            classify(250, "2.0.0 Ok: queued"),
            Delivery::Sent("250 2.0.0 Ok: queued".into())
        );
        assert!(matches!(
            classify(451, "4.3.0 later"),
            Delivery::Transient {
                slow_down: false,
                ..
            }
        ));
        assert!(matches!(
            classify(421, "closing"),
            Delivery::Transient {
                slow_down: true,
                ..
            }
        ));
        assert!(matches!(
            classify(450, "4.7.1 rate"),
            Delivery::Transient {
                slow_down: true,
                ..
            }
        ));
        assert!(matches!(
            classify(550, "5.1.1 no such user"),
            Delivery::Permanent {
                hard_bounce: true,
                ..
            }
        ));
        assert!(matches!(
            classify(554, "5.7.1 spam"),
            Delivery::Permanent {
                hard_bounce: false,
                ..
            }
        ));
    }
}
