//! Messages: a rendered variant and the sender's settings in, the bytes of one RFC 5322
//! message per recipient out (multipart/alternative, text then HTML, UTF-8).
//!
//! A [`MessageTemplate`] is built once per variant: the common headers written, both parts
//! transfer-encoded around their slots, a boundary derived from the content. Per recipient
//! only `To`, `Message-ID`, `List-Unsubscribe` and the spliced URL and greeting change, so
//! building a message is a few copies, not a render.

pub mod dkim;
pub(crate) mod header;
pub mod notice;
pub mod outgoing;
pub mod size;
mod splice;
pub mod variant;

use sha2::{Digest as _, Sha256};

use crate::audience::Address;
use crate::clock::Timestamp;
use crate::encoding::hex;
use crate::render::{GREETING_PLACEHOLDER, Html, Text, UNSUBSCRIBE_PLACEHOLDER};
use crate::settings::Identity;
use crate::unsubscribe::Signer;
use splice::{Slot, SplicedPart};

/// The value of `List-Unsubscribe-Post` (RFC 8058).
pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

const PLACEHOLDERS: [(&str, Slot); 2] = [
    (UNSUBSCRIBE_PLACEHOLDER, Slot::Unsubscribe),
    (GREETING_PLACEHOLDER, Slot::Greeting),
];

/// Both parts of a rendered variant, with the placeholders still in them.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTML part.
    pub html: Html,
    /// The text part.
    pub text: Text,
}

/// What every message of one send shares.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    /// `[sender]`.
    pub identity: &'a Identity,
    /// `[unsubscribe] mailto`, listed second in `List-Unsubscribe`.
    pub mailto: Option<&'a str>,
    /// The list's human name for `List-Id` (the newsletter's title).
    pub list_name: &'a str,
    /// The subject, already with any `[TEST] ` prefix.
    pub subject: &'a str,
    /// The `Date:` of the messages.
    pub date: Timestamp,
}

/// The `mailto:` unsubscribe link: its subject carries the reader's token, so that only a
/// mail sent from the reader's own message unsubscribes them (a From can be forged).
pub fn mailto_link(address: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("<mailto:{address}?subject=unsubscribe%20{token}>"),
        None => format!("<mailto:{address}?subject=unsubscribe>"),
    }
}

/// What differs per recipient.
#[derive(Debug, Clone, Copy)]
pub struct Personal<'a> {
    /// The one address in `To` and the envelope.
    pub to: &'a Address,
    /// The display name in `To`.
    pub name: Option<&'a str>,
    /// The name the reader is greeted by, when the layout greets and they gave one.
    pub greeting: Option<&'a str>,
    /// The Message-ID, with its angle brackets.
    pub message_id: &'a str,
    /// The unsubscribe URL for the header and both bodies.
    pub unsubscribe_url: &'a str,
    /// The reader's token for the `mailto:` unsubscribe link's subject (see
    /// [`crate::verp::Purpose::Mailto`]); `None` for a proof, whose mail names nobody.
    pub mailto_token: Option<&'a str>,
}

/// One variant's messages, ready to be filled in per recipient.
#[derive(Debug, Clone)]
pub struct MessageTemplate {
    head: String,
    mailto: Option<String>,
    text_head: String,
    text: SplicedPart,
    html_head: String,
    html: SplicedPart,
    tail: String,
}

impl MessageTemplate {
    /// Writes the common headers and encodes both parts of `rendered` once.
    pub fn new(common: &Common<'_>, rendered: &Rendered) -> Self {
        let boundary = boundary(rendered);
        let sender = common.identity;
        let mut head = header::unstructured("Date", &common.date.rfc5322());
        head.push_str(&header::mailbox(
            "From",
            sender.name.as_deref(),
            &sender.from,
        ));
        if let Some(reply_to) = &sender.reply_to {
            head.push_str(&header::mailbox("Reply-To", None, reply_to));
        }
        head.push_str(&header::unstructured("Subject", common.subject));
        let mut list_id = header::phrase(common.list_name);
        list_id.push(format!("<{}>", sender.list_id));
        head.push_str(&header::fold_list("List-Id", &list_id, ""));
        if let Some(archive) = &sender.archive {
            head.push_str(&format!("List-Archive: <{archive}>\r\n"));
        }
        // An announcement list: readers cannot post to it (RFC 2369 §3.4). With List-Id and
        // List-Unsubscribe this is what filters such as rspamd read as a mailing list,
        // whose return path (VERP's bounces+TOKEN@) may differ from From.
        head.push_str("List-Post: NO\r\n");
        if let Some(feedback_id) = &sender.feedback_id {
            head.push_str(&header::unstructured("Feedback-ID", feedback_id));
        }
        head.push_str(&format!(
            "List-Unsubscribe-Post: {ONE_CLICK}\r\nMIME-Version: 1.0\r\n"
        ));
        // Folded after the `;`: on one line the field takes 85 octets, past RFC 5322's 78.
        head.push_str(&format!(
            "Content-Type: multipart/alternative;\r\n\tboundary=\"{boundary}\"\r\n"
        ));
        let text = SplicedPart::new(&rendered.text.0, &PLACEHOLDERS);
        let html = SplicedPart::new(&rendered.html.0, &PLACEHOLDERS);
        let part_head = |kind: &str, part: &SplicedPart| {
            format!(
                "--{boundary}\r\nContent-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: {}\r\n\r\n",
                part.encoding().as_str()
            )
        };
        Self {
            head,
            mailto: common.mailto.map(str::to_owned),
            text_head: part_head("plain", &text),
            html_head: format!("\r\n{}", part_head("html", &html)),
            text,
            html,
            tail: format!("\r\n--{boundary}--\r\n"),
        }
    }

