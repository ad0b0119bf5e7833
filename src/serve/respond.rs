//! What every route answers the same way: the check that a form came from our own pages,
//! the refusal of one that did not, the answer when the store cannot record a change, and
//! a topic as the pages show it.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::app::App;

#[derive(Serialize)]
pub(super) struct TopicView {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) checked: bool,
}

/// True when a form POST comes from our own pages: its `Origin` is `public_url`'s origin
/// (or the loopback host it was sent to). Our pages send no referrer, and browsers then send
/// `Origin: null` with a form; for those, `Sec-Fetch-Site: same-origin` (which pages cannot
/// forge) or, lacking that, a `Referer` from our origin will do.
pub(super) fn same_origin(app: &App, headers: &HeaderMap) -> bool {
    let public = format!("https://{}", app.serve.public_host());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let local = format!("http://{host}");
    let name = host.rsplit_once(':').map_or(host, |(n, _)| n);
    let loopback = crate::settings::is_loopback_host(name);
    let ok = |origin: &str| origin == public || (loopback && origin == local);
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match (
        text("origin").filter(|o| *o != "null"),
        text("sec-fetch-site"),
        text("referer"),
    ) {
        (Some(origin), _, _) => ok(origin),
        (None, Some(site), _) => site == "same-origin",
        (None, None, Some(referer)) => [&public, &local].iter().any(|o| {
            ok(o)
                && referer
                    .strip_prefix(o.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        }),
        (None, None, None) => false,
    }
}

pub(super) fn forbidden(app: &App) -> Response {
    app.pages.problem(
        StatusCode::FORBIDDEN,
        "This form came from elsewhere",
        "Open the page again and use its button.",
    )
}

/// A store failure: nothing was recorded, and the reader may try again.
pub(super) fn unavailable(e: &anyhow::Error) -> Response {
    tracing::error!("a change could not be recorded: {e:#}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the change could not be recorded; try again\n",
    )
        .into_response()
}
