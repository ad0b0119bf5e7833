//! Topic variants (Scout's customized alerts): a volume, its layout and a topic selection
//! in, the variant's message templates out. Each distinct selection is rendered once
//! (twice when the layout greets by name: with and without the name slot) and shared by
//! everyone who gets it; a selection with no picks is not sent.

use std::collections::{BTreeSet, HashMap};

use super::{Common, MessageTemplate, Rendered};
use crate::diag::{Diagnostic, Diagnostics};
use crate::layout::Layout;
use crate::render::{self, MjmlOrigin, NAME_PLACEHOLDER, Reader};
use crate::volume::Volume;

/// The topics of a variant: `None` for every pick.
pub type Topics = Option<BTreeSet<String>>;

/// One rendered selection of picks.
#[derive(Debug, Clone)]
pub struct Variant {
    /// How many picks it shows.
    pub picks: usize,
    anonymous: MessageTemplate,
    named: Option<MessageTemplate>,
}

impl Variant {
    /// The template for a recipient with or without a name: the named one only when the
    /// layout uses `recipient.name`.
    pub fn template(&self, named: bool) -> &MessageTemplate {
        match (&self.named, named) {
            (Some(named), true) => named,
            _ => &self.anonymous,
        }
    }

    /// The bytes of the message to the reader `personal` describes.
    pub fn build(&self, personal: &super::Personal<'_>) -> Vec<u8> {
        self.template(personal.name.is_some()).build(personal)
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
    rendered: HashMap<Topics, Option<Variant>>,
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
        }
    }

    /// The variant for readers of `topics` (`None`: every pick), or `None` when it has no
    /// picks and is not sent.
    pub fn get(
        &mut self,
        topics: Option<&BTreeSet<&str>>,
    ) -> Result<Option<&Variant>, Diagnostics> {
        let key: Topics = topics.map(|t| t.iter().map(|s| (*s).to_owned()).collect());
        if !self.rendered.contains_key(&key) {
            let variant = self.render(topics)?;
            self.rendered.insert(key.clone(), variant);
        }
        Ok(self.rendered[&key].as_ref())
    }

    fn render(&self, topics: Option<&BTreeSet<&str>>) -> Result<Option<Variant>, Diagnostics> {
        let anonymous = Reader { topics, name: None };
        let picks = self
            .volume
            .picks
            .iter()
            .filter(|p| anonymous.gets(p))
            .count();
        if picks == 0 {
            return Ok(None);
        }
        let plain = self.rendered_parts(&anonymous)?;
        let named = self.rendered_parts(&Reader {
            topics,
            name: Some(NAME_PLACEHOLDER),
        })?;
        let greets =
            named.text.0.contains(NAME_PLACEHOLDER) || named.html.0.contains(NAME_PLACEHOLDER);
        Ok(Some(Variant {
            picks,
            anonymous: MessageTemplate::new(&self.common, &plain),
            named: greets.then(|| MessageTemplate::new(&self.common, &named)),
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
