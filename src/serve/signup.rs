//! Sign-up with double opt-in: the form, the request (always the same "check your inbox"
//! answer, a honeypot, a per-client limit, at most one mail an hour per address), the
//! confirmation mail through the configured transport, and the confirmation, whose GET
//! shows a button and whose POST makes the reader a member of `signup_segment`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::app::App;
use super::commit::{Change, Done};
use super::form::Form;
use super::pages::Page;
use super::routes::{TopicView, forbidden, same_origin, unavailable};
use crate::audience::Address;
use crate::audience::store::Pending;
use crate::clock::Timestamp;
use crate::message::notice::Notice;
use crate::transport::{Envelope, Transport as _};

/// How long a confirmation link works: as long as its request stays pending.
const CONFIRM_HOURS: i64 = crate::audience::store::SIGNUP_HOURS;

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
) -> Response {
    if !same_origin(&app, &headers) {
        return forbidden(&app);
    }
    let client = super::client::address(peer.ip(), &headers, &app.serve.trusted_proxies);
    if !app.limiter.allow(client) {
        return app.pages.problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-ups",
            "Please wait a minute and try again.",
        );
    }
    let value = |name: &str| form.get(name).map(str::trim);
    let sent = Redirect::to(&format!("{}subscribe?sent=1", app.serve.base_path())).into_response();
    // A filled honeypot or a bad address gets the same answer as a good sign-up.
    let Some(address) = value("email").and_then(|e| Address::parse(e).ok()) else {
        return sent;
    };
    if value("website").is_some_and(|w| !w.is_empty()) || address.needs_smtputf8() {
        return sent;
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
    match app.committer.apply(Change::Signup(pending.clone())).await {
        Ok(Done::Requested(requested)) if requested.mail => {
            // Mailed in the background, so that the answer's timing tells nothing either.
            tokio::spawn(send_confirmation(app.clone(), pending, requested.id));
        }
        Ok(_) => tracing::info!("sign-up repeated within the hour: no second mail"),
        Err(e) => return unavailable(&e),
    }
    sent
}

/// The confirmation mail's data: nothing the form's sender typed (the name is unverified
/// until the address's owner confirms), so the mail cannot carry a stranger's words.
#[derive(Serialize)]
struct MailData {
    url: String,
    hours: i64,
}

/// Mails the confirmation of sign-up `id`; a mail that cannot be sent does not count
/// towards the hourly limit.
async fn send_confirmation(app: Arc<App>, pending: Pending, id: String) {
    let (envelope, message) = match confirmation(&app, &pending, &id, Timestamp::now()) {
        Ok(built) => built,
        Err(e) => return tracing::error!("cannot write the confirmation mail: {e:#}"),
    };
    let mut transport = app.transport.lock().await;
    // No ledger: nothing to mark before the body goes.
    let sent = transport.send(&envelope, &message, async { true }).await;
    drop(transport);
    match sent {
        Ok(_) => tracing::info!("confirmation mail sent"),
        Err(e) => {
            // The relay's reply is outside text: escaped and bounded like a webhook's.
            let why = super::logged::logged(&crate::transport::mask_addresses(&e.to_string()));
            tracing::warn!("the confirmation mail was not sent: {why}");
            if let Err(e) = app.committer.apply(Change::MailFailed(id)).await {
                tracing::error!("{e:#}");
            }
        }
    }
}

/// The confirmation message of sign-up `id` and its envelope, with a link valid for
/// [`CONFIRM_HOURS`] from `now`.
fn confirmation(
    app: &App,
    pending: &Pending,
    id: &str,
    now: Timestamp,
) -> anyhow::Result<(Envelope, Vec<u8>)> {
    let expires = Timestamp(now.0 + CONFIRM_HOURS * 3600);
    let token = app
        .signer
        .confirmation_token(id, expires)
        .ok_or_else(|| anyhow::anyhow!("sign-up id {id} is not 16 hex digits"))?;
    let identity = &app.identity;
    let list = identity.name.as_deref().unwrap_or(&identity.list_id);
    let text = app.pages.mail(&MailData {
        url: format!("{}confirm/{token}", app.serve.public_url.get_ref()),
        hours: CONFIRM_HOURS,
    })?;
    let message_id = format!("<signup.{id}.{}@{}>", now.0, identity.domain);
    let notice = Notice {
        identity,
        to: &pending.address,
        subject: &format!("Confirm your subscription to {list}"),
        text: &text,
        date: now,
        message_id: &message_id,
    };
    let envelope = Envelope {
        from: identity.from.clone(),
        to: pending.address.clone(),
        message_id: message_id.clone(),
    };
    Ok((envelope, notice.build()))
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
    Path(token): Path<String>,
    Query(query): Query<Confirmed>,
) -> Response {
    let Some(id) = app.signer.verify_confirmation(&token, Timestamp::now()) else {
        return app.pages.bad_link();
    };
    let pending = match app.store().signup(&id) {
        Ok(pending) => pending,
        Err(e) => return unavailable(&e),
    };
    let done = query.done.is_some();
    if pending.is_none() && !done {
        return app.pages.bad_link();
    }
    let view = ConfirmView {
        action: format!("{}confirm/{token}", app.serve.base_path()),
        done,
    };
    app.pages.html(StatusCode::OK, Page::Confirm, view)
}

pub(super) async fn confirm(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = app.signer.verify_confirmation(&token, Timestamp::now()) else {
        return app.pages.bad_link();
    };
    if !same_origin(&app, &headers) {
        return forbidden(&app);
    }
    match app.committer.apply(Change::Confirm(id)).await {
        Ok(Done::Confirmed(Some(pending))) => {
            app.candidates.add(&app.signer, &pending.address);
            tracing::info!("sign-up confirmed");
        }
        Ok(_) => return app.pages.bad_link(),
        Err(e) => return unavailable(&e),
    }
    Redirect::to(&format!("{}confirm/{token}?done=1", app.serve.base_path())).into_response()
}
