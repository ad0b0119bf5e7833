//! Lints on rendered output: what the templates produced rather than what the volume says.
//! Size as sent against Gmail's clipping limit, and the rendering rules every email keeps
//! (alt text on images, no scripts, forms or remote fonts).

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::encoding;
use crate::render::{Html, Mjml, MjmlOrigin};

/// Gmail clips HTML parts larger than about 102 KB as sent; warn well before.
pub const HTML_WARN_BYTES: usize = 90 * 1024;
/// Refuse to build HTML parts this large as sent.
pub const HTML_MAX_BYTES: usize = 100 * 1024;

/// Size of the HTML part as it would be sent (transfer-encoded).
pub fn html_sent_size(html: &Html) -> usize {
    encoding::encode(&html.0).body.len()
}

/// Checks the size of the HTML part as sent.
pub fn html_size(sent: usize, diags: &mut Diagnostics) {
    let kb = |n: usize| format!("{:.1} KB", n as f64 / 1024.0);
    let message = format!(
        "the HTML part is {} as sent; Gmail clips messages over about 102 KB",
        kb(sent)
    );
    let note = "shorten the summaries or split the volume; the layout's markup counts too";
    if sent >= HTML_MAX_BYTES {
        diags.push(Diagnostic::error(message).note(note));
    } else if sent >= HTML_WARN_BYTES {
        diags.push(Diagnostic::warning(message).note(note));
    }
}

/// Checks the generated MJML for images without an `alt` attribute (mrml would emit none).
pub fn mjml_images(mjml: &Mjml, origin: &MjmlOrigin, diags: &mut Diagnostics) {
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

/// Checks the HTML for what email must never carry.
pub fn html_rules(html: &Html, origin: &MjmlOrigin, diags: &mut Diagnostics) {
    let lower = html.0.to_ascii_lowercase();
    let rules = [
        ("<script", "a <script> element: mail clients block scripts"),
        ("<form", "a <form>: mail clients disable forms"),
        ("<link", "a <link> to a remote stylesheet or web font"),
        ("<iframe", "an <iframe>: mail clients block embedded frames"),
    ];
    for (needle, what) in rules {
        if lower.contains(needle) {
            diags.push(
                Diagnostic::error(format!("the HTML contains {what}"))
                    .note(format!("check {}", origin.template)),
            );
        }
    }
}

/// Finds MJML elements that mrml did not know and copied into the HTML as they were
/// (`<mj-txt>` for `<mj-text>`, say): mail clients would show their content unstyled.
pub fn unknown_elements(mjml: &Mjml, html: &Html, origin: &MjmlOrigin, diags: &mut Diagnostics) {
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
