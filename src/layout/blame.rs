//! Which template wrote a line of the generated MJML. mrml and the checks of the output
//! point into the generated text, and Handlebars keeps no map back to its templates, so the
//! line is matched against the literal text of the layout's MJML templates (the entry and
//! its partials): the template line holding the flagged text whose literal parts (what lies
//! outside `{{...}}`) all appear, in order, in the generated line.

use crate::diag::SourceFile;

use super::Layout;

/// At most this many equally good template lines are named.
const MAX_NAMED: usize = 3;

impl Layout {
    /// Where in the layout's MJML templates `generated` (a line of the generated MJML) was
    /// most likely written, as `path:line:column` of `flagged` (the text a diagnostic
    /// points at), or several such places joined by "or" when they fit equally well.
    /// `None` when no template line fits.
    pub(crate) fn mjml_source_of(&self, generated: &str, flagged: &str) -> Option<String> {
        let mut sources: Vec<&SourceFile> = self
            .templates
            .values()
            .filter(|s| s.path.ends_with(".mjml.hbs"))
            .collect();
        sources.sort_by(|a, b| a.path.cmp(&b.path));
        let generated = generated.to_lowercase();
        let flagged = flagged.trim().to_lowercase();
        if flagged.is_empty() {
            return None;
        }
        let mut best: Vec<(usize, String)> = Vec::new();
        for source in sources {
            for (index, line) in source.text.lines().enumerate() {
                let lower = line.to_lowercase();
                let Some(at) = lower.find(&flagged) else {
                    continue;
                };
                let Some(weight) = fit(&lower, &generated) else {
                    continue;
                };
                let column = line
                    .get(..at)
                    .map_or(1, |before| before.chars().count() + 1);
                let named = format!("{}:{}:{column}", source.path, index + 1);
                match best.first().map(|(w, _)| *w) {
                    Some(w) if w > weight => {}
                    Some(w) if w == weight => best.push((weight, named)),
                    _ => best = vec![(weight, named)],
                }
            }
        }
        if best.is_empty() {
            return None;
        }
        let names: Vec<String> = best.into_iter().take(MAX_NAMED).map(|(_, n)| n).collect();
        Some(names.join(" or "))
    }
}

/// How much literal text of `template_line` appears, in order, in `generated` (both
/// lowercased): `None` when some of it does not.
fn fit(template_line: &str, generated: &str) -> Option<usize> {
    let mut rest = generated;
    let mut weight = 0;
    for piece in literal_pieces(template_line) {
        let at = rest.find(piece)?;
        rest = &rest[at + piece.len()..];
        weight += piece.len();
    }
    Some(weight)
}

/// The parts of a template line outside `{{...}}`, trimmed, without empty ones.
fn literal_pieces(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find("{{") {
        pieces.push(&rest[..open]);
        rest = rest[open..]
            .find("}}")
            .map_or("", |close| &rest[open + close + 2..]);
    }
    pieces.push(rest);
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fits_when_its_literal_text_appears_in_order() {
        let template = r#"<mj-image src="{{layout.logo.src}}" width="{{w}}px" />"#;
        assert_eq!(
            literal_pieces(template),
            [r#"<mj-image src=""#, r#"" width=""#, r#"px" />"#]
        );
        let generated = r#"    <mj-image src="https://x.test/l.png" width="80px" />"#;
        assert!(fit(template, generated).is_some());
        assert!(fit(template, r#"<mj-image width="80px" src="a" />"#).is_none());
        assert_eq!(fit("{{#each picks}}", generated), Some(0));
    }
}
