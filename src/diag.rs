//! Diagnostics: problems found in user files, printed like a compiler's
//! (`error: ...`, `--> path:line:col`, the source line and a caret).
//!
//! The convention: a function that reads a user file from text returns
//! `Result<T, Diagnostics>` with every problem it found; one that also does I/O returns
//! `anyhow::Result<T>`, whose error is either an I/O failure with its context or those
//! `Diagnostics`, which callers take back out (`Diagnostics::absorb`, `pipeline`'s
//! `content`) to report them with the rest.

use std::fmt::{self, Write as _};
use std::ops::Range;

mod source;
mod suggest;

pub use source::{Location, SourceFile, display_path};
pub use suggest::{closest, unknown_name_notes};

/// What the library refused, with its diagnostics: `shown` (each problem as a compiler
/// prints it) and the `error: ...` line that says what was not done. The library returns
/// it; `main` prints it and exits with status 1.
#[derive(Debug)]
pub struct Refused {
    shown: String,
    last: String,
}

impl Refused {
    /// A refusal of what `shown` explains, ending with `last` (without `error: `).
    pub fn new(shown: impl fmt::Display, last: impl fmt::Display) -> Self {
        Self {
            shown: shown.to_string(),
            last: last.to_string(),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nerror: {}", self.shown, self.last)
    }
}

impl std::error::Error for Refused {}

/// How serious a diagnostic is: errors stop a build, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something the user should look at; the email can still be built.
    Warning,
    /// Something that must be fixed before the email can be built or sent.
    Error,
}

/// One problem, with an optional place and notes that help to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// Where it is, when it is in a file.
    pub location: Option<Location>,
    /// Further lines, printed as `= note: ...`.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error with no location yet.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A warning with no location yet.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            location: None,
            notes: Vec::new(),
        }
    }

    /// Attaches a location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Attaches a location given as a byte span of a source file.
    pub fn at_span(self, source: &SourceFile, span: Range<usize>) -> Self {
        self.at(source.locate(span))
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Messages and notes longer than this (in characters) are shown with their middle cut
/// out: they echo values from user files, which may be megabytes long.
const MAX_MESSAGE: usize = 300;

/// `text`, or its head and tail around `…` when it is longer than [`MAX_MESSAGE`].
fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    let count = text.chars().count();
    if count <= MAX_MESSAGE {
        return text.into();
    }
    let head: String = text.chars().take(MAX_MESSAGE * 2 / 3).collect();
    let tail: String = text.chars().skip(count - MAX_MESSAGE / 3).collect();
    format!(
        "{head} … ({} characters left out) … {tail}",
        count - head.chars().count() - MAX_MESSAGE / 3
    )
    .into()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", bounded(&self.message))?;
        let gutter = self
            .location
            .as_ref()
            .map_or(1, |l| l.line.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(loc) = &self.location {
            writeln!(f, "{pad}--> {}:{}:{}", loc.path, loc.line, loc.column)?;
            writeln!(f, "{pad} |")?;
            let (shown, caret_at, width) = excerpt(&loc.line_text, loc.column - 1, loc.width);
            writeln!(f, "{} | {shown}", loc.line)?;
            let indent: String = shown
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} | {indent}{}", "^".repeat(width))?;
        }
        for note in &self.notes {
            writeln!(f, "{pad} = note: {}", bounded(note))?;
        }
        Ok(())
    }
}

/// Source lines longer than this are shown as a window around the column.
const MAX_SHOWN: usize = 100;

/// The part of `line` to show, the caret's character offset in it, and the caret's width.
fn excerpt(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN {
        return (line.to_owned(), column, width);
    }
    let start = column.saturating_sub(MAX_SHOWN / 3);
    let end = (start + MAX_SHOWN).min(chars.len());
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    let caret_at = column - start + usize::from(start > 0);
    (
        shown,
        caret_at,
        width.min(end.saturating_sub(column)).max(1),
    )
}

