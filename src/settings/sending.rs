//! The settings a send needs, checked once and turned into plain values: who the messages
//! come from, the unsubscribe link, the pace, and the route to the relay. Commands that
//! send build one [`Sending`] from the parsed settings and pass it on; nothing further
//! down asks whether a table exists or reads a span.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Security, Settings, TransportKind};

/// Everything a send needs from `broadsheet.toml`.
#[derive(Debug, Clone)]
pub struct Sending {
    /// `[sender]`.
    pub identity: Identity,
    /// `[unsubscribe]`.
    pub unsubscribe: UnsubscribeLink,
    /// `[limits]`.
    pub pace: Pace,
    /// `[transport]`.
    pub route: Route,
}

/// Who the messages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The From address, also the envelope sender.
    pub from: String,
    /// The From display name.
    pub name: Option<String>,
    /// Where replies go, when not to `from`.
    pub reply_to: Option<String>,
    /// The list's identifier for `List-Id`.
    pub list_id: String,
    /// The domain on the right of every Message-ID.
    pub domain: String,
    /// `[sender] feedback_id`, for the `Feedback-ID` header.
    pub feedback_id: Option<String>,
    /// The web archive's address (`[archive] base_url`), for the `List-Archive` header.
    pub archive: Option<String>,
}

/// The one-click unsubscribe link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeLink {
    /// An https URL with a `{token}` slot.
    pub url: String,
    /// An address that also accepts unsubscribe mail.
    pub mailto: Option<String>,
    /// The environment variable holding the token signing secret.
    pub secret_env: String,
}

/// How fast and how hard a dispatch sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pace {
    /// SMTP connections at once.
    pub connections: usize,
    /// Messages per second over all connections.
    pub per_second: Option<u32>,
    /// Messages per hour over all connections.
    pub per_hour: Option<u32>,
    /// Tries per message in one run.
    pub max_attempts: u32,
    /// The first retry's delay.
    pub retry_after: Duration,
    /// Transient failures in a row that stop the run.
    pub breaker: u32,
    /// When permanent refusals show that the relay, not the recipients, refuses.
    pub relay: RelayLimits,
}

/// The signs of a relay that refuses everyone (see `[limits]` in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayLimits {
    /// Identical permanent refusals in a row, at any number of domains, that stop a run.
    pub same_reply: u32,
    /// Permanent 5.7.x (policy) refusals in a row that stop a run.
    pub policy_refusals: u32,
    /// The share of permanent failures (percent) among a run's first outcomes that stops it.
    pub failure_percent: u32,
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Files in a folder of the project (relative to its root).
    Outbox(String),
    /// An SMTP relay.
    Smtp(SmtpRoute),
}

/// An SMTP relay and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpRoute {
    /// The relay's host name or address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is encrypted.
    pub security: Security,
    /// The user name to authenticate with, if any.
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// How long each step may take.
    pub timeout: Duration,
    /// How long the reply to the final dot may take.
    pub final_reply_timeout: Duration,
    /// The name given in `EHLO`, once per connection.
    pub ehlo: String,
}

