//! `[serve]` and `[topics]`: how `broadsheet serve` is reached (its public URL behind the
//! reverse proxy, which proxies to believe) and the topics readers may choose, each one
//! topic as recipient files write them.

use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{TOKEN_SLOT, Unsubscribe};
use crate::audience::topic;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::url::check_url;

/// `[serve]`: the subscriber service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// The service's public address (https, ending with `/`); every route is relative to it.
    pub public_url: Spanned<String>,
    /// The segment readers who sign up join.
    #[serde(default = "default_signup_segment")]
    pub signup_segment: Spanned<String>,
    /// Proxies whose `X-Forwarded-For` is believed (the client is its last hop not listed).
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// Whether a reader who confirms gets one welcome mail (the layout's
    /// `pages/welcome.txt.hbs`).
    #[serde(default = "yes")]
    pub welcome: bool,
    /// Hours after which a sign-up still pending gets one reminder; 0 for none. Below the
    /// confirmation link's life, so that the reminder's link still works.
    #[serde(default = "default_remind_after")]
    pub remind_after_hours: Spanned<i64>,
}

/// `[clicks]`: counting clicks per link of each pick, with links that name no reader (off
/// unless the table is there; `enabled = false` turns it off again).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clicks {
    /// Whether the HTML part's links point at `serve` to be counted.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether the text part's links are counted too.
    #[serde(default)]
    pub text: bool,
}

fn yes() -> bool {
    true
}

fn default_remind_after() -> Spanned<i64> {
    Spanned::new(0..0, 24)
}

fn default_signup_segment() -> Spanned<String> {
    Spanned::new(0..0, "subscribers".to_owned())
}

