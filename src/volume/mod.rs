//! Volumes: one issue of the newsletter, read from a TOML file into [`Volume`] and checked.
//!
//! Parsing reports every syntax error, then deserializes each part (the top level, the hero,
//! every pick, the expert view) on its own so that one bad pick does not hide the next.

mod draft;
mod folder;
mod older;
mod validate;

pub use folder::{Numbered, duplicate_number, files, is_draft_text, numbered};
pub use older::Older;
pub use validate::Checks;

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;
use toml::de::DeValue;

use crate::date::Date;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::toml_diag::Document;

/// One issue of the newsletter, as written in `volumes/NNN.toml`.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The file it was read from, kept for diagnostics.
    pub source: SourceFile,
    /// The top-level fields.
    pub meta: Meta,
    /// The hero image under the title, if any.
    pub hero: Option<Hero>,
    /// The editors' picks in editorial order.
    pub picks: Vec<Pick>,
    /// The expert view block, if any.
    pub expert_view: Option<ExpertView>,
}

/// The top-level fields of a volume file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The volume number, shown in the title and used for output paths.
    pub number: Spanned<u32>,
    /// The newsletter's title, e.g. "Editors' picks from ETO Scout".
    pub title: Spanned<String>,
    /// This volume's headline.
    pub headline: Spanned<String>,
    /// The dates the volume covers.
    pub period: Spanned<Period>,
    /// The email subject; defaults to the headline.
    pub subject: Option<Spanned<String>>,
    /// Inbox preview text.
    pub preheader: Option<Spanned<String>>,
    /// The opening paragraph, inline Markdown.
    pub intro: Option<Spanned<String>>,
    /// The layout folder under `layouts/`; defaults to the project's.
    pub layout: Option<Spanned<String>>,
    /// BCP 47 language tag; defaults to `en`.
    pub lang: Option<Spanned<String>>,
    /// `draft = true` while the volume is being written: `archive` leaves it out and
    /// `dispatch` refuses it; `check`, `plan`, `proof` and `preview` work on it.
    pub draft: Option<Spanned<bool>>,
    // The tables below are deserialized on their own (see `parse`); naming them here keeps
    // them out of the unknown-field error and in its list of expected fields.
    #[serde(default, rename = "hero")]
    _hero: Option<IgnoredAny>,
    #[serde(default, rename = "picks")]
    _picks: Option<IgnoredAny>,
    #[serde(default, rename = "expert_view")]
    _expert_view: Option<IgnoredAny>,
}

/// The period a volume covers, both ends included.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day.
    pub from: Spanned<Date>,
    /// Last day.
    pub to: Spanned<Date>,
}

/// The hero image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hero {
    /// Image URL (https).
    pub src: Spanned<String>,
    /// Alternative text; may be empty only when `decorative` is true.
    pub alt: Option<Spanned<String>>,
    /// Marks a purely decorative image, which may have empty alt text.
    #[serde(default)]
    pub decorative: bool,
    /// Allows the previous volume's image again: without it, reusing it is an error.
    #[serde(default)]
    pub reuse: bool,
}

/// One editors' pick.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    /// One paragraph, inline Markdown.
    pub summary: Spanned<String>,
    /// The outlet's name.
    pub source: Spanned<String>,
    /// The item's publication date.
    pub date: Spanned<Date>,
    /// Link to the item (https).
    pub url: Spanned<String>,
    /// Topic tags for customized alerts.
    #[serde(default)]
    pub topics: Vec<Spanned<String>>,
    /// A short slug other text can cite as `pick:ID` in a Markdown link.
    pub id: Option<Spanned<String>>,
    /// Marks an item deliberately older than the volume's period (`true`, or the reason),
    /// which `check` then leaves alone.
    pub older: Option<Spanned<Older>>,
    /// Allows a link the previous volume had too: without it, repeating one is an error.
    #[serde(default)]
    pub reuse: bool,
}

/// The expert view block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertView {
    /// Block heading, e.g. "CSET Expert View".
    pub heading: Spanned<String>,
    /// The expert's name.
    pub author: Spanned<String>,
    /// The expert's role.
    pub role: Spanned<String>,
    /// Introduction, inline Markdown.
    pub intro: Spanned<String>,
    /// The commentary, Markdown paragraphs.
    pub body: Spanned<String>,
    /// How many picks come before the block; defaults to all of them.
    pub after: Option<Spanned<usize>>,
}

