//! `POST webhooks/ses` (Amazon SNS notifications of SES events) and `POST webhooks/postmark`
//! (HTTP basic auth): each payload checked, read by [`crate::bounces::webhooks`], and its
//! report applied through the committer like an imported one. 200 only once the effect is
//! durable, 503 when it is not (the relay retries); 403 or 401 for what is not theirs. A
//! route whose table is absent from `broadsheet.toml` is not there at all (404).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;

use super::app::App;
use super::commit::{Change, Done};
use super::logged::logged;
use super::respond::Failure;
use crate::bounces::effects::Effect;
use crate::bounces::mapping::MappedBy;
use crate::bounces::webhooks::sns::{Envelope, Type};
use crate::bounces::webhooks::{Event, postmark, ses};
use crate::bounces::{Kind, Report};
use crate::clock::Timestamp;

/// The routes, as logs and the reports' sources name them.
const SES: &str = "webhooks/ses";
const POSTMARK: &str = "webhooks/postmark";

/// The webhook routes under `base`, those configured only.
pub(super) fn router(app: Arc<App>) -> Router {
    let base = app.serve.base_path().to_owned();
    let mut router = Router::new();
    if app.hooks.ses.is_some() {
        router = router.route(&format!("{base}{SES}"), post(from_sns));
    }
    if app.hooks.postmark.is_some() {
        router = router.route(&format!("{base}{POSTMARK}"), post(from_postmark));
    }
    router.with_state(app)
}

/// A 200 answer of one line.
fn answer(text: &str) -> Result<Response, Failure> {
    Ok((StatusCode::OK, format!("{text}\n")).into_response())
}

/// A payload refused with 400: `why` quotes the payload, so it passes through [`logged`].
fn malformed(route: &'static str, why: &str) -> Failure {
    Failure::Refused(route, StatusCode::BAD_REQUEST, logged(why))
}

async fn from_sns(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    // The route exists only with `[webhooks.ses]`.
    let verifier = app.hooks.ses.as_ref().ok_or(Failure::NotFound)?;
    let envelope = Envelope::parse(&body).map_err(|why| malformed(SES, &why))?;
    let declared = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok());
    if declared != Some(envelope.kind.as_str()) {
        let why = "x-amz-sns-message-type does not name the message's Type".to_owned();
        return Err(Failure::Refused(SES, StatusCode::BAD_REQUEST, why));
    }
    if let Err(refusal) = verifier.verify(&envelope, Timestamp::now()) {
        let (id, topic) = (logged(&envelope.message_id), logged(&envelope.topic_arn));
        let why = format!("SNS message {id} of topic {topic}: {refusal}");
        return Err(Failure::Refused(SES, StatusCode::FORBIDDEN, why));
    }
    let topic = logged(&envelope.topic_arn);
    match envelope.kind {
        Type::SubscriptionConfirmation => {
            let url = logged(envelope.subscribe_url.as_deref().unwrap_or_default());
            tracing::warn!(%topic, "SNS subscription awaits confirmation: open {url}");
            answer(&format!(
                "verified; to confirm the subscription, open {url}"
            ))
        }
        Type::UnsubscribeConfirmation => {
            tracing::warn!(%topic, "SNS subscription removed");
            answer("verified; the subscription was removed")
        }
        Type::Notification => {
            let event = ses::event(&envelope.message, &envelope.message_id);
            apply(&app, event.map_err(|why| malformed(SES, &why))?, SES).await
        }
    }
}

async fn from_postmark(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    // The route exists only with `[webhooks.postmark]`.
    let credentials = app.hooks.postmark.as_ref().ok_or(Failure::NotFound)?;
    if !credentials.admit(headers.get(header::AUTHORIZATION)) {
        tracing::info!(route = POSTMARK, "refused: no valid credentials");
        return Err(Failure::Unauthorized);
    }
    let event = postmark::event(&body).map_err(|why| malformed(POSTMARK, &why))?;
    apply(&app, event, POSTMARK).await
}

/// What a report came to, for the relay (and the operator): no addresses.
#[derive(Serialize)]
struct Applied {
    report: String,
    findings: Vec<Outcome>,
}

/// What one finding came to.
#[derive(Serialize)]
struct Outcome {
    effect: Effect,
    mapped_by: Option<MappedBy>,
}

/// Applies `event` (read from `route`) and answers once it is durable.
async fn apply(app: &App, event: Event, route: &'static str) -> Result<Response, Failure> {
    let report: Report = match event {
        Event::Report(report) => report,
        Event::Ignored(what) => {
            let what = logged(&what);
            tracing::info!(route, "{what}: nothing to apply");
            return answer(&format!("ignored: {what}"));
        }
    };
    let id = report.id.clone();
    let change = Change::Report(Box::new(report), route);
    let records = match app.committer.apply(change).await? {
        Done::Applied(records) => records,
        other => {
            let e = anyhow::anyhow!("a report was answered with {other:?}, not its records");
            return Err(e.into());
        }
    };
    for record in &records {
        let address = record
            .address
            .as_deref()
            .map(crate::transport::mask_addresses);
        tracing::info!(
            route,
            report = %logged(&id),
            kind = record.kind.map_or("-", Kind::as_str),
            address = address.as_deref().unwrap_or("-"),
            effect = ?record.effect,
            "report applied"
        );
    }
    let findings = records
        .iter()
        .map(|r| Outcome {
            effect: r.effect,
            mapped_by: r.mapped_by,
        })
        .collect();
    let applied = Applied {
        report: id,
        findings,
    };
    Ok((StatusCode::OK, axum::Json(applied)).into_response())
}
