//! The project settings in `broadsheet.toml`: text in, a checked [`Settings`] out, or every
//! problem as a compiler-style diagnostic. Secrets never live here: only the names of the environment variables (or 0600 files) that hold them.

use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::toml_diag::Document;

mod check;
mod returns;
mod secrets;
mod sending;
mod serve;
mod webhooks;

pub use returns::{Algorithm, Bounces, Dkim, FORGEABLE, MAX_BOUNCE_LOCAL, OneOrMany, VERP_HINT};
pub use sending::{
    FROZEN_RELAY, Identity, Pace, RelayLimits, Route, Sending, SmtpRoute, UnsubscribeLink,
};
pub use serve::{Clicks, Serve};
pub use webhooks::{PostmarkWebhook, SesWebhook, Webhooks};

/// The slot in `[unsubscribe] url` that each recipient's token fills.
pub const TOKEN_SLOT: &str = "{token}";

/// The contents of `broadsheet.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The layout volumes use unless they name one (a folder under `layouts/`).
    #[serde(default = "default_layout")]
    pub layout: String,
    /// The newsroom's time zone (an IANA name), for `dispatch --at`; the system's when
    /// absent.
    pub zone: Option<Spanned<String>>,
    /// Who the newsletter comes from; needed to send.
    pub sender: Option<Sender>,
    /// How messages leave: the outbox folder (default) or an SMTP relay.
    #[serde(default)]
    pub transport: Transport,
    /// The unsubscribe link every message carries; needed to send to subscribers.
    pub unsubscribe: Option<Unsubscribe>,
    /// Who test copies may go to.
    #[serde(default)]
    pub proof: Proof,
    /// The public web archive (`[archive]`), when the project publishes one.
    pub archive: Option<ArchiveSettings>,
    /// How fast and how hard `dispatch` sends.
    #[serde(default)]
    pub limits: Limits,
    /// DKIM signing, when the project signs its messages itself.
    pub dkim: Option<Dkim>,
    /// How `bounces import` judges what comes back.
    #[serde(default)]
    pub bounces: Bounces,
    /// The warnings found in the file, which `check` prints.
    #[serde(skip)]
    pub warnings: Diagnostics,
    /// The subscriber service (`[serve]`), when the project runs `broadsheet serve`.
    pub serve: Option<Serve>,
    /// `[clicks]`: click counts per link, when the project counts them.
    pub clicks: Option<Clicks>,
    /// The reports relays post to `serve` (`[webhooks.ses]`, `[webhooks.postmark]`).
    #[serde(default)]
    pub webhooks: Webhooks,
    /// `[topics]`: the topics readers may choose (key: the topic volumes and recipients
    /// use; value: its label), in the order of their keys.
    #[serde(default)]
    pub topics: std::collections::BTreeMap<String, String>,
}

/// `[limits]`: the dispatch's pace and patience.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// SMTP connections at once (each sends one message at a time).
    pub connections: Spanned<usize>,
    /// Messages per second over all connections; none when absent.
    pub per_second: Option<Spanned<u32>>,
    /// Messages per hour over all connections (sliding window); none when absent.
    pub per_hour: Option<Spanned<u32>>,
    /// Tries per message in one run before a deferred message waits for the next run.
    pub max_attempts: Spanned<u32>,
    /// The first retry's delay in seconds; each later one doubles, up to an hour.
    pub retry_after_secs: Spanned<u64>,
    /// Transient failures in a row that stop the run (resumable).
    pub breaker: Spanned<u32>,
    /// Permanent refusals in a row with the same reply code and enhanced code, at any
    /// number of domains, that show the relay (not the recipients) refusing: the run stops,
    /// resumable, and nobody is suppressed.
    pub relay_same_reply: Spanned<u32>,
    /// Permanent 5.7.x (policy) refusals in a row that stop the run the same way.
    pub relay_policy_refusals: Spanned<u32>,
    /// The share of permanent failures (percent) among a run's first 100 outcomes, counted
    /// from the 10th, that stops the run the same way.
    pub relay_failure_percent: Spanned<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: Spanned::new(0..0, 4),
            per_second: None,
            per_hour: None,
            max_attempts: Spanned::new(0..0, 5),
            retry_after_secs: Spanned::new(0..0, 30),
            breaker: Spanned::new(0..0, 20),
            relay_same_reply: Spanned::new(0..0, 10),
            relay_policy_refusals: Spanned::new(0..0, 3),
            relay_failure_percent: Spanned::new(0..0, 50),
        }
    }
}

