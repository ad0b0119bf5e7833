//! Links in user files: which URLs an email may carry (https, and mailto where a link
//! allows it), shared by volumes, layouts and settings.

/// Why `url` is not acceptable as a link, if it is not. `mailto:` is allowed when `mailto` is.
pub(crate) fn check_url(url: &str, mailto: bool) -> Result<(), String> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme = lower.split_once(':').map(|(s, _)| s);
    match scheme {
        Some("https") => {
            let host = lower["https:".len()..]
                .strip_prefix("//")
                .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
            match host {
                Some(h) if !h.is_empty() && !url.chars().any(char::is_whitespace) => Ok(()),
                _ => Err(format!("`{url}` is not a valid https URL")),
            }
        }
        Some("mailto") if mailto => Ok(()),
        Some(s @ ("javascript" | "data" | "vbscript" | "file")) => Err(format!(
            "uses a `{s}:` URL, which is never allowed in email"
        )),
        Some("http") => Err(format!("`{url}` must use https, not http")),
        _ if mailto => Err(format!("`{url}` must be an https or mailto URL")),
        _ => Err(format!("`{url}` must be an https URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(check_url("mailto:a@b.test", true).is_ok());
        assert!(check_url("mailto:a@b.test", false).is_err());
    }
}
