//! The preview's state: the last good render, the diagnostics of the latest rebuild, and the
//! rebuild itself (the same pipeline as `build`, run again on every save).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::archive;
use crate::diag::{Diagnostic, Diagnostics, MAX_LISTED, Severity};
use crate::layout::{Layout, WEB_TEMPLATE};
use crate::lint::{HTML_MAX_BYTES, HTML_WARN_BYTES};
use crate::pipeline;
use crate::project::Project;
use crate::render::{self, web::PageLinks};
use crate::volume::Volume;

/// Gmail clips messages whose HTML part is larger than this as sent.
pub(crate) const GMAIL_CLIP_BYTES: usize = 102_000;

/// The parts of a successful render, exactly as `build` writes them.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) mjml: String,
    pub(crate) html: String,
    pub(crate) text: String,
    pub(crate) sent_size: usize,
    /// The volume's page in the web archive, when the layout has a web template.
    pub(crate) web: Option<String>,
}

/// What the preview shows now.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Increases with every rebuild, good or bad.
    pub(crate) version: u64,
    /// The version of `good`.
    pub(crate) good_version: u64,
    /// The last render without errors; stays when a later save is broken.
    pub(crate) good: Option<Arc<Parts>>,
    /// Diagnostics of the latest rebuild.
    pub(crate) diagnostics: Vec<DiagnosticView>,
    /// Whether the latest rebuild had errors.
    pub(crate) failed: bool,
    /// How long the latest rebuild took.
    pub(crate) rebuild_ms: u64,
}

/// A diagnostic as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DiagnosticView {
    severity: &'static str,
    message: String,
    location: Option<String>,
    rendered: String,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> Self {
        Self {
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            message: d.message.clone(),
            location: d
                .location
                .as_ref()
                .map(|l| format!("{}:{}:{}", l.path, l.line, l.column)),
            rendered: d.to_string(),
        }
    }
}

/// The JSON the page polls after each change event.
#[derive(Debug, Serialize)]
pub(crate) struct StateView<'a> {
    volume: String,
    version: u64,
    good_version: u64,
    failed: bool,
    rebuild_ms: u64,
    html_bytes: Option<usize>,
    sent_bytes: Option<usize>,
    clip_bytes: usize,
    warn_bytes: usize,
    error_bytes: usize,
    diagnostics: &'a [DiagnosticView],
}

impl Snapshot {
    /// The state for the page.
    pub(crate) fn view(&self, volume: &str) -> StateView<'_> {
        StateView {
            volume: volume.to_owned(),
            version: self.version,
            good_version: self.good_version,
            failed: self.failed,
            rebuild_ms: self.rebuild_ms,
            html_bytes: self.good.as_ref().map(|g| g.html.len()),
            sent_bytes: self.good.as_ref().map(|g| g.sent_size),
            clip_bytes: GMAIL_CLIP_BYTES,
            warn_bytes: HTML_WARN_BYTES,
            error_bytes: HTML_MAX_BYTES,
            diagnostics: &self.diagnostics,
        }
    }

    /// Records a rebuild's outcome: new parts when it succeeded, its diagnostics either way.
    pub(crate) fn record(&mut self, outcome: Outcome) {
        self.version += 1;
        self.failed = outcome.parts.is_none();
        if let Some(parts) = outcome.parts {
            self.good = Some(Arc::new(parts));
            self.good_version = self.version;
        }
        // As many as `check` prints: a flood of diagnostics must not flood the page.
        self.diagnostics = outcome
            .diagnostics
            .iter()
            .take(MAX_LISTED)
            .map(DiagnosticView::from)
            .collect();
        self.rebuild_ms = outcome.elapsed_ms;
    }
}

/// What one rebuild produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) parts: Option<Parts>,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) elapsed_ms: u64,
}

/// Rebuilds the volume from the files on disk, re-reading `broadsheet.toml` too. Failures to
/// read files become diagnostics: a half-saved file must not stop the preview.
pub(crate) fn rebuild(root: &Path, volume: &Path) -> Outcome {
    let started = Instant::now();
    let mut diagnostics = Diagnostics::default();
    let composed = Project::open(root).and_then(|p| pipeline::compose(&p, volume).map(|c| (p, c)));
    let parts = match composed {
        Ok((project, composition)) => {
            diagnostics = composition.diags.clone();
            composition.parts().map(|(volume, mjml, html, text)| Parts {
                mjml: mjml.0.clone(),
                html: html.0.clone(),
                text: text.0.clone(),
                sent_size: composition.html_sent_size,
                web: web_page(&project, volume, &mut diagnostics),
            })
        }
        Err(error) => {
            diagnostics.absorb(error);
            None
        }
    };
    Outcome {
        parts,
        diagnostics,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// The volume's web archive page, if its layout has a web template. Links to the archive's
/// index and feed are there but lead nowhere in the preview.
fn web_page(project: &Project, volume: &Volume, diags: &mut Diagnostics) -> Option<String> {
    let dir = pipeline::layout_dir(project, volume);
    if !dir.join(WEB_TEMPLATE).is_file() {
        return None;
    }
    let links = PageLinks {
        index: archive::INDEX,
        feed: archive::FEED,
        newer: None,
        older: None,
    };
    let page = Layout::load_web(&project.root, &dir).and_then(|web| {
        render::web::page(&volume.with_stand_ins(), &web, &links)
            .map_err(|d| Diagnostics::from(*d).into())
    });
    page.map(|page| page.0).map_err(|e| diags.absorb(e)).ok()
}

/// The files whose changes trigger a rebuild.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub(crate) volume: PathBuf,
    pub(crate) settings: PathBuf,
    pub(crate) layouts: PathBuf,
}

impl Watched {
    /// Whether a change to `path` can change the render.
    pub(crate) fn affects(&self, path: &Path) -> bool {
        path == self.volume || path == self.settings || path.starts_with(&self.layouts)
    }
}
