//! Layouts: a folder under `layouts/` with `layout.toml` (brand data), the Handlebars
//! templates that write the email's MJML and text parts, the archive's web pages, and their
//! partials.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use handlebars::{Handlebars, TemplateError};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile, display_path};
use crate::render::helpers;
use crate::volume::check_url;

/// The template that writes the email's MJML.
pub const MJML_TEMPLATE: &str = "email.mjml.hbs";
/// The template that writes the email's plain-text part.
pub const TEXT_TEMPLATE: &str = "email.txt.hbs";
/// The template that writes a volume's page in the web archive.
pub const WEB_TEMPLATE: &str = "web.html.hbs";
/// The template that writes the web archive's index page.
pub const INDEX_TEMPLATE: &str = "index.html.hbs";

/// A loaded layout: its data and its compiled templates.
#[derive(Debug)]
pub struct Layout {
    /// The data in `layout.toml`, passed to templates as `layout`.
    pub data: LayoutData,
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
    /// The logo shown at the top and in the footer.
    pub logo: Image,
    /// The footer's contents.
    pub footer: Footer,
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

    /// Loads the layout with `extra` entry templates, returning their registered names.
    fn load_with(root: &Path, dir: &Path, extra: &[&str]) -> anyhow::Result<(Self, Vec<String>)> {
        let mut diags = Diagnostics::default();
        let data_path = dir.join("layout.toml");
        let data_source = read(&data_path)?;
        let data = match toml::from_str::<LayoutData>(&data_source.text) {
            Ok(data) => {
                data.validate(&data_source, &mut diags);
                Some(data)
            }
            Err(e) => {
                diags.push(crate::volume::toml_diagnostic(&data_source, &e));
                None
            }
        };
        let mut layout = Templates::new(root);
        layout.add_all(dir, &mut diags)?;
        let mut names = Vec::with_capacity(extra.len());
        for file in extra {
            names.push(layout.add_required(&dir.join(file), &mut diags)?);
        }
        match data {
            Some(data) if !diags.has_errors() => Ok((layout.finish(data), names)),
            _ => Err(diags.into()),
        }
    }

    /// Turns a Handlebars render error into a diagnostic at the template's line.
    pub(crate) fn render_diagnostic(
        &self,
        error: &handlebars::RenderError,
        is_text: bool,
    ) -> Diagnostic {
        let reason = match error.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(path)) => {
                format!("the template uses `{path}`, which the volume does not provide")
            }
            other => other.to_string(),
        };
        let diagnostic = Diagnostic::error(format!("template error: {reason}"));
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
        if self.logo.alt.get_ref().trim().is_empty() {
            error("the logo needs alt text".to_owned(), self.logo.alt.span());
        }
        for (url, mailto) in [(&self.logo.src, false), (&self.logo.href, false)]
            .into_iter()
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

/// Builds the two registries while the layout is being loaded.
struct Templates {
    root: PathBuf,
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    sources: HashMap<String, SourceFile>,
    names: [String; 2],
}

impl Templates {
    fn new(root: &Path) -> Self {
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        html.register_escape_fn(escape_html);
        for registry in [&mut html, &mut text] {
            registry.set_strict_mode(true);
            helpers::register(registry);
        }
        Self {
            root: root.to_path_buf(),
            html,
            text,
            sources: HashMap::new(),
            names: Default::default(),
        }
    }

    /// Registers the two entry templates and every partial in `dir/partials/`.
    fn add_all(&mut self, dir: &Path, diags: &mut Diagnostics) -> anyhow::Result<()> {
        self.names = [
            self.add(&dir.join(MJML_TEMPLATE), Kind::Entry, diags)?,
            self.add(&dir.join(TEXT_TEMPLATE), Kind::Entry, diags)?,
        ];
        let partials = dir.join("partials");
        if !partials.is_dir() {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&partials)
            .with_context(|| format!("cannot list {}", partials.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", partials.display()))?;
        entries.sort();
        for path in entries {
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            if let Some((stem, _)) = file.split_once('.')
                && file.ends_with(".hbs")
            {
                self.add(&path, Kind::Partial(stem.to_owned()), diags)?;
            }
        }
        Ok(())
    }

    /// Registers an entry template that only some commands need: its absence is a
    /// diagnostic naming the file, rather than an I/O error.
    fn add_required(&mut self, path: &Path, diags: &mut Diagnostics) -> anyhow::Result<String> {
        if path.is_file() {
            return self.add(path, Kind::Entry, diags);
        }
        diags.push(
            Diagnostic::error(format!("missing layout template {}", display_path(path))).note(
                "`broadsheet archive` writes the web archive's pages with it \
                 (`build` and `check` do not need it)",
            ),
        );
        Ok(String::new())
    }

    /// Registers one template in the registry that its extension selects (`.txt.hbs` for
    /// text) and returns the name it was registered under.
    fn add(&mut self, path: &Path, kind: Kind, diags: &mut Diagnostics) -> anyhow::Result<String> {
        let source = read(path)?;
        let is_text = path.to_string_lossy().ends_with(".txt.hbs");
        let registry = if is_text {
            &mut self.text
        } else {
            &mut self.html
        };
        let (name, registered) = match kind {
            Kind::Entry => {
                let relative = path.strip_prefix(&self.root).unwrap_or(path);
                let name = relative.display().to_string();
                let registered = registry.register_template_string(&name, &source.text);
                (name, registered)
            }
            Kind::Partial(name) => {
                let registered = registry.register_partial(&name, &source.text);
                (name, registered)
            }
        };
        // A partial's name is shared by its MJML and text versions; keep the sources apart.
        let key = source_key(&name, is_text);
        if let Some(first) = self.sources.get(&key) {
            // `picks.html.hbs` and `picks.mjml.hbs` land in the same registry: the second
            // would silently replace the first.
            diags.push(
                Diagnostic::error(format!("two partials are called `{name}`"))
                    .note(format!("{} and {}", first.path, source.path))
                    .note("MJML and web partials share one namespace; rename one of them"),
            );
        }
        self.sources.insert(key.clone(), source);
        if let Err(e) = registered {
            diags.push(template_diagnostic(&self.sources, &key, &e));
        }
        Ok(name)
    }

    fn finish(self, data: LayoutData) -> Layout {
        let [mjml_name, text_name] = self.names;
        Layout {
            data,
            html: self.html,
            text: self.text,
            templates: self.sources,
            mjml_name,
            text_name,
        }
    }
}

/// HTML escaping for the MJML and web templates (and XML escaping for the feed): the five
/// characters that matter in text and in quoted attributes. Handlebars' default also escapes
/// `=` and backquotes, which only matter in unquoted attributes, and would turn every `?a=b`
/// in a URL into `?a&#x3D;b`; the layout templates quote every attribute.
pub(crate) fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether a template file is one of the two entry templates or a partial (named by its stem).
enum Kind {
    Entry,
    Partial(String),
}

/// The key of a template's source: its registered name, with `.txt` added for text partials,
/// which share their name with the MJML partial of the same stem.
fn source_key(name: &str, is_text: bool) -> String {
    if name.ends_with(".hbs") || !is_text {
        name.to_owned()
    } else {
        format!("{name}.txt")
    }
}

fn template_diagnostic(
    sources: &HashMap<String, SourceFile>,
    key: &str,
    error: &TemplateError,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!("template syntax: {}", error.reason()));
    locate(sources, diagnostic, Some(key), error.pos())
}
