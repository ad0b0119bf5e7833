//! The whole compose pipeline, shared by `build`, `check`, `archive` and the preview: a
//! volume path in, the rendered parts and every diagnostic out.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, display_path};
use crate::layout::{Layout, MJML_TEMPLATE, SUMMARY_MAX};
use crate::lint;
use crate::message::size;
use crate::project::Project;
use crate::render::{
    self, GREETING_PLACEHOLDER, Html, Mjml, MjmlOrigin, Reader, Text, UNSUBSCRIBE_PLACEHOLDER,
};
use crate::unsubscribe;
use crate::volume::{self, Checks, Volume};

/// Which copy of the HTML part a composition weighs against the clipping bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weighing {
    /// The part as it is shown and written (`build`, `preview`, `archive`): a reader's
    /// unsubscribe link spliced in, no greeting. One rendering.
    Shown,
    /// The largest copy any reader can get (`check`, and `plan`, `proof` and `dispatch`):
    /// the longest greeting too, in a second rendering where the layout greets.
    Largest,
}

/// What composing a volume produced. Stages that could not run are `None`; `diags` says why.
#[derive(Debug, Default)]
pub struct Composition {
    /// The parsed volume.
    pub volume: Option<Volume>,
    /// The loaded layout, for rendering variants of the volume.
    pub layout: Option<Layout>,
    /// Where the generated MJML is reported in diagnostics.
    pub origin: Option<MjmlOrigin>,
    /// The generated MJML, kept even when mrml rejects it so that it can be inspected.
    pub mjml: Option<Mjml>,
    /// The HTML part.
    pub html: Option<Html>,
    /// The HTML part's size as sent: the copy [`Weighing`] names (see
    /// [`size::largest_html_part`]).
    pub html_sent_size: usize,
    /// The text part.
    pub text: Option<Text>,
    /// Every problem found, errors and warnings.
    pub diags: Diagnostics,
}

impl Composition {
    /// The rendered parts, when every stage succeeded and nothing is an error.
    pub fn parts(&self) -> Option<(&Volume, &Mjml, &Html, &Text)> {
        if self.diags.has_errors() {
            return None;
        }
        Some((
            self.volume.as_ref()?,
            self.mjml.as_ref()?,
            self.html.as_ref()?,
            self.text.as_ref()?,
        ))
    }
}

/// Where a volume's outputs go: `out` when given, else `out/NNN/` in the project.
pub fn out_dir(project: &Project, volume: &Volume, out: Option<&Path>) -> PathBuf {
    out.map_or_else(
        || project.out_dir(*volume.meta.number.get_ref()),
        Path::to_path_buf,
    )
}

/// The folder of the layout a volume uses: its own `layout`, else the project's. A
/// `layout` that would lead outside `layouts/` is never followed (checking the volume
/// reports it).
pub fn layout_dir(project: &Project, volume: &Volume) -> PathBuf {
    let name = volume
        .meta
        .layout
        .as_ref()
        .map(|l| l.get_ref().as_str())
        .filter(|name| crate::layout::is_name(name))
        .unwrap_or(project.settings.layout.as_str());
    project.layout_dir(name)
}

/// Reads, validates, renders and lints a volume. I/O failures are errors; problems in the
/// user's files are diagnostics. A draft's placeholders and missing picks are warnings, and
/// it renders with stand-ins for them (see [`compose_with`]).
pub fn compose(project: &Project, path: &Path) -> anyhow::Result<Composition> {
    compose_with(project, path, false, Weighing::Shown)
}

/// [`compose`], with a draft's placeholders and missing picks as errors when `strict`, the
/// HTML part weighed as `weighing` says.
///
/// Every check runs on what could be read, even when the file has syntax or type errors,
/// so that one run reports every mistake; the email is rendered only from a volume read
/// without them.
pub fn compose_with(
    project: &Project,
    path: &Path,
    strict: bool,
    weighing: Weighing,
) -> anyhow::Result<Composition> {
    // A volume named by its number is held to that number, which is enough to keep it
    // from being built or sent as another; only a file named otherwise is held to the
    // numbers of the folder's volumes, which takes reading them all.
    let named_by_number = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.parse::<u32>().is_ok());
    let numbered = if named_by_number {
        Vec::new()
    } else {
        volume::numbered(folder(path))
    };
    compose_among(project, path, strict, weighing, &numbered)
}

/// [`compose_with`], given the numbers of the volumes in the volume's folder (the archive
/// reads them once for all its volumes).
pub(crate) fn compose_among(
    project: &Project,
    path: &Path,
    strict: bool,
    weighing: Weighing,
    numbered: &[volume::Numbered],
) -> anyhow::Result<Composition> {
    let mut result = Composition::default();
    let reading = volume::read(volume::read_file(path)?);
    let read_cleanly = !reading.diags.has_errors();
    result.diags = reading.diags;
    let Some(volume) = reading.volume else {
        return Ok(result);
    };
    let layout_dir = layout_dir(project, &volume);
    let layout = content(Layout::load(&project.root, &layout_dir), &mut result.diags)?;
    let previous = previous_volume(path, &volume);
    let checks = Checks {
        strict,
        topics: Some(&project.settings.topics),
        previous: previous.as_ref(),
        summary_max: Some(
            layout
                .as_ref()
                .map_or(SUMMARY_MAX, |l| l.data.copy.summary_max),
        ),
        numbered,
    };
    let renderable = volume.check(&checks, &mut result.diags);
    if let Some(layout) = &layout {
        layout.check_address(volume.is_draft(), &mut result.diags);
    }
    // A character the email cannot carry is the volume's error: the MJML would not parse.
    if let Some(layout) = layout.filter(|_| read_cleanly && renderable) {
        let origin = MjmlOrigin {
            path: GENERATED_MJML.to_owned(),
            template: display_path(&layout_dir.join(MJML_TEMPLATE)),
        };
        render_into(
            project,
            &volume.with_stand_ins(),
            &layout,
            &origin,
            weighing,
            &mut result,
        );
        name_templates(&layout, &origin, &mut result.diags);
        result.diags.merge_repeats(&origin.path);
        result.layout = Some(layout);
        result.origin = Some(origin);
    }
    result.volume = Some(volume);
    result.diags.sort_by_location();
    Ok(result)
}

