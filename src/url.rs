//! Links in user files: which URLs an email may carry (https, and mailto where a link
//! allows it), shared by volumes, layouts and settings.

/// Why `url` is not acceptable as a link, if it is not. `mailto:` is allowed when `mailto` is.
pub(crate) fn check_url(url: &str, mailto: bool) -> Result<(), String> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme = lower.split_once(':').map(|(s, _)| s);
    match scheme {
        Some("https") => https(&lower["https:".len()..])
            .map_err(|why| format!("`{url}` is not a valid https URL: {why}")),
        Some("mailto") if mailto => Ok(()),
        Some(s @ ("javascript" | "data" | "vbscript" | "file")) => Err(format!(
            "uses a `{s}:` URL, which is never allowed in email"
        )),
        Some("http") => Err(format!("`{url}` must use https, not http")),
        _ if mailto => Err(format!("`{url}` must be an https or mailto URL")),
        _ => Err(format!("`{url}` must be an https URL")),
    }
}

/// The names RFC 2606 reserves for examples (with every name under them): they lead
/// nowhere real.
const EXAMPLE_DOMAINS: [&str; 4] = ["example.com", "example.net", "example.org", "example"];

/// The host of `url` (an https URL) when it is a name reserved for examples:
/// `example.com`, `example.net`, `example.org`, the `.example` top-level domain, or a name
/// under one of them (RFC 2606). A link there was left from a sample.
pub(crate) fn example_host(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let host = host_after(lower.strip_prefix("https://")?);
    EXAMPLE_DOMAINS
        .iter()
        .any(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.ends_with('.'))
        })
        .then(|| host.to_owned())
}

/// The host of a URL's part after `scheme://`, lowercased, without a port or a final dot.
fn host_after(rest: &str) -> String {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// When a link's `text` reads as a web address (`https://…`, `http://…`, `www.…`) of
/// another site than the one its `target` leads to: the host the text names and the
/// target's. Mail clients and spam filters take such a link for a lure (Gmail's phishing
/// warning, rspamd's `PHISHING`). A host and its subdomains are one site, and so are a
/// name with and without `www.`.
pub(crate) fn text_names_other_host(text: &str, target: &str) -> Option<(String, String)> {
    let text = text.trim().to_ascii_lowercase();
    let named = match text.split_once("://") {
        Some(("http" | "https", rest)) => host_after(rest),
        Some(_) => return None,
        None if text.starts_with("www.") && !text.contains(char::is_whitespace) => {
            host_after(&text)
        }
        None => return None,
    };
    let leads = host_after(target.trim().split_once("://")?.1);
    let bare = |host: &str| host.strip_prefix("www.").unwrap_or(host).to_owned();
    let (a, b) = (bare(&named), bare(&leads));
    let within = |sub: &str, site: &str| sub == site || sub.ends_with(&format!(".{site}"));
    (!named.is_empty() && !within(&a, &b) && !within(&b, &a)).then_some((named, leads))
}

/// A hint for a rejected link, when there is an obvious fix: `http://` becomes `https://`.
pub(crate) fn hint(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("http://")?;
    Some(format!(
        "write `https://{rest}` if the site serves it (email links must be https)"
    ))
}

/// Why the part of an https URL after `https:` is malformed, if it is: characters that
/// would end the URL where it is quoted (in HTML, in a `<...>` header entry), and a host
/// that is not a name or a bracketed IPv6 address, with an optional port.
fn https(rest: &str) -> Result<(), String> {
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
    {
        return Err(format!("{c:?} is not allowed in a URL"));
    }
    let Some(rest) = rest.strip_prefix("//") else {
        return Err("`https:` must be followed by `//` and a host".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("it holds a user name (`@`)".to_owned());
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let Some((address, after)) = bracketed.split_once(']') else {
                return Err("`[` opens an IPv6 address that no `]` closes".to_owned());
            };
            (address.parse::<std::net::Ipv6Addr>().is_ok(), after)
        }
        None => {
            let (host, port) = authority
                .find(':')
                .map_or((authority, ""), |at| authority.split_at(at));
            let labels_ok = host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || !c.is_ascii())
            });
            (labels_ok, port)
        }
    };
    if !host_ok {
        return Err("the host is not a domain name or an address".to_owned());
    }
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if !port_ok {
        return Err("the port after `:` must be a number".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_text_that_is_another_sites_address_is_told_apart() {
        let other = |text, target| text_names_other_host(text, target);
        assert_eq!(
            other(
                "https://www.reuters.com/world",
                "https://track.example.net/r?u=1"
            ),
            Some(("www.reuters.com".to_owned(), "track.example.net".to_owned()))
        );
        assert_eq!(
            other("www.nytimes.com", "https://nytimes.example/x"),
            Some(("www.nytimes.com".to_owned(), "nytimes.example".to_owned()))
        );
        for (text, target) in [
            (
                "https://www.reuters.com/world",
                "https://reuters.com/world/x",
            ),
            ("www.reuters.com", "https://graphics.reuters.com/x"),
            ("HTTPS://Scout.ETO.tech", "https://scout.eto.tech/?pick=1"),
            ("scout.eto.tech", "https://other.example/"),
            ("Reuters", "https://other.example/"),
            ("see www.reuters.com here", "https://other.example/"),
            ("https://reuters.com", "mailto:news@reuters.example"),
        ] {
            assert_eq!(other(text, target), None, "{text} -> {target}");
        }
    }

    #[test]
    fn hosts_reserved_for_examples_are_known_with_their_subdomains() {
        for (url, host) in [
            ("https://example.org/first-story", Some("example.org")),
            ("https://Wire.Example.COM:443/x?y", Some("wire.example.com")),
            ("https://example.net./", Some("example.net")),
            ("https://news.example#top", Some("news.example")),
            ("https://myexample.org/", None),
            ("https://example.org.uk/", None),
            ("https://example.info/", None),
            ("mailto:a@example.org", None),
        ] {
            assert_eq!(example_host(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn urls_must_be_https() {
        assert!(check_url("https://scout.eto.tech/?p=1", false).is_ok());
        assert!(
            check_url("http://x.test/", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(
            check_url("JavaScript:alert(1)", true)
                .unwrap_err()
                .contains("javascript:")
        );
        assert!(check_url("data:text/html,x", true).is_err());
        assert!(check_url("https:///nohost", false).is_err());
        for bad in [
            "https://scout.eto.tech/u>,<mailto:x@evil.example>/{token}",
            "https://[::1/{token}",
            "https://[::g]/",
            "https://a..b/",
            "https://user@x.test/",
            "https://x.test:port/",
            "https://x.test/a b",
            "https://x.test/\"onmouseover=\"",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "https://[::1]:8443/u/{token}",
            "https://xn--bcher-kva.example/",
            "https://bücher.example/a,b?c=d#e",
            "https://x.test:443",
        ] {
            assert!(check_url(good, false).is_ok(), "{good}");
        }
        assert!(check_url("mailto:a@b.test", true).is_ok());
        assert!(check_url("mailto:a@b.test", false).is_err());
    }
}
