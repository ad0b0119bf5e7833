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
use super::respond::unavailable;
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

fn answer(status: StatusCode, text: &str) -> Response {
    (status, format!("{text}\n")).into_response()
}

/// Refuses a payload with `status`, logging and answering `why`: what it quotes of the
/// payload the caller has passed through [`logged`].
fn refused(route: &'static str, status: StatusCode, why: &str) -> Response {
    tracing::warn!(route, status = status.as_u16(), "payload refused: {why}");
    answer(status, &format!("refused: {why}"))
}

async fn from_sns(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    // The route exists only with `[webhooks.ses]`.
    let Some(verifier) = app.hooks.ses.as_ref() else {
        return answer(StatusCode::NOT_FOUND, "not found");
    };
    let envelope = match Envelope::parse(&body) {
        Ok(envelope) => envelope,
        Err(why) => return refused(SES, StatusCode::BAD_REQUEST, &logged(&why)),
    };
    let declared = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok());
    if declared != Some(envelope.kind.as_str()) {
        let why = "x-amz-sns-message-type does not name the message's Type";
        return refused(SES, StatusCode::BAD_REQUEST, why);
    }
    if let Err(refusal) = verifier.verify(&envelope, Timestamp::now()) {
        let (id, topic) = (logged(&envelope.message_id), logged(&envelope.topic_arn));
        let why = format!("SNS message {id} of topic {topic}: {refusal}");
        return refused(SES, StatusCode::FORBIDDEN, &why);
    }
    let topic = logged(&envelope.topic_arn);
    match envelope.kind {
        Type::SubscriptionConfirmation => {
            let url = logged(envelope.subscribe_url.as_deref().unwrap_or_default());
            tracing::warn!(%topic, "SNS subscription awaits confirmation: open {url}");
            answer(
                StatusCode::OK,
                &format!("verified; to confirm the subscription, open {url}"),
            )
        }
        Type::UnsubscribeConfirmation => {
            tracing::warn!(%topic, "SNS subscription removed");
            answer(StatusCode::OK, "verified; the subscription was removed")
        }
        Type::Notification => match ses::event(&envelope.message, &envelope.message_id) {
            Ok(event) => apply(&app, event, SES).await,
            Err(why) => refused(SES, StatusCode::BAD_REQUEST, &logged(&why)),
        },
    }
}

async fn from_postmark(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    // The route exists only with `[webhooks.postmark]`.
    let Some(credentials) = app.hooks.postmark.as_ref() else {
        return answer(StatusCode::NOT_FOUND, "not found");
    };
    if !credentials.admit(headers.get(header::AUTHORIZATION)) {
        tracing::info!(route = POSTMARK, "refused: no valid credentials");
        let challenge = [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"broadsheet webhooks\", charset=\"UTF-8\"",
        )];
        return (StatusCode::UNAUTHORIZED, challenge, "unauthorized\n").into_response();
    }
    match postmark::event(&body) {
        Ok(event) => apply(&app, event, POSTMARK).await,
        Err(why) => refused(POSTMARK, StatusCode::BAD_REQUEST, &logged(&why)),
    }
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
async fn apply(app: &App, event: Event, route: &'static str) -> Response {
    let report: Report = match event {
        Event::Report(report) => report,
        Event::Ignored(what) => {
            let what = logged(&what);
            tracing::info!(route, "{what}: nothing to apply");
            return answer(StatusCode::OK, &format!("ignored: {what}"));
        }
    };
    let id = report.id.clone();
    let change = Change::Report(Box::new(report), route);
    let records = match app.committer.apply(change).await {
        Ok(Done::Applied(records)) => records,
        Ok(other) => {
            let e = anyhow::anyhow!("a report was answered with {other:?}, not its records");
            return unavailable(&e);
        }
        Err(e) => return unavailable(&e),
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
    (
        StatusCode::OK,
        axum::Json(Applied {
            report: id,
            findings,
        }),
    )
        .into_response()
}
