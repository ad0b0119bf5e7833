//! The web archive: every volume in `volumes/` as a web page, an index and an Atom feed,
//! rendered in memory (each volume checked by the same [`pipeline`] as `check`) and then
//! written all at once ([`publish()`]), or not at all when any volume has an error. Drafts
//! (`draft = true`) are left out before they are checked, so a half-written volume never
//! holds back the pages of those already sent.

mod feed;
mod publish;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

pub(crate) use publish::publish;

use crate::diag::{Diagnostic, Diagnostics, display_path};
use crate::layout::{Layout, WebLayout};
use crate::pipeline;
use crate::project::{Project, SETTINGS_FILE};
use crate::render::web::{self, Listing, PageLinks};
use crate::settings::{ArchiveSettings, page_name};
use crate::volume::{self, Volume};

/// The index page's file name.
pub(crate) const INDEX: &str = "index.html";
/// The Atom feed's file name.
pub(crate) const FEED: &str = "feed.xml";

/// The archive as built in memory.
#[derive(Debug, Default)]
pub(crate) struct Site {
    /// File name in the archive's folder → contents; empty when `diags` holds an error.
    pub files: BTreeMap<String, String>,
    /// How many volumes the archive holds.
    pub volumes: usize,
    /// Every diagnostic of the volumes that have errors, and problems of the archive itself.
    pub diags: Diagnostics,
    /// The volumes without errors that have warnings (`check` shows them), as paths to
    /// show with their number of warnings, in volume order.
    pub warnings: Vec<(String, usize)>,
    /// The draft volumes left out, as paths to show.
    pub drafts: Vec<String>,
}

/// Checks and renders every volume, then the index and the feed. Problems in user files are
/// in [`Site::diags`]; other failures (I/O, no `[archive]` settings) are errors.
pub(crate) fn build(project: &Project) -> anyhow::Result<Site> {
    let Some(settings) = &project.settings.archive else {
        bail!(
            "{SETTINGS_FILE} has no [archive] table: add one with the archive's public URL, \
             e.g. `base_url = \"https://example.org/newsletter/\"` (the feed needs absolute links)"
        );
    };
    let mut site = Site::default();
    let mut volumes = checked_volumes(project, &mut site)?;
    if site.diags.has_errors() {
        return Ok(site);
    }
    if volumes.is_empty() {
        bail!(
            "every volume is a draft ({}): the archive holds only volumes without `draft = true`",
            site.drafts.join(", ")
        );
    }
    volumes.sort_by_key(|v| std::cmp::Reverse(*v.meta.number.get_ref()));
    let listings: Vec<Listing<'_>> = volumes
        .iter()
        .map(|v| Listing::new(v, page_name(*v.meta.number.get_ref())))
        .collect();
    let mut layouts = Layouts::new(project);
    let entries = pages(&mut layouts, &volumes, &listings, settings, &mut site)?;
    let newest = volumes
        .first()
        .expect("checked above: at least one volume is not a draft");
    let feed = feed::Feed {
        base_url: settings.base_url.get_ref(),
        title: newest.meta.title.get_ref(),
        entries,
    };
    index_and_feed(&mut layouts, &listings, feed, &mut site)?;
    site.volumes = volumes.len();
    if site.diags.has_errors() {
        site.files.clear();
    }
    Ok(site)
}

/// Adds every volume's page (`volumes` and `listings` newest first) and returns their feed
/// entries.
fn pages<'a>(
    layouts: &mut Layouts<'_>,
    volumes: &'a [Volume],
    listings: &[Listing<'_>],
    settings: &ArchiveSettings,
    site: &mut Site,
) -> anyhow::Result<Vec<feed::Entry<'a>>> {
    let mut entries = Vec::with_capacity(volumes.len());
    for (i, volume) in volumes.iter().enumerate() {
        let links = PageLinks {
            index: INDEX,
            feed: FEED,
            newer: i.checked_sub(1).map(|newer| &listings[newer]),
            older: listings.get(i + 1),
        };
        entries.extend(volume_page(layouts, volume, &links, settings, site)?);
    }
    Ok(entries)
}

