//! Each recipient's message, from the variants rendered once for the run: the unsubscribe
//! token and URL, the `To`, the Message-ID frozen in the ledger, spliced into pre-encoded
//! bytes. Owned, so every worker can build from it.

use std::collections::HashMap;

use anyhow::Context as _;

use crate::audience::VariantKey;
use crate::ledger::{Entry, Ledger};
use crate::message::Personal;
use crate::message::dkim::Signer as Dkim;
use crate::message::outgoing::{Assembly, ReturnPath};
use crate::message::variant::{Variant, Variants};
use crate::settings::UnsubscribeLink;
use crate::transport::Envelope;
use crate::unsubscribe::{self, Signer};
use crate::verp::{self, Purpose};

/// Builds the messages of one dispatch run.
#[derive(Debug)]
pub(crate) struct Messages {
    /// Rendered variants by their key's text in the ledger (`all`, `topics:a,b`).
    pub(crate) variants: HashMap<String, Variant>,
    /// Signs unsubscribe tokens.
    pub(crate) signer: Signer,
    /// `[unsubscribe]`, for the URL template.
    pub(crate) unsubscribe: UnsubscribeLink,
    /// The envelope sender.
    pub(crate) from: String,
    /// The volume the messages carry.
    pub(crate) volume: u32,
    /// `[sender] bounce`, when each message gets its own return path (VERP).
    pub(crate) bounce: Option<String>,
    /// Whether `List-Unsubscribe` offers a `mailto:` link, which then carries a token.
    pub(crate) mailto: bool,
    /// Signs each message after its splice, when the project has `[dkim]`.
    pub(crate) dkim: Option<Dkim>,
}

impl Messages {
    /// The envelope of `entry`'s message, and the message as it goes on the wire.
    pub(crate) fn build(&self, entry: &Entry) -> anyhow::Result<(Envelope, String)> {
        let to = &entry.address;
        let variant = self
            .variants
            .get(&entry.variant)
            .with_context(|| format!("variant `{}` was not rendered", entry.variant))?;
        let url = unsubscribe::volume_url(&self.unsubscribe, &self.signer.token(to), self.volume);
        let mailto_token = self
            .mailto
            .then(|| verp::token(&self.signer, Purpose::Mailto, self.volume, to));
        let personal = Personal {
            to,
            name: entry.name.as_deref(),
            greeting: entry.greeting.as_deref(),
            message_id: &entry.message_id,
            unsubscribe_url: &url,
            mailto_token: mailto_token.as_deref(),
        };
        let assembly = Assembly {
            from: &self.from,
            dkim: self.dkim.as_ref(),
            return_path: self.bounce.as_deref().map(|bounce| ReturnPath {
                bounce,
                signer: &self.signer,
                volume: self.volume,
            }),
        };
        let sealed = assembly.seal(to, &entry.message_id, variant.build(&personal));
        Ok((sealed.envelope, sealed.message))
    }
}

/// Renders the variants the frozen recipients of `dispatch` get.
pub(crate) fn rendered(
    ledger: &Ledger,
    dispatch: i64,
    variants: &mut Variants<'_>,
) -> anyhow::Result<HashMap<String, Variant>> {
    let mut rendered = HashMap::new();
    for text in ledger.variants(dispatch)? {
        let key: VariantKey = text.parse()?;
        let variant = variants
            .get(&key)?
            .with_context(|| format!("variant `{text}` has no picks any more"))?;
        rendered.insert(text, variant.clone());
    }
    Ok(rendered)
}