/// Renders `volume` (as it is shown: a draft with its stand-ins) and lints the output,
/// into `result`.
fn render_into(
    project: &Project,
    volume: &Volume,
    layout: &Layout,
    origin: &MjmlOrigin,
    weighing: Weighing,
    result: &mut Composition,
) {
    let web_url = project.settings.page_url(*volume.meta.number.get_ref());
    let (mjml, text) = render::templates(volume, layout, web_url.as_deref());
    result.text = text.map_err(|d| result.diags.push(d)).ok();
    if let Ok(mjml) = mjml.map_err(|d| result.diags.push(d)) {
        if let Some(html) = render::html(&mjml, origin, &mut result.diags) {
            let volume_text = volume.source.text.to_ascii_lowercase();
            lint::html_rules(&html, &mjml, origin, &volume_text, &mut result.diags);
            lint::unknown_elements(&mjml, &html, origin, &mut result.diags);
            let greeted = (weighing == Weighing::Largest)
                .then(|| greeted_html(volume, layout, origin, web_url.as_deref()))
                .flatten();
            let link = largest_link(project, volume);
            result.html_sent_size = size::largest_html_part(&html, greeted.as_ref(), &link);
            lint::html_size(result.html_sent_size, &mut result.diags);
            result.html = Some(html);
        }
        result.mjml = Some(mjml);
    }
}

/// The HTML part for readers with a greeting, when the layout greets them (it shows the
/// greeting's placeholder); `None` when it does not, or cannot be rendered (the part for
/// everyone already reports why).
fn greeted_html(
    volume: &Volume,
    layout: &Layout,
    origin: &MjmlOrigin,
    web_url: Option<&str>,
) -> Option<Html> {
    let reader = Reader {
        greeting: Some(GREETING_PLACEHOLDER),
        ..Reader::default()
    };
    let mjml = render::templates_for(volume, layout, &reader, web_url)
        .0
        .ok()?;
    let html = render::html(&mjml, origin, &mut Diagnostics::default())?;
    html.0.contains(GREETING_PLACEHOLDER).then_some(html)
}

/// The unsubscribe link a reader's copy of `volume` carries (all are the same length); the
/// placeholder when the project has no `[unsubscribe]` and sends nothing.
fn largest_link(project: &Project, volume: &Volume) -> String {
    project.settings.unsubscribe.as_ref().map_or_else(
        || UNSUBSCRIBE_PLACEHOLDER.to_owned(),
        |u| {
            let token = unsubscribe::stand_in_token();
            unsubscribe::volume_url_of(u.url.get_ref(), &token, *volume.meta.number.get_ref())
        },
    )
}

/// How diagnostics name the MJML the templates generated, which no command but a failed
/// `build` writes (it puts it in `email.failed.mjml` and points them there): the line is
/// shown with them.
pub const GENERATED_MJML: &str = "<generated MJML>";

/// Names, in the notes of each diagnostic placed in the generated MJML, the template line
/// that wrote that place (a partial, often), where they named the entry template.
fn name_templates(layout: &Layout, origin: &MjmlOrigin, diags: &mut Diagnostics) {
    for diagnostic in diags.iter_mut() {
        let Some(at) = diagnostic
            .location
            .as_ref()
            .filter(|l| l.path == origin.path)
        else {
            continue;
        };
        let flagged: String = at
            .line_text
            .chars()
            .skip(at.column - 1)
            .take(at.width)
            .collect();
        let Some(source) = layout.mjml_source_of(&at.line_text, &flagged) else {
            continue;
        };
        for note in &mut diagnostic.notes {
            *note = note.replace(&origin.template, &source);
        }
    }
}

/// The volume sent before `volume`: the highest-numbered volume below it in the same folder
/// that is not a draft, as far as it can be read (its own problems are its own). `None`
/// when there is none.
fn previous_volume(path: &Path, volume: &Volume) -> Option<Volume> {
    let number = *volume.meta.number.get_ref();
    let files = volume::files(folder(path)).ok()?;
    files
        .iter()
        .rev()
        .filter(|(n, _)| *n < number)
        .find_map(|(_, file)| {
            let source = volume::read_file(file).ok()?;
            if volume::is_draft_text(&source.text) {
                return None;
            }
            volume::read(source).volume
        })
}

/// The folder a volume file is in.
fn folder(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Moves the diagnostics of a failed stage into `diags`; other errors (I/O) propagate.
fn content<T>(result: anyhow::Result<T>, diags: &mut Diagnostics) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            diags.extend(error.downcast::<Diagnostics>()?);
            Ok(None)
        }
    }
}