impl Serve {
    /// The host (and port, if given) of `public_url`, e.g. `scout.eto.tech`.
    pub fn public_host(&self) -> &str {
        let url = self.public_url.get_ref();
        let rest = url.strip_prefix("https://").unwrap_or(url);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The path of `public_url`, e.g. `/` or `/newsletter/`; routes hang below it.
    pub fn base_path(&self) -> &str {
        let url = self.public_url.get_ref();
        let rest = url.strip_prefix("https://").unwrap_or(url);
        rest.find('/').map_or("/", |i| &rest[i..])
    }

    /// The unsubscribe URL that `[unsubscribe] url` must be with this service.
    pub fn unsubscribe_url(&self) -> String {
        format!("{}unsubscribe/{TOKEN_SLOT}", self.public_url.get_ref())
    }
}

/// Checks `[serve]` and that `[unsubscribe] url` points at it.
pub(super) fn check(
    source: &SourceFile,
    serve: &Serve,
    unsubscribe: Option<&Unsubscribe>,
    diags: &mut Diagnostics,
) {
    let remind = serve.remind_after_hours.get_ref();
    let life = crate::audience::store::SIGNUP_HOURS;
    if !(0..life).contains(remind) {
        let message = format!(
            "`remind_after_hours` must be between 0 (no reminder) and {} (a confirmation link works {life} hours)",
            life - 1
        );
        diags.push(Diagnostic::error(message).at_span(source, serve.remind_after_hours.span()));
    }
    let url = serve.public_url.get_ref();
    let problem = match check_url(url, false) {
        Err(problem) => Some(format!("`public_url` {problem}")),
        Ok(()) if url.contains(['?', '#']) => {
            Some("`public_url` must not have a query or a fragment".to_owned())
        }
        Ok(()) if !url.ends_with('/') => {
            Some(format!("`public_url` must end with `/`, as in `{url}/`"))
        }
        Ok(()) => None,
    };
    if let Some(message) = problem {
        diags.push(Diagnostic::error(message).at_span(source, serve.public_url.span()));
        return;
    }
    if let Some(unsubscribe) = unsubscribe
        && *unsubscribe.url.get_ref() != serve.unsubscribe_url()
    {
        diags.push(
            Diagnostic::error(format!(
                "`url` must be `{}`: `broadsheet serve` answers unsubscribes there",
                serve.unsubscribe_url()
            ))
            .at_span(source, unsubscribe.url.span())
            .note("`[serve] public_url` + `unsubscribe/{token}`"),
        );
    }
}

/// Checks that each key of `[topics]` is one topic by the rule recipient files follow (see
/// [`crate::audience::topic`]): a reader who ticks it on the preferences page gets it
/// back as exactly that topic.
pub(super) fn check_topics(source: &SourceFile, root: &DeTable<'_>, diags: &mut Diagnostics) {
    let Some(DeValue::Table(topics)) = root.get("topics").map(Spanned::get_ref) else {
        return;
    };
    for (key, _) in topics.iter() {
        let name = key.get_ref();
        if let Some(flaw) = topic::flaw(name) {
            let d = flaw
                .notes(name, &[])
                .into_iter()
                .fold(Diagnostic::error(flaw.message(name)), Diagnostic::note);
            diags.push(d.at_span(source, key.span()));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::SourceFile;

    fn problems(serve: &str, url: &str) -> Vec<String> {
        let text = format!(
            "[unsubscribe]\nurl = \"{url}\"\nsecret_env = \"S\"\n[serve]\n{serve}\n[topics]\nai = \"AI\"\n"
        );
        let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text);
        match crate::settings::parse(&source) {
            Ok(settings) => {
                let serve = settings.serve.expect("a [serve] table");
                assert_eq!(settings.topics["ai"], "AI");
                assert_eq!(serve.signup_segment.get_ref(), "subscribers");
                Vec::new()
            }
            Err(diags) => diags.iter().map(|d| d.message.clone()).collect(),
        }
    }

    #[test]
    fn public_url_and_the_unsubscribe_url_must_fit() {
        let ok = "https://news.example.org/readers/unsubscribe/{token}";
        assert!(problems("public_url = \"https://news.example.org/readers/\"", ok).is_empty());
        let slash = problems("public_url = \"https://news.example.org/readers\"", ok);
        assert!(slash[0].contains("must end with `/`"), "{slash:?}");
        let http = problems("public_url = \"http://news.example.org/\"", ok);
        assert!(http[0].contains("public_url"), "{http:?}");
        let elsewhere = problems(
            "public_url = \"https://news.example.org/\"",
            "https://other.example.org/u/{token}",
        );
        assert!(
            elsewhere[0].contains("https://news.example.org/unsubscribe/{token}"),
            "{elsewhere:?}"
        );
    }

    #[test]
    fn a_topic_key_is_one_topic() {
        let text =
            "[topics]\nai = \"AI\"\n\"machine learning\" = \"ML\"\n\"ai,chips\" = \"Both\"\n";
        let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text.to_owned());
        let diags = crate::settings::parse(&source).unwrap_err().to_string();
        assert!(
            diags.contains("topic `machine learning` has a space inside")
                && diags.contains("broadsheet.toml:3:1")
                && diags.contains("topic `ai,chips` holds `,`")
                && diags.contains("broadsheet.toml:4:1"),
            "{diags}"
        );
    }

    #[test]
    fn clicks_are_off_by_default_and_need_serve() {
        let parse = |text: &str| {
            let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text.to_owned());
            crate::settings::parse(&source)
        };
        assert!(!parse("").unwrap().counts_clicks());
        let off = parse("[clicks]\nenabled = false\n").unwrap();
        assert!(!off.counts_clicks());
        let diags = parse("[topics]\nai = \"AI\"\n\n[clicks]\ntext = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            diags.contains("`[clicks]` needs `[serve]`") && diags.contains("broadsheet.toml:4:1"),
            "{diags}"
        );
    }

    #[test]
    fn hosts_and_paths_of_the_public_url() {
        let serve = super::Serve {
            public_url: toml::Spanned::new(
                0..0,
                "https://News.example.org:8443/readers/".to_owned(),
            ),
            signup_segment: super::default_signup_segment(),
            trusted_proxies: Vec::new(),
            welcome: true,
            remind_after_hours: super::default_remind_after(),
        };
        assert_eq!(serve.public_host(), "News.example.org:8443");
        assert_eq!(serve.base_path(), "/readers/");
    }
}