/// Diagnostics gathered over a run; all of them are reported at once.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Takes in the diagnostics an error carries, or the error itself as one diagnostic:
    /// for callers that must go on whatever failed (the preview).
    pub fn absorb(&mut self, error: anyhow::Error) {
        match error.downcast::<Diagnostics>() {
            Ok(found) => self.0.extend(found.0),
            Err(other) => self.push(Diagnostic::error(format!("{other:#}"))),
        }
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Number of errors and warnings.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.0.iter().filter(|d| d.is_error()).count();
        (errors, self.0.len() - errors)
    }

    /// Orders diagnostics by file, line and column, keeping those without a place last.
    pub fn sort_by_location(&mut self) {
        self.0.sort_by_key(|d| {
            d.location
                .as_ref()
                .map(|l| (l.path.clone(), l.line, l.column))
                .ok_or(())
        });
    }

    /// Folds the diagnostics placed in `path` that say what an earlier one there says (the
    /// same severity, message and notes: one template line written many times, such as a
    /// partial rendered for every pick) into that first one, as a note naming the other
    /// lines.
    pub fn merge_repeats(&mut self, path: &str) {
        const NAMED: usize = 5;
        let mut kept: Vec<Diagnostic> = Vec::with_capacity(self.0.len());
        let mut repeats: Vec<(usize, Vec<usize>)> = Vec::new();
        for d in std::mem::take(&mut self.0) {
            let place = d
                .location
                .as_ref()
                .filter(|l| l.path == path)
                .map(|l| l.line);
            let first = place.and_then(|_| {
                kept.iter().position(|k| {
                    k.location.as_ref().is_some_and(|l| l.path == path)
                        && (k.severity, &k.message, &k.notes) == (d.severity, &d.message, &d.notes)
                })
            });
            match (first, place) {
                (Some(i), Some(line)) => match repeats.iter_mut().find(|(k, _)| *k == i) {
                    Some((_, lines)) => lines.push(line),
                    None => repeats.push((i, vec![line])),
                },
                _ => kept.push(d),
            }
        }
        for (i, lines) in repeats {
            let shown: Vec<String> = lines.iter().take(NAMED).map(ToString::to_string).collect();
            let more = lines.len().saturating_sub(NAMED);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            kept[i].notes.push(format!(
                "the same at {} more place{} of {path}: line{} {}{tail}",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" },
                if lines.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ));
        }
        self.0 = kept;
    }

    /// The locations of the diagnostics, for hiding what must not be shown.
    pub fn locations_mut(&mut self) -> impl Iterator<Item = &mut Location> {
        self.0.iter_mut().filter_map(|d| d.location.as_mut())
    }

    /// The diagnostics in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// The diagnostics, to say more about them once more is known.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Diagnostic> {
        self.0.iter_mut()
    }

    /// A summary line such as `2 errors, 1 warning`.
    pub fn summary(&self) -> String {
        let (errors, warnings) = self.counts();
        let mut out = String::new();
        for (n, word) in [(errors, "error"), (warnings, "warning")] {
            if n > 0 {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                let _ = write!(out, "{n} {word}{}", if n == 1 { "" } else { "s" });
            }
        }
        if out.is_empty() {
            out.push_str("no problems");
        }
        out
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// At most this many diagnostics are printed; a count stands for the rest, so that a file
/// of 100,000 bad rows does not print megabytes.
pub const MAX_LISTED: usize = 100;

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0.iter().take(MAX_LISTED) {
            writeln!(f, "{d}")?;
        }
        if let Some(rest) = self.0.get(MAX_LISTED..).filter(|r| !r.is_empty()) {
            let hidden = Diagnostics(rest.to_vec());
            writeln!(
                f,
                "... and {} more not shown ({})\n",
                rest.len(),
                hidden.summary()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_compiler_style() {
        let text = "number = 11\nsumary = 1\n";
        let d = Diagnostic::error("unknown field `sumary`")
            .at(Location::from_span("volumes/012.toml", text, 12..18))
            .note("expected `summary`");
        assert_eq!(
            d.to_string(),
            "error: unknown field `sumary`\n --> volumes/012.toml:2:1\n  |\n2 | sumary = 1\n  | ^^^^^^\n  = note: expected `summary`\n"
        );
    }

    #[test]
    fn long_lines_show_a_window_around_the_caret() {
        let line = format!("{}[bad](x){}", "a".repeat(500), "b".repeat(500));
        let d = Diagnostic::error("bad").at(Location::from_span("f", &line, 500..508));
        let text = d.to_string();
        let mut lines = text.lines().skip(3);
        let (shown, caret) = (lines.next().unwrap(), lines.next().unwrap());
        assert!(shown.chars().count() < 120, "{shown}");
        assert_eq!(
            caret.find('^').map(|i| caret[..i].chars().count()),
            shown.find("[bad]").map(|i| shown[..i].chars().count())
        );
        assert_eq!(caret.matches('^').count(), 8);
    }
}
