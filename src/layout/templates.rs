//! The layout's templates: every `.hbs` file of a layout folder registered under its
//! project-relative path (partials under their stem), in the HTML-escaping registry or, for
//! `.txt.hbs`, the plain one, with strict mode and the helpers; and template errors turned
//! into diagnostics at the right file and line. Every partial is read, but only those the
//! command's entry templates include are compiled: `build` does not pay for the web
//! pages' partials, and `archive`, `preview` and `serve`, which render those pages, report
//! their mistakes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use handlebars::{Handlebars, TemplateError};

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

/// A template that does not compile, at the place Handlebars names; a block left open at
/// the end of the template is named at its opening tag, where the parser can only say what
/// it expected at the end of the file.
fn template_diagnostic(
    sources: &HashMap<String, SourceFile>,
    key: &str,
    error: &TemplateError,
) -> Diagnostic {
    if let Some(source) = sources.get(key)
        && let Some((name, at)) = unclosed_block(&source.text)
        && error
            .pos()
            .is_some_and(|(line, _)| line >= source.text.trim_end().lines().count())
    {
        return Diagnostic::error(format!("`{{{{#{name}}}}}` is never closed"))
            .at_span(source, at..at + name.len() + 3)
            .note(format!("end the block with `{{{{/{name}}}}}`"));
    }
    if let handlebars::TemplateErrorReason::InvalidSyntax(_) = error.reason()
        && let Some(source) = sources.get(key)
        && let Some(tag) = error
            .pos()
            .and_then(|(line, column)| tag_at(&source.text, line, column))
    {
        return match tag {
            Tag::Unclosed(at) if source.text[at..].starts_with("{{{") => {
                Diagnostic::error("`{{{` is never closed")
                    .at_span(source, at..at + 3)
                    .note("end the expression with `}}}`")
            }
            Tag::Unclosed(at) => Diagnostic::error("`{{` is never closed")
                .at_span(source, at..at + 2)
                .note("end the expression with `}}`"),
            Tag::Closed(span) => {
                let written = &source.text[span.clone()];
                Diagnostic::error(format!("`{written}` is not valid Handlebars"))
                    .at_span(source, span)
                    .note(tag_hint(written))
            }
        };
    }
    let diagnostic = match error.reason() {
        // The parser's own words name its grammar's rules (`trailing_tilde_to_omit_whitespace`).
        handlebars::TemplateErrorReason::InvalidSyntax(_) => {
            Diagnostic::error("template syntax: this is not valid Handlebars").note(
                "every `{{` needs its `}}`, every `{{#name ...}}` its `{{/name}}`, and an \
                 expression is a name, a path such as `volume.title`, or a helper and its values",
            )
        }
        other => Diagnostic::error(format!("template syntax: {other}")),
    };
    locate(sources, diagnostic, Some(key), error.pos())
}

/// The tag of `text` that the parser stopped in, at 1-based `line`:`column`.
enum Tag {
    /// A `{{` (at this byte offset) that no `}}` closes before the next `{{` or the end:
    /// where the parser ran into the end of the file or the next tag looking for it.
    Unclosed(usize),
    /// A whole tag, `{{` to `}}` (three braces for a triple-stash), that does not parse.
    Closed(std::ops::Range<usize>),
}

/// The tag around 1-based `line`:`column` of `text`, if the place is inside one.
fn tag_at(text: &str, line: usize, column: usize) -> Option<Tag> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = text.get(line_start..)?;
    let offset = line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
    let before = text.get(..offset)?;
    let open = before.rfind("{{")?;
    if before[open..].contains("}}") {
        return None;
    }
    // `{{{`: the last two braces are the ones found; the tag starts at the first.
    let open = if text[..open].ends_with('{') {
        open - 1
    } else {
        open
    };
    let after = &text[offset..];
    let next_open = after.find("{{").unwrap_or(after.len());
    match after[..next_open].find("}}") {
        None => Some(Tag::Unclosed(open)),
        Some(close) => {
            let mut end = offset + close + 2;
            if text[open..].starts_with("{{{") && text[end..].starts_with('}') {
                end += 1;
            }
            Some(Tag::Closed(open..end))
        }
    }
}