impl Settings {
    /// Whether dispatched messages count clicks (`[clicks]` there and enabled).
    pub fn counts_clicks(&self) -> bool {
        self.clicks.as_ref().is_some_and(|c| c.enabled)
    }

    /// The public URL of volume `number`'s web page, when the project has an archive.
    pub fn page_url(&self, number: u32) -> Option<String> {
        self.archive.as_ref().map(|a| a.page_url(number))
    }
}

/// The file name of volume `number`'s page in the web archive: `NNN.html`, numbered like
/// the volume files. Settings own it because the page's public URL is built from it.
pub fn page_name(number: u32) -> String {
    format!("{number:03}.html")
}

/// `[archive]`: where `broadsheet archive`'s output is published.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// The public URL of the archive's folder: https, ending with `/`.
    pub base_url: Spanned<String>,
}

impl ArchiveSettings {
    /// The public URL of volume `number`'s web page.
    pub fn page_url(&self, number: u32) -> String {
        format!("{}{}", self.base_url.get_ref(), page_name(number))
    }
}

/// `[sender]`: the From address and the list's identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// The From address.
    pub from: Spanned<String>,
    /// The From display name.
    pub name: Option<Spanned<String>>,
    /// Where replies go, when not to `from`.
    pub reply_to: Option<Spanned<String>>,
    /// The list's identifier for `List-Id` (RFC 2919), a domain-like name such as `scout.eto.tech`.
    pub list_id: Spanned<String>,
    /// The domain on the right of every Message-ID.
    pub domain: Spanned<String>,
    /// The return path's base address (`bounces@…`): when set, each dispatched message's
    /// envelope sender is `bounces+TOKEN@…`, naming its recipient (VERP).
    pub bounce: Option<Spanned<String>>,
    /// The `Feedback-ID` header Gmail's feedback loop reports complaints by
    /// (`campaign:customer:mailtype:sender`); the same for every reader, never personal.
    pub feedback_id: Option<Spanned<String>>,
}

/// `[transport]`: where messages go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    /// `outbox` (default) or `smtp`.
    #[serde(default)]
    pub kind: TransportKind,
    /// The outbox folder, relative to the project (outbox only).
    pub dir: Option<Spanned<String>>,
    /// The SMTP relay's host name or address.
    pub host: Option<Spanned<String>>,
    /// The relay's port; defaults to 465 for `tls`, 587 for `starttls`, 25 for `none`.
    pub port: Option<Spanned<u16>>,
    /// How the connection is encrypted.
    pub security: Option<Spanned<Security>>,
    /// The user name to authenticate with, if the relay needs one.
    pub username: Option<Spanned<String>>,
    /// The environment variable holding the password (never the password itself).
    pub password_env: Option<Spanned<String>>,
    /// Seconds to wait for each step of an SMTP exchange.
    #[serde(default = "default_timeout")]
    pub timeout_secs: Spanned<u64>,
    /// Seconds to wait for the reply to the final dot of a message's data: the relay may
    /// scan it first, and a message without that reply is ambiguous (RFC 5321 §4.5.3.2.6
    /// recommends 10 minutes).
    #[serde(default = "default_final_reply_timeout")]
    pub final_reply_timeout_secs: Spanned<u64>,
    /// The name this machine gives in `EHLO` (the relay may check it against its address);
    /// by default the host's own name when it is a full domain name, else `[sender] domain`.
    pub ehlo: Option<Spanned<String>>,
}

