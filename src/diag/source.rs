//! Where problems are: user files held in memory under the path they are reported by, and
//! places in them resolved from byte spans to 1-based lines and character columns.

use std::ops::Range;
use std::path::Path;

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
    match relative {
        // The current folder itself.
        Some(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        relative => relative
            .unwrap_or_else(|| path.to_path_buf())
            .display()
            .to_string(),
    }
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
    fn span_past_end_is_clamped() {
        let loc = Location::from_span("f", "ab", 10..20);
        assert_eq!((loc.line, loc.column, loc.width), (1, 3, 1));
    }
}
