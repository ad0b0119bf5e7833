//! The web archive's pages, written by the layout's web templates: a volume's page (from the
//! same data as its email, without the unsubscribe link) and the index of every volume.

use serde::Serialize;

use super::{Reader, TemplateData, VolumeData, pick_ids};
use crate::diag::Diagnostic;
use crate::layout::{LayoutData, WebLayout};
use crate::volume::Volume;

/// A page of the web archive, as the layout's template wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebPage(pub String);

/// A volume as the archive lists it: the fields templates see as `volume`, plus `href`, its
/// page relative to the archive's folder.
#[derive(Debug, Serialize)]
pub(crate) struct Listing<'a> {
    #[serde(flatten)]
    volume: VolumeData<'a>,
    href: String,
}

impl<'a> Listing<'a> {
    /// Lists `volume`, whose page is `href`.
    pub(crate) fn new(volume: &'a Volume, href: String) -> Self {
        let ids = pick_ids(volume);
        Self {
            volume: VolumeData::new(volume, &|id| ids.get(id).copied()),
            href,
        }
    }
}

/// Where a page sits in the archive (`archive` in the web templates). Every link is relative,
/// so the folder works wherever it is served or opened.
#[derive(Debug, Serialize)]
pub(crate) struct PageLinks<'a> {
    /// The index page.
    pub(crate) index: &'a str,
    /// The Atom feed.
    pub(crate) feed: &'a str,
    /// The next volume, if this is a volume's page and there is one.
    pub(crate) newer: Option<&'a Listing<'a>>,
    /// The previous volume, likewise.
    pub(crate) older: Option<&'a Listing<'a>>,
}

/// A web page's own links: no unsubscribe link, no "view in browser".
#[derive(Debug, Serialize)]
struct WebLinks<'a> {
    archive: &'a PageLinks<'a>,
}

/// The data the index template sees.
#[derive(Debug, Serialize)]
struct IndexData<'a> {
    /// The newsletter's title and language, from the newest volume.
    title: &'a str,
    lang: &'a str,
    /// Every volume, newest first.
    volumes: &'a [Listing<'a>],
    archive: &'a PageLinks<'a>,
    layout: &'a LayoutData,
}

/// Renders a volume's web page; a template error is a diagnostic at its line (boxed, as
/// `Err` is the rare case).
pub(crate) fn page(
    volume: &Volume,
    web: &WebLayout,
    archive: &PageLinks<'_>,
) -> Result<WebPage, Box<Diagnostic>> {
    let data = TemplateData::new(
        volume,
        &web.layout.data,
        &Reader::default(),
        WebLinks { archive },
    );
    render(web, &web.page_name, &data)
}

/// Renders the index of `volumes` (newest first).
pub(crate) fn index(
    web: &WebLayout,
    volumes: &[Listing<'_>],
    archive: &PageLinks<'_>,
) -> Result<WebPage, Box<Diagnostic>> {
    let newest = volumes.first().map(|v| &v.volume);
    let data = IndexData {
        title: newest.map_or("", |v| v.title),
        lang: newest.map_or("en", |v| v.lang),
        volumes,
        archive,
        layout: &web.layout.data,
    };
    render(web, &web.index_name, &data)
}

fn render(web: &WebLayout, name: &str, data: &impl Serialize) -> Result<WebPage, Box<Diagnostic>> {
    super::bounded(&web.layout, name, data, false).map(WebPage)
}
