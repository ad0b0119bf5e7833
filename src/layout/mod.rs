//! Layouts: a folder under `layouts/` with `layout.toml` (brand data), the Handlebars
//! templates that write the email's MJML and text parts, the archive's web pages, and their
//! partials.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context as _;
use handlebars::Handlebars;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile, unknown_name_notes};
use crate::toml_diag::Document;
use crate::url::check_url;

mod blame;
#[cfg(test)]
mod grammar_equivalence;
pub mod helpers;
mod includes;
#[cfg(test)]
mod partial_equivalence;
mod syntax;
mod templates;
pub mod wrap;

use includes::source_key;
use templates::Templates;
pub(crate) use templates::escape_html;

/// The template that writes the email's MJML.
pub const MJML_TEMPLATE: &str = "email.mjml.hbs";
/// The template that writes the email's plain-text part.
pub const TEXT_TEMPLATE: &str = "email.txt.hbs";
/// The template that writes a volume's page in the web archive.
pub const WEB_TEMPLATE: &str = "web.html.hbs";
/// The template that writes the web archive's index page.
pub const INDEX_TEMPLATE: &str = "index.html.hbs";
/// The subscriber service's pages (`broadsheet serve`) and its confirmation mail's text.
pub const PAGE_TEMPLATES: [&str; 7] = [
    "pages/unsubscribe.html.hbs",
    "pages/preferences.html.hbs",
    "pages/subscribe.html.hbs",
    "pages/confirm.html.hbs",
    "pages/problem.html.hbs",
    "pages/confirm.txt.hbs",
    "pages/welcome.txt.hbs",
];

/// Whether `name` can name a layout: one folder right under `layouts/`, never a path that
/// leads elsewhere (`/abs`, `../x`, `a/b`, `.hidden`).
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A loaded layout: its data and its compiled templates.
#[derive(Debug)]
pub struct Layout {
    /// The data in `layout.toml`, passed to templates as `layout`.
    pub data: LayoutData,
    /// `layout.toml` as read, to point diagnostics about the data at their line.
    data_source: SourceFile,
    /// Registry for the MJML and web page templates, with HTML escaping.
    pub(crate) html: Handlebars<'static>,
    /// Registry for the text templates, without escaping.
    pub(crate) text: Handlebars<'static>,
    /// Every template's source by registered name, to point diagnostics at the right line.
    templates: HashMap<String, SourceFile>,
    /// Registered names of the two entry templates.
    pub(crate) mjml_name: String,
    pub(crate) text_name: String,
}

/// A layout loaded with the web page templates that `broadsheet archive` needs.
#[derive(Debug)]
pub struct WebLayout {
    /// The layout, with the web templates in its HTML registry.
    pub layout: Layout,
    /// Registered name of the volume page template.
    pub(crate) page_name: String,
    /// Registered name of the index page template.
    pub(crate) index_name: String,
}

/// The contents of `layout.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutData {
    /// A human name for the layout.
    pub name: String,
    /// Brand colours by name (`#rrggbb`), used by the templates as `layout.colors.NAME`.
    pub colors: BTreeMap<String, Spanned<String>>,
    /// The logo shown at the top and in the footer, when the layout has one (a layout
    /// written by `broadsheet init` names the newsletter in text until a logo is added).
    pub logo: Option<Image>,
    /// The footer's contents.
    pub footer: Footer,
    /// What `check` expects of a volume's copy in this layout.
    #[serde(default)]
    pub copy: CopyBounds,
}

/// The longest summary, in characters, when the layout names no bound: a paragraph a reader
/// takes in at a glance.
pub const SUMMARY_MAX: usize = 400;

/// Bounds on a volume's copy that the layout's design sets (`[copy]` in `layout.toml`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CopyBounds {
    /// The longest summary, in characters readers see, before `check` warns.
    #[serde(default = "summary_max")]
    pub summary_max: usize,
}

impl Default for CopyBounds {
    fn default() -> Self {
        Self {
            summary_max: summary_max(),
        }
    }
}

fn summary_max() -> usize {
    SUMMARY_MAX
}

