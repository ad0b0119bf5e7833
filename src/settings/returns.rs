//! The settings of what proves a message and what comes back: `[dkim]` (signing keys) and
//! `[bounces]` (reading reports), and their checks, including the `[sender] bounce` return
//! path's alignment with the From domain.

use serde::Deserialize;
use toml::Spanned;

use super::Settings;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::message::dkim::Algorithm;

/// One value or a list of them, as `algorithm = "rsa-sha256"` or `algorithm = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// Several values, in order.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values, in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// `[dkim]`: signs every message, one signature per algorithm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`), normally the From domain so that DMARC aligns.
    pub domain: Spanned<String>,
    /// The selector (`s=`) of each algorithm, in the order of `algorithm`: the public key
    /// is published at `SELECTOR._domainkey.DOMAIN`.
    pub selector: Spanned<OneOrMany>,
    /// `rsa-sha256` and/or `ed25519-sha256`.
    pub algorithm: Spanned<OneOrMany>,
    /// The environment variable holding the PEM private key(s).
    pub key_env: Option<Spanned<String>>,
    /// A file (mode 0600, relative to the project) holding the PEM private key(s).
    pub key_file: Option<Spanned<String>>,
}

impl Dkim {
    /// The `(algorithm, selector)` pairs; valid once the settings are checked.
    pub fn signatures(&self) -> Vec<(Algorithm, &str)> {
        let selectors = self.selector.get_ref().as_slice();
        self.algorithm
            .get_ref()
            .as_slice()
            .iter()
            .zip(selectors)
            .filter_map(|(a, s)| Some((Algorithm::from_name(a)?, s.as_str())))
            .collect()
    }
}

/// `[bounces]`: how reports that come back are judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bounces {
    /// Temporary failures, in distinct volumes, after which an address is suppressed.
    pub soft_limit: Spanned<u32>,
}

impl Default for Bounces {
    fn default() -> Self {
        Self {
            soft_limit: Spanned::new(0..0, 3),
        }
    }
}

/// Checks `[dkim]` and the return path, adding problems to `diags`.
pub(super) fn check(source: &SourceFile, settings: &Settings, diags: &mut Diagnostics) {
    if let Some(dkim) = &settings.dkim {
        check_dkim(source, dkim, diags);
    }
    let soft_limit = &settings.bounces.soft_limit;
    if !(1..=100).contains(soft_limit.get_ref()) {
        let message = "`soft_limit` must be between 1 and 100";
        diags.push(Diagnostic::error(message).at_span(source, soft_limit.span()));
    }
    let sender = settings.sender.as_ref();
    let Some(sender) = sender else { return };
    let Some(bounce) = &sender.bounce else { return };
    let domain_of = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    let (local, domain) = match bounce.get_ref().rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !local.contains('+') => (local, domain),
        _ => {
            let message = "`bounce` must be an address without `+`, like `bounces@eto.tech`: \
                           `+TOKEN` is added for each recipient";
            diags.push(Diagnostic::error(message).at_span(source, bounce.span()));
            return;
        }
    };
    if local.len() > crate::verp::MAX_BASE_LOCAL {
        let message = format!(
            "`bounce`'s local part is longer than {} characters: with the token it would pass SMTP's 64",
            crate::verp::MAX_BASE_LOCAL
        );
        diags.push(Diagnostic::error(message).at_span(source, bounce.span()));
    }
    if Some(domain.to_ascii_lowercase()) != domain_of(sender.from.get_ref()) {
        let message = format!("`bounce` is on `{domain}`, not on the From address's domain");
        diags.push(
            Diagnostic::warning(message)
                .at_span(source, bounce.span())
                .note(
                    "under DMARC, SPF passes only when the return path's domain aligns with From's",
                ),
        );
    }
}

