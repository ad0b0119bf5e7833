//! DKIM signing (RFC 6376; Ed25519 by RFC 8463): one recipient's finished message in, the
//! same bytes with a `DKIM-Signature` field per configured key in front, out.
//!
//! Signing comes after the per-recipient splice because the body carries that recipient's
//! unsubscribe URL and name: the body hash differs per recipient, so it is computed per
//! message (a SHA-256 pass over the bytes, small beside an RSA signature). Both
//! canonicalizations are relaxed. The signed fields are those a receiver shows or acts on,
//! `List-Unsubscribe` and `List-Unsubscribe-Post` included (RFC 8058 §4 requires them).

mod canon;
mod key;
mod key_info;

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

pub use crate::settings::Algorithm;
pub use key::Key;

use crate::diag::{Diagnostic, Diagnostics};
use crate::project::Project;
use crate::settings::Dkim;

/// The fields signed when present, in this order.
const SIGNED: [&str; 14] = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Archive",
    "List-Post",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "Feedback-ID",
];

/// The fields signed once more than they occur (RFC 6376 §8.15, "oversigning"): a verifier
/// reads the extra name as an empty field, so a copy with one of them prepended after
/// signing (a second From, a forged List-Unsubscribe) fails verification.
const OVERSIGNED: [&str; 4] = [
    "From",
    "Subject",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The `h=` tag's names, joined by `:` and folded before a line passes 78 characters (RFC
/// 6376 allows folding whitespace around each colon; relaxed canonicalization removes it).
fn fold_names(names: &[String]) -> String {
    let mut folded = String::new();
    let mut line = "\th=".len();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            folded.push(':');
            line += 1;
            if line + name.len() + 1 > 78 {
                folded.push_str("\r\n\t ");
                line = 2;
            }
        }
        folded.push_str(name);
        line += name.len();
    }
    folded
}

/// The leading tags of a signature, joined by `; ` and folded before a tag that would take
/// the line past 78 octets (RFC 6376 §3.2 allows folding whitespace between tags; relaxed
/// canonicalization removes it).
fn fold_tags(tags: &[&str]) -> String {
    let mut folded = String::new();
    let mut line = "DKIM-Signature: ".len();
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            folded.push(';');
            line += 1;
            // The tag, then the `;` that ends it.
            if line + 1 + tag.len() + 1 > 78 {
                folded.push_str("\r\n\t");
                line = 1;
            } else {
                folded.push(' ');
                line += 1;
            }
        }
        folded.push_str(tag);
        line += tag.len();
    }
    folded
}

/// Signs messages for one domain with one or more keys.
#[derive(Debug)]
pub struct Signer {
    domain: String,
    keys: Vec<(String, Key)>,
}

impl Signer {
    /// The signer `[dkim]` describes, its keys read from the environment or the key file
    /// (relative to `root`, readable by its owner only); none without `[dkim]`.
    pub fn from_settings(dkim: Option<&Dkim>, root: &Path) -> anyhow::Result<Option<Self>> {
        let Some(dkim) = dkim else { return Ok(None) };
        let pem = key::read_pem(dkim, root)?;
        let parsed = Key::parse_all(&pem).with_context(|| key::origin(dkim, root))?;
        let mut keys: Vec<Option<Key>> = parsed.into_iter().map(Some).collect();
        let mut chosen = Vec::new();
        for (algorithm, selector) in dkim.signatures() {
            let key = keys
                .iter_mut()
                .find(|k| k.as_ref().is_some_and(|k| k.kind() == algorithm))
                .and_then(Option::take)
                .with_context(|| {
                    format!(
                        "`[dkim]` lists {} but its key holds no such private key",
                        algorithm.as_str()
                    )
                })?;
            chosen.push((selector.to_owned(), key));
        }
        anyhow::ensure!(
            keys.iter().all(Option::is_none),
            "`[dkim]`'s key holds more keys than `algorithm` lists"
        );
        Ok(Some(Self::new(dkim.domain.get_ref(), chosen)))
    }

    /// A signer for `domain` (the `d=` tag) with `(selector, key)` pairs, one signature each.
    pub fn new(domain: &str, keys: Vec<(String, Key)>) -> Self {
        Self {
            domain: domain.to_owned(),
            keys,
        }
    }