/// An image with a link.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// Image URL (https).
    pub src: Spanned<String>,
    /// Alternative text (required).
    pub alt: Spanned<String>,
    /// Where a click on the image goes (https).
    pub href: Spanned<String>,
}

/// The footer: "Keep in touch" links and the postal address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Footer {
    /// Heading over the links, e.g. "Keep in touch".
    pub heading: Spanned<String>,
    /// The links.
    pub links: Vec<FooterLink>,
    /// The sender's postal address, required in commercial email by CAN-SPAM.
    pub address: Spanned<String>,
}

/// One footer link.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FooterLink {
    /// The link's text.
    pub label: Spanned<String>,
    /// Its target (https or mailto).
    pub url: Spanned<String>,
}

impl Layout {
    /// Loads the layout in `dir`; `root` is the project root, for the names in diagnostics.
    pub fn load(root: &Path, dir: &Path) -> anyhow::Result<Self> {
        Self::load_with(root, dir, &[]).map(|(layout, _)| layout)
    }

    /// Loads the layout in `dir` with its web page templates ([`WEB_TEMPLATE`] and
    /// [`INDEX_TEMPLATE`]). Only the archive needs them, so only it asks for them.
    pub fn load_web(root: &Path, dir: &Path) -> anyhow::Result<WebLayout> {
        let (layout, names) = Self::load_with(root, dir, &[WEB_TEMPLATE, INDEX_TEMPLATE])?;
        let [page_name, index_name] =
            <[String; 2]>::try_from(names).expect("one name per web template");
        Ok(WebLayout {
            layout,
            page_name,
            index_name,
        })
    }

    /// Loads the layout in `dir` with the subscriber service's [`PAGE_TEMPLATES`], returning
    /// their registered names in that order.
    pub fn load_pages(root: &Path, dir: &Path) -> anyhow::Result<(Self, Vec<String>)> {
        Self::load_with(root, dir, &PAGE_TEMPLATES)
    }

    /// Loads the layout with `extra` entry templates, returning their registered names.
    fn load_with(root: &Path, dir: &Path, extra: &[&str]) -> anyhow::Result<(Self, Vec<String>)> {
        let mut diags = Diagnostics::default();
        let data_path = dir.join("layout.toml");
        let data_source = read(&data_path)?;
        let doc = Document::parse(&data_source, &mut diags);
        let data = doc.exact::<LayoutData>(&data_source, doc.root_value(), &mut diags);
        if let Some(data) = &data {
            data.validate(&data_source, &mut diags);
        }
        let mut layout = Templates::new(root);
        layout.add_all(dir, &mut diags)?;
        let mut names = Vec::with_capacity(extra.len());
        for file in extra {
            names.push(layout.add_required(&dir.join(file), &mut diags)?);
        }
        layout.compile_partials(&names, &mut diags);
        layout.check_includes(&mut diags);
        match data {
            Some(data) if !diags.has_errors() => Ok((layout.finish(data, data_source), names)),
            _ => Err(diags.into()),
        }
    }

    /// Turns a Handlebars render error into a diagnostic at the template's line.
    pub(crate) fn render_diagnostic(
        &self,
        error: &handlebars::RenderError,
        is_text: bool,
    ) -> Diagnostic {
        let mut notes = Vec::new();
        let reason = match error.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(path)) => {
                format!("the template uses `{path}`, which the volume does not provide")
            }
            // Strict mode with no path: a `lookup` (or a helper's value) that found nothing.
            handlebars::RenderErrorReason::MissingVariable(None) => {
                notes.push(
                    "in strict mode a `lookup` must find its key or index: check it against the data"
                        .to_owned(),
                );
                "the template looks up a value the data does not have".to_owned()
            }
            handlebars::RenderErrorReason::ParamNotFoundForIndex(helper, index) => {
                notes.push(
                    "the values a helper works on follow its name inside the braces \
                     (`{{#each picks_before}}`, `{{lookup picks 0}}`)"
                        .to_owned(),
                );
                format!(
                    "`{helper}` needs a value to work on (its parameter {}), and none is given",
                    index + 1
                )
            }
            handlebars::RenderErrorReason::ParamNotFoundForName(helper, name) => {
                format!("`{helper}` needs its parameter `{name}`, and none is given")
            }
            handlebars::RenderErrorReason::PartialNotFound(name) => {
                notes = unknown_name_notes(name, &self.partial_names(is_text));
                notes.push(
                    "a partial is a file in the layout's `partials/` folder, named without its extensions"
                        .to_owned(),
                );
                format!(
                    "the template includes the partial `{name}`, which the layout does not have"
                )
            }
            other => other.to_string(),
        };
        let diagnostic = notes.into_iter().fold(
            Diagnostic::error(format!("template error: {reason}")),
            Diagnostic::note,
        );
        let key = error
            .template_name
            .as_deref()
            .map(|n| source_key(n, is_text));
        locate(
            &self.templates,
            diagnostic,
            key.as_deref(),
            error.line_no.zip(error.column_no),
        )
    }
}

