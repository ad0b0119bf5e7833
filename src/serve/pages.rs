//! The service's pages, written by the layout's `pages/*.html.hbs` with the web archive's
//! head, header and footer partials: page data in, an HTML response out.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::layout::{Layout, LayoutData};
use crate::project::Project;

/// The pages, in the order of [`crate::layout::PAGE_TEMPLATES`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Page {
    Unsubscribe,
    Preferences,
    Subscribe,
    Confirm,
    Problem,
    ConfirmMail,
    WelcomeMail,
}

impl Page {
    /// Whether the page is a mail's text rather than HTML.
    fn is_text(self) -> bool {
        matches!(self, Self::ConfirmMail | Self::WelcomeMail)
    }
}

/// The loaded templates and what every page shows.
#[derive(Debug)]
pub(super) struct Pages {
    layout: Layout,
    names: Vec<String>,
    list: String,
    feed: String,
}

#[derive(Serialize)]
struct Data<'a, T> {
    lang: &'a str,
    list: &'a str,
    layout: &'a LayoutData,
    archive: Archive<'a>,
    page: T,
}

#[derive(Serialize)]
struct Archive<'a> {
    feed: &'a str,
}

/// The problem page's words.
#[derive(Serialize)]
struct Problem<'a> {
    heading: &'a str,
    message: &'a str,
}

impl Pages {
    /// Loads the project's default layout with its pages; `list` is the newsletter's name.
    pub(super) fn load(project: &Project, list: String) -> anyhow::Result<Self> {
        let dir = project.layout_dir(&project.settings.layout);
        let (layout, names) = Layout::load_pages(&project.root, &dir)?;
        let feed = project
            .settings
            .archive
            .as_ref()
            .map(|a| format!("{}{}", a.base_url.get_ref(), crate::archive::FEED))
            .unwrap_or_default();
        Ok(Self {
            layout,
            names,
            list,
            feed,
        })
    }

    fn render(&self, page: Page, data: impl Serialize) -> anyhow::Result<String> {
        let data = Data {
            lang: "en",
            list: &self.list,
            layout: &self.layout.data,
            archive: Archive { feed: &self.feed },
            page: data,
        };
        let name = &self.names[page as usize];
        let registry = match page.is_text() {
            true => &self.layout.text,
            false => &self.layout.html,
        };
        registry
            .render(name, &data)
            .map_err(|e| anyhow::anyhow!("{}", self.layout.render_diagnostic(&e, page.is_text())))
    }

    /// A page as a response with `status`; a template error is logged and answered 500.
    pub(super) fn html(&self, status: StatusCode, page: Page, data: impl Serialize) -> Response {
        match self.render(page, data) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("cannot render a page: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page cannot be shown\n",
                )
                    .into_response()
            }
        }
    }

    /// The problem page (with the words of a `Failure`).
    pub(super) fn problem(&self, status: StatusCode, heading: &str, message: &str) -> Response {
        self.html(status, Page::Problem, Problem { heading, message })
    }

    /// A mail's text (`page` is one of the mails).
    pub(super) fn text(&self, page: Page, data: impl Serialize) -> anyhow::Result<String> {
        self.render(page, data)
    }

    /// The newsletter's name, as mails and pages give it.
    pub(super) fn list(&self) -> &str {
        &self.list
    }
}
