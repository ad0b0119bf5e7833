//! The layout's templates: every `.hbs` file of a layout folder registered under its
//! project-relative path (partials under their stem), in the HTML-escaping registry or, for
//! `.txt.hbs`, the plain one, with strict mode and the helpers; template errors become
//! diagnostics by [`super::syntax`]. Every partial is read, but only those the
//! command's entry templates include are compiled: `build` does not pay for the web
//! pages' partials, and `archive`, `preview` and `serve`, which render those pages, report
//! their mistakes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use handlebars::Handlebars;

use super::includes::{self, source_key};
use super::syntax::{self, template_diagnostic};
use super::{Layout, LayoutData, MJML_TEMPLATE, TEXT_TEMPLATE, helpers, read};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, display_path};

/// Builds the two registries while the layout is being loaded.
pub(super) struct Templates {
    root: PathBuf,
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    sources: HashMap<String, SourceFile>,
    names: [String; 2],
    /// The partials read and not compiled yet, in the order they were read, each with the
    /// key of its source.
    partials: Vec<(String, String)>,
}

impl Templates {
    pub(super) fn new(root: &Path) -> Self {
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
            partials: Vec::new(),
        }
    }

    /// Registers the two entry templates and reads every partial in `dir/partials/`.
    pub(super) fn add_all(&mut self, dir: &Path, diags: &mut Diagnostics) -> anyhow::Result<()> {
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
    pub(super) fn add_required(
        &mut self,
        path: &Path,
        diags: &mut Diagnostics,
    ) -> anyhow::Result<String> {
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

    /// Reads one template: an entry is registered at once, in the registry that its
    /// extension selects (`.txt.hbs` for text), and a partial waits for
    /// [`Self::compile_partials`]. Returns the name it is registered under.
    fn add(&mut self, path: &Path, kind: Kind, diags: &mut Diagnostics) -> anyhow::Result<String> {
        let source = read(path)?;
        let is_text = path.to_string_lossy().ends_with(".txt.hbs");
        let partial = matches!(kind, Kind::Partial(_));
        let (name, registered) = match kind {
            Kind::Entry => {
                let relative = path.strip_prefix(&self.root).unwrap_or(path);
                let name = relative.display().to_string();
                let registered = registry(&mut self.html, &mut self.text, is_text)
                    .register_template_string(&name, &source.text);
                (name, registered)
            }
            Kind::Partial(name) => (name, Ok(())),
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
        } else if partial {
            self.partials.push((name.clone(), key.clone()));
        }
        if let Some(comment) = syntax::runaway_comment(&source) {
            diags.push(comment);
        }
        self.sources.insert(key.clone(), source);
        if let Err(e) = registered {
            diags.push(template_diagnostic(&self.sources, &key, &e));
        }
        Ok(name)
    }

    /// Compiles the partials that the two entry templates and the `extra` ones include,
    /// directly or through other partials (every partial, when one of them computes the
    /// name of the partial it includes).
    pub(super) fn compile_partials(&mut self, extra: &[String], diags: &mut Diagnostics) {
        // An entry's name is its path, which is also the key of its source.
        let entries: Vec<String> = self.names.iter().chain(extra).cloned().collect();
        let reachable = includes::reachable(&self.sources, &entries);
        for (name, key) in std::mem::take(&mut self.partials) {
            if reachable.as_ref().is_some_and(|keys| !keys.contains(&key)) {
                continue;
            }
            let registry = registry(&mut self.html, &mut self.text, includes::is_text_key(&key));
            if let Err(e) = registry.register_partial(&name, &self.sources[&key].text) {
                diags.push(template_diagnostic(&self.sources, &key, &e));
            }
        }
    }

    /// Reports partials that include each other, which would render forever, or that
    /// expand into too many renderings.
    pub(super) fn check_includes(&self, diags: &mut Diagnostics) {
        includes::check(&self.sources, diags);
    }

    pub(super) fn finish(self, data: LayoutData, data_source: SourceFile) -> Layout {
        let [mjml_name, text_name] = self.names;
        Layout {
            data,
            data_source,
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

/// The registry a template goes in: the text one, or the one for HTML and MJML.
fn registry<'r>(
    html: &'r mut Handlebars<'static>,
    text: &'r mut Handlebars<'static>,
    is_text: bool,
) -> &'r mut Handlebars<'static> {
    if is_text { text } else { html }
}

/// Whether a template file is one of the two entry templates or a partial (named by its stem).
enum Kind {
    Entry,
    Partial(String),
}