    /// Whether signing costs enough to hold up a thread that serves connections: an RSA-2048
    /// signature takes about a quarter of a millisecond, an Ed25519 one about 15 µs (the body
    /// hash, 25 µs, comes with either; BENCHMARKS.md, "Dispatch: DKIM signing").
    pub fn is_costly(&self) -> bool {
        self.keys
            .iter()
            .any(|(_, key)| key.kind() == Algorithm::RsaSha256)
    }

    /// `message` with one `DKIM-Signature` field per key prepended, in its own buffer (a
    /// message is built with room to spare for them). A message that does not split into a
    /// header and a body (never one we built) is returned unsigned, and a verifier will say
    /// so. A message that does not end with CRLF gets one first: SMTP carries only whole
    /// lines (RFC 5321 §4.1.1.4), so a relay adds it, and a verifier then reads the last
    /// line's trailing spaces as the end of a line and drops them (RFC 6376 §3.4.4), where
    /// a signer that saw no CRLF kept them.
    pub fn sign(&self, mut message: String) -> String {
        if !message.ends_with("\r\n") {
            message.push_str("\r\n");
        }
        let Some((fields, body)) = canon::split(message.as_bytes()) else {
            return message;
        };
        let mut hash = Sha256::new();
        canon::body(body, &mut |bytes| hash.update(bytes));
        let body_hash = STANDARD.encode(hash.finalize());
        let signed: Vec<&canon::Field<'_>> = SIGNED
            .iter()
            .filter_map(|name| {
                // The last instance of a field is the one a verifier takes first.
                fields
                    .iter()
                    .rev()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
            })
            .collect();
        let mut names: Vec<String> = signed.iter().map(|f| f.name.to_ascii_lowercase()).collect();
        names.extend(
            OVERSIGNED
                .iter()
                .filter(|name| signed.iter().any(|f| f.name.eq_ignore_ascii_case(name)))
                .map(|name| name.to_ascii_lowercase()),
        );
        let names = fold_names(&names);
        let mut headers = Vec::with_capacity(1024);
        for field in &signed {
            canon::header(&mut headers, field, true);
        }
        let mut out = String::with_capacity(1024);
        for (selector, key) in &self.keys {
            let tags = fold_tags(&[
                "v=1",
                &format!("a={}", key.algorithm()),
                "c=relaxed/relaxed",
                &format!("d={}", self.domain),
                &format!("s={selector}"),
            ]);
            let unsigned = format!("{tags};\r\n\th={names};\r\n\tbh={body_hash};\r\n\tb=");
            let mut data = headers.clone();
            let field = canon::Field {
                name: "DKIM-Signature",
                value: unsigned.as_bytes(),
            };
            canon::header(&mut data, &field, false);
            let signature = STANDARD.encode(key.sign(&data));
            out.push_str("DKIM-Signature: ");
            out.push_str(&unsigned);
            fold(&mut out, &signature);
        }
        message.insert_str(0, &out);
        message
    }
}

/// `[dkim]`'s keys read as a send would read them, for `check`: a key that cannot be read
/// or used, or that does not match `algorithm`, is an error at the `key_file` or `key_env`
/// line; a `key_env` not set where `check` runs is a warning (the key may live only where
/// messages are sent).
pub(crate) fn check_keys(project: &Project) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let Some(dkim) = &project.settings.dkim else {
        return diags;
    };
    let Some(setting) = dkim.key_file.as_ref().or(dkim.key_env.as_ref()) else {
        return diags;
    };
    let at = |d: Diagnostic| d.at_span(&project.source, setting.span());
    if let Some(name) = &dkim.key_env
        && std::env::var_os(name.get_ref()).is_none()
    {
        let message = format!(
            "the DKIM key is not checked: the environment variable {} is not set here",
            name.get_ref()
        );
        diags.push(at(Diagnostic::warning(message)));
        return diags;
    }
    if let Err(e) = Signer::from_settings(Some(dkim), &project.root) {
        diags.push(at(Diagnostic::error(format!("{e:#}"))));
    }
    diags
}

/// Appends `value` in chunks of 72 characters, each continuation indented, then CRLF, so
/// that no line passes 78: whitespace inside `b=` is ignored by verifiers.
fn fold(out: &mut String, value: &str) {
    let mut rest = value;
    while !rest.is_empty() {
        // base64 is ASCII: any byte is a character boundary.
        let (chunk, tail) = rest.split_at(rest.len().min(72));
        if rest.len() < value.len() {
            out.push_str("\r\n\t ");
        }
        out.push_str(chunk);
        rest = tail;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests;
