//! Checks on parsed settings that types cannot express: addresses, domains, URLs, and the
//! transport's combinations (plaintext only to loopback).

use std::ops::Range;

use toml::Spanned;

use super::{
    ArchiveSettings, Limits, MAX_PROOF_MAX, Security, Sender, Settings, TOKEN_SLOT, Transport,
    TransportKind, Unsubscribe, is_loopback_host,
};
use crate::audience::Address;
use crate::audience::address::check_domain;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::url::check_url;

/// Checks every value of `settings`, adding problems to `diags`.
pub(super) fn run(source: &SourceFile, settings: &Settings, diags: &mut Diagnostics) {
    Checker { source, diags }.run(settings);
}

struct Checker<'a> {
    source: &'a SourceFile,
    diags: &'a mut Diagnostics,
}

impl Checker<'_> {
    fn error(&mut self, message: String, span: Range<usize>, note: Option<&str>) {
        let mut d = Diagnostic::error(message).at_span(self.source, span);
        if let Some(note) = note {
            d = d.note(note);
        }
        self.diags.push(d);
    }

    fn run(mut self, settings: &Settings) {
        if let Some(sender) = &settings.sender {
            self.sender(sender);
        }
        if let Some(unsubscribe) = &settings.unsubscribe {
            self.unsubscribe(unsubscribe);
        }
        self.transport(&settings.transport);
        let proof = &settings.proof;
        for address in &proof.addresses {
            self.address(address, "[proof] addresses");
        }
        if !(1..=MAX_PROOF_MAX).contains(proof.max.get_ref()) {
            let message = format!("`max` must be between 1 and {MAX_PROOF_MAX}");
            self.error(message, proof.max.span(), None);
        }
        if let Some(archive) = &settings.archive {
            self.archive(archive);
        }
        self.limits(&settings.limits);
        super::returns::check(self.source, settings, self.diags);
    }

    fn limits(&mut self, limits: &Limits) {
        let ranges = [
            (
                "connections",
                *limits.connections.get_ref() as u64,
                1..=64,
                limits.connections.span(),
            ),
            (
                "max_attempts",
                u64::from(*limits.max_attempts.get_ref()),
                1..=20,
                limits.max_attempts.span(),
            ),
            (
                "breaker",
                u64::from(*limits.breaker.get_ref()),
                1..=10_000,
                limits.breaker.span(),
            ),
            (
                "retry_after_secs",
                *limits.retry_after_secs.get_ref(),
                0..=3600,
                limits.retry_after_secs.span(),
            ),
            (
                "relay_same_reply",
                u64::from(*limits.relay_same_reply.get_ref()),
                2..=100_000,
                limits.relay_same_reply.span(),
            ),
            (
                "relay_policy_refusals",
                u64::from(*limits.relay_policy_refusals.get_ref()),
                1..=100_000,
                limits.relay_policy_refusals.span(),
            ),
            (
                "relay_failure_percent",
                u64::from(*limits.relay_failure_percent.get_ref()),
                1..=100,
                limits.relay_failure_percent.span(),
            ),
        ];
        for (name, value, range, span) in ranges {
            if !range.contains(&value) {
                let message = format!(
                    "`{name}` must be between {} and {}",
                    range.start(),
                    range.end()
                );
                self.error(message, span, None);
            }
        }
        for rate in [&limits.per_second, &limits.per_hour].into_iter().flatten() {
            if *rate.get_ref() == 0 {
                self.error(
                    "a rate limit must be at least 1".to_owned(),
                    rate.span(),
                    Some("leave it out for no limit"),
                );
            }
        }
    }

    fn archive(&mut self, archive: &ArchiveSettings) {
        let url = archive.base_url.get_ref();
        let problem = match check_url(url, false) {
            Err(problem) => Some(format!("`base_url` {problem}")),
            Ok(()) if url.contains(['?', '#']) => {
                Some("`base_url` must not have a query or a fragment".to_owned())
            }
            Ok(()) if !url.ends_with('/') => Some(format!(
                "`base_url` must end with `/`, as in `{url}/`: page names are appended to it"
            )),
            Ok(()) => None,
        };
        if let Some(message) = problem {
            self.error(message, archive.base_url.span(), None);
        }
    }

    fn address(&mut self, field: &Spanned<String>, what: &str) {
        match Address::parse(field.get_ref()) {
            Ok(a) if a.needs_smtputf8() => {
                let message = format!("{what}: `{a}` needs SMTPUTF8; use an ASCII address");
                self.error(message, field.span(), None);
            }
            Ok(_) => {}
            Err(why) => {
                let message = format!("{what}: `{}` {why}", field.get_ref());
                self.error(message, field.span(), None);
            }
        }
    }

    /// Warns of a Reply-To off From's domain: rspamd reads it as a spoof (SPOOF_REPLYTO,
    /// 6 points, its `add header` threshold) in a message to an address on From's domain.
    fn reply_to_domain(&mut self, from: &Spanned<String>, reply_to: &Spanned<String>) {
        let (Ok(from), Ok(reply)) = (
            Address::parse(from.get_ref()),
            Address::parse(reply_to.get_ref()),
        ) else {
            return;
        };
        if from.domain() == reply.domain() {
            return;
        }
        let message = format!(
            "`reply_to` is on `{}`, not on the From address's domain `{}`",
            reply.domain(),
            from.domain()
        );
        let note = format!(
            "rspamd takes such a Reply-To for a spoof and marks the message as spam when it goes \
             to an address on `{}` (proofs to the newsroom, say); use an address there",
            from.domain()
        );
        let warning = Diagnostic::warning(message)
            .at_span(self.source, reply_to.span())
            .note(note);
        self.diags.push(warning);
    }

    fn line(&mut self, field: &Spanned<String>, what: &str) {
        if field.get_ref().chars().any(char::is_control) {
            let message =
                format!("`{what}` contains a control character; it would reach a mail header");
            self.error(message, field.span(), None);
        }
    }

    fn domain(&mut self, field: &Spanned<String>, what: &str) {
        if let Err(why) = check_domain(field.get_ref()) {
            self.error(format!("`{what}` {why}"), field.span(), None);
        }
    }

    fn sender(&mut self, sender: &Sender) {
        self.address(&sender.from, "`from`");
        if let Some(name) = &sender.name {
            self.line(name, "name");
        }
        if let Some(reply_to) = &sender.reply_to {
            self.address(reply_to, "`reply_to`");
            self.reply_to_domain(&sender.from, reply_to);
        }
        if let Some(bounce) = &sender.bounce {
            self.address(bounce, "`bounce`");
        }
        self.domain(&sender.list_id, "list_id");
        self.domain(&sender.domain, "domain");
    }

    fn unsubscribe(&mut self, unsubscribe: &Unsubscribe) {
        let url = &unsubscribe.url;
        if let Err(problem) = check_url(url.get_ref(), false) {
            self.error(format!("`url` {problem}"), url.span(), None);
        }
        if !url.get_ref().bytes().all(|b| b.is_ascii_graphic()) {
            let note = Some(
                "it goes into the List-Unsubscribe header as it is: percent-encode other characters",
            );
            let message = "`url` must be printable ASCII without spaces".to_owned();
            self.error(message, url.span(), note);
        }
        if url.get_ref().contains(',') {
            let note = Some(
                "List-Unsubscribe separates its entries with commas: percent-encode it as `%2C`",
            );
            self.error("`url` must not hold `,`".to_owned(), url.span(), note);
        }
        if url.get_ref().matches(TOKEN_SLOT).count() != 1 {
            let message =
                format!("`url` must hold `{TOKEN_SLOT}` once, where each recipient's token goes");
            self.error(message, url.span(), None);
        }
        if url.get_ref().len() > 200 {
            let note = Some("keep it short: it goes into a mail header and every message");
            self.error(
                "`url` is longer than 200 characters".to_owned(),
                url.span(),
                note,
            );
        }
        if let Some(mailto) = &unsubscribe.mailto {
            self.address(mailto, "`mailto`");
        }
        self.env_name(&unsubscribe.secret_env, "secret_env");
    }

    fn env_name(&mut self, field: &Spanned<String>, what: &str) {
        if !is_env_name(field.get_ref()) {
            let message =
                format!("`{what}` must name an environment variable, e.g. `BROADSHEET_SECRET`");
            self.error(message, field.span(), None);
        }
    }

    fn transport(&mut self, t: &Transport) {
        let smtp_only = [
            ("host", t.host.as_ref()),
            ("username", t.username.as_ref()),
            ("password_env", t.password_env.as_ref()),
        ];
        match t.kind {
            TransportKind::Outbox => {
                for (key, field) in smtp_only {
                    if let Some(field) = field {
                        let message = format!("`{key}` applies only to `kind = \"smtp\"`");
                        self.error(message, field.span(), None);
                    }
                }
            }
            TransportKind::Smtp => self.smtp(t),
        }
    }

    fn smtp(&mut self, t: &Transport) {
        if let Some(port) = &t.port
            && *port.get_ref() == 0
        {
            let note = "leave it out for the usual port of `security` (465, 587 or 25)";
            self.error(
                "`port` must be between 1 and 65535".to_owned(),
                port.span(),
                Some(note),
            );
        }
        if let Some(dir) = &t.dir {
            self.error(
                "`dir` applies only to `kind = \"outbox\"`".to_owned(),
                dir.span(),
                None,
            );
        }
        let (Some(host), Some(security)) = (&t.host, &t.security) else {
            self.diags.push(
                Diagnostic::error("`kind = \"smtp\"` needs `host` and `security`")
                    .note("e.g. `host = \"smtp.example.org\"` and `security = \"tls\"`"),
            );
            return;
        };
        if host.get_ref().is_empty()
            || host
                .get_ref()
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            self.error(
                "`host` is not a host name or address".to_owned(),
                host.span(),
                None,
            );
        }
        if let Some(ehlo) = &t.ehlo {
            let name = ehlo.get_ref();
            let literal = name.starts_with('[') && name.ends_with(']');
            let domain = !name.is_empty()
                && name.len() <= 253
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            if !(domain || literal && !name.chars().any(|c| c.is_whitespace() || c.is_control())) {
                self.error(
                    "`ehlo` must be a domain name like `mail.eto.tech` or an address literal like `[192.0.2.1]`"
                        .to_owned(),
                    ehlo.span(),
                    None,
                );
            }
        }
        if *security.get_ref() == Security::None && !is_loopback_host(host.get_ref()) {
            let note = if t.username.is_some() {
                "credentials are never sent unencrypted to another machine; use `tls` or `starttls`"
            } else {
                "use `tls` or `starttls`, or a relay on 127.0.0.1"
            };
            let message = format!(
                "`security = \"none\"` is allowed only for a loopback relay, not `{}`",
                host.get_ref()
            );
            self.error(message, security.span(), Some(note));
        }
        match (&t.username, &t.password_env) {
            (Some(_), Some(env)) => self.env_name(env, "password_env"),
            (Some(user), None) => self.error(
                "`username` needs `password_env`, the environment variable holding the password"
                    .to_owned(),
                user.span(),
                None,
            ),
            (None, Some(env)) => self.error(
                "`password_env` needs `username`".to_owned(),
                env.span(),
                None,
            ),
            (None, None) => {}
        }
        if !(1..=600).contains(t.timeout_secs.get_ref()) {
            self.error(
                "`timeout_secs` must be between 1 and 600".to_owned(),
                t.timeout_secs.span(),
                None,
            );
        }
        if !(1..=3600).contains(t.final_reply_timeout_secs.get_ref()) {
            self.error(
                "`final_reply_timeout_secs` must be between 1 and 3600".to_owned(),
                t.final_reply_timeout_secs.span(),
                None,
            );
        }
    }
}

/// Writes every address of checked `settings` as the recipients' are normalised (the
/// domain in lowercase, an international one as its punycode A-label), so that the
/// headers and the envelope they reach are ASCII: `from = "news@例子.测试"` goes out as
/// `news@xn--fsqu00a.xn--0zwm56d`. Runs once the addresses passed [`run`].
pub(super) fn normalise_addresses(settings: &mut Settings) {
    let sender = settings.sender.as_mut().into_iter().flat_map(|s| {
        std::iter::once(&mut s.from)
            .chain(s.reply_to.as_mut())
            .chain(s.bounce.as_mut())
    });
    let mailto = settings
        .unsubscribe
        .as_mut()
        .and_then(|u| u.mailto.as_mut());
    let proof = settings.proof.addresses.iter_mut();
    for field in sender.chain(mailto).chain(proof) {
        if let Ok(address) = Address::parse(field.get_ref()) {
            *field.get_mut() = address.as_str().to_owned();
        }
    }
}

/// Whether `name` can name an environment variable: letters, digits and `_`, not starting
/// with a digit.
pub(super) fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}
