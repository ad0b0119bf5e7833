//! Topic variants (Scout's customized alerts): a volume, its layout and a topic selection
//! in, the variant's message templates out. Each distinct selection is rendered once
//! (twice when the layout greets readers: with and without the greeting slot) and shared by
//! everyone who gets it; a selection with no picks is not sent.

use std::collections::HashMap;

use super::{Common, MessageTemplate, Rendered};
use crate::audience::VariantKey;
use crate::clicks::Counter;
use crate::diag::{Diagnostic, Diagnostics};
use crate::layout::Layout;
use crate::render::{self, GREETING_PLACEHOLDER, MjmlOrigin, Reader};
use crate::settings::Settings;
use crate::unsubscribe::Signer;
use crate::volume::Volume;

/// One rendered selection of picks.
#[derive(Debug, Clone)]
pub struct Variant {
    /// How many picks it shows.
    pub picks: usize,
    anonymous: MessageTemplate,
    greeted: Option<MessageTemplate>,
}

impl Variant {
    /// The template for a recipient with or without a greeting: the greeting one only when
    /// the layout uses `recipient.greeting`.
    pub fn template(&self, greeted: bool) -> &MessageTemplate {
        match (&self.greeted, greeted) {
            (Some(greeted), true) => greeted,
            _ => &self.anonymous,
        }
    }

    /// The message to the reader `personal` describes, as it goes on the wire.
    pub fn build(&self, personal: &super::Personal<'_>) -> String {
        self.template(personal.greeting.is_some()).build(personal)
    }
}

/// The variants of one volume, rendered on first use.
#[derive(Debug)]
pub struct Variants<'a> {
    volume: &'a Volume,
    layout: &'a Layout,
    origin: &'a MjmlOrigin,
    common: Common<'a>,
    /// The volume's page in the web archive, for the "view in browser" link.
    web_url: Option<&'a str>,
    rendered: HashMap<VariantKey, Option<Variant>>,
    /// Points the HTML part's links at `serve` when clicks are counted.
    counter: Option<Counter>,
}

impl<'a> Variants<'a> {
    /// No variant rendered yet.
    pub fn new(
        volume: &'a Volume,
        layout: &'a Layout,
        origin: &'a MjmlOrigin,
        common: Common<'a>,
        web_url: Option<&'a str>,
    ) -> Self {
        Self {
            volume,
            layout,
            origin,
            common,
            web_url,
            rendered: HashMap::new(),
            counter: None,
        }
    }

    /// The outgoing links of the whole volume's HTML part, every pick shown, in order: the
    /// places click counting numbers (see [`crate::clicks::targets`]).
    pub fn link_targets(&self, public_url: &str) -> Result<Vec<crate::clicks::Link>, Diagnostics> {
        let everything = Reader {
            topics: None,
            greeting: None,
        };
        let parts = self.rendered_parts(&everything)?;
        Ok(crate::clicks::targets(&parts.html.0, public_url))
    }

    /// The counter of volume `volume`'s links when `settings` count clicks: its targets are
    /// the outgoing links of the full volume, each at the place earlier dispatches
    /// `recorded` for it, (place, target) pairs, or at a new one.
    pub fn click_counter(
        &self,
        settings: &Settings,
        signer: &Signer,
        (volume, recorded): (u32, &[(u32, String)]),
    ) -> anyhow::Result<Option<Counter>> {
        let (Some(clicks), Some(serve)) = (&settings.clicks, &settings.serve) else {
            return Ok(None);
        };
        if !clicks.enabled {
            return Ok(None);
        }
        let public_url = serve.public_url.get_ref();
        let targets = self
            .link_targets(public_url)
            .map_err(|d| anyhow::anyhow!("the volume could not be rendered:\n{d}"))?;
        let placed = crate::clicks::places(recorded, targets);
        Ok(Some(Counter::new(
            signer,
            public_url,
            volume,
            placed,
            clicks.text,
        )))
    }

    /// Counts clicks with `counter` in every variant rendered from now on.
    pub fn count_clicks(&mut self, counter: Counter) {
        self.rendered.clear();
        self.counter = Some(counter);
    }

    /// The variant `key` names, or `None` when it has no picks and is not sent.
    pub fn get(&mut self, key: &VariantKey) -> Result<Option<&Variant>, Diagnostics> {
        if !self.rendered.contains_key(key) {
            let variant = self.render(key)?;
            self.rendered.insert(key.clone(), variant);
        }
        Ok(self.rendered[key].as_ref())
    }

    fn render(&self, key: &VariantKey) -> Result<Option<Variant>, Diagnostics> {
        let topics = key.topic_set();
        let topics = topics.as_ref();
        let anonymous = Reader {
            topics,
            greeting: None,
        };
        let picks = self
            .volume
            .picks
            .iter()
            .filter(|p| anonymous.gets(p))
            .count();
        if picks == 0 {
            return Ok(None);
        }
        let mut plain = self.rendered_parts(&anonymous)?;
        let mut greeted = self.rendered_parts(&Reader {
            topics,
            greeting: Some(GREETING_PLACEHOLDER),
        })?;
        if let Some(counter) = &self.counter {
            counter.rewrite(&mut plain.html, &mut plain.text);
            counter.rewrite(&mut greeted.html, &mut greeted.text);
        }
        let greets = greeted.text.0.contains(GREETING_PLACEHOLDER)
            || greeted.html.0.contains(GREETING_PLACEHOLDER);
        Ok(Some(Variant {
            picks,
            anonymous: MessageTemplate::new(&self.common, &plain),
            greeted: greets.then(|| MessageTemplate::new(&self.common, &greeted)),
        }))
    }

    fn rendered_parts(&self, reader: &Reader<'_>) -> Result<Rendered, Diagnostics> {
        let mut diags = Diagnostics::default();
        let (mjml, text) = render::templates_for(self.volume, self.layout, reader, self.web_url);
        let text = text.map_err(|d| diags.push(d)).ok();
        let html = mjml
            .map_err(|d| diags.push(d))
            .ok()
            .and_then(|m| render::html(&m, self.origin, &mut diags));
        match (html, text) {
            (Some(html), Some(text)) if !diags.has_errors() => Ok(Rendered { html, text }),
            _ => {
                if !diags.has_errors() {
                    diags.push(Diagnostic::error("the variant could not be rendered"));
                }
                Err(diags)
            }
        }
    }
}
