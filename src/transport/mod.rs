//! Transports: a built message and its envelope in, a delivery report or a classified
//! failure out. `outbox` writes files; `smtp` hands messages to a relay one recipient per
//! transaction. The failure kinds say what a sender may do next: retry (nothing reached the
//! relay's queue), give up (the relay said no for good), or never resend automatically
//! (the body was sent and no answer came).

mod outbox;
mod reply;
mod smtp;
pub(crate) mod tls;

use std::fmt;
use std::future::Future;

pub use outbox::Outbox;
pub use reply::{Reply, Status, mask_addresses};
pub use smtp::Smtp;

/// The envelope a transport takes with each message.
pub use crate::message::outgoing::Envelope;

use crate::settings::{Route, Sending};

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The relay's final reply, or where the outbox wrote the message.
    pub reply: Reply,
}

/// The step of an SMTP exchange at which something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Checking the settings before any connection.
    Policy,
    /// Opening the connection (TCP, TLS, greeting, EHLO, STARTTLS).
    Connect,
    /// Authenticating.
    Auth,
    /// `MAIL FROM`.
    MailFrom,
    /// `RCPT TO`.
    RcptTo,
    /// `DATA` and the body up to the final dot.
    Data,
    /// Waiting for the reply to the final dot.
    FinalReply,
    /// Writing to the outbox.
    Outbox,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Policy => "before connecting",
            Self::Connect => "connecting",
            Self::Auth => "authenticating",
            Self::MailFrom => "MAIL FROM",
            Self::RcptTo => "RCPT TO",
            Self::Data => "sending the body",
            Self::FinalReply => "waiting for the reply to the body",
            Self::Outbox => "writing to the outbox",
        })
    }
}

/// Why a message was not delivered; callers branch on the kind.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Nothing was queued; trying again later may work (a 4xx reply, a dropped or timed-out
    /// connection before the final dot).
    #[error("{stage}: {reply} (temporary; safe to retry)")]
    Transient {
        /// Where it failed.
        stage: Stage,
        /// The reply, or what happened instead.
        reply: Reply,
    },
    /// The relay or our own rules refuse it for good (a 5xx reply, a setting that forbids
    /// the connection); retrying will not help.
    #[error("{stage}: {reply}")]
    Permanent {
        /// Where it failed.
        stage: Stage,
        /// The reply, or what happened instead.
        reply: Reply,
    },
    /// The body went out but no reply to the final dot came: the relay may or may not have
    /// queued it, so it must not be resent automatically.
    #[error("{reply} after the body was sent: it may or may not have been delivered")]
    Ambiguous {
        /// What happened.
        reply: Reply,
    },
}

/// A message's in-flight mark in the ledger, as a transport sees it: asked for as the
/// transaction starts, awaited before the body leaves. Asked for early, a mark is written
/// in one commit with the marks of other connections whose transactions started meanwhile.
pub trait Mark: Send {
    /// The transaction is starting: the mark may be written from now on.
    fn request(&mut self);

    /// Resolves once the body may leave (`true`: the mark is durable) or may never leave
    /// (`false`); asks for the mark first if [`request`](Self::request) was not called.
    fn durable(self) -> impl Future<Output = bool> + Send;
}

/// The mark of a message no ledger records (a notice `serve` mails, a test's): the body may
/// always leave.
#[derive(Debug, Clone, Copy)]
pub struct Unrecorded;

impl Mark for Unrecorded {
    fn request(&mut self) {}

    async fn durable(self) -> bool {
        true
    }
}

/// Sends messages one recipient at a time.
pub trait Transport {
    /// Hands one message to the transport. A transport calls `mark.request()` as the
    /// transaction starts and awaits `mark.durable()` before any byte of the body: it sends
    /// none of the body until that says `true`, and none at all on `false`.
    fn send(
        &mut self,
        envelope: &Envelope,
        message: &str,
        mark: impl Mark,
    ) -> impl Future<Output = Result<Delivery, SendError>> + Send;

    /// Ends the session politely (SMTP `QUIT`); errors do not matter by then.
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Where messages go, for reports: a folder or `host:port`.
    fn describe(&self) -> String;
}

/// What a transport returns when the mark said no: nothing was sent.
pub(crate) fn held(stage: Stage) -> SendError {
    SendError::Transient {
        stage,
        reply: Reply::none("not sent: the ledger could not record it in flight"),
    }
}

/// The transport `broadsheet.toml` selects.
#[derive(Debug)]
pub enum Configured {
    /// `kind = "outbox"`.
    Outbox(Outbox),
    /// `kind = "smtp"` (boxed: it holds a whole connection).
    Smtp(Box<Smtp>),
}

impl Configured {
    /// Builds the transport `sending` names for the project in `root`; the SMTP password is
    /// read from its environment variable here, and nothing connects yet.
    pub fn new(root: &std::path::Path, sending: &Sending) -> anyhow::Result<Self> {
        Ok(match &sending.route {
            Route::Outbox(dir) => Self::Outbox(Outbox::new(root.join(dir))),
            Route::Smtp(route) => Self::Smtp(Box::new(Smtp::new(route, &route.ehlo)?)),
        })
    }
}

impl Transport for Configured {
    async fn send(
        &mut self,
        envelope: &Envelope,
        message: &str,
        mark: impl Mark,
    ) -> Result<Delivery, SendError> {
        match self {
            Self::Outbox(t) => t.send(envelope, message, mark).await,
            Self::Smtp(t) => t.send(envelope, message, mark).await,
        }
    }

    async fn close(&mut self) {
        match self {
            Self::Outbox(t) => t.close().await,
            Self::Smtp(t) => t.close().await,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Outbox(t) => t.describe(),
            Self::Smtp(t) => t.describe(),
        }
    }
}
