//! The Markdown that volumes carry (summaries, intros, the expert view), rendered to HTML
//! for the email and to plain text for its text part. Raw HTML in the source is escaped,
//! never passed through, and `pick:ID` links resolve to the cited pick's URL.

use std::borrow::Cow;
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// A link found in Markdown source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The destination as written.
    pub dest: String,
    /// Byte range of the whole link in the Markdown text.
    pub range: Range<usize>,
    /// The text readers see and click, without Markdown marks; `None` for an image.
    pub text: Option<String>,
    /// The link's title (`[text](url "title")`), empty when it has none.
    pub title: String,
}

impl Link {
    /// True for a link whose text holds no word, only symbols or emoji (`[🔭](...)`):
    /// screen readers announce the symbol's name, which says nothing of where it leads,
    /// unless a title names it (rendered as the link's `aria-label`).
    pub(crate) fn is_wordless(&self) -> bool {
        self.text.as_deref().is_some_and(wordless) && self.title.trim().is_empty()
    }
}

/// Whether `text` has no letter or digit.
fn wordless(text: &str) -> bool {
    !text.chars().any(char::is_alphanumeric)
}

/// Looks up the URL of the pick with a given id, for `pick:ID` links.
pub(crate) type PickUrls<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

/// The prefix of links that cite another pick by its id.
pub(crate) const PICK_SCHEME: &str = "pick:";

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH)
}