fn check_dkim(source: &SourceFile, dkim: &Dkim, diags: &mut Diagnostics) {
    let mut error = |message: String, span: std::ops::Range<usize>| {
        diags.push(Diagnostic::error(message).at_span(source, span));
    };
    if dkim.key_env.is_some() == dkim.key_file.is_some() {
        error(
            "`[dkim]` needs exactly one of `key_env` and `key_file`".to_owned(),
            dkim.domain.span(),
        );
    }
    let algorithms = dkim.algorithm.get_ref().as_slice();
    for name in algorithms {
        if Algorithm::from_name(name).is_none() {
            let message =
                format!("unknown DKIM algorithm `{name}`: use `rsa-sha256` or `ed25519-sha256`");
            error(message, dkim.algorithm.span());
        }
    }
    let distinct: std::collections::BTreeSet<&String> = algorithms.iter().collect();
    if algorithms.is_empty() || distinct.len() != algorithms.len() {
        let message = "list each DKIM algorithm once, at least one".to_owned();
        error(message, dkim.algorithm.span());
    }
    let selectors = dkim.selector.get_ref().as_slice();
    if selectors.len() != algorithms.len() {
        let message = format!(
            "{} selector(s) for {} algorithm(s): give one selector per algorithm, in the same order",
            selectors.len(),
            algorithms.len()
        );
        error(message, dkim.selector.span());
    }
    let spans = selectors.iter().map(|s| (s, dkim.selector.span()));
    for (name, span) in spans.chain([(dkim.domain.get_ref(), dkim.domain.span())]) {
        let dns = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
        if name.is_empty() || !name.bytes().all(dns) {
            error(format!("`{name}` is not a DNS name"), span);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::SourceFile;

    const SENDER: &str =
        "[sender]\nfrom = \"scout@eto.tech\"\nlist_id = \"l.eto.tech\"\ndomain = \"eto.tech\"\n";

    /// The diagnostics of `SENDER` plus `extra`, as `line:column: message` lines.
    fn problems(extra: &str) -> Vec<String> {
        let text = format!("{SENDER}{extra}");
        let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text);
        let diags = match super::super::parse(&source) {
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

    #[test]
    fn a_return_path_off_the_from_domain_is_a_warning() {
        assert!(problems("bounce = \"bounces@eto.tech\"\n").is_empty());
        let found = problems("bounce = \"bounces@mail.example.net\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("5:10: ") && found[0].contains("not on the From"),
            "{found:?}"
        );
        let found = problems("bounce = \"bounces+x@eto.tech\"\n");
        assert!(found[0].contains("without `+`"), "{found:?}");
    }

    #[test]
    fn dkim_needs_one_key_source_and_a_selector_per_algorithm() {
        let dkim = |rest: &str| problems(&format!("[dkim]\ndomain = \"eto.tech\"\n{rest}"));
        let good = "selector = [\"r\", \"e\"]\nalgorithm = [\"rsa-sha256\", \"ed25519-sha256\"]\nkey_env = \"K\"\n";
        assert!(dkim(good).is_empty(), "{:?}", dkim(good));
        let cases = [
            (
                "selector = \"s\"\nalgorithm = \"rsa-sha256\"\n",
                "exactly one of",
            ),
            (
                "selector = \"s\"\nalgorithm = \"rsa-sha1\"\nkey_env = \"K\"\n",
                "unknown DKIM algorithm `rsa-sha1`",
            ),
            (
                "selector = \"s\"\nalgorithm = [\"rsa-sha256\", \"ed25519-sha256\"]\nkey_env = \"K\"\n",
                "1 selector(s) for 2",
            ),
            (
                "selector = \"a b\"\nalgorithm = \"rsa-sha256\"\nkey_env = \"K\"\n",
                "not a DNS name",
            ),
        ];
        for (rest, expected) in cases {
            let found = dkim(rest);
            assert_eq!(found.len(), 1, "{rest}: {found:?}");
            assert!(found[0].contains(expected), "{rest}: {found:?}");
        }
    }
}
