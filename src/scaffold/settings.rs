//! The `broadsheet.toml` of a new project: the settings a newsletter needs set, and every
//! other setting written out as a comment that says what it does, so that the file is its
//! own reference. Values come from the [`Newsroom`]; proofs go to the outbox folder until a
//! relay is configured.

use super::Newsroom;

/// A TOML string literal for `value`.
pub(super) fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// The settings file's text.
pub(super) fn text(n: &Newsroom) -> String {
    TEMPLATE
        .replace("{layout}", &quoted(n.design.name()))
        .replace("{title}", &quoted(&n.title))
        .replace("{from}", &quoted(&n.from))
        .replace("{list_id}", &quoted(&format!("{}.{}", n.slug(), n.domain)))
        .replace("{domain_value}", &quoted(&n.domain))
        .replace("{domain}", &n.domain)
}

const TEMPLATE: &str = r#"# The settings of this broadsheet project, written by `broadsheet init`. Commands find this
# file by walking up from the current folder, as cargo does with Cargo.toml. Every table
# rejects unknown keys, and `broadsheet check VOLUME` reports every problem with its line.
# Lines starting with `#` are settings left at their defaults: remove the `#` to use one.

# The layout volumes use unless they name one: a folder under layouts/.
layout = {layout}

# Who the newsletter comes from.
[sender]
from = {from}
name = {title}                    # the From display name
# reply_to = "editors@{domain}"   # where replies go, when not to `from`
list_id = {list_id}               # List-Id: the list's permanent identity (RFC 2919)
domain = {domain_value}           # the right-hand side of every Message-ID
# bounce = "bounces@{domain}"     # envelope sender bounces+TOKEN@{domain} (VERP), so that
#                                 # bounce reports name their recipient

# How messages leave. `outbox` (the default) writes each message as an .eml file and its
# envelope into `dir` (git-ignored, mode 0600): no server needed, good for proofs.
[transport]
kind = "outbox"
dir = "outbox"
# To hand messages to an SMTP relay instead:
# kind = "smtp"
# host = "smtp.example.org"
# port = 465                      # defaults: 465 for tls, 587 for starttls, 25 for none
# security = "tls"                # "tls" | "starttls" (both verified) | "none" (loopback only)
# username = "newsletter"
# password_env = "BROADSHEET_SMTP_PASSWORD"   # the password itself never goes in this file
# timeout_secs = 30               # for each step: connect, greeting, each command, the body

# The one-click unsubscribe link (RFC 8058) in every message's headers and both bodies.
# `{token}` becomes an opaque per-recipient token, signed with the secret in the environment
# variable `secret_env` names (make one with `openssl rand -base64 32`); `broadsheet serve`
# answers these links. Proofs carry a harmless link and need no secret.
[unsubscribe]
url = "https://{domain}/unsubscribe/{token}"
# mailto = "unsubscribe@{domain}" # a second way to unsubscribe, by mail
secret_env = "BROADSHEET_UNSUBSCRIBE_SECRET"

# Who `broadsheet proof` may send test copies to: the members of `segment` in
# recipients.toml and these `addresses` (plus any given with --to), at most `max` a run.
[proof]
segment = "staff"
# addresses = ["editors@{domain}"]
max = 5

# The web archive that `broadsheet archive` writes (out/archive/: a page per volume,
# index.html and feed.xml). `base_url` is the public address of that folder (https, ending
# with `/`): volume 1's page is base_url + "001.html". With it, emails link to their page
# ("View in browser").
# [archive]
# base_url = "https://{domain}/newsletter/"

# `broadsheet serve`, the subscriber service (one-click unsubscribe, preferences, sign-up),
# runs behind a TLS reverse proxy that forwards `public_url` to it. With this table,
# `[unsubscribe] url` must be public_url + "unsubscribe/{token}".
# [serve]
# public_url = "https://{domain}/"
# signup_segment = "subscribers"  # the segment readers who sign up join
# trusted_proxies = ["127.0.0.1"] # whose X-Forwarded-For is believed (the reverse proxy)