/// Adds the index page and the feed, both in the project's default layout (whose name is
/// the feed's author).
fn index_and_feed(
    layouts: &mut Layouts<'_>,
    listings: &[Listing<'_>],
    feed: feed::Feed<'_>,
    site: &mut Site,
) -> anyhow::Result<()> {
    let project = layouts.project;
    let Some(web) = layouts.get(&project.layout_dir(&project.settings.layout), site)? else {
        return Ok(());
    };
    let links = PageLinks {
        index: INDEX,
        feed: FEED,
        newer: None,
        older: None,
    };
    match web::index(web, listings, &links) {
        Ok(page) => {
            site.files.insert(INDEX.to_owned(), page.0);
        }
        Err(d) => push_once(&mut site.diags, *d),
    }
    site.files
        .insert(FEED.to_owned(), feed.to_xml(&web.layout.data.name));
    Ok(())
}

/// Composes every volume but the drafts as `check` does. Volumes with errors contribute all
/// their diagnostics; the others, their warning count with their path. Two volumes with one
/// number are an error of both (composing checks the numbers of the whole folder).
fn checked_volumes(project: &Project, site: &mut Site) -> anyhow::Result<Vec<Volume>> {
    let mut volumes: Vec<Volume> = Vec::new();
    let numbered = volume::numbered(&project.volumes_dir());
    for (_, path) in volume::files(&project.volumes_dir())? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read volume {}", path.display()))?;
        if volume::is_draft_text(&text) {
            site.drafts.push(display_path(&path));
            continue;
        }
        let composition =
            pipeline::compose_among(project, &path, false, pipeline::Weighing::Shown, &numbered)?;
        if composition.diags.has_errors() {
            site.diags.extend(composition.diags);
            continue;
        }
        let warnings = composition.diags.counts().1;
        if warnings > 0 {
            site.warnings.push((display_path(&path), warnings));
        }
        let volume = composition
            .volume
            .expect("a volume without errors was parsed");
        volumes.push(volume);
    }
    Ok(volumes)
}

/// Renders one volume's page into the site and returns its feed entry.
fn volume_page<'a>(
    layouts: &mut Layouts<'_>,
    volume: &'a Volume,
    links: &PageLinks<'_>,
    settings: &ArchiveSettings,
    site: &mut Site,
) -> anyhow::Result<Option<feed::Entry<'a>>> {
    let Some(web) = layouts.get(&pipeline::layout_dir(layouts.project, volume), site)? else {
        return Ok(None);
    };
    let number = *volume.meta.number.get_ref();
    let page = match web::page(volume, web, links) {
        Ok(page) => page.0,
        Err(d) => {
            push_once(&mut site.diags, *d);
            return Ok(None);
        }
    };
    let Some(content) = feed::main_element(&page) else {
        push_once(
            &mut site.diags,
            Diagnostic::error(format!("{} writes no `<main>` element", web.page_name))
                .note("the feed takes each volume's content from the page's `<main>`"),
        );
        return Ok(None);
    };
    let entry = feed::Entry {
        url: settings.page_url(number),
        title: volume.meta.headline.get_ref(),
        summary: volume.meta.preheader.as_ref().map(|p| p.get_ref().as_str()),
        updated: *volume.meta.period.get_ref().to.get_ref(),
        content: content.to_owned(),
    };
    site.files.insert(page_name(number), page);
    Ok(Some(entry))
}

/// Adds `diagnostic` unless it is already there: one template error would otherwise be
/// reported once per volume.
fn push_once(diags: &mut Diagnostics, diagnostic: Diagnostic) {
    if !diags.iter().any(|d| *d == diagnostic) {
        diags.push(diagnostic);
    }
}

/// The layouts the archive uses, each loaded once with its web templates. A layout that
/// fails to load is reported once and remembered as `None`.
struct Layouts<'p> {
    project: &'p Project,
    loaded: BTreeMap<PathBuf, Option<WebLayout>>,
}

impl<'p> Layouts<'p> {
    fn new(project: &'p Project) -> Self {
        Self {
            project,
            loaded: BTreeMap::new(),
        }
    }

    fn get(&mut self, dir: &PathBuf, site: &mut Site) -> anyhow::Result<Option<&WebLayout>> {
        if !self.loaded.contains_key(dir) {
            let loaded = match Layout::load_web(&self.project.root, dir) {
                Ok(web) => Some(web),
                Err(error) => {
                    let diags = error.downcast::<Diagnostics>()?;
                    site.diags.extend(diags);
                    None
                }
            };
            self.loaded.insert(dir.clone(), loaded);
        }
        Ok(self.loaded[dir].as_ref())
    }
}
