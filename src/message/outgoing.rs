//! The last steps every outgoing message takes, whatever wrote its bytes (a volume's variant
//! spliced for one reader, a proof copy, a notice `serve` mails): DKIM signing when the
//! project signs, then the envelope, whose sender is the message's own VERP return path when
//! it belongs to a volume's dispatch. One assembly, so that no kind of mail leaves unsigned or
//! with another return path than the rest.

use super::Personal;
use super::dkim::Signer as Dkim;
use crate::audience::Address;
use crate::unsubscribe::Signer;
use crate::verp;

/// The SMTP envelope of one message: our sender and exactly one recipient.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `MAIL FROM`.
    pub from: String,
    /// `RCPT TO`: the one recipient.
    pub to: Address,
    /// The message's Message-ID, with its angle brackets.
    pub message_id: String,
}

impl Envelope {
    /// The envelope of the message to `personal`, from `from`.
    pub fn new(from: &str, personal: &Personal<'_>) -> Self {
        Self {
            from: from.to_owned(),
            to: personal.to.clone(),
            message_id: personal.message_id.to_owned(),
        }
    }
}

/// A message ready for the transport.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Who it goes from and to, for `MAIL FROM` and `RCPT TO`.
    pub envelope: Envelope,
    /// The message as it goes on the wire.
    pub message: String,
}

/// A dispatched message's return path: `bounce+TOKEN@…` for its volume and reader.
#[derive(Debug, Clone, Copy)]
pub struct ReturnPath<'a> {
    /// `[sender] bounce`.
    pub bounce: &'a str,
    /// The token signer.
    pub signer: &'a Signer,
    /// The volume the message carries.
    pub volume: u32,
}

/// How a project's messages leave.
#[derive(Debug, Clone, Copy)]
pub struct Assembly<'a> {
    /// `[sender] from`: the envelope sender of every message without a return path of its own.
    pub from: &'a str,
    /// The DKIM signer, when the project signs its messages.
    pub dkim: Option<&'a Dkim>,
    /// The VERP return path, for the messages of a volume's dispatch.
    pub return_path: Option<ReturnPath<'a>>,
}

impl Assembly<'_> {
    /// Signs `message`, the message to `to` whose Message-ID is `message_id`, and puts it in
    /// its envelope.
    pub fn seal(&self, to: &Address, message_id: &str, message: String) -> Outgoing {
        let message = match self.dkim {
            Some(dkim) => dkim.sign(message),
            None => message,
        };
        let from = match self.return_path {
            Some(r) => verp::envelope_sender(r.bounce, r.signer, r.volume, to),
            None => self.from.to_owned(),
        };
        Outgoing {
            envelope: Envelope {
                from,
                to: to.clone(),
                message_id: message_id.to_owned(),
            },
            message,
        }
    }
}