/// The kinds of transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Writes `.eml` files and envelopes to a folder.
    #[default]
    Outbox,
    /// Hands messages to an SMTP relay.
    Smtp,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte (port 465), certificate verified.
    Tls,
    /// STARTTLS required, certificate verified.
    Starttls,
    /// No encryption: only for a relay on a loopback address.
    None,
}

/// `[unsubscribe]`: the one-click unsubscribe link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    /// An https URL with a `{token}` slot.
    pub url: Spanned<String>,
    /// An address that also accepts unsubscribe mail, listed second in `List-Unsubscribe`.
    pub mailto: Option<Spanned<String>>,
    /// The environment variable holding the token signing secret.
    pub secret_env: Spanned<String>,
}

/// `[proof]`: the only people test copies may reach (besides `--to`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// A segment of `recipients.toml` whose members are on the proof list.
    pub segment: Option<Spanned<String>>,
    /// Further addresses on the proof list.
    #[serde(default)]
    pub addresses: Vec<Spanned<String>>,
    /// The most test copies one `proof` run sends.
    #[serde(default = "default_proof_max")]
    pub max: Spanned<usize>,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            kind: TransportKind::Outbox,
            dir: None,
            host: None,
            port: None,
            security: None,
            username: None,
            password_env: None,
            timeout_secs: Spanned::new(0..0, default_timeout_secs()),
            final_reply_timeout_secs: default_final_reply_timeout(),
            ehlo: None,
        }
    }
}

impl Default for Proof {
    fn default() -> Self {
        Self {
            segment: None,
            addresses: Vec::new(),
            max: Spanned::new(0..0, DEFAULT_PROOF_MAX),
        }
    }
}

const DEFAULT_PROOF_MAX: usize = 5;
const MAX_PROOF_MAX: usize = 50;

fn default_layout() -> String {
    "scout".to_owned()
}

fn default_timeout_secs() -> u64 {
    30
}

fn default_timeout() -> Spanned<u64> {
    Spanned::new(0..0, default_timeout_secs())
}

fn default_final_reply_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 600)
}

fn default_proof_max() -> Spanned<usize> {
    Spanned::new(0..0, DEFAULT_PROOF_MAX)
}

/// True for `localhost` and loopback addresses (`127.0.0.0/8`, `::1`, and `::ffff:127.x`).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

impl Security {
    /// The conventional port for this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::Starttls => 587,
            Self::None => 25,
        }
    }
}