    /// The message for one recipient.
    pub fn build(&self, personal: &Personal<'_>) -> String {
        let mut out = String::with_capacity(self.head.len() + self.tail.len() * 2 + 64 * 1024);
        self.write(personal, &mut out);
        out
    }

    /// Appends the message for one recipient to `out`.
    pub fn write(&self, personal: &Personal<'_>, out: &mut String) {
        out.push_str(&self.head);
        out.push_str(&header::mailbox("To", personal.name, personal.to.as_str()));
        out.push_str("Message-ID: ");
        out.push_str(personal.message_id);
        out.push_str("\r\n");
        let url = format!("<{}>", personal.unsubscribe_url);
        let mailto = self
            .mailto
            .as_deref()
            .map(|address| mailto_link(address, personal.mailto_token));
        let links: Vec<&str> = std::iter::once(url.as_str())
            .chain(mailto.as_deref())
            .collect();
        out.push_str(&header::fold_list("List-Unsubscribe", &links, ","));
        out.push_str("\r\n");
        let greeting = personal.greeting.unwrap_or_default();
        out.push_str(&self.text_head);
        self.text.write(out, &|slot| match slot {
            Slot::Unsubscribe => personal.unsubscribe_url,
            Slot::Greeting => greeting,
        });
        out.push_str(&self.html_head);
        let html_url = handlebars::html_escape(personal.unsubscribe_url);
        let html_greeting = handlebars::html_escape(greeting);
        self.html.write(out, &|slot| match slot {
            Slot::Unsubscribe => &html_url,
            Slot::Greeting => &html_greeting,
        });
        out.push_str(&self.tail);
    }
}

/// A boundary derived from the content, so the same variant always gets the same one. It
/// starts with `=_`, which neither quoted-printable nor base64 output can contain.
fn boundary(rendered: &Rendered) -> String {
    let mut hash = Sha256::new();
    hash.update(rendered.text.0.as_bytes());
    hash.update([0]);
    hash.update(rendered.html.0.as_bytes());
    format!("=_broadsheet_{}", hex(&hash.finalize()[..12]))
}

/// The Message-ID of volume `number` for `to`: the same every time it is built, on the
/// sender's domain, revealing nothing readable about the address. Its unique part is a MAC
/// under the unsubscribe secret (as the VERP and unsubscribe tokens are), so that nobody
/// else can compute a reader's Message-ID and a report that carries it is tied to our
/// message (`bounces import` checks it so).
pub fn message_id(signer: &Signer, sender: &Identity, number: u32, to: &Address) -> String {
    format!("<{}@{}>", keyed_part(signer, number, to), sender.domain)
}

/// Whether `id` (with its angle brackets) is the Message-ID [`message_id`] makes for volume
/// `number` to `to`. A Message-ID frozen by a version before the MAC (a plain hash of the
/// list, the volume and the address, which anyone could compute) is not.
pub(crate) fn is_message_id(signer: &Signer, id: &str, number: u32, to: &Address) -> bool {
    id.strip_prefix('<')
        .and_then(|id| id.split_once('@'))
        .is_some_and(|(local, _)| local == keyed_part(signer, number, to))
}

/// A Message-ID as long as [`message_id`]'s, for sizing messages without the secret.
pub(crate) fn sample_message_id(sender: &Identity) -> String {
    format!("<{}@{}>", "0".repeat(2 * ID_BYTES), sender.domain)
}

/// The bytes of a Message-ID's unique part, written in hex.
const ID_BYTES: usize = 16;

fn keyed_part(signer: &Signer, number: u32, to: &Address) -> String {
    let digest = signer.digest(b"message-id", &[&number.to_be_bytes(), to.key().as_bytes()]);
    hex(&digest[..ID_BYTES])
}

/// A fresh Message-ID for a proof copy: proofs must never share the Message-ID of the real
/// message (mail clients would hide one of them) nor of any other proof, even one sent in
/// the same second by another process: 16 random bytes from the system make each unique.
pub fn proof_message_id(sender: &Identity, number: u32, to: &Address) -> anyhow::Result<String> {
    unique_id(
        sender,
        &[b"proof", &number.to_be_bytes(), to.key().as_bytes()],
    )
}

/// A fresh Message-ID for a notice `serve` mails (`kind`: confirmation, welcome, ...).
pub fn notice_message_id(sender: &Identity, kind: &str) -> anyhow::Result<String> {
    unique_id(sender, &[b"notice", kind.as_bytes()])
}

/// A Message-ID from `parts` and 16 random bytes: never two alike.
fn unique_id(sender: &Identity, parts: &[&[u8]]) -> anyhow::Result<String> {
    let mut nonce = [0; 16];
    aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    let mut all = parts.to_vec();
    all.push(&nonce);
    Ok(id_for(sender, &all))
}

fn id_for(sender: &Identity, parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    hash.update(sender.list_id.as_bytes());
    for part in parts {
        hash.update([0]);
        hash.update(part);
    }
    format!("<{}@{}>", hex(&hash.finalize()[..ID_BYTES]), sender.domain)
}

#[cfg(test)]
mod tests;
