//! Finding a message's outgoing links and pointing them at `serve`: the targets are the
//! distinct `http(s)` hrefs of the full volume's HTML part in order, each with the place
//! [`super::places`] gives it, so that a link's place is the same in every topic variant,
//! every resumed run and every later dispatch.

use crate::render::{Html, Text};
use crate::unsubscribe::Signer;

use super::CANARY;

/// Rewrites the links of rendered parts for a volume whose clicks are counted.
#[derive(Debug, Clone)]
pub struct Counter {
    /// `[serve] public_url`, ending with `/`.
    public_url: String,
    /// The volume's links with their places.
    links: Vec<(u32, Link)>,
    /// Whether the text part's links are counted too (`[clicks] text = true`).
    text: bool,
    /// Each target's counted URL, and the canary's.
    urls: Vec<String>,
    canary: String,
}

impl Counter {
    /// The counter of `volume` whose `links` are those [`targets`] found, placed by
    /// [`super::places`].
    pub fn new(
        signer: &Signer,
        public_url: &str,
        volume: u32,
        links: Vec<(u32, Link)>,
        text: bool,
    ) -> Self {
        let url = |place: u32| format!("{public_url}{}", super::path(signer, volume, place));
        let urls = links.iter().map(|(place, _)| url(*place)).collect();
        Self {
            public_url: public_url.to_owned(),
            links,
            text,
            urls,
            canary: url(CANARY),
        }
    }

    /// The links with their places, in the volume's order.
    pub fn links(&self) -> &[(u32, Link)] {
        &self.links
    }

    /// Points the outgoing links of a variant's two parts at `serve` and adds the canary to
    /// the HTML part.
    pub fn rewrite(&self, html: &mut Html, text: &mut Text) {
        let html = &mut html.0;
        *html = map_hrefs(html, &self.public_url, |target, _| {
            let at = self.links.iter().position(|(_, l)| l.target == target)?;
            Some(self.urls[at].clone())
        });
        // Empty and hidden from people (`mso-hide` for Outlook's Word engine, which ignores
        // `display:none`), screen readers and the tab order; first in the body, so that a
        // scanner that follows the hrefs in document order reaches it before any pick.
        let canary = format!(
            "<a href=\"{}\" style=\"display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;\" \
             aria-hidden=\"true\" tabindex=\"-1\"></a>",
            self.canary
        );
        html.insert_str(body_start(html), &canary);
        if self.text {
            let text = &mut text.0;
            // The longest first, so that a target that begins another is not cut out of it.
            let mut order: Vec<usize> = (0..self.links.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(self.links[i].1.target.len()));
            for i in order {
                *text = replace_urls(text, &self.links[i].1.target, &self.urls[i]);
            }
        }
    }
}

/// Where the content of `html`'s body begins: after its `<body ...>` tag, or at the start
/// of a fragment without one.
fn body_start(html: &str) -> usize {
    let bytes = html.as_bytes();
    let tag = memchr::memchr_iter(b'<', bytes).find(|&at| {
        bytes
            .get(at..at + 5)
            .is_some_and(|t| t.eq_ignore_ascii_case(b"<body"))
            && matches!(bytes.get(at + 5), Some(b'>' | b' ' | b'\t' | b'\n' | b'\r'))
    });
    tag.and_then(|at| html[at..].find('>').map(|end| at + end + 1))
        .unwrap_or(0)
}

/// The distinct outgoing targets of `html`, in order: `http(s)` hrefs that do not lead to
/// `serve`'s own pages under `public_url` or to the unsubscribe placeholder.
pub fn targets(html: &str, public_url: &str) -> Vec<Link> {
    let mut found: Vec<Link> = Vec::new();
    map_hrefs(html, public_url, |target, after| {
        let words = label(after);
        match found.iter_mut().find(|l| l.target == target) {
            // A pick links its headline and its source alike: the longer words say more.
            Some(link) if words.chars().count() > link.label.chars().count() => link.label = words,
            Some(_) => {}
            None => found.push(Link {
                target: target.to_owned(),
                label: words,
            }),
        }
        None
    });
    found
}

/// A counted link: where it leads, and what the email shows for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target URL.
    pub target: String,
    /// The longest words of its anchors (a pick's headline rather than its source's name),
    /// or an image's `alt`; may be empty.
    pub label: String,
}

