//! Each recipient's message, from the variants rendered once for the run: the unsubscribe
//! token and URL, the `To`, the Message-ID frozen in the ledger, spliced into pre-encoded
//! bytes. Owned, so every worker can build from it.

use std::collections::HashMap;

use anyhow::Context as _;

use super::plan::variant_topics;
use crate::audience::Address;
use crate::ledger::{Entry, Ledger};
use crate::message::Personal;
use crate::message::variant::{Variant, Variants};
use crate::settings::Unsubscribe;
use crate::transport::Envelope;
use crate::unsubscribe::{self, Signer};

/// Builds the messages of one dispatch run.
#[derive(Debug)]
pub struct Messages {
    /// Rendered variants by key (`all`, `topics:a,b`).
    pub variants: HashMap<String, Variant>,
    /// Signs unsubscribe tokens.
    pub signer: Signer,
    /// `[unsubscribe]`, for the URL template.
    pub unsubscribe: Unsubscribe,
    /// The envelope sender.
    pub from: String,
}

impl Messages {
    /// The envelope and bytes of `entry`'s message.
    pub fn build(&self, entry: &Entry) -> anyhow::Result<(Envelope, Vec<u8>)> {
        let to = Address::parse(&entry.address).map_err(anyhow::Error::msg)?;
        let variant = self
            .variants
            .get(&entry.variant)
            .with_context(|| format!("variant `{}` was not rendered", entry.variant))?;
        let url = unsubscribe::url(&self.unsubscribe, &self.signer.token(&to));
        let personal = Personal {
            to: &to,
            name: entry.name.as_deref(),
            // The frozen entry has no greeting yet: greet nobody rather than use the
            // display name ("Hi Zhang, Quinn,").
            greeting: None,
            message_id: &entry.message_id,
            unsubscribe_url: &url,
        };
        let bytes = variant.template(false).build(&personal);
        let envelope = Envelope {
            from: self.from.clone(),
            to,
            message_id: entry.message_id.clone(),
        };
        Ok((envelope, bytes))
    }
}

/// Renders the variants the frozen recipients get.
pub fn rendered(
    ledger: &Ledger,
    number: u32,
    variants: &mut Variants<'_>,
) -> anyhow::Result<HashMap<String, Variant>> {
    let mut rendered = HashMap::new();
    for key in ledger.variants(number)? {
        let variant = variants
            .get(variant_topics(&key).as_ref())?
            .with_context(|| format!("variant `{key}` has no picks any more"))?;
        rendered.insert(key, variant.clone());
    }
    Ok(rendered)
}