/// What to say of a tag that is closed but does not parse, by what it looks like.
fn tag_hint(tag: &str) -> &'static str {
    let inner = tag
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_matches('~')
        .trim();
    let words: Vec<&str> = inner.split_whitespace().collect();
    if inner.starts_with('>') && inner[1..].trim().is_empty() {
        "a partial is included by its name: `{{> picks}}`"
    } else if inner.starts_with('#') && inner[1..].trim().is_empty() {
        "a block opens with its helper's name and values: `{{#each picks_before}}`"
    } else if inner.starts_with('/') {
        "this closes a block that is not open here: open it before (`{{#if ...}}`), or remove it"
    } else if words.first() == Some(&"else") {
        "`{{else}}` goes inside a block, between `{{#if ...}}` and `{{/if}}` (or `{{#each}}`'s)"
    } else if inner.matches('"').count() % 2 == 1 || inner.matches('\'').count() % 2 == 1 {
        "a text value ends with the quote it starts with: `\"words\"`"
    } else if words.iter().any(|w| w.ends_with('=')) || inner.contains("= ") {
        "each `name=` of a helper takes a value: `{{> picks list=picks_before}}`"
    } else if words
        .iter()
        .any(|w| w.contains("..") && !w.starts_with("../") || w.ends_with('.'))
    {
        "a path joins names with single dots: `volume.title`, `pick.source`"
    } else {
        "an expression is a name, a path such as `volume.title`, or a helper and its values"
    }
}

/// The helper (or partial) a block tag names, after its `#` or `/`: `each` of
/// `{{#each picks}}`, `layout` of `{{#> layout}}`.
fn block_name(tag: &str) -> &str {
    let tag = tag.trim_start_matches(['>', '*']).trim_start();
    tag.split(|c: char| c.is_whitespace() || c == '~' || c == '}')
        .next()
        .unwrap_or(tag)
}

/// The innermost block of `text` still open at its end (`{{#each picks}}` without its
/// `{{/each}}`, or closed only by the end of a block around it): its helper's name and the
/// byte offset of its `{{`. Comments are skipped; `None` when every block closes, or when
/// a closing tag closes no open block (another error).
fn unclosed_block(text: &str) -> Option<(&str, usize)> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let at = rest + found;
        let tag = &text[at + 2..];
        if let Some(comment) = tag.strip_prefix("!--") {
            rest = at + 5 + comment.find("--}}")? + 4;
            continue;
        }
        let close = tag.find("}}")?;
        let inner = tag[..close].trim_start_matches('~').trim_start();
        if let Some(block) = inner.strip_prefix('#') {
            open.push((block_name(block), at));
        } else if let Some(end) = inner.strip_prefix('/') {
            let end = block_name(end);
            match open.iter().rposition(|(opened, _)| *opened == end) {
                // `{{/if}}` with an `{{#each}}` inside still open: that one is unclosed.
                Some(i) if i + 1 < open.len() => return open.pop(),
                Some(_) => {
                    open.pop();
                }
                None => return None,
            }
        }
        rest = at + 2 + close + 2;
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::unclosed_block;

    #[test]
    fn the_block_left_open_is_named_at_its_opening_tag() {
        let text = "{{#if list}}<ul>{{#each list}}<li>{{x}}</li></ul>{{/if}}";
        assert_eq!(unclosed_block(text), Some(("each", 16)));
        assert_eq!(unclosed_block("a {{~#with x~}} b"), Some(("with", 2)));
        assert_eq!(
            unclosed_block("{{#> layout}}{{!-- {{#if}} --}}"),
            Some(("layout", 0))
        );
        for closed in [
            "{{#each l}}{{#if a}}x{{else}}y{{/if}}{{/each}}",
            "{{{html}}} {{! {{#if}} }}",
            "{{/if}} a stray end is another error",
        ] {
            assert_eq!(unclosed_block(closed), None, "{closed}");
        }
    }
}