# Click counts per pick, off unless enabled (see "What the issue did" in the README): each
# link of the HTML part then points at `serve` with the volume and the link's place, and
# nothing about the reader; counts are kept per volume, link and hour. Needs [serve].
# [clicks]
# enabled = true
# text = false                    # true: count the text part's links too

# The topics readers may choose on the sign-up and preference pages: the key is the topic
# used in volumes (`topics = ["ai"]` on a pick) and recipients, the value its label.
# `check` warns about a pick topic this table does not declare.
# [topics]
# ai = "Artificial intelligence"
# climate = "Climate"

# DKIM signatures on every dispatched message and proof, with the PEM private key in the
# environment variable `key_env` names (or in `key_file`, mode 0600). Publish the public key
# at SELECTOR._domainkey.DOMAIN.
# [dkim]
# domain = "{domain}"
# algorithm = "rsa-sha256"        # or "ed25519-sha256", or both as a list
# selector = "broadsheet"
# key_env = "BROADSHEET_DKIM_KEY"

# What comes back: `soft_limit` temporary failures in a row suppress an address, and
# `broadsheet bounces fetch` reads bounce reports from this IMAP folder.
# [bounces]
# soft_limit = 3
# host = "imap.example.org"
# security = "tls"                # "tls" | "starttls" | "none" (loopback only)
# username = "bounces"
# password_env = "BROADSHEET_IMAP_PASSWORD"
# folder = "INBOX"
# move_to = "Processed"

# Reports that Amazon SES (through SNS) and Postmark post to `broadsheet serve`.
# [webhooks.ses]
# certificate = "sns.pem"         # the SNS signing certificate, relative to this file
# topic_arns = ["arn:aws:sns:eu-west-1:123456789012:broadsheet-bounces"]
# [webhooks.postmark]
# username = "postmark"
# password_env = "BROADSHEET_POSTMARK_PASSWORD"

# How fast and how hard `broadsheet dispatch` sends (these are the defaults).
# [limits]
# connections = 4                 # SMTP connections at once
# per_second = 10                 # messages a second over all connections (none by default)
# per_hour = 20000                # messages an hour (none by default)
# max_attempts = 5                # tries per message in one run
# retry_after_secs = 30           # the first retry's delay, doubled each time up to an hour
# breaker = 20                    # transient failures in a row that stop the run (resumable)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::scaffold::Design;

    #[test]
    fn every_commented_setting_is_one_the_settings_accept() {
        let newsroom = Newsroom {
            title: "The \"Wire\"".to_owned(),
            from: "news@example.org".to_owned(),
            domain: "example.org".to_owned(),
            address: String::new(),
            design: Design::Plain,
            today: Date::new(2026, 5, 6).expect("a date"),
        };
        let written = text(&newsroom);
        let parse = |text: String| {
            crate::settings::parse(&crate::diag::SourceFile::new(
                std::path::Path::new("broadsheet.toml"),
                text,
            ))
        };
        let settings = parse(written.clone()).expect("the written settings parse");
        assert!(settings.warnings.iter().next().is_none(), "no warnings");
        assert_eq!(
            settings.sender.expect("a sender").list_id.into_inner(),
            "the-wire.example.org"
        );
        // Uncommented, the optional tables still parse: the comments name real settings.
        let uncommented: String = written
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest,
                _ => l,
            })
            .filter(|l| !l.starts_with("kind = \"smtp\"") && !l.starts_with("security = \"tls\""))
            .collect::<Vec<_>>()
            .join("\n");
        let problems = match parse(uncommented) {
            Ok(s) => s.warnings,
            Err(d) => d,
        };
        let unknown: Vec<_> = problems
            .iter()
            .filter(|d| d.message.contains("unknown field"))
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}
