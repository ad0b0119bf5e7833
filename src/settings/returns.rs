//! The settings of what proves a message and what comes back: `[dkim]` (signing keys) and
//! `[bounces]` (reading reports), and their checks, including the `[sender] bounce` return
//! path's alignment with the From domain.

use serde::Deserialize;
use toml::Spanned;

use super::{Security, Settings, is_loopback_host};
use crate::audience::Address;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

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

/// `[bounces]`: how reports that come back are judged, and the IMAP folder `bounces fetch`
/// reads them from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bounces {
    /// Temporary failures, in distinct volumes, after which an address is suppressed.
    pub soft_limit: Spanned<u32>,
    /// The IMAP server's host name or address.
    pub host: Option<Spanned<String>>,
    /// Its port; defaults to 993 for `tls`, 143 otherwise.
    pub port: Option<u16>,
    /// `tls` (default), `starttls`, or `none` (loopback only).
    pub security: Option<Spanned<Security>>,
    /// The IMAP user name.
    pub username: Option<Spanned<String>>,
    /// The environment variable holding the IMAP password.
    pub password_env: Option<Spanned<String>>,
    /// The folder to read (default `INBOX`).
    pub folder: Spanned<String>,
    /// Where read messages go; without it they stay, flagged read.
    pub move_to: Option<Spanned<String>>,
    /// The largest message read, in bytes; a larger one is skipped, never read whole.
    pub max_message_size: Spanned<u64>,
}

/// The default `[bounces] max_message_size`: bounces are kilobytes, and a returned copy of
/// a newsletter is well under this.
pub(super) const DEFAULT_MAX_MESSAGE_SIZE: u64 = 10 * 1024 * 1024;

/// The range `max_message_size` may take: below it real bounces that quote the whole
/// message would be skipped, above it one message could take much of a small machine.
const MESSAGE_SIZES: std::ops::RangeInclusive<u64> = 64 * 1024..=1024 * 1024 * 1024;

impl Default for Bounces {
    fn default() -> Self {
        Self {
            soft_limit: Spanned::new(0..0, 3),
            host: None,
            port: None,
            security: None,
            username: None,
            password_env: None,
            folder: Spanned::new(0..0, "INBOX".to_owned()),
            move_to: None,
            max_message_size: Spanned::new(0..0, DEFAULT_MAX_MESSAGE_SIZE),
        }
    }
}

impl Bounces {
    /// The IMAP security, TLS unless told otherwise.
    pub fn imap_security(&self) -> Security {
        self.security
            .as_ref()
            .map_or(Security::Tls, |s| *s.get_ref())
    }

    /// The IMAP port: the one given, else 993 for TLS and 143 otherwise.
    pub fn imap_port(&self) -> u16 {
        let default = if self.imap_security() == Security::Tls {
            993
        } else {
            143
        };
        self.port.unwrap_or(default)
    }

    /// The largest message `bounces import` and `fetch` read, in bytes.
    pub fn max_message_size(&self) -> u64 {
        *self.max_message_size.get_ref()
    }
}

fn check_imap(source: &SourceFile, bounces: &Bounces, diags: &mut Diagnostics) {
    let mut error = |message: &str, span: std::ops::Range<usize>| {
        diags.push(Diagnostic::error(message).at_span(source, span));
    };
    let folders = std::iter::once(&bounces.folder).chain(&bounces.move_to);
    for folder in folders {
        if folder.get_ref().is_empty() || folder.get_ref().chars().any(char::is_control) {
            error(
                "an IMAP folder name must be non-empty, without control characters",
                folder.span(),
            );
        }
    }
    let Some(host) = &bounces.host else { return };
    if bounces.username.is_none() || bounces.password_env.is_none() {
        error(
            "`[bounces] host` needs `username` and `password_env`",
            host.span(),
        );
    }
    if bounces.imap_security() == Security::None && !is_loopback_host(host.get_ref()) {
        error(
            "`security = \"none\"` only for a server on a loopback address: the password would cross the network in clear",
            host.span(),
        );
    }
}

/// The longest local part of `[sender] bounce`: VERP adds `+` and a 26-character token,
/// and SMTP allows 64 octets (`crate::verp` checks that the two agree).
pub const MAX_BOUNCE_LOCAL: usize = 37;

/// Why a project that reads reports should set `[sender] bounce`.
pub const FORGEABLE: &str = "reports are read, but `[sender] bounce` is not set: a report is then \
    mapped by the address it names, so anyone can forge one and drop a reader";

