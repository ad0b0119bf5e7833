//! TOML in user files: parse and deserialization errors of the toml crate turned into
//! located diagnostics, shared by volumes, settings, layouts and recipients.

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// Deserializes one part of a parsed TOML document, reporting a failure into `diags`.
pub(crate) fn typed<T: for<'de> Deserialize<'de>>(
    source: &SourceFile,
    value: Spanned<DeValue<'_>>,
    diags: &mut Diagnostics,
) -> Option<T> {
    T::deserialize(ValueDeserializer::from(value))
        .map_err(|e| diags.push(toml_diagnostic(source, &e)))
        .ok()
}

/// Turns a TOML parse or deserialization error into a diagnostic in `source`.
pub(crate) fn toml_diagnostic(source: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let message = error.message().trim_end().to_owned();
    let mut diagnostic = Diagnostic::error(message);
    if error.message().contains("expected a TOML datetime") {
        diagnostic =
            diagnostic.note("write dates as TOML dates, without quotes: `date = 2024-05-09`");
    }
    match error.span() {
        Some(span) => diagnostic.at_span(source, span),
        None => diagnostic,
    }
}
