//! The layout's templates: every `.hbs` file of a layout folder registered under its
//! project-relative path (partials under their stem), in the HTML-escaping registry or, for
//! `.txt.hbs`, the plain one, with strict mode and the helpers; and template errors turned
//! into diagnostics at the right file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use handlebars::{Handlebars, TemplateError};

use super::compile::{Compiled, compile_all};
use super::includes::{self, source_key};
use super::{Layout, LayoutData, MJML_TEMPLATE, TEXT_TEMPLATE, helpers, locate, read};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, display_path};

/// Builds the two registries while the layout is being loaded.
pub(super) struct Templates {
    root: PathBuf,
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    sources: HashMap<String, SourceFile>,
    names: [String; 2],
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
        }
    }

    /// Registers the two entry templates, every partial in `dir/partials/` and the `extra`
    /// entry templates that only some commands need, and returns the extra ones' names. The
    /// templates are compiled together ([`compile_all`]), then registered in that order, so
    /// that the diagnostics are those of registering them one by one.
    pub(super) fn add_all(
        &mut self,
        dir: &Path,
        extra: &[&str],
        diags: &mut Diagnostics,
    ) -> anyhow::Result<Vec<String>> {
        let mut files = vec![
            self.read(&dir.join(MJML_TEMPLATE), Kind::Entry)?,
            self.read(&dir.join(TEXT_TEMPLATE), Kind::Entry)?,
        ];
        self.names = [files[0].name.clone(), files[1].name.clone()];
        for (path, stem) in partials(&dir.join("partials"))? {
            files.push(self.read(&path, Kind::Partial(stem))?);
        }
        let required = files.len();
        // A missing extra template is a diagnostic naming the file, rather than an I/O error.
        let mut missing = Vec::with_capacity(extra.len());
        for file in extra {
            let path = dir.join(file);
            missing.push((!path.is_file()).then(|| missing_template(&path)));
            if path.is_file() {
                files.push(self.read(&path, Kind::Entry)?);
            }
        }
        let mut compiled = compile_all(files).into_iter();
        for (file, result) in compiled.by_ref().take(required) {
            self.register(file, result, diags);
        }
        let mut names = Vec::with_capacity(extra.len());
        for missing in missing {
            match missing {
                Some(diagnostic) => {
                    diags.push(diagnostic);
                    names.push(String::new());
                }
                // The next compiled file is this one: files were read in this order.
                None => names.extend(
                    compiled
                        .next()
                        .map(|(file, result)| self.register(file, result, diags)),
                ),
            }
        }
        Ok(names)
    }

    /// Reads one template, with the name it is registered under.
    fn read(&self, path: &Path, kind: Kind) -> anyhow::Result<TemplateFile> {
        let name = match kind {
            Kind::Entry => {
                let relative = path.strip_prefix(&self.root).unwrap_or(path);
                relative.display().to_string()
            }
            Kind::Partial(stem) => stem,
        };
        Ok(TemplateFile {
            is_text: path.to_string_lossy().ends_with(".txt.hbs"),
            source: read(path)?,
            name,
        })
    }

    /// Registers a compiled template in the registry that its extension selects (`.txt.hbs`
    /// for text) and returns the name it was registered under.
    fn register(
        &mut self,
        file: TemplateFile,
        compiled: Compiled,
        diags: &mut Diagnostics,
    ) -> String {
        let TemplateFile {
            source,
            name,
            is_text,
        } = file;
        let registry = if is_text {
            &mut self.text
        } else {
            &mut self.html
        };
        let registered = compiled.map(|template| registry.register_template(&name, template));
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
        name
    }

    /// Reports partials that include each other, which would render forever, or that
    /// expand into too many renderings.
    pub(super) fn check_includes(&self, diags: &mut Diagnostics) {
        includes::check(&self.sources, diags);
    }

    pub(super) fn finish(self, data: LayoutData) -> Layout {
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

/// Whether a template file is an entry template or a partial (named by its stem).
enum Kind {
    Entry,
    Partial(String),
}

/// A template file read from the layout folder.
pub(super) struct TemplateFile {
    /// Its source, kept to place diagnostics.
    source: SourceFile,
    /// The name it is registered under.
    name: String,
    /// Whether it goes into the text registry.
    is_text: bool,
}

impl TemplateFile {
    /// What [`compile_all`] needs: the name and the text.
    pub(super) fn job(&self) -> (&str, &str) {
        (&self.name, &self.source.text)
    }
}

/// The `.hbs` files of the `partials` folder, sorted, with their stems; none without it.
fn partials(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    Ok(entries
        .into_iter()
        .filter_map(|path| {
            let file = path.file_name()?.to_str()?;
            let (stem, _) = file.split_once('.')?;
            let stem = stem.to_owned();
            file.ends_with(".hbs").then_some((path, stem))
        })
        .collect())
}

fn missing_template(path: &Path) -> Diagnostic {
    Diagnostic::error(format!("missing layout template {}", display_path(path))).note(
        "`broadsheet archive` writes the web archive's pages with it \
         (`build` and `check` do not need it)",
    )
}

fn template_diagnostic(
    sources: &HashMap<String, SourceFile>,
    key: &str,
    error: &TemplateError,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!("template syntax: {}", error.reason()));
    locate(sources, diagnostic, Some(key), error.pos())
}
