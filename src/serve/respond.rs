//! What every route answers the same way: the check that a form came from our own pages,
//! a topic as the pages show it, a link's path read as [`LinkPath`], and [`Failure`], every
//! answer other than the one asked for (a refusal, a bad link, a store that cannot record),
//! which handlers return with `?`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Serialize;

use super::app::App;

#[derive(Serialize)]
pub(super) struct TopicView {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) checked: bool,
}

/// True when a form POST comes from our own pages: its `Origin` is `public_url`'s origin
/// (or the loopback host it was sent to), which browsers send from our pages (their
/// `Referrer-Policy` is `same-origin`). Where a browser sends `Origin: null` all the same
/// (a privacy setting), `Sec-Fetch-Site: same-origin` (which pages cannot forge) or,
/// lacking that, a `Referer` from our origin will do.
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

/// Why a handler does not answer what was asked. Handlers return `Result<Response, Failure>`
/// and use `?` (a store error is [`Failure::Unavailable`]). The refusals a reader sees as a
/// problem page carry its words to [`with_problem_pages`], which renders them with the layout.
#[derive(Debug)]
pub(super) enum Failure {
    /// The audience store could not read or record: nothing changed; the reader may retry.
    Unavailable(anyhow::Error),
    /// A form that did not come from our own pages.
    Forbidden,
    /// A bad, forged or expired link: one answer to all, so that none tells more.
    BadLink,
    /// No page at this address.
    NotFound,
    /// Too many sign-ups from one client.
    TooManySignups,
    /// A preferences form that names no action.
    NothingToDo,
    /// A body not sent in a form encoding.
    NotAForm,
    /// A form body that is broken; the log says how.
    Garbled(&'static str),
    /// A webhook payload refused by `route` with a status, and why (passed through
    /// `logged` where it quotes the payload).
    Refused(&'static str, StatusCode, String),
    /// A webhook request without valid credentials: the Basic challenge.
    Unauthorized,
    /// What axum itself answers to a body it cannot extract.
    Rejected(Box<Response>),
}

/// The parts of a link's path (a token, a click's volume, place and MAC). A path axum cannot
/// read, such as a percent escape that is not UTF-8, is [`Failure::BadLink`] like any other
/// bad link, never axum's own plain-text answer.
pub(super) struct LinkPath<T>(pub(super) T);

impl<T, S> FromRequestParts<S> for LinkPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(parts)) => Ok(Self(parts)),
            Err(_) => Err(Failure::BadLink),
        }
    }
}

impl Failure {
    /// What axum answers to `rejection`, a body it could not extract.
    pub(super) fn rejected(rejection: impl IntoResponse) -> Self {
        Self::Rejected(Box::new(rejection.into_response()))
    }
}

/// The errors handlers meet are the store's (a read, or the committer's answer): 503.
impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Unavailable(e)
    }
}

/// The words of a problem page, carried on the response from [`Failure`] to the layer.
#[derive(Debug, Clone, Copy)]
struct Problem {
    heading: &'static str,
    message: &'static str,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            Self::Unavailable(e) => {
                tracing::error!("a change could not be recorded: {e:#}");
                let text = "the change could not be recorded; try again\n";
                return (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
            }
            Self::Refused(route, status, why) => {
                tracing::warn!(route, status = status.as_u16(), "payload refused: {why}");
                return (status, format!("refused: {why}\n")).into_response();
            }
            Self::Unauthorized => {
                let challenge = "Basic realm=\"broadsheet webhooks\", charset=\"UTF-8\"";
                let header = [(header::WWW_AUTHENTICATE, challenge)];
                return (StatusCode::UNAUTHORIZED, header, "unauthorized\n").into_response();
            }
            Self::Rejected(response) => return *response,
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "This form came from elsewhere",
                "Open the page again and use its button.",
            ),
            Self::BadLink => (
                StatusCode::BAD_REQUEST,
                "This link does not work",
                "It may be incomplete, too old, or already used. Links in the newest issue always work.",
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no page at this address.",
            ),
            Self::TooManySignups => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ups",
                "Please wait a minute and try again.",
            ),
            Self::NothingToDo => (
                StatusCode::BAD_REQUEST,
                "Nothing to do",
                "The form said nothing to do.",
            ),
            Self::NotAForm => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This form could not be read",
                "It was not sent as a form. Open the page again and use its button.",
            ),
            Self::Garbled(how) => {
                tracing::info!("form refused: {how}");
                (
                    StatusCode::BAD_REQUEST,
                    "This form could not be read",
                    "It arrived incomplete or garbled. Open the page again and use its button.",
                )
            }
        };
        // Where no layout is at hand (the webhooks), the status's name is the answer.
        let name = status.canonical_reason().unwrap_or_default();
        let text = format!("{}\n", name.to_ascii_lowercase());
        (status, Extension(Problem { heading, message }), text).into_response()
    }
}

/// `router` with the problem page of every [`Failure`] that has one rendered by the layout
/// (an `IntoResponse` has no state to render it with).
pub(super) fn with_problem_pages(router: Router<Arc<App>>, app: Arc<App>) -> Router<Arc<App>> {
    router.layer(axum::middleware::map_response_with_state(app, problem_page))
}

async fn problem_page(State(app): State<Arc<App>>, response: Response) -> Response {
    match response.extensions().get::<Problem>().copied() {
        Some(p) => app.pages.problem(response.status(), p.heading, p.message),
        None => response,
    }
}