/// The words of the anchor whose markup follows its href in `after`: its text without
/// tags (or its image's `alt`), whitespace collapsed, the first 80 characters.
fn label(after: &str) -> String {
    let end = after.find("</a>").unwrap_or(after.len());
    let inner = after[..end].split_once('>').map_or("", |(_, rest)| rest);
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let mut words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.is_empty() {
        words = inner
            .split_once("alt=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or_else(String::new, |(alt, _)| alt.to_owned());
    }
    let words = words
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    words.chars().take(80).collect()
}

/// `html` with each outgoing href's target (unescaped) replaced by what `map` gives for
/// it and the markup after it, if anything.
fn map_hrefs(
    html: &str,
    public_url: &str,
    mut map: impl FnMut(&str, &str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("href=\"") {
        let start = at + "href=\"".len();
        let Some(len) = rest[start..].find('"') else {
            break;
        };
        out.push_str(&rest[..start]);
        let raw = &rest[start..start + len];
        let target = raw.replace("&amp;", "&");
        let outgoing = (target.starts_with("https://") || target.starts_with("http://"))
            && !serves(public_url, &target)
            && !target.starts_with(crate::render::UNSUBSCRIBE_PLACEHOLDER);
        let after = &rest[start + len..];
        match outgoing.then(|| map(&target, after)).flatten() {
            Some(url) => out.push_str(&url),
            None => out.push_str(raw),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Whether `target` is one of `serve`'s own pages (the reader's, or a counted link), which
/// are never counted; the rest of the site at `public_url` is.
fn serves(public_url: &str, target: &str) -> bool {
    const ROUTES: [&str; 5] = [
        "unsubscribe/",
        "preferences/",
        "subscribe",
        "confirm/",
        "c/",
    ];
    target
        .strip_prefix(public_url)
        .is_some_and(|path| ROUTES.iter().any(|r| path.starts_with(r)))
}

/// `text` with every whole occurrence of `url` (not followed by more URL characters)
/// replaced by `with`.
fn replace_urls(text: &str, url: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(url) {
        let after = &rest[at + url.len()..];
        let whole = after
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | ']'));
        out.push_str(&rest[..at]);
        out.push_str(if whole { with } else { url });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_is_the_first_link_of_the_body() {
        let html = "<html><head><link href=\"https://fonts.example/\"></head>\
            <BODY style=\"margin:0\"><a href=\"https://a.example/\">A</a></BODY></html>";
        let signer = Signer::new(b"0123456789abcdef0123", "scout.eto.tech").unwrap();
        let found = targets(html, "https://news.example/s/");
        let placed = super::super::places(&[], found);
        let counter = Counter::new(&signer, "https://news.example/s/", 11, placed, false);
        let mut html = Html(html.to_owned());
        counter.rewrite(&mut html, &mut Text(String::new()));
        let body = html
            .0
            .split_once("<BODY style=\"margin:0\">")
            .expect("the body")
            .1;
        let canary = format!(
            "<a href=\"https://news.example/s/{}\"",
            super::super::path(&signer, 11, CANARY)
        );
        assert!(body.starts_with(&canary), "{}", html.0);
        assert!(body.contains("aria-hidden=\"true\" tabindex=\"-1\"></a>"));
        assert_eq!(body_start("<p>a fragment</p>"), 0);
        assert_eq!(body_start("<bodyguard><body>"), "<bodyguard><body>".len());
        assert_eq!(
            body_start("<HTML><BODY class=x>"),
            "<HTML><BODY class=x>".len()
        );
    }

    #[test]
    fn outgoing_links_are_counted_in_order_and_the_readers_own_are_not() {
        let html = "<a href=\"https://a.example/x?p=1&amp;q=2\">A</a>\
            <a href=\"https://news.example/s/preferences/t\">P</a>\
            <a href=\"https://news.example/s/about\">S</a><a href=\"https://b.example/\">B</a><a href=\"https://a.example/x?p=1&amp;q=2\"><b>A  head</b>line</a>\
            <a href=\"mailto:x@example.org\">M</a></body>";
        let found = targets(html, "https://news.example/s/");
        let shown: Vec<(&str, &str)> = found
            .iter()
            .map(|l| (l.target.as_str(), l.label.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("https://a.example/x?p=1&q=2", "A headline"),
                ("https://news.example/s/about", "S"),
                ("https://b.example/", "B")
            ]
        );
        let signer = Signer::new(b"0123456789abcdef0123", "scout.eto.tech").unwrap();
        let placed = super::super::places(&[], found);
        let counter = Counter::new(&signer, "https://news.example/s/", 11, placed, true);
        let mut html = Html(html.to_owned());
        let mut text = Text("see https://b.example/ and https://b.example/more".to_owned());
        counter.rewrite(&mut html, &mut text);
        let first = format!(
            "https://news.example/s/{}",
            super::super::path(&signer, 11, 1)
        );
        let second = format!(
            "https://news.example/s/{}",
            super::super::path(&signer, 11, 3)
        );
        assert_eq!(html.0.matches(&first).count(), 2, "{}", html.0);
        assert!(html.0.contains(&second));
        assert!(
            html.0
                .contains("href=\"https://news.example/s/preferences/t\"")
        );
        assert!(html.0.contains("mailto:x@example.org"));
        assert!(html.0.contains("/c/011/0/") && html.0.contains("display:none"));
        assert_eq!(text.0, format!("see {second} and https://b.example/more"));
    }
}
