//! Service notices, such as the sign-up confirmation `serve` mails: a plain-text message
//! from the list's sender to one address, with the same header writer as the newsletter.

use super::header;
use crate::audience::Address;
use crate::clock::Timestamp;
use crate::encoding;
use crate::settings::Identity;

/// A notice's parts.
#[derive(Debug)]
pub struct Notice<'a> {
    /// The list's sender.
    pub identity: &'a Identity,
    /// The one recipient.
    pub to: &'a Address,
    /// The subject.
    pub subject: &'a str,
    /// The text, lines separated by `\n`.
    pub text: &'a str,
    /// The Date.
    pub date: Timestamp,
    /// The Message-ID, with angle brackets.
    pub message_id: &'a str,
}

impl Notice<'_> {
    /// The message as it goes on the wire (CRLF line ends, UTF-8 text encoded for 7-bit).
    pub fn build(&self) -> String {
        let identity = self.identity;
        let body = encoding::encode(self.text);
        let mut out = String::new();
        out.push_str(&header::mailbox(
            "From",
            identity.name.as_deref(),
            &identity.from,
        ));
        out.push_str(&header::mailbox("To", None, self.to.as_str()));
        out.push_str(&header::unstructured("Subject", self.subject));
        out.push_str(&format!("Date: {}\r\n", self.date.rfc5322()));
        out.push_str(&format!("Message-ID: {}\r\n", self.message_id));
        out.push_str("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
        out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        out.push_str(&format!(
            "Content-Transfer-Encoding: {}\r\n\r\n",
            body.encoding.as_str()
        ));
        out.push_str(&body.body);
        if !out.ends_with("\r\n") {
            out.push_str("\r\n");
        }
        out
    }
}
