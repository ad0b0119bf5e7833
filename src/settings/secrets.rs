//! Secrets never live in `broadsheet.toml`: a `password` key anywhere is an error that
//! points at `password_env`, and no diagnostic shows what a `password` or `password_env`
//! line holds, since either may hold a password typed where it does not belong.

use toml::Spanned;
use toml::de::DeValue;

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// Reports and takes out every key called `password`, at any depth (once reported, it is
/// not an unknown field too).
pub(super) fn take_passwords(
    source: &SourceFile,
    value: &mut Spanned<DeValue<'_>>,
    diags: &mut Diagnostics,
) {
    let DeValue::Table(table) = value.get_mut() else {
        return;
    };
    let found: Vec<_> = table
        .keys()
        .filter(|k| k.get_ref().eq_ignore_ascii_case("password"))
        .cloned()
        .collect();
    for key in found {
        diags.push(
            Diagnostic::error("a password does not belong in broadsheet.toml")
                .at_span(source, key.span())
                .note("put it in an environment variable and name that variable with `password_env = \"SMTP_PASSWORD\"`"),
        );
        table.remove(key.get_ref().as_ref());
    }
    for (_, inner) in table.iter_mut() {
        take_passwords(source, inner, diags);
    }
}

/// Hides what follows `=` in every shown line that sets `password` or `password_env`:
/// either may hold a password typed where it does not belong.
pub(super) fn mask_secrets(diags: &mut Diagnostics) {
    for location in diags.locations_mut() {
        let text = &location.line_text;
        let key = text
            .trim_start()
            .split(|c: char| c == '=' || c.is_whitespace())
            .next();
        let secret = key.is_some_and(|k| {
            let k = k.trim_matches(['"', '\'']).to_ascii_lowercase();
            k == "password" || k == "password_env"
        });
        if let (true, Some(eq)) = (secret, text.find('=')) {
            location.line_text = format!("{}= \"***\"", &text[..eq]);
            let shown = location.line_text.chars().count();
            location.column = location.column.min(shown);
            location.width = location.width.min(shown + 1 - location.column);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    #[test]
    fn secret_lines_are_masked_and_others_kept() {
        let mut diags = Diagnostics::default();
        for text in [
            "password = \"hunter2\"",
            "  password_env = \"hunter2 !\"",
            "username = \"u\"",
        ] {
            let at = Location::from_span("broadsheet.toml", text, 0..text.len());
            diags.push(Diagnostic::error("x").at(at));
        }
        mask_secrets(&mut diags);
        let shown = diags.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password = \"***\""), "{shown}");
        assert!(shown.contains("username = \"u\""), "{shown}");
    }
}
