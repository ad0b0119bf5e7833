//! Lints on rendered output: what the templates produced rather than what the volume says.
//! Size as sent against Gmail's clipping limit, and the rendering rules every email keeps
//! (alt text on images; no scripts, event handlers, forms, embedded objects, refreshes or
//! remote fonts).

use std::ops::Range;

use memchr::memmem::Finder;

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::message::size::kilobytes;
use crate::render::{Html, Mjml, MjmlOrigin};

/// Gmail clips HTML parts larger than about 102 kB as sent; warn well before (90 kB).
pub(crate) const HTML_WARN_BYTES: usize = 90_000;
/// Refuse to build HTML parts this large as sent (100 kB).
pub(crate) const HTML_MAX_BYTES: usize = 100_000;

/// Checks the size of the HTML part as sent (to the reader whose copy is largest).
pub(crate) fn html_size(sent: usize, diags: &mut Diagnostics) {
    let message = format!(
        "the HTML part is {} as sent (the largest copy: a reader's unsubscribe link and, where \
         the layout greets, the longest greeting); Gmail clips messages over about 102 kB",
        kilobytes(sent)
    );
    let note = "shorten the summaries or split the volume; the layout's markup counts too";
    if sent >= HTML_MAX_BYTES {
        diags.push(Diagnostic::error(message).note(note));
    } else if sent >= HTML_WARN_BYTES {
        diags.push(Diagnostic::warning(message).note(note));
    }
}

/// An `<img>` start tag (`tag`, lowercased, at byte `at` of the HTML) without an `alt`
/// attribute, as an error: mrml writes none when the MJML gives none (an `mj-image`, an
/// `mj-social-element`'s icon, an `mj-carousel-image`), and raw HTML in `mj-text` or
/// `mj-raw` is copied as it is. It is placed at the element of the generated MJML that
/// produced it, found by the image's `src` (or, for a social network's own icon, by the
/// network's name). An `alt` given in `<mj-attributes>` counts.
fn image_without_alt(
    html: &Html,
    (at, tag, name): (usize, &str, &str),
    mjml: &Mjml,
    origin: &MjmlOrigin,
) -> Option<Diagnostic> {
    // An element is named up to a space, `/` or `>` (`<img"x` is no image).
    let named_img = name == "img"
        && tag[3..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '/');
    if !named_img || attribute(tag, "alt").is_some() {
        return None;
    }
    let src = attribute(&html.0[at + 1..at + 1 + tag.len()], "src");
    let mut d = Diagnostic::error("image without an `alt` attribute").note(format!(
        "add `alt=\"...\"` in {} (alt=\"\" for a decorative image)",
        origin.template
    ));
    if let Some(span) = src.and_then(|src| image_element(&mjml.0, src)) {
        d = d.at(Location::from_span(&origin.path, &mjml.0, span));
    }
    Some(d)
}

/// The value of attribute `name` in `tag` (a start tag without `<` and `>`), when it has
/// one; empty when it stands alone.
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + name.len()..];
        rest = after;
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let after = after.trim_start();
        let Some(value) = after.strip_prefix('=') else {
            if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '/') {
                return Some("");
            }
            continue;
        };
        let value = value.trim_start();
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let value = &value[1..];
                &value[..value.find(quote).unwrap_or(value.len())]
            }
            _ => &value[..value.find(char::is_whitespace).unwrap_or(value.len())],
        });
    }
    None
}

/// The name of the MJML element (`<mj-image`, `<img`, `<mj-social-element`) that wrote an
/// image with `src` and no alt: the first tag carrying that `src` without an `alt`, else the
/// social element of the network whose icon it is (`.../ico-social/github.png`).
fn image_element(mjml: &str, src: &str) -> Option<Range<usize>> {
    // The tag around `at`, unless `at` is in text between tags.
    let element = |at: usize| {
        let start = mjml[..at].rfind('<')?;
        let end = mjml[start..].find('>').map_or(mjml.len(), |e| start + e);
        if end < at {
            return None;
        }
        let tag = &mjml[start + 1..end];
        let name_len = tag.find(char::is_whitespace).unwrap_or(tag.len());
        attribute(tag, "alt")
            .is_none()
            .then_some((start..start + 1 + name_len, tag))
    };
    if !src.is_empty()
        && let Some((span, _)) = mjml.match_indices(src).find_map(|(at, _)| element(at))
    {
        return Some(span);
    }
    let network = src.rsplit('/').next()?.strip_suffix(".png")?;
    mjml.match_indices("<mj-social-element")
        .filter_map(|(at, _)| element(at + 1))
        .find(|(_, tag)| {
            attribute(tag, "name")
                .is_some_and(|name| name.strip_suffix("-noshare").unwrap_or(name) == network)
        })
        .map(|(span, _)| span)
}

/// Elements that email must never carry, with why.
const FORBIDDEN: [(&str, &str); 6] = [
    ("script", "a <script> element: mail clients block scripts"),
    ("form", "a <form>: mail clients disable forms"),
    ("link", "a <link> to a remote stylesheet or web font"),
    ("iframe", "an <iframe>: mail clients block embedded frames"),
    ("object", "an <object>: mail clients block embedded content"),
    ("embed", "an <embed>: mail clients block embedded content"),
];

