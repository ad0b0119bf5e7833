//! What a layout template's text says where it does not compile: the place and the words
//! of a Handlebars syntax error, told in the newsroom's terms (a block or a `{{` left open
//! at its opening tag, a closed tag that does not parse named whole with what it lacks).

use std::collections::HashMap;

use handlebars::TemplateError;

use super::locate;
use crate::diag::{Diagnostic, SourceFile};

/// A template that does not compile, at the place Handlebars names; a block left open at
/// the end of the template is named at its opening tag, where the parser can only say what
/// it expected at the end of the file.
pub(super) fn template_diagnostic(
    sources: &HashMap<String, SourceFile>,
    key: &str,
    error: &TemplateError,
) -> Diagnostic {
    if let Some(source) = sources.get(key)
        && let Some((name, at)) = unclosed_block(&source.text)
        && error
            .pos()
            .is_some_and(|(line, _)| line >= source.text.trim_end().lines().count())
    {
        return Diagnostic::error(format!("`{{{{#{name}}}}}` is never closed"))
            .at_span(source, at..at + name.len() + 3)
            .note(format!("end the block with `{{{{/{name}}}}}`"));
    }
    if let handlebars::TemplateErrorReason::InvalidSyntax(_) = error.reason()
        && let Some(source) = sources.get(key)
        && let Some(tag) = error
            .pos()
            .and_then(|(line, column)| tag_at(&source.text, line, column))
    {
        return match tag {
            Tag::Unclosed(at) if source.text[at..].starts_with("{{{") => {
                Diagnostic::error("`{{{` is never closed")
                    .at_span(source, at..at + 3)
                    .note("end the expression with `}}}`")
            }
            Tag::Unclosed(at) => Diagnostic::error("`{{` is never closed")
                .at_span(source, at..at + 2)
                .note("end the expression with `}}`"),
            Tag::Closed(span) => {
                let written = &source.text[span.clone()];
                Diagnostic::error(format!("`{written}` is not valid Handlebars"))
                    .at_span(source, span)
                    .note(tag_hint(written))
            }
        };
    }
    let diagnostic = match error.reason() {
        // The parser's own words name its grammar's rules (`trailing_tilde_to_omit_whitespace`).
        handlebars::TemplateErrorReason::InvalidSyntax(_) => {
            Diagnostic::error("template syntax: this is not valid Handlebars").note(
                "every `{{` needs its `}}`, every `{{#name ...}}` its `{{/name}}`, and an \
                 expression is a name, a path such as `volume.title`, or a helper and its values",
            )
        }
        other => Diagnostic::error(format!("template syntax: {other}")),
    };
    locate(sources, diagnostic, Some(key), error.pos())
}

/// The tag of `text` that the parser stopped in, at 1-based `line`:`column`.
enum Tag {
    /// A `{{` (at this byte offset) that no `}}` closes before the next `{{` or the end:
    /// where the parser ran into the end of the file or the next tag looking for it.
    Unclosed(usize),
    /// A whole tag, `{{` to `}}` (three braces for a triple-stash), that does not parse.
    Closed(std::ops::Range<usize>),
}

/// The tag around 1-based `line`:`column` of `text`, if the place is inside one.
fn tag_at(text: &str, line: usize, column: usize) -> Option<Tag> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = text.get(line_start..)?;
    let offset = line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i);
    let before = text.get(..offset)?;
    let open = before.rfind("{{")?;
    if before[open..].contains("}}") {
        return None;
    }
    // `{{{`: the last two braces are the ones found; the tag starts at the first.
    let open = if text[..open].ends_with('{') {
        open - 1
    } else {
        open
    };
    let after = &text[offset..];
    let next_open = after.find("{{").unwrap_or(after.len());
    match after[..next_open].find("}}") {
        None => Some(Tag::Unclosed(open)),
        Some(close) => {
            let mut end = offset + close + 2;
            if text[open..].starts_with("{{{") && text[end..].starts_with('}') {
                end += 1;
            }
            Some(Tag::Closed(open..end))
        }
    }
}

/// What to say of a tag that is closed but does not parse, by what it looks like.
fn tag_hint(tag: &str) -> &'static str {
    let inner = tag
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_matches('~')
        .trim();
    let words: Vec<&str> = inner.split_whitespace().collect();
    if inner.starts_with('>') && inner[1..].trim().is_empty() {
        "a partial is included by its name: `{{> picks}}`"
    } else if inner.starts_with('#') && inner[1..].trim().is_empty() {
        "a block opens with its helper's name and values: `{{#each picks_before}}`"
    } else if inner.starts_with('/') {
        "this closes a block that is not open here: open it before (`{{#if ...}}`), or remove it"
    } else if words.first() == Some(&"else") {
        "`{{else}}` goes inside a block, between `{{#if ...}}` and `{{/if}}` (or `{{#each}}`'s)"
    } else if inner.matches('"').count() % 2 == 1 || inner.matches('\'').count() % 2 == 1 {
        "a text value ends with the quote it starts with: `\"words\"`"
    } else if words.iter().any(|w| w.ends_with('=')) || inner.contains("= ") {
        "each `name=` of a helper takes a value: `{{> picks list=picks_before}}`"
    } else if words
        .iter()
        .any(|w| w.contains("..") && !w.starts_with("../") || w.ends_with('.'))
    {
        "a path joins names with single dots: `volume.title`, `pick.source`"
    } else {
        "an expression is a name, a path such as `volume.title`, or a helper and its values"
    }
}

