//! `POST webhooks/ses` (Amazon SNS notifications of SES events) and `POST webhooks/postmark`
//! (HTTP basic auth): each payload checked, read by [`crate::bounces::webhooks`], and its
//! report applied through the committer like an imported one. 200 only once the effect is
//! durable, 503 when it is not (the relay retries); 403 or 401 for what is not theirs. A
//! route whose table is absent from `broadsheet.toml` is not there at all (404).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use serde::Serialize;
use sha2::Sha256;

use super::app::App;
use super::commit::{Change, Done};
use super::logged::logged;
use super::routes::unavailable;
use crate::bounces::effects::Effect;
use crate::bounces::mapping::MappedBy;
use crate::bounces::webhooks::sns::{Envelope, Type, Verifier};
use crate::bounces::webhooks::{Event, postmark, ses};
use crate::bounces::{Kind, Report};
use crate::clock::Timestamp;
use crate::settings::PostmarkWebhook;

/// What the webhooks accept: the SNS verifier and Postmark's credentials, each when
/// configured.
#[derive(Debug)]
pub(super) struct Hooks {
    pub(super) ses: Option<Verifier>,
    pub(super) postmark: Option<Credentials>,
}

/// Postmark's basic-auth credentials, kept only as a MAC so that they compare in constant
/// time (and never show in a debug print).
pub(super) struct Credentials {
    expected: [u8; 32],
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The routes, as logs and the reports' sources name them.
const SES: &str = "webhooks/ses";
const POSTMARK: &str = "webhooks/postmark";

impl Credentials {
    /// The credentials of `settings`, the password read from its environment variable.
    pub(super) fn from_env(settings: &PostmarkWebhook) -> anyhow::Result<Self> {
        let name = settings.password_env.get_ref();
        let password = std::env::var(name).ok().filter(|p| !p.is_empty());
        let password = password.ok_or_else(|| {
            anyhow::anyhow!(
                "the environment variable {name} (`[webhooks.postmark] password_env`) is not set: \
                 it holds the password of Postmark's webhook URL"
            )
        })?;
        let pair = format!("{}:{password}", settings.username.get_ref());
        Ok(Self {
            expected: mac(pair.as_bytes()).finalize().into_bytes().into(),
        })
    }

    /// Whether `authorization` is `Basic` with these credentials.
    fn admit(&self, authorization: Option<&HeaderValue>) -> bool {
        let given = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok());
        given.is_some_and(|pair| mac(&pair).verify_slice(&self.expected).is_ok())
    }
}

fn mac(pair: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(b"broadsheet webhook basic auth")
        .expect("HMAC takes a key of any length");
    mac.update(pair);
    mac
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_admits_only_the_configured_pair() {
        let settings: PostmarkWebhook =
            toml::from_str("username = \"postmark\"\npassword_env = \"BROADSHEET_TEST_PM\"\n")
                .unwrap();
        let credentials = Credentials {
            expected: mac(b"postmark:s3cret").finalize().into_bytes().into(),
        };
        assert!(
            Credentials::from_env(&settings).is_err(),
            "the variable is not set"
        );
        let header = |text: &str| HeaderValue::from_str(text).unwrap();
        let basic = |pair: &str| header(&format!("Basic {}", STANDARD.encode(pair)));
        assert!(credentials.admit(Some(&basic("postmark:s3cret"))));
        assert!(credentials.admit(Some(&header(&format!(
            "basic {}",
            STANDARD.encode("postmark:s3cret")
        )))));
        for wrong in ["postmark:s3cre", "postmark:s3cret ", "other:s3cret", ""] {
            assert!(!credentials.admit(Some(&basic(wrong))), "{wrong:?}");
        }
        assert!(!credentials.admit(Some(&header("Bearer postmark:s3cret"))));
        assert!(!credentials.admit(Some(&header("Basic not-base64!"))));
        assert!(!credentials.admit(None));
        assert_eq!(format!("{credentials:?}"), "Credentials(***)");
    }
}