impl Volume {
    /// The subject line: `subject`, or the headline when there is none.
    pub fn subject(&self) -> &str {
        self.meta
            .subject
            .as_ref()
            .unwrap_or(&self.meta.headline)
            .get_ref()
    }

    /// The language tag, `en` unless the volume names one.
    pub fn lang(&self) -> &str {
        self.meta.lang.as_ref().map_or("en", |l| l.get_ref())
    }

    /// True when the volume says `draft = true`.
    pub fn is_draft(&self) -> bool {
        self.meta.draft.as_ref().is_some_and(|d| *d.get_ref())
    }

    /// How many picks come before the expert view.
    pub fn expert_view_after(&self) -> usize {
        self.expert_view
            .as_ref()
            .and_then(|e| e.after.as_ref())
            .map_or(self.picks.len(), |a| *a.get_ref())
            .min(self.picks.len())
    }
}

/// Reads and parses a volume file; validation is separate (see [`Volume::validate`]).
/// Problems in the file are returned as [`Diagnostics`] inside the error.
pub fn load(path: &Path) -> anyhow::Result<Volume> {
    Ok(parse(read_file(path)?)?)
}

/// Reads a volume file into memory, under the path it is reported by.
pub fn read_file(path: &Path) -> anyhow::Result<SourceFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read volume {}", path.display()))?;
    Ok(SourceFile::new(path, text))
}

/// Parses volume text, reporting every problem found. When the file has errors, what could
/// be read of it is checked too (see [`Volume::validate`]), so that one run shows them all.
pub fn parse(source: SourceFile) -> Result<Volume, Diagnostics> {
    let Reading { volume, mut diags } = read(source);
    match volume {
        Some(volume) if !diags.has_errors() => Ok(volume),
        Some(volume) => {
            volume.validate(&mut diags);
            diags.sort_by_location();
            Err(diags)
        }
        None => Err(diags),
    }
}

/// A volume as far as it could be read, and the problems met reading it.
#[derive(Debug)]
pub struct Reading {
    /// The volume, when at least its top level could be read. Where the file has errors,
    /// values that could not be read are stand-ins with an empty span.
    pub volume: Option<Volume>,
    /// The syntax and type errors, in file order.
    pub diags: Diagnostics,
}

/// Parses volume text without judging what it says: callers that check the volume
/// themselves ([`Volume::check`]) get what could be read even when the file has errors, so
/// that one run reports every mistake.
pub fn read(source: SourceFile) -> Reading {
    let mut diags = Diagnostics::default();
    let parts = read_parts(&source, &Document::parse(&source, &mut diags), &mut diags);
    diags.sort_by_location();
    let volume = parts.map(|(meta, hero, picks, expert_view)| Volume {
        source,
        meta,
        hero,
        picks,
        expert_view,
    });
    Reading { volume, diags }
}

/// The parts of a volume, each deserialized on its own so that one bad pick does not hide
/// the next; `None` when not even the top level could be read.
type Parts = (Meta, Option<Hero>, Vec<Pick>, Option<ExpertView>);

fn read_parts(source: &SourceFile, doc: &Document<'_>, diags: &mut Diagnostics) -> Option<Parts> {
    let hero = part::<Hero>(source, doc, "hero", diags);
    let expert_view = part::<ExpertView>(source, doc, "expert_view", diags);
    let picks = match doc.root().get("picks").cloned() {
        Some(v) => match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| doc.typed::<Pick>(source, item.clone(), diags))
                .collect(),
            _ => {
                diags.push(
                    Diagnostic::error("`picks` must be an array of tables")
                        .at_span(source, v.span())
                        .note("write each pick as a `[[picks]]` table"),
                );
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let root = doc.root_value();
    let meta = doc.typed::<Meta>(source, root, diags)?;
    Some((meta, hero, picks, expert_view))
}

fn part<T: for<'de> Deserialize<'de>>(
    source: &SourceFile,
    doc: &Document<'_>,
    key: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    let value = doc.root().get(key)?.clone();
    doc.typed(source, value, diags)
}