impl Sending {
    /// The sending settings, or what is missing for a send.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let sender = settings.sender.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "broadsheet.toml has no [sender] table (from, list_id, domain); see the README"
            )
        })?;
        let unsubscribe = settings.unsubscribe.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "broadsheet.toml has no [unsubscribe] table (url, secret_env); see the README"
            )
        })?;
        let text = |s: &toml::Spanned<String>| s.get_ref().clone();
        let limits = &settings.limits;
        Ok(Self {
            identity: Identity {
                from: text(&sender.from),
                name: sender.name.as_ref().map(text),
                reply_to: sender.reply_to.as_ref().map(text),
                list_id: text(&sender.list_id),
                domain: text(&sender.domain),
                feedback_id: sender.feedback_id.as_ref().map(text),
                archive: settings.archive.as_ref().map(|a| text(&a.base_url)),
            },
            unsubscribe: UnsubscribeLink {
                url: text(&unsubscribe.url),
                mailto: unsubscribe.mailto.as_ref().map(text),
                secret_env: text(&unsubscribe.secret_env),
            },
            pace: Pace {
                connections: *limits.connections.get_ref(),
                per_second: limits.per_second.as_ref().map(|r| *r.get_ref()),
                per_hour: limits.per_hour.as_ref().map(|r| *r.get_ref()),
                max_attempts: *limits.max_attempts.get_ref(),
                retry_after: Duration::from_secs(*limits.retry_after_secs.get_ref()),
                breaker: *limits.breaker.get_ref(),
                relay: RelayLimits {
                    same_reply: *limits.relay_same_reply.get_ref(),
                    policy_refusals: *limits.relay_policy_refusals.get_ref(),
                    failure_percent: *limits.relay_failure_percent.get_ref(),
                },
            },
            route: route(settings)?,
        })
    }

    /// What shapes every message of a dispatch, by name, for freezing with it: a resumed
    /// dispatch refuses to go on when one of these changed. `secret` is a fingerprint of
    /// the signing secret, never the secret.
    pub fn frozen(&self, secret: &str) -> BTreeMap<&'static str, String> {
        let id = &self.identity;
        let optional = |v: &Option<String>| v.clone().unwrap_or_default();
        BTreeMap::from([
            ("from", id.from.clone()),
            ("from name", optional(&id.name)),
            ("reply-to", optional(&id.reply_to)),
            ("list id", id.list_id.clone()),
            ("message-id domain", id.domain.clone()),
            ("feedback id", optional(&id.feedback_id)),
            ("list archive", optional(&id.archive)),
            ("unsubscribe url", self.unsubscribe.url.clone()),
            ("unsubscribe mailto", optional(&self.unsubscribe.mailto)),
            ("unsubscribe secret", secret.to_owned()),
            (FROZEN_RELAY, self.route.describe()),
        ])
    }
}

/// The frozen setting (see [`Sending::frozen`]) that names the relay a dispatch went to.
pub const FROZEN_RELAY: &str = "relay";

impl Route {
    /// Where messages go, for people: `host:port` or the outbox folder.
    pub fn describe(&self) -> String {
        match self {
            Self::Outbox(dir) => format!("{dir}/"),
            Self::Smtp(s) => format!("{}:{}", s.host, s.port),
        }
    }
}

/// This machine's own name when it is a full domain name (what relays expect in `EHLO`),
/// else `[sender] domain`.
fn host_name(settings: &Settings) -> String {
    let own = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let domain_like = own.contains('.')
        && own
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if domain_like {
        return own;
    }
    settings
        .sender
        .as_ref()
        .map_or_else(|| "localhost".to_owned(), |s| s.domain.get_ref().clone())
}

fn route(settings: &Settings) -> anyhow::Result<Route> {
    let t = &settings.transport;
    Ok(match t.kind {
        TransportKind::Outbox => {
            let dir = t.dir.as_ref().map_or("outbox", |d| d.get_ref());
            Route::Outbox(dir.to_owned())
        }
        TransportKind::Smtp => {
            let (Some(host), Some(security)) = (&t.host, &t.security) else {
                anyhow::bail!("`kind = \"smtp\"` needs `host` and `security` in [transport]");
            };
            let security = *security.get_ref();
            Route::Smtp(SmtpRoute {
                host: host.get_ref().clone(),
                port: t
                    .port
                    .as_ref()
                    .map_or(security.default_port(), |p| *p.get_ref()),
                security,
                username: t.username.as_ref().map(|u| u.get_ref().clone()),
                password_env: t.password_env.as_ref().map(|p| p.get_ref().clone()),
                timeout: Duration::from_secs(*t.timeout_secs.get_ref()),
                final_reply_timeout: Duration::from_secs(*t.final_reply_timeout_secs.get_ref()),
                ehlo: t
                    .ehlo
                    .as_ref()
                    .map_or_else(|| host_name(settings), |e| e.get_ref().clone()),
            })
        }
    })
}