/// Parses and checks the settings file's text, reporting every problem.
pub fn parse(source: &SourceFile) -> Result<Settings, Diagnostics> {
    let mut diags = Diagnostics::default();
    let doc = Document::parse(source, &mut diags);
    let mut root = doc.root_value();
    secrets::take_passwords(source, &mut root, &mut diags);
    let settings = doc.exact::<Settings>(source, root, &mut diags);
    let Some(mut settings) = settings.filter(|_| !diags.has_errors()) else {
        secrets::mask_secrets(&mut diags);
        diags.sort_by_location();
        return Err(diags);
    };
    check::run(source, &settings, &mut diags);
    if let Some(s) = &settings.serve {
        serve::check(source, s, settings.unsubscribe.as_ref(), &mut diags);
    }
    webhooks::check(source, &settings.webhooks, &mut diags);
    if settings.counts_clicks() && settings.serve.is_none() {
        let span = doc.root().get("clicks").map_or(0..0, Spanned::span);
        diags.push(
            Diagnostic::error(
                "`[clicks]` needs `[serve]`: the counted links point at `broadsheet serve`",
            )
            .at_span(source, span),
        );
    }
    serve::check_topics(source, doc.root(), &mut diags);
    if !crate::layout::is_name(&settings.layout) {
        let span = doc.root().get("layout").map_or(0..0, Spanned::span);
        diags.push(
            Diagnostic::error("`layout` must name a folder under `layouts/`, such as `scout`")
                .at_span(source, span),
        );
    }
    if let Some(zone) = &settings.zone
        && jiff::tz::TimeZone::get(zone.get_ref()).is_err()
    {
        let message = format!(
            "unknown time zone `{}`: use an IANA name such as `Europe/Berlin` or `UTC`",
            zone.get_ref()
        );
        diags.push(Diagnostic::error(message).at_span(source, zone.span()));
    }
    if diags.has_errors() {
        secrets::mask_secrets(&mut diags);
        diags.sort_by_location();
        return Err(diags);
    }
    check::normalise_addresses(&mut settings);
    settings.warnings = diags;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Settings, Diagnostics> {
        parse(&SourceFile::new(
            std::path::Path::new("broadsheet.toml"),
            text.to_owned(),
        ))
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "localhost",
            "::1",
            "[::1]",
            "127.1.2.3",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "0.0.0.0",
            "10.0.0.1",
            "smtp.example.org",
            "localhost.example.org",
            "::",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn password_is_an_error_at_its_place() {
        let err = parse_text("[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nsecurity = \"none\"\npassword = \"hunter2\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("broadsheet.toml:5:1"), "{text}");
        assert!(text.contains("password_env"), "{text}");
        assert!(
            !text.contains("hunter2"),
            "the password is never shown:\n{text}"
        );
    }

    #[test]
    fn plaintext_only_on_loopback() {
        let base = "[transport]\nkind = \"smtp\"\nsecurity = \"none\"\nusername = \"u\"\npassword_env = \"P\"\n";
        assert!(parse_text(&format!("{base}host = \"127.0.0.1\"\n")).is_ok());
        let err = parse_text(&format!("{base}host = \"relay.example.org\"\n")).unwrap_err();
        assert!(
            err.to_string()
                .contains("credentials are never sent unencrypted"),
            "{err}"
        );
    }

    #[test]
    fn unsubscribe_urls_are_plain_ascii_with_one_slot() {
        let with = |url: &str| {
            parse_text(&format!(
                "[unsubscribe]\nurl = \"{url}\"\nsecret_env = \"S\"\n"
            ))
        };
        assert!(with("https://x.example.org/u/{token}").is_ok());
        for bad in [
            "https://x.example.org/u/",
            "https://x.example.org/ü/{token}",
            "https://x.example.org/u/{token}\\u0001",
            "http://x.example.org/{token}",
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_to_the_outbox() {
        let s = parse_text("layout = \"scout\"\n").unwrap();
        assert_eq!(s.transport.kind, TransportKind::Outbox);
        assert_eq!(*s.proof.max.get_ref(), 5);
    }

    /// The problems (errors, else warnings) of settings `text`, as `line:column: message`.
    pub(crate) fn located_problems(text: &str) -> Vec<String> {
        let diags = match parse_text(text) {
            Ok(settings) => settings.warnings,
            Err(diags) => diags,
        };
        diags
            .iter()
            .map(|d| {
                let at = d.location.as_ref().expect("a location");
                format!("{}:{}: {}", at.line, at.column, d.message)
            })
            .collect()
    }

    /// The problems `[archive]` with this `base_url` has, as `line:column: message`.
    fn base_url_problems(url: &str) -> Vec<String> {
        located_problems(&format!(
            "layout = \"scout\"\n[archive]\nbase_url = \"{url}\"\n"
        ))
    }

    #[test]
    fn base_url_must_be_https_and_end_with_a_slash() {
        assert!(base_url_problems("https://scout.eto.tech/newsletter/").is_empty());
        let problems = [
            ("http://x.test/", "must use https"),
            ("https://x.test/newsletter", "must end with `/`"),
            ("https://x.test/?a=b/", "query or a fragment"),
            ("javascript:alert(1)/", "`javascript:`"),
        ];
        for (url, expected) in problems {
            let found = base_url_problems(url);
            assert_eq!(found.len(), 1, "{url}: {found:?}");
            assert!(found[0].starts_with("3:12: "), "{found:?}");
            assert!(found[0].contains(expected), "{url}: {found:?}");
        }
    }

    #[test]
    fn page_urls_append_the_page_name() {
        let settings = parse_text("[archive]\nbase_url = \"https://x.test/n/\"").expect("valid");
        assert_eq!(
            settings.page_url(7).as_deref(),
            Some("https://x.test/n/007.html")
        );
    }
}