/// A `{{! ...}}` comment that runs on into a later tag, reported at its `{{`: Handlebars
/// ends such a comment at the first `}}`, so `{{! show {{title}} here }}` ends after
/// `title` and prints ` here }}`, and a comment left open swallows the template up to the
/// next tag's end. Only `{{!-- ... --}}` may hold tags.
pub(super) fn runaway_comment(source: &SourceFile) -> Option<Diagnostic> {
    let text = source.text.as_str();
    // Tags inside a comment already read are not tags.
    let mut read_to = 0;
    for at in memchr::memmem::find_iter(text.as_bytes(), "{{") {
        if at < read_to {
            continue;
        }
        let tag = text[at + 2..].trim_start_matches('~');
        let opened = text.len() - tag.len();
        let Some(body) = tag.strip_prefix('!') else {
            continue;
        };
        if let Some(long) = body.strip_prefix("--") {
            read_to = opened + 3 + memchr::memmem::find(long.as_bytes(), b"--}}")? + 4;
            continue;
        }
        let close = memchr::memmem::find(body.as_bytes(), b"}}")?;
        if let Some(inner) = body[..close].find("{{") {
            let line = text[..opened + 1 + inner].matches('\n').count() + 1;
            let span = at..opened + 1;
            return Some(
                Diagnostic::error(format!(
                    "this comment runs on into the tag on line {line}: a `{{{{! ...}}}}` \
                     comment ends at the first `}}}}`"
                ))
                .at_span(source, span)
                .note("end it with `}}` where it should end, or write a comment that holds tags as `{{!-- ... --}}`"),
            );
        }
        read_to = opened + 1 + close + 2;
    }
    None
}

/// The helper (or partial) a block tag names, after its `#` or `/`: `each` of
/// `{{#each picks}}`, `layout` of `{{#> layout}}`.
fn block_name(tag: &str) -> &str {
    let tag = tag.trim_start_matches(['>', '*']).trim_start();
    tag.split(|c: char| c.is_whitespace() || c == '~' || c == '}')
        .next()
        .unwrap_or(tag)
}

/// The innermost block of `text` still open at its end (`{{#each picks}}` without its
/// `{{/each}}`, or closed only by the end of a block around it): its helper's name and the
/// byte offset of its `{{`. Comments are skipped; `None` when every block closes, or when
/// a closing tag closes no open block (another error).
fn unclosed_block(text: &str) -> Option<(&str, usize)> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let at = rest + found;
        let tag = &text[at + 2..];
        if let Some(comment) = tag.strip_prefix("!--") {
            rest = at + 5 + comment.find("--}}")? + 4;
            continue;
        }
        let close = tag.find("}}")?;
        let inner = tag[..close].trim_start_matches('~').trim_start();
        if let Some(block) = inner.strip_prefix('#') {
            open.push((block_name(block), at));
        } else if let Some(end) = inner.strip_prefix('/') {
            let end = block_name(end);
            match open.iter().rposition(|(opened, _)| *opened == end) {
                // `{{/if}}` with an `{{#each}}` inside still open: that one is unclosed.
                Some(i) if i + 1 < open.len() => return open.pop(),
                Some(_) => {
                    open.pop();
                }
                None => return None,
            }
        }
        rest = at + 2 + close + 2;
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::{runaway_comment, unclosed_block};
    use crate::diag::SourceFile;

    #[test]
    fn a_short_comment_that_takes_in_a_tag_is_reported_at_its_start() {
        let check = |text: &str| {
            let source = SourceFile::new(std::path::Path::new("t.hbs"), text.to_owned());
            runaway_comment(&source).map(|d| d.to_string())
        };
        for fine in [
            "{{! a note }} {{title}}",
            "{{!-- {{title}} is shown below --}} {{title}}",
            "{{~! trimmed ~}}{{title}}",
            "no comment {{title}}",
        ] {
            assert_eq!(check(fine), None, "{fine}");
        }
        for (runaway, line) in [
            ("{{! show {{title}} here }}", 1),
            ("<p>\n{{! left open\n<h1>{{title}}</h1>", 3),
            ("{{~! {{title}} }}", 1),
        ] {
            let said = check(runaway).unwrap_or_else(|| panic!("{runaway}"));
            assert!(
                said.contains(&format!("into the tag on line {line}")),
                "{said}"
            );
        }
    }

    #[test]
    fn the_block_left_open_is_named_at_its_opening_tag() {
        let text = "{{#if list}}<ul>{{#each list}}<li>{{x}}</li></ul>{{/if}}";
        assert_eq!(unclosed_block(text), Some(("each", 16)));
        assert_eq!(unclosed_block("a {{~#with x~}} b"), Some(("with", 2)));
        assert_eq!(
            unclosed_block("{{#> layout}}{{!-- {{#if}} --}}"),
            Some(("layout", 0))
        );
        for closed in [
            "{{#each l}}{{#if a}}x{{else}}y{{/if}}{{/each}}",
            "{{{html}}} {{! {{#if}} }}",
            "{{/if}} a stray end is another error",
        ] {
            assert_eq!(unclosed_block(closed), None, "{closed}");
        }
    }
}