/// Every link (and image) in `markdown`, in order.
pub(crate) fn links(markdown: &str) -> Vec<Link> {
    let mut found: Vec<Link> = Vec::new();
    // Indexes into `found` of the links whose text is being read (images nest in links).
    let mut open: Vec<usize> = Vec::new();
    for (event, range) in parser(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Link {
                dest_url, title, ..
            }) => {
                open.push(found.len());
                found.push(Link {
                    dest: dest_url.into_string(),
                    range,
                    text: Some(String::new()),
                    title: title.into_string(),
                });
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => found.push(Link {
                dest: dest_url.into_string(),
                range,
                text: None,
                title: title.into_string(),
            }),
            Event::End(TagEnd::Link) => {
                open.pop();
            }
            Event::Text(t) | Event::Code(t) => {
                for &i in &open {
                    if let Some(text) = found[i].text.as_mut() {
                        text.push_str(&t);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The text of `markdown` that readers see: without marks or link targets, line breaks as
/// spaces.
pub(crate) fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in parser(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(TagEnd::Paragraph) => out.push(' '),
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

/// How many characters of `markdown` readers see (see [`plain_text`]).
pub(crate) fn visible_len(markdown: &str) -> usize {
    plain_text(markdown).chars().count()
}

/// `markdown` of a field that is inline Markdown (a summary, an intro) with what would
/// start a block at the start of a line escaped, so that it reads as the text it is:
/// `2026. The year…` is a year, not a list numbered from 2026; `# 1` or `> quote` are not a
/// heading or a quotation; `- item` is a dash. Emphasis and links are untouched.
pub(crate) fn inline_source(markdown: &str) -> Cow<'_, str> {
    // A paragraph's lines lose their indent anyway; four spaces would start a code block.
    let indent = |line: &str| line.len() - line.trim_start_matches([' ', '\t']).len();
    if !markdown
        .lines()
        .any(|line| indent(line) >= 4 || block_marker(line.trim_start()).is_some())
    {
        return Cow::Borrowed(markdown);
    }
    let mut out = String::with_capacity(markdown.len() + 8);
    for (i, line) in markdown.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.trim_start_matches([' ', '\t']);
        match block_marker(line) {
            Some(at) => {
                out.push_str(&line[..at]);
                out.push('\\');
                out.push_str(&line[at..]);
            }
            None => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

/// The byte offset in `line` (without its indent) of the character to escape so that the
/// line starts no block, if it would start one.
fn block_marker(line: &str) -> Option<usize> {
    let spaced = |after: &str| after.is_empty() || after.starts_with([' ', '\t']);
    let first = line.chars().next()?;
    let marker = match first {
        // A quotation, a fence, a setext underline.
        '>' => true,
        '`' | '~' => line.starts_with("```") || line.starts_with("~~~"),
        '=' => line.trim_end().chars().all(|c| c == '='),
        // A heading needs a space (or nothing) after its `#`s: `#hashtag` is text.
        '#' => spaced(line.trim_start_matches('#')),
        // A bullet, or a thematic break (`***`, `- - -`, `___`).
        '-' | '+' | '*' | '_' => {
            spaced(&line[1..])
                || (line
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .all(|c| c == first)
                    && line.chars().filter(|&c| c == first).count() >= 3)
        }
        // A numbered item: up to nine digits, then `.` or `)` and a space.
        '0'..='9' => {
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let after = &line[digits..];
            return (digits <= 9 && after.starts_with(['.', ')']) && spaced(&after[1..]))
                .then_some(digits);
        }
        _ => false,
    };
    marker.then_some(0)
}

fn resolve<'a>(dest: CowStr<'a>, picks: PickUrls<'_>) -> CowStr<'a> {
    match dest.strip_prefix(PICK_SCHEME).and_then(picks) {
        Some(url) => CowStr::from(url.to_owned()),
        None => dest,
    }
}

/// Renders Markdown to HTML. With `inline`, a lone paragraph loses its `<p>` wrapper so the
/// result can sit inside a list item or a sentence. A link whose text has no word but which
/// has a title gets that title as its `aria-label`: its name for screen readers.
pub(crate) fn to_html(markdown: &str, inline: bool, picks: PickUrls<'_>) -> String {
    let mut events: Vec<Event<'_>> = parser(markdown)
        .map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: resolve(dest_url, picks),
                title,
                id,
            }),
            other => other,
        })
        .collect();
    label_wordless_links(&mut events);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, events.into_iter());
    let trimmed = out.trim_end();
    if inline
        && let Some(inner) = trimmed
            .strip_prefix("<p>")
            .and_then(|s| s.strip_suffix("</p>"))
            .filter(|inner| !inner.contains("<p>"))
    {
        return inner.to_owned();
    }
    trimmed.to_owned()
}

/// Replaces the start tag of each titled link whose text has no word with the same tag
/// carrying `aria-label` (written by pulldown-cmark's own writer, so escaped as it escapes).
fn label_wordless_links(events: &mut [Event<'_>]) {
    for i in 0..events.len() {
        let Event::Start(Tag::Link { title, .. }) = &events[i] else {
            continue;
        };
        if title.trim().is_empty() {
            continue;
        }
        let mut text = String::new();
        for event in &events[i + 1..] {
            match event {
                Event::End(TagEnd::Link) => break,
                Event::Text(t) | Event::Code(t) => text.push_str(t),
                _ => {}
            }
        }
        if !wordless(&text) {
            continue;
        }
        let mut tag = String::new();
        let label = crate::layout::escape_html(title);
        html::push_html(&mut tag, std::iter::once(events[i].clone()));
        if let Some(open) = tag.strip_suffix('>') {
            events[i] = Event::Html(format!("{open} aria-label=\"{label}\">").into());
        }
    }
}

/// Renders Markdown to plain text: emphasis dropped, each link's URL in angle brackets after
/// its text, paragraphs separated by a blank line.
pub(crate) fn to_text(markdown: &str, picks: PickUrls<'_>) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut link_stack: Vec<(String, usize)> = Vec::new();
    for event in parser(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                let url = resolve(dest_url, picks);
                let shown = match link_type {
                    LinkType::Email => format!("mailto:{url}"),
                    _ => url.into_string(),
                };
                link_stack.push((shown, out.len()));
            }
            Event::End(TagEnd::Link) => {
                if let Some((url, start)) = link_stack.pop() {
                    let label = &out[start..];
                    if label != url && format!("mailto:{label}") != url {
                        out.push_str(&format!(" <{url}>"));
                    }
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                out.push_str("\n\n");
            }
            _ => {}
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<&'static str> {
        None
    }

    #[test]
    fn inline_paragraph_loses_its_wrapper() {
        assert_eq!(
            to_html("A *big* [deal](https://x.test/)", true, &none),
            r#"A <em>big</em> <a href="https://x.test/">deal</a>"#
        );
    }

    #[test]
    fn inline_markdown_starts_no_block_and_loses_no_text() {
        let inline = |md: &str| {
            let md = inline_source(md);
            (to_html(&md, true, &none), to_text(&md, &none))
        };
        for (md, html) in [
            ("2026. The year robot dogs", "2026. The year robot dogs"),
            ("3) Three things", "3) Three things"),
            ("- a dash, not a list", "- a dash, not a list"),
            ("# 1 lesson", "# 1 lesson"),
            ("> not a quote", "&gt; not a quote"),
            ("    four spaces", "four spaces"),
            ("***", "***"),
            ("a\n===", "a\n==="),
            ("```rust", "```rust"),
        ] {
            let (got_html, got_text) = inline(md);
            assert_eq!(got_html, html, "{md:?}");
            assert_eq!(
                got_text,
                html.replace("&gt;", ">").replace('\n', " "),
                "{md:?}"
            );
        }
        // Emphasis, hashtags and numbers inside a line stay what they are.
        assert_eq!(
            inline("*Nature* says #robots cost 2. more").0,
            "<em>Nature</em> says #robots cost 2. more"
        );
        assert_eq!(inline_source("plain text"), Cow::Borrowed("plain text"));
    }

    #[test]
    fn raw_html_is_escaped_not_passed_through() {
        let html = to_html("Tom & Jerry <b>bold</b> <script>x</script>", true, &none);
        assert_eq!(
            html,
            "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;"
        );
        assert_eq!(to_text("Tom & Jerry <b>", &none), "Tom & Jerry <b>");
    }

    #[test]
    fn text_keeps_link_urls_and_quotes() {
        let md = "“See” [the picks](https://scout.eto.tech/) or <https://eto.tech/>.\n\nNext.";
        assert_eq!(
            to_text(md, &none),
            "“See” the picks <https://scout.eto.tech/> or https://eto.tech/.\n\nNext."
        );
    }

    #[test]
    fn pick_links_resolve() {
        let urls = |id: &str| (id == "chips").then_some("https://x.test/chips");
        assert_eq!(
            to_html("[10,000 die](pick:chips)", true, &urls),
            r#"<a href="https://x.test/chips">10,000 die</a>"#
        );
        assert_eq!(
            to_text("[10,000 die](pick:chips)", &urls),
            "10,000 die <https://x.test/chips>"
        );
    }

    #[test]
    fn wordless_links_are_found_and_labelled_by_their_title() {
        let md = "at [🔭](https://scout.eto.tech/) or [🔭](https://x.test/ \"Scout\") or [the *feed*](https://x.test/f)";
        let found = links(md);
        let wordless: Vec<bool> = found.iter().map(Link::is_wordless).collect();
        assert_eq!(wordless, [true, false, false]);
        assert_eq!(found[2].text.as_deref(), Some("the feed"));
        assert_eq!(
            to_html(&md[..md.find(" or [the").unwrap()], true, &none),
            "at <a href=\"https://scout.eto.tech/\">🔭</a> or \
             <a href=\"https://x.test/\" title=\"Scout\" aria-label=\"Scout\">🔭</a>"
        );
        assert_eq!(visible_len("A [big](https://x.test/long/path) *deal*"), 10);
        assert_eq!(plain_text("One *big*\nline.\n\nTwo."), "One big line. Two.");
    }

    #[test]
    fn links_report_their_ranges() {
        let md = "a [b](javascript:alert(1)) c";
        let found = links(md);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].dest, "javascript:alert(1)");
        assert_eq!(&md[found[0].range.clone()], "[b](javascript:alert(1))");
    }
}
