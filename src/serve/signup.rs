//! Sign-up with double opt-in: the form, the request (always the same "check your inbox"
//! answer, a honeypot, a per-client limit, at most one mail an hour per address), and the
//! confirmation, whose GET shows a button and whose POST makes the reader a member of
//! `signup_segment` (the mails themselves are [`super::mail`]'s).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::app::App;
use super::commit::{Change, Done};
use super::form::Form;
use super::pages::Page;
use super::respond::{Failure, LinkPath, TopicView, same_origin};
use crate::audience::Address;
use crate::audience::store::Pending;
use crate::clock::Timestamp;

/// The topics of `[topics]`, ticked when in `chosen`.
pub(super) fn topic_views(app: &App, chosen: &[String]) -> Vec<TopicView> {
    app.topics
        .iter()
        .map(|(key, label)| TopicView {
            key: key.clone(),
            label: label.clone(),
            checked: chosen.contains(key),
        })
        .collect()
}

/// The form's `topics` that `[topics]` declares, in its order; others are ignored.
pub(super) fn declared_topics(app: &App, form: &Form) -> Vec<String> {
    app.topics
        .iter()
        .filter(|(key, _)| form.values("topics").any(|v| v == key))
        .map(|(key, _)| key.clone())
        .collect()
}

#[derive(Deserialize)]
pub(super) struct Sent {
    sent: Option<String>,
}

#[derive(Serialize)]
struct FormView {
    action: String,
    topics: Vec<TopicView>,
    sent: bool,
}

pub(super) async fn form(State(app): State<Arc<App>>, Query(query): Query<Sent>) -> Response {
    let view = FormView {
        action: format!("{}subscribe", app.serve.base_path()),
        topics: topic_views(&app, &[]),
        sent: query.sent.is_some(),
    };
    app.pages.html(StatusCode::OK, Page::Subscribe, view)
}

pub(super) async fn subscribe(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, Failure> {
    if !same_origin(&app, &headers) {
        return Err(Failure::Forbidden);
    }
    let client = super::client::address(peer.ip(), &headers, &app.serve.trusted_proxies);
    if !app.limiter.allow(client) {
        return Err(Failure::TooManySignups);
    }
    let value = |name: &str| form.get(name).map(str::trim);
    let sent = Redirect::to(&format!("{}subscribe?sent=1", app.serve.base_path())).into_response();
    // A filled honeypot or a bad address gets the same answer as a good sign-up.
    let Some(address) = value("email").and_then(|e| Address::parse(e).ok()) else {
        return Ok(sent);
    };
    if value("website").is_some_and(|w| !w.is_empty()) || address.needs_smtputf8() {
        return Ok(sent);
    }
    let name = value("name")
        .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
        .map(|n| n.chars().take(100).collect());
    let pending = Pending {
        address,
        name,
        topics: declared_topics(&app, &form),
        segment: app.serve.signup_segment.get_ref().clone(),
        requested_at: Timestamp::now(),
    };
    match app.committer.apply(Change::Signup(pending.clone())).await? {
        Done::Requested(requested) if requested.mail => {
            // Mailed in the background, so that the answer's timing tells nothing either.
            tokio::spawn(super::mail::confirmation(
                app.clone(),
                pending,
                requested.id,
                false,
            ));
        }
        _ => tracing::info!("sign-up repeated within the hour: no second mail"),
    }
    Ok(sent)
}

#[derive(Serialize)]
struct ConfirmView {
    action: String,
    done: bool,
}

#[derive(Deserialize)]
pub(super) struct Confirmed {
    done: Option<String>,
}

pub(super) async fn confirm_page(
    State(app): State<Arc<App>>,
    LinkPath(token): LinkPath<String>,
    Query(query): Query<Confirmed>,
) -> Result<Response, Failure> {
    let now = Timestamp::now();
    let id = app
        .signer
        .verify_confirmation(&token, now)
        .ok_or(Failure::BadLink)?;
    let pending = app.store().signup(&id)?;
    // The mail's link opened again once confirmed shows that it was.
    let done = query.done.is_some() || (pending.is_none() && app.store().confirmed(&id)?);
    if pending.is_none() && !done {
        return Err(Failure::BadLink);
    }
    let view = ConfirmView {
        action: format!("{}confirm/{token}", app.serve.base_path()),
        done,
    };
    Ok(app.pages.html(StatusCode::OK, Page::Confirm, view))
}

pub(super) async fn confirm(
    State(app): State<Arc<App>>,
    LinkPath(token): LinkPath<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let now = Timestamp::now();
    let id = app
        .signer
        .verify_confirmation(&token, now)
        .ok_or(Failure::BadLink)?;
    if !same_origin(&app, &headers) {
        return Err(Failure::Forbidden);
    }
    let welcome = app.serve.welcome;
    let change = Change::Confirm {
        id: id.clone(),
        welcome,
    };
    match app.committer.apply(change).await? {
        Done::Confirmed(Some(pending), welcome) => {
            app.candidates.add(&app.signer, &pending.address);
            tracing::info!("sign-up confirmed");
            if welcome {
                tokio::spawn(super::mail::welcome(app.clone(), pending));
            }
        }
        // The button pressed again (a double click, the back button): it did what it says.
        _ if app.store().confirmed(&id)? => tracing::info!("sign-up confirmed before"),
        _ => return Err(Failure::BadLink),
    }
    let done = format!("{}confirm/{token}?done=1", app.serve.base_path());
    Ok(Redirect::to(&done).into_response())
}
