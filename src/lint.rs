//! Lints on rendered output: what the templates produced rather than what the volume says.
//! Size as sent against Gmail's clipping limit, and the rendering rules every email keeps
//! (alt text on images; no scripts, event handlers, forms, embedded objects, refreshes or
//! remote fonts).

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

/// Checks the generated MJML for images without an `alt` attribute (mrml would emit none).
pub(crate) fn mjml_images(mjml: &Mjml, origin: &MjmlOrigin, diags: &mut Diagnostics) {
    let text = &mjml.0;
    // Defaults in <mj-attributes> look like images but are not.
    let defaults = text.find("<mj-attributes").map_or(0..0, |start| {
        start
            ..text[start..]
                .find("</mj-attributes>")
                .map_or(text.len(), |e| start + e)
    });
    for tag in ["<mj-image", "<img"] {
        for (start, _) in text
            .match_indices(tag)
            .filter(|(i, _)| !defaults.contains(i))
        {
            let end = text[start..].find('>').map_or(text.len(), |e| start + e);
            let element = &text[start..end];
            if !element.contains(" alt=") && !element.contains("\nalt=") {
                diags.push(
                    Diagnostic::error("image without an `alt` attribute")
                        .at(Location::from_span(
                            &origin.path,
                            text,
                            start..start + tag.len(),
                        ))
                        .note(format!(
                            "add `alt=\"...\"` in {} (alt=\"\" for a decorative image)",
                            origin.template
                        )),
                );
            }
        }
    }
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

/// Checks the HTML for what email must never carry: the elements above, event handler
/// attributes (`<svg onload=...>`), `javascript:` and `data:` links, a `<meta>` refresh,
/// and `@import` of remote stylesheets or fonts. Each is placed in the generated MJML
/// when it can be found there. `volume_text` is the volume's source, lowercased.
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
    for (tag, name) in tags(&lower) {
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

/// Every start tag of `lower` (HTML in lowercase), without `<` and `>`, with its element
/// name.
fn tags(lower: &str) -> impl Iterator<Item = (&str, &str)> {
    lower.match_indices('<').filter_map(|(at, _)| {
        let rest = &lower[at + 1..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        let name = &tag[..tag
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tag.len())];
        (!name.is_empty()).then_some((tag, name))
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