/// How to fix [`FORGEABLE`].
pub const VERP_HINT: &str = "set `bounce = \"bounces@your.domain\"` in `[sender]`: each message \
    then gets its own signed return path, and only a report tied to a message we sent changes anyone";

/// Checks `[dkim]` and the return path, adding problems to `diags`.
pub(super) fn check(source: &SourceFile, settings: &Settings, diags: &mut Diagnostics) {
    if let Some(dkim) = &settings.dkim {
        check_dkim(source, dkim, diags);
        let from = settings.sender.as_ref().map(|s| s.from.get_ref());
        if let Some(from) = from.and_then(|from| Address::parse(from).ok()) {
            check_alignment(source, &dkim.domain, from.domain(), diags);
        }
    }
    let soft_limit = &settings.bounces.soft_limit;
    if !(1..=100).contains(soft_limit.get_ref()) {
        let message = "`soft_limit` must be between 1 and 100";
        diags.push(Diagnostic::error(message).at_span(source, soft_limit.span()));
    }
    let size = &settings.bounces.max_message_size;
    if !MESSAGE_SIZES.contains(size.get_ref()) {
        let message = format!(
            "`max_message_size` must be between {} (64 KiB) and {} (1 GiB) bytes",
            MESSAGE_SIZES.start(),
            MESSAGE_SIZES.end()
        );
        diags.push(Diagnostic::error(message).at_span(source, size.span()));
    }
    check_imap(source, &settings.bounces, diags);
    let bounce = settings.sender.as_ref().and_then(|s| s.bounce.as_ref());
    if let (None, Some(host)) = (bounce, &settings.bounces.host) {
        diags.push(
            Diagnostic::warning(FORGEABLE)
                .at_span(source, host.span())
                .note(VERP_HINT),
        );
    }
    let sender = settings.sender.as_ref();
    let Some(sender) = sender else { return };
    if let Some(id) = &sender.feedback_id {
        let text = id.get_ref();
        let printable = text.bytes().all(|b| b.is_ascii_graphic());
        if !printable || text.is_empty() || text.len() > 200 {
            let message = "`feedback_id` must be up to 200 printable ASCII characters without \
                           spaces, like `newsletter:scout:weekly:eto`";
            diags.push(Diagnostic::error(message).at_span(source, id.span()));
        }
    }
    let Some(bounce) = &sender.bounce else { return };
    // An address that does not parse is reported with the other addresses (check.rs).
    let Ok(address) = Address::parse(bounce.get_ref()) else {
        return;
    };
    let local = address
        .as_str()
        .rsplit_once('@')
        .map_or("", |(local, _)| local);
    if local.contains('+') {
        let message = "`bounce` must be an address without `+`, like `bounces@eto.tech`: \
                       `+TOKEN` is added for each recipient";
        diags.push(Diagnostic::error(message).at_span(source, bounce.span()));
        return;
    }
    if local.len() > MAX_BOUNCE_LOCAL {
        let message = format!(
            "`bounce`'s local part is longer than {} characters: with the token it would pass SMTP's 64",
            MAX_BOUNCE_LOCAL
        );
        diags.push(Diagnostic::error(message).at_span(source, bounce.span()));
    }
    let from = Address::parse(sender.from.get_ref());
    if from.is_ok_and(|from| from.domain() != address.domain()) {
        let message = format!(
            "`bounce` is on `{}`, not on the From address's domain",
            address.domain()
        );
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

/// Warns when the signing domain is neither From's domain nor a parent or a subdomain of
/// it. DMARC's relaxed alignment asks only for a shared organizational domain, but finding
/// that one needs the public suffix list, which broadsheet does not carry: two names on
/// one branch share it for certain; siblings (`mail.eto.tech` for `news.eto.tech`) may
/// or may not, so they are warned about too, and the note says so.
fn check_alignment(
    source: &SourceFile,
    domain: &Spanned<String>,
    from: &str,
    diags: &mut Diagnostics,
) {
    let signing = domain.get_ref().to_ascii_lowercase();
    let under = |child: &str, parent: &str| {
        child
            .strip_suffix(parent)
            .is_some_and(|rest| rest.ends_with('.'))
    };
    if signing == from || under(from, &signing) && signing.contains('.') || under(&signing, from) {
        return;
    }
    let message = format!(
        "the DKIM `domain` `{signing}` is neither the From address's domain `{from}` nor a \
         parent or subdomain of it: DMARC passes on DKIM only when the two share an \
         organizational domain"
    );
    let note = "broadsheet compares the names without the public suffix list: if both are \
                under one registered domain (as mail.eto.tech and news.eto.tech are under \
                eto.tech), they align and this warning can be ignored";
    diags.push(
        Diagnostic::warning(message)
            .at_span(source, domain.span())
            .note(note),
    );
}

/// DKIM's signing algorithms (the `a=` tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSA with SHA-256, the one every verifier knows.
    RsaSha256,
    /// Ed25519 over SHA-256 (RFC 8463): short keys and signatures, not yet verified everywhere.
    Ed25519Sha256,
}

impl Algorithm {
    /// The algorithm a settings value names.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::RsaSha256, Self::Ed25519Sha256]
            .into_iter()
            .find(|a| a.as_str() == name)
    }

    /// The tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaSha256 => "rsa-sha256",
            Self::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

#[cfg(test)]
mod tests {
    const SENDER: &str =
        "[sender]\nfrom = \"scout@eto.tech\"\nlist_id = \"l.eto.tech\"\ndomain = \"eto.tech\"\n";

    /// The diagnostics of `SENDER` plus `extra`, as `line:column: message` lines.
    fn problems(extra: &str) -> Vec<String> {
        super::super::tests::located_problems(&format!("{SENDER}{extra}"))
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
    fn a_return_path_aligns_with_from_by_their_normalised_domains() {
        let sender = "[sender]\nfrom = \"scout@例子.测试\"\nlist_id = \"l.eto.tech\"\n\
                      domain = \"eto.tech\"\nbounce = \"bounces@XN--FSQU00A.xn--0zwm56d\"\n";
        let found = super::super::tests::located_problems(sender);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn imap_credentials_never_cross_the_network_in_clear() {
        let verp = "bounce = \"bounces@eto.tech\"\n";
        let imap = |rest: &str| problems(&format!("{verp}[bounces]\n{rest}"));
        let login = "username = \"u\"\npassword_env = \"P\"\n";
        assert!(imap(&format!("host = \"imap.example.org\"\n{login}")).is_empty());
        assert!(
            imap(&format!(
                "host = \"127.0.0.1\"\nsecurity = \"none\"\n{login}"
            ))
            .is_empty()
        );
        let found = imap(&format!(
            "host = \"imap.example.org\"\nsecurity = \"none\"\n{login}"
        ));
        assert!(
            found.len() == 1 && found[0].contains("loopback"),
            "{found:?}"
        );
        let found = imap("host = \"imap.example.org\"\n");
        assert!(
            found.len() == 1 && found[0].contains("needs `username`"),
            "{found:?}"
        );
        assert!(imap("soft_limit = 0\n")[0].contains("between 1 and 100"));
        assert!(imap("max_message_size = 1048576\n").is_empty());
        let found = imap("max_message_size = 1000\n");
        assert!(
            found.len() == 1 && found[0].starts_with("7:20: ") && found[0].contains("64 KiB"),
            "{found:?}"
        );
    }

    #[test]
    fn reading_reports_without_verp_warns_that_they_can_be_forged() {
        let imap =
            "[bounces]\nhost = \"imap.example.org\"\nusername = \"u\"\npassword_env = \"P\"\n";
        let found = problems(imap);
        assert!(
            found.len() == 1 && found[0].starts_with("6:8: ") && found[0].contains("forge"),
            "{found:?}"
        );
        assert!(problems(&format!("bounce = \"bounces@eto.tech\"\n{imap}")).is_empty());
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

    #[test]
    fn a_signing_domain_off_the_from_domain_is_a_warning() {
        let dkim = |domain: &str| {
            problems(&format!(
                "[dkim]\ndomain = \"{domain}\"\nselector = \"s\"\nalgorithm = \"rsa-sha256\"\nkey_env = \"K\"\n"
            ))
        };
        for aligned in ["eto.tech", "ETO.tech", "mail.eto.tech"] {
            assert!(dkim(aligned).is_empty(), "{aligned}: {:?}", dkim(aligned));
        }
        for off in ["other.example.net", "xeto.tech", "tech"] {
            let found = dkim(off);
            assert_eq!(found.len(), 1, "{off}: {found:?}");
            assert!(
                found[0].starts_with("6:10: ") && found[0].contains("neither the From"),
                "{off}: {found:?}"
            );
        }
    }
}
