//! A light scan of MJML text into the events mjml's own parser (htmlparser2) sees: start
//! tags with their attributes, end tags and comments, each with its byte span. It runs on
//! MJML that mrml has already parsed, so it reads tags and skips the rest; the contents of
//! ending tags (`mj-text`, `mj-raw`, ...) are the caller's to skip with [`Scanner::skip_ending`].

use std::ops::Range;

/// One attribute of a start tag, as written (mjml decodes no entities either).
#[derive(Debug)]
pub(super) struct Attribute<'a> {
    /// Its name.
    pub name: &'a str,
    /// Where its name is.
    pub name_span: Range<usize>,
    /// Its value, empty when it has none.
    pub value: &'a str,
    /// Where its value is (the name's span when it has none).
    pub value_span: Range<usize>,
}

/// What the scanner found next.
#[derive(Debug)]
pub(super) enum Event<'a> {
    /// A start tag: its name (at `span`), attributes, and whether it closes itself.
    Start {
        name: &'a str,
        span: Range<usize>,
        attributes: Vec<Attribute<'a>>,
        empty: bool,
    },
    /// An end tag.
    End { name: &'a str },
    /// A comment, which mjml keeps as an `mj-raw` child.
    Comment { span: Range<usize> },
}

/// HTML elements without an end tag, as htmlparser2 reads them outside XML mode.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The events of an MJML text, in order.
pub(super) struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    /// Moves past the contents of an ending tag just opened, to after its end tag. Ending
    /// tags opened inside it nest, as they do for mjml's parser.
    pub(super) fn skip_ending(&mut self, is_ending: impl Fn(&str) -> bool) {
        let mut depth = 1;
        for event in self.by_ref() {
            match event {
                Event::Start {
                    name, empty: false, ..
                } if is_ending(name) => depth += 1,
                Event::End { name } if is_ending(name) => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// The end of the construct opened at `from` that ends with `end`.
    fn past(&self, from: usize, end: &str) -> usize {
        self.text[from..]
            .find(end)
            .map_or(self.text.len(), |i| from + i + end.len())
    }

    /// The start tag whose name begins at `from`, ending after its `>`.
    fn start_tag(&mut self, from: usize) -> Event<'a> {
        let text = self.text;
        let bytes = text.as_bytes();
        let name_end = word_end(text, from);
        let name = &text[from..name_end];
        let mut attributes = Vec::new();
        let mut at = name_end;
        let mut empty = false;
        while at < bytes.len() {
            match bytes[at] {
                b'>' => {
                    at += 1;
                    break;
                }
                b'/' => {
                    empty = bytes.get(at + 1) == Some(&b'>');
                    at += 1;
                }
                b if b.is_ascii_whitespace() => at += 1,
                _ => {
                    let (attribute, next) = attribute(text, at);
                    attributes.push(attribute);
                    at = next;
                }
            }
        }
        self.at = at;
        Event::Start {
            name,
            span: from - 1..name_end,
            attributes,
            empty: empty || VOID.contains(&name),
        }
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let open = self.at + self.text[self.at..].find('<')?;
            let rest = &self.text[open + 1..];
            if rest.starts_with("!--") {
                self.at = self.past(open + 4, "-->");
                return Some(Event::Comment {
                    span: open..self.at,
                });
            } else if rest.starts_with("![CDATA[") {
                self.at = self.past(open, "]]>");
            } else if rest.starts_with(['!', '?']) {
                self.at = self.past(open, ">");
            } else if rest.starts_with('/') {
                let name_end = word_end(self.text, open + 2);
                self.at = self.past(open, ">");
                return Some(Event::End {
                    name: &self.text[open + 2..name_end],
                });
            } else if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Some(self.start_tag(open + 1));
            } else {
                self.at = open + 1;
            }
        }
    }
}

/// Where the tag or attribute name starting at `from` ends.
fn word_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| c.is_ascii_whitespace() || matches!(c, '>' | '/' | '='))
        .map_or(text.len(), |i| from + i)
}

/// The attribute whose name starts at `from`, and where scanning goes on after it.
fn attribute(text: &str, from: usize) -> (Attribute<'_>, usize) {
    let bytes = text.as_bytes();
    let name_end = word_end(text, from).max(from + 1);
    let mut at = name_end;
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    let (value_span, next) = if bytes.get(at) == Some(&b'=') {
        at += 1;
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        match bytes.get(at) {
            Some(&quote @ (b'"' | b'\'')) => {
                let end = text[at + 1..]
                    .find(char::from(quote))
                    .map_or(text.len(), |i| at + 1 + i);
                (at + 1..end, (end + 1).min(text.len()))
            }
            _ => {
                let end = text[at..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .map_or(text.len(), |i| at + i);
                (at..end, end)
            }
        }
    } else {
        (name_end..name_end, name_end)
    };
    let attribute = Attribute {
        name: &text[from..name_end],
        name_span: from..name_end,
        value: &text[value_span.clone()],
        value_span: if value_span.is_empty() {
            from..name_end
        } else {
            value_span
        },
    };
    (attribute, next)
}