impl Layout {
    /// Reports the footer's postal address when it is still empty (as `broadsheet init`
    /// leaves it without `--address`): anti-spam laws require it in every newsletter. A
    /// warning for a `draft` (which a proof may send to the staff), an error for a volume
    /// about to go out.
    pub fn check_address(&self, draft: bool, diags: &mut Diagnostics) {
        let address = &self.data.footer.address;
        if !address.get_ref().trim().is_empty() {
            return;
        }
        let message = "the layout's postal address (`address` under `[footer]`) is empty";
        let diagnostic = if draft {
            Diagnostic::warning(message)
        } else {
            Diagnostic::error(message)
        };
        diags.push(
            diagnostic
                .note("anti-spam laws (CAN-SPAM, CASL) require the sender's postal address in every newsletter; the footer shows it")
                .at_span(&self.data_source, address.span()),
        );
    }

    /// The names of the partials a template of the text registry (`is_text`) or of the HTML
    /// one can include, sorted.
    fn partial_names(&self, is_text: bool) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .templates
            .keys()
            .filter(|key| !key.ends_with(".hbs") && includes::is_text_key(key) == is_text)
            .map(|key| key.strip_suffix(".txt").unwrap_or(key))
            .collect();
        names.sort_unstable();
        names
    }

    /// Places `diagnostic` at the start of the template registered as `name`: for problems
    /// of the template as a whole.
    pub(crate) fn at_template(
        &self,
        name: &str,
        is_text: bool,
        diagnostic: Diagnostic,
    ) -> Diagnostic {
        let key = source_key(name, is_text);
        locate(&self.templates, diagnostic, Some(&key), Some((1, 1)))
    }
}

fn locate(
    templates: &HashMap<String, SourceFile>,
    diagnostic: Diagnostic,
    name: Option<&str>,
    pos: Option<(usize, usize)>,
) -> Diagnostic {
    match (name.and_then(|n| templates.get(n)), pos) {
        (Some(src), Some((line, col))) => {
            diagnostic.at(Location::from_line_col(&src.path, &src.text, line, col))
        }
        (Some(src), None) => diagnostic.note(format!("in {}", src.path)),
        (None, _) => diagnostic,
    }
}

impl LayoutData {
    fn validate(&self, src: &SourceFile, diags: &mut Diagnostics) {
        let mut error =
            |message: String, span| diags.push(Diagnostic::error(message).at_span(src, span));
        for (name, color) in &self.colors {
            let hex = color.get_ref().strip_prefix('#').unwrap_or_default();
            if !(matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit())) {
                error(
                    format!("colour `{name}` must be `#rgb` or `#rrggbb`"),
                    color.span(),
                );
            }
        }
        if let Some(logo) = self.logo.as_ref()
            && logo.alt.get_ref().trim().is_empty()
        {
            error("the logo needs alt text".to_owned(), logo.alt.span());
        }
        let logo_urls = self.logo.iter().flat_map(|l| [&l.src, &l.href]);
        for (url, mailto) in logo_urls
            .map(|u| (u, false))
            .chain(self.footer.links.iter().map(|l| (&l.url, true)))
        {
            if let Err(problem) = check_url(url.get_ref(), mailto) {
                error(format!("link {problem}"), url.span());
            }
        }
    }
}

fn read(path: &Path) -> anyhow::Result<SourceFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read layout file {}", path.display()))?;
    Ok(SourceFile::new(path, text))
}