/// Checks the HTML's start tags, in one walk: every `<img>` has alt text (see
/// [`image_without_alt`]), and nothing is there that email must never carry: the elements
/// above, event handler attributes (`<svg onload=...>`), `javascript:` and `data:` links, a
/// `<meta>` refresh, and `@import` of remote stylesheets or fonts. Each is placed in the
/// generated MJML when it can be found there. `volume_text` is the volume's source,
/// lowercased.
pub(crate) fn html_rules(
    html: &Html,
    mjml: &Mjml,
    origin: &MjmlOrigin,
    volume_text: &str,
    diags: &mut Diagnostics,
) {
    let mut found: Vec<(String, String)> = Vec::new();
    // Built once: a search per tag would set each one up again for every tag.
    let schemes = SCHEMES.map(|scheme| (scheme, Finder::new(scheme)));
    let lower = html.0.to_ascii_lowercase();
    for (at, tag, name) in tags(&lower) {
        if let Some(d) = image_without_alt(html, (at, tag, name), mjml, origin)
            && !diags.iter().any(|seen| *seen == d)
        {
            diags.push(d);
        }
        tag_rules(tag, name, volume_text, &schemes, &mut found);
    }
    if lower.contains("@import") {
        found.push((
            "an `@import` of a remote stylesheet or web font".to_owned(),
            "@import".to_owned(),
        ));
    }
    if found.is_empty() {
        return;
    }
    let mjml_lower = mjml.0.to_ascii_lowercase();
    for (what, needle) in found {
        let mut d = Diagnostic::error(format!("the HTML contains {what}"))
            .note(format!("check {}", origin.template));
        if let Some(at) = mjml_lower.find(&needle) {
            d = d.at(Location::from_span(
                &origin.path,
                &mjml.0,
                at..at + needle.len(),
            ));
        }
        if !diags.iter().any(|seen| *seen == d) {
            diags.push(d);
        }
    }
}

/// URL schemes that run code or replace the message.
const SCHEMES: [&str; 3] = ["javascript:", "vbscript:", "data:text/html"];

/// What one start tag (lowercased, without `<` and `>`) of element `name` must not be,
/// as (what it is, text to find it by in the MJML) pairs added to `found`. `schemes` are
/// [`SCHEMES`] with their finders.
fn tag_rules(
    tag: &str,
    name: &str,
    volume_text: &str,
    schemes: &[(&str, Finder<'_>)],
    found: &mut Vec<(String, String)>,
) {
    if let Some((_, what)) = FORBIDDEN.iter().find(|(n, _)| *n == name) {
        found.push(((*what).to_owned(), format!("<{name}")));
    }
    if let Some(handler) = tag.split([' ', '\t', '\n', '/']).find(|a| {
        a.len() > 2
            && a.starts_with("on")
            && a[2..].starts_with(|c: char| c.is_ascii_alphabetic())
            && a.contains('=')
    }) {
        let attr = handler.split('=').next().unwrap_or(handler);
        found.push((
            format!("an event handler (`{attr}`) on <{name}>: mail clients strip scripts"),
            attr.to_owned(),
        ));
    }
    for &(scheme, ref finder) in schemes {
        // A link the volume wrote is the volume's error, reported at its line there.
        let url = finder.find(tag.as_bytes()).map(|at| {
            let rest = &tag[at..];
            &rest[..rest.find(['"', '\'', ' ']).unwrap_or(rest.len())]
        });
        if url.is_some_and(|url| !volume_text.contains(url)) {
            found.push((
                format!("a `{scheme}` URL in <{name}>, which is never allowed in email"),
                scheme.to_owned(),
            ));
        }
    }
    if name == "meta" && tag.contains("http-equiv") && tag.contains("refresh") {
        found.push((
            "a <meta> refresh: the message would navigate away".to_owned(),
            "http-equiv".to_owned(),
        ));
    }
}

/// Every start tag of `lower` (HTML in lowercase): where its `<` is, the tag without `<`
/// and `>`, and its element name.
fn tags(lower: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    lower.match_indices('<').filter_map(|(at, _)| {
        let rest = &lower[at + 1..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        let name = &tag[..tag
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tag.len())];
        (!name.is_empty()).then_some((at, tag, name))
    })
}

/// Finds MJML elements that mrml did not know and copied into the HTML as they were
/// (`<mj-txt>` for `<mj-text>`, say): mail clients would show their content unstyled.
pub(crate) fn unknown_elements(
    mjml: &Mjml,
    html: &Html,
    origin: &MjmlOrigin,
    diags: &mut Diagnostics,
) {
    let mut seen = Vec::new();
    for (at, _) in html.0.match_indices("<mj-") {
        let name: String = html.0[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if seen.contains(&name) {
            continue;
        }
        let tag = format!("<{name}");
        let mut diagnostic =
            Diagnostic::error(format!("MJML: unknown element `<{name}>`")).note(format!(
                "mrml copied it into the HTML as it is; check {}",
                origin.template
            ));
        if let Some(start) = mjml.0.find(&tag) {
            diagnostic = diagnostic.at(Location::from_span(
                &origin.path,
                &mjml.0,
                start..start + tag.len(),
            ));
        }
        diags.push(diagnostic);
        seen.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::attribute;

    #[test]
    fn attributes_are_read_by_name_not_by_text() {
        assert_eq!(attribute(r#"img src="a.png" alt="A""#, "alt"), Some("A"));
        assert_eq!(attribute("img src='a.png' alt", "alt"), Some(""));
        assert_eq!(attribute("img alt=x width=2", "alt"), Some("x"));
        assert_eq!(attribute(r#"img data-alt="x" title="alt""#, "alt"), None);
        assert_eq!(attribute(r#"img src="a.png" alt = "" /"#, "alt"), Some(""));
    }
}
