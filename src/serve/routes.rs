//! The routes, relative to `public_url`'s path: one-click and page unsubscribes, the
//! preference centre, sign-up and confirmation, and `healthz`. A GET never changes
//! anything; every change is durable before its answer; a form POST answers 303 with the
//! page that shows its result; tokens that do not verify all get the same 400 page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::app::App;
use super::commit::{Change, Done};
use super::form::Form;
use super::pages::Page;
use super::respond::{TopicView, forbidden, same_origin, unavailable};
use super::signup;
use crate::audience::store::Suppressed;
use crate::audience::{Address, Reason, Source};

/// The routes under `base` (a path ending with `/`).
pub(super) fn router(app: Arc<App>) -> Router {
    let base = app.serve.base_path().to_owned();
    Router::new()
        .route(
            &format!("{base}unsubscribe/{{token}}"),
            get(unsubscribe_page).post(unsubscribe),
        )
        .route(
            &format!("{base}preferences/{{token}}"),
            get(preferences_page).post(preferences),
        )
        .route(
            &format!("{base}subscribe"),
            get(signup::form).post(signup::subscribe),
        )
        .route(
            &format!("{base}confirm/{{token}}"),
            get(signup::confirm_page).post(signup::confirm),
        )
        .route(&format!("{base}healthz"), get(|| async { "ok\n" }))
        .fallback(not_found)
        .with_state(app)
}

/// The reader whose unsubscribe token is the path's `{token}`: a token that does not
/// verify answers the one bad-link page before any handler runs.
struct Reader {
    address: Address,
    token: String,
}

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let Path(token) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        match app.verify(&token) {
            Some(address) => Ok(Self { address, token }),
            None => Err(app.pages.bad_link()),
        }
    }
}

async fn not_found(State(app): State<Arc<App>>) -> Response {
    app.pages.problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// `ana@example.org` as `a…@example.org`: enough for its owner to recognise.
fn masked(address: &Address) -> String {
    crate::transport::mask_addresses(address.as_str())
}

#[derive(Serialize)]
struct UnsubscribeView {
    address: String,
    action: String,
    preferences: String,
    done: bool,
    resubscribable: bool,
}

async fn unsubscribe_page(
    State(app): State<Arc<App>>,
    Reader { address, token }: Reader,
) -> Response {
    let suppression = match app.store().suppression(&address) {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let base = app.serve.base_path();
    let view = UnsubscribeView {
        address: masked(&address),
        action: format!("{base}unsubscribe/{token}"),
        preferences: format!("{base}preferences/{token}"),
        done: suppression.is_some(),
        resubscribable: suppression.is_none_or(|s| s.reason == Reason::Unsubscribed),
    };
    app.pages.html(StatusCode::OK, Page::Unsubscribe, view)
}

/// RFC 8058 one-click (`List-Unsubscribe=One-Click`, no page, no Origin), or the page's
/// button (`confirm=yes`, Origin checked).
async fn unsubscribe(
    State(app): State<Arc<App>>,
    Reader { address, token }: Reader,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let one_click = form.get("List-Unsubscribe") == Some("One-Click");
    if !one_click && (form.get("confirm") != Some("yes") || !same_origin(&app, &headers)) {
        return forbidden(&app);
    }
    let source = if one_click {
        Source::OneClick
    } else {
        Source::Page
    };
    match app
        .committer
        .apply(Change::Unsubscribe(address, source))
        .await
    {
        Ok(Done::Suppressed(Suppressed::Added)) => {
            tracing::info!(source = source.as_str(), "unsubscribe recorded");
        }
        Ok(_) => tracing::info!(source = source.as_str(), "already suppressed"),
        Err(e) => return unavailable(&e),
    }
    if one_click {
        return (StatusCode::OK, "unsubscribed\n").into_response();
    }
    Redirect::to(&format!("{}unsubscribe/{token}", app.serve.base_path())).into_response()
}

#[derive(Serialize)]
struct PreferencesView {
    address: String,
    action: String,
    topics: Vec<TopicView>,
    subscribed: bool,
    resubscribable: bool,
    saved: bool,
}

#[derive(Deserialize)]
struct Saved {
    saved: Option<String>,
}

async fn preferences_page(
    State(app): State<Arc<App>>,
    Reader { address, token }: Reader,
    Query(query): Query<Saved>,
) -> Response {
    let (suppression, chosen) = {
        let store = app.store();
        match store
            .suppression(&address)
            .and_then(|s| Ok((s, store.topic_choice(&address)?)))
        {
            Ok(found) => found,
            Err(e) => return unavailable(&e),
        }
    };
    // The reader's own choice as committed now, else the topics the files give them.
    let chosen = chosen.map_or_else(|| app.candidates.topics(&address), |c| c.topics);
    let view = PreferencesView {
        address: masked(&address),
        action: format!("{}preferences/{token}", app.serve.base_path()),
        topics: signup::topic_views(&app, &chosen),
        subscribed: suppression.is_none(),
        resubscribable: suppression.is_none_or(|s| s.reason == Reason::Unsubscribed),
        saved: query.saved.is_some(),
    };
    app.pages.html(StatusCode::OK, Page::Preferences, view)
}

async fn preferences(
    State(app): State<Arc<App>>,
    Reader { address, token }: Reader,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if !same_origin(&app, &headers) {
        return forbidden(&app);
    }
    let base = app.serve.base_path();
    let (change, then) = match form.get("action") {
        Some("save") => {
            let topics = signup::declared_topics(&app, &form);
            (
                Change::Topics(address, topics),
                format!("{base}preferences/{token}?saved=1"),
            )
        }
        Some("unsubscribe") => (
            Change::Unsubscribe(address, Source::Page),
            format!("{base}unsubscribe/{token}"),
        ),
        Some("resubscribe") => (
            Change::Resubscribe(address),
            format!("{base}preferences/{token}"),
        ),
        _ => {
            return app.pages.problem(
                StatusCode::BAD_REQUEST,
                "Nothing to do",
                "The form said nothing to do.",
            );
        }
    };
    match app.committer.apply(change).await {
        Ok(Done::Lifted(false)) => {
            tracing::info!("resubscribe refused: not the reader's own unsubscribe")
        }
        Ok(_) => tracing::info!("preferences recorded"),
        Err(e) => return unavailable(&e),
    }
    Redirect::to(&then).into_response()
}
