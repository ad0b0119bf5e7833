//! The routes, relative to `public_url`'s path: one-click and page unsubscribes, the
//! preference centre, sign-up and confirmation, and `healthz`. A GET never changes
//! anything; every change is durable before its answer; a form POST answers 303 with the
//! page that shows its result; tokens that do not verify all get the same 400 page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::app::App;
use super::commit::{Change, Done};
use super::form::Form;
use super::pages::Page;
use super::reader::Reader;
use super::respond::{Failure, TopicView, same_origin, with_problem_pages};
use super::signup;
use crate::audience::store::Suppressed;
use crate::audience::{Address, Reason, Source};

/// The routes under `base` (a path ending with `/`).
pub(super) fn router(app: Arc<App>) -> Router {
    let base = app.serve.base_path().to_owned();
    let routes = Router::new()
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
        .route(
            &format!("{base}c/{{volume}}/{{place}}/{{mac}}"),
            get(super::clicks::follow),
        )
        .route(&format!("{base}healthz"), get(|| async { "ok\n" }))
        .fallback(|| async { Failure::NotFound });
    with_problem_pages(routes, app.clone()).with_state(app)
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
    reader: Reader,
) -> Result<Response, Failure> {
    let suppression = app.store().suppression(&reader.address)?;
    let view = UnsubscribeView {
        address: masked(&reader.address),
        action: reader.link(&app, "unsubscribe", None),
        preferences: reader.link(&app, "preferences", None),
        done: suppression.is_some(),
        resubscribable: suppression.is_none_or(|s| s.reason == Reason::Unsubscribed),
    };
    Ok(app.pages.html(StatusCode::OK, Page::Unsubscribe, view))
}

/// The page's button (`confirm=yes`), or else an RFC 8058 one-click. A POST to a tokened
/// link is its reader's request whatever else its form says: the token authorizes it (a
/// scanner never POSTs), so `List-Unsubscribe=One-Click` with a line end, in lowercase,
/// after an empty field of that name, no body at all, or a body that cannot be read as a
/// form (a client's broken multipart, another content type) is heard too. Neither checks
/// where the form came from: another site could only unsubscribe the token's own reader,
/// which the one-click lets anyone holding the token do, and browsers that send no Fetch
/// Metadata (Safari before 16.4, in-app browsers) must not keep a reader from leaving.
async fn unsubscribe(
    State(app): State<Arc<App>>,
    reader: Reader,
    form: Result<Form, Failure>,
) -> Result<Response, Failure> {
    let button = match form {
        Ok(form) => form.get("confirm") == Some("yes"),
        Err(why) => {
            let how = match why {
                Failure::Garbled(how) => how,
                Failure::NotAForm => "not a form encoding",
                _ => "its body could not be read",
            };
            tracing::info!("an unsubscribe POST's form is unreadable ({how}): a one-click");
            false
        }
    };
    let source = if button {
        Source::Page
    } else {
        Source::OneClick
    };
    let change = Change::Unsubscribe(reader.address.clone(), source, reader.volume);
    match app.committer.apply(change).await? {
        Done::Suppressed(Suppressed::Added) => {
            tracing::info!(source = source.as_str(), "unsubscribe recorded");
        }
        _ => tracing::info!(source = source.as_str(), "already suppressed"),
    }
    if !button {
        return Ok((StatusCode::OK, "unsubscribed\n").into_response());
    }
    Ok(Redirect::to(&reader.link(&app, "unsubscribe", None)).into_response())
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
    reader: Reader,
    Query(query): Query<Saved>,
) -> Result<Response, Failure> {
    let address = &reader.address;
    let (suppression, chosen) = {
        let store = app.store();
        (store.suppression(address)?, store.topic_choice(address)?)
    };
    // The reader's own choice as committed now, else the topics the files give them.
    let chosen = chosen.map_or_else(|| app.candidates.topics(address), |c| c.topics);
    let view = PreferencesView {
        address: masked(address),
        action: reader.link(&app, "preferences", None),
        topics: signup::topic_views(&app, &chosen),
        subscribed: suppression.is_none(),
        resubscribable: suppression.is_none_or(|s| s.reason == Reason::Unsubscribed),
        saved: query.saved.is_some(),
    };
    Ok(app.pages.html(StatusCode::OK, Page::Preferences, view))
}

async fn preferences(
    State(app): State<Arc<App>>,
    reader: Reader,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, Failure> {
    if !same_origin(&app, &headers) {
        return Err(Failure::Forbidden);
    }
    let (address, volume) = (reader.address.clone(), reader.volume);
    let (change, then) = match form.get("action") {
        Some("save") => {
            let topics = signup::declared_topics(&app, &form);
            (
                Change::Topics(address, topics, volume),
                reader.link(&app, "preferences", Some("saved=1")),
            )
        }
        Some("unsubscribe") => (
            Change::Unsubscribe(address, Source::Preferences, volume),
            reader.link(&app, "unsubscribe", None),
        ),
        Some("resubscribe") => (
            Change::Resubscribe(address, volume),
            reader.link(&app, "preferences", None),
        ),
        _ => return Err(Failure::NothingToDo),
    };
    match app.committer.apply(change).await? {
        Done::Lifted(false) => {
            tracing::info!("resubscribe refused: not the reader's own unsubscribe")
        }
        _ => tracing::info!("preferences recorded"),
    }
    Ok(Redirect::to(&then).into_response())
}
