//! Diagnostics: problems found in user files, printed like a compiler's
//! (`error: ...`, `--> path:line:col`, the source line and a caret).

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::Path;

/// How serious a diagnostic is: errors stop a build, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something the user should look at; the email can still be built.
    Warning,
    /// Something that must be fixed before the email can be built or sent.
    Error,
}

/// A place in a file, already resolved to 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file's path as the user would type it (relative to the current directory when possible).
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The text of the line, without its line ending.
    pub line_text: String,
    /// How many characters the caret underlines (at least one).
    pub width: usize,
}

impl Location {
    /// Resolves a byte span in `text` (the contents of `path`) to a location.
    pub fn from_span(path: &str, text: &str, span: Range<usize>) -> Self {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        let width = text[start..end].chars().count().max(1);
        Self {
            path: path.to_owned(),
            line,
            column,
            line_text: text[line_start..line_end].trim_end_matches('\r').to_owned(),
            width,
        }
    }

    /// Builds a location from a 1-based line and column, as template engines report them.
    pub fn from_line_col(path: &str, text: &str, line: usize, column: usize) -> Self {
        let line = line.max(1);
        let line_text = text.lines().nth(line - 1).unwrap_or_default();
        Self {
            path: path.to_owned(),
            line,
            column: column.max(1),
            line_text: line_text.to_owned(),
            width: 1,
        }
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
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

/// A user file held in memory with the path it is reported under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display path (relative to the current directory when possible).
    pub path: String,
    /// The file's contents.
    pub text: String,
}

impl SourceFile {
    /// Wraps text read from `path`.
    pub fn new(path: &Path, text: String) -> Self {
        Self {
            path: display_path(path),
            text,
        }
    }

    /// Resolves a byte span of this file to a location.
    pub fn locate(&self, span: Range<usize>) -> Location {
        Location::from_span(&self.path, &self.text, span)
    }
}

/// A path as the user would type it: relative to the current directory when it is below it.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
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

    /// The locations of the diagnostics, for hiding what must not be shown.
    pub fn locations_mut(&mut self) -> impl Iterator<Item = &mut Location> {
        self.0.iter_mut().filter_map(|d| d.location.as_mut())
    }

    /// The diagnostics in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
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

/// The name in `known` closest to `name`, when it is close enough to be a slip (at most
/// one edit, or swap of neighbours, in three characters, ignoring case).
pub fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| {
            (
                strsim::osa_distance(&name.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Notes for a `name` that is not among `known`: the closest known name ("did you mean"),
/// and all of them when they are few enough to list.
pub fn unknown_name_notes(name: &str, known: &[&str]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(k) = closest(name, known) {
        notes.push(format!("did you mean `{k}`?"));
    }
    match known.len() {
        0 => notes.push("none are defined".to_owned()),
        1..=12 => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            notes.push(format!("known here: {}", list.join(", ")));
        }
        _ => {}
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_resolves_to_line_and_character_column() {
        let text = "a = 1\nsumary = \"“x”\"\n";
        let start = text.find("sumary").unwrap();
        let loc = Location::from_span("v.toml", text, start..start + 6);
        assert_eq!((loc.line, loc.column, loc.width), (2, 1, 6));
        let quote = text.find('x').unwrap();
        assert_eq!(
            Location::from_span("v.toml", text, quote..quote + 1).column,
            12
        );
    }

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

    #[test]
    fn span_past_end_is_clamped() {
        let loc = Location::from_span("f", "ab", 10..20);
        assert_eq!((loc.line, loc.column, loc.width), (1, 3, 1));
    }
}
