//! The archive's Atom feed (RFC 4287): one entry per volume, holding the content of its web
//! page. Written by hand, so the bytes depend on the volumes only: ids are the pages' public
//! URLs and dates come from the volumes' periods, never from the clock.

use std::fmt::Write as _;

use crate::date::Date;
use crate::layout::escape_html;

/// The Atom namespace.
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// The feed's data.
#[derive(Debug)]
pub(crate) struct Feed<'a> {
    /// The archive's public URL, ending with `/`: the feed's id and its web page.
    pub(crate) base_url: &'a str,
    /// The newsletter's title.
    pub(crate) title: &'a str,
    /// One entry per volume, newest first.
    pub(crate) entries: Vec<Entry<'a>>,
}

/// One volume in the feed.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    /// The public URL of the volume's page: its link, and its id, stable across runs.
    pub(crate) url: String,
    /// The volume's headline.
    pub(crate) title: &'a str,
    /// The volume's preheader, if it has one.
    pub(crate) summary: Option<&'a str>,
    /// The last day of the volume's period.
    pub(crate) updated: Date,
    /// The HTML of the page's `<main>` element.
    pub(crate) content: String,
}

impl Feed<'_> {
    /// The feed as an XML document; `author` names the publisher (Atom requires one).
    pub(crate) fn to_xml(&self, author: &str) -> String {
        let mut out = String::with_capacity(self.entries.iter().map(|e| e.content.len()).sum());
        let base = escape(self.base_url);
        // Atom requires `updated`; the archive always has a volume, so the fallback is moot.
        let updated = self.entries.iter().map(|e| e.updated).max();
        let updated = updated.map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), timestamp);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <feed xmlns=\"{ATOM}\" xml:base=\"{base}\">\n  \
             <id>{base}</id>\n  \
             <title>{}</title>\n  \
             <link rel=\"alternate\" type=\"text/html\" href=\"{base}\"/>\n  \
             <link rel=\"self\" type=\"application/atom+xml\" href=\"{base}{}\"/>\n  \
             <updated>{updated}</updated>\n  \
             <author><name>{}</name></author>\n",
            escape(self.title),
            escape(super::FEED),
            escape(author),
        );
        for entry in &self.entries {
            entry.write(&mut out);
        }
        out.push_str("</feed>\n");
        out
    }
}

impl Entry<'_> {
    fn write(&self, out: &mut String) {
        let url = escape(&self.url);
        let _ = write!(
            out,
            "  <entry>\n    \
             <id>{url}</id>\n    \
             <title>{}</title>\n    \
             <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n    \
             <updated>{}</updated>\n",
            escape(self.title),
            timestamp(self.updated),
        );
        if let Some(summary) = self.summary {
            let _ = writeln!(out, "    <summary>{}</summary>", escape(summary));
        }
        let _ = write!(
            out,
            "    <content type=\"html\">{}</content>\n  </entry>\n",
            escape(&self.content)
        );
    }
}

/// An RFC 3339 timestamp for the start of `date`, in UTC.
fn timestamp(date: Date) -> String {
    format!("{date}T00:00:00Z")
}

/// Escapes text for XML content and quoted attributes, dropping the characters that XML 1.0
/// cannot hold at all (most control characters), which no escape could make valid.
fn escape(text: &str) -> String {
    let valid = |c: &char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || *c >= '\u{10000}'
    };
    if text.chars().all(|c| valid(&c)) {
        escape_html(text)
    } else {
        escape_html(&text.chars().filter(valid).collect::<String>())
    }
}

/// The inside of the first `<main>` element of a page, which is the content a feed reader
/// shows; `None` when the page has none.
pub(crate) fn main_element(page: &str) -> Option<&str> {
    let open = page
        .match_indices("<main")
        .find(|(at, _)| {
            matches!(
                page.as_bytes().get(at + 5),
                Some(b'>' | b' ' | b'\n' | b'\t')
            )
        })?
        .0;
    let start = open + page[open..].find('>')? + 1;
    let end = start + page[start..].find("</main>")?;
    Some(page[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(entries: Vec<Entry<'static>>) -> String {
        Feed {
            base_url: "https://x.test/news/",
            title: "Picks & more",
            entries,
        }
        .to_xml("Scout")
    }

    fn entry(number: u32, day: u8, content: &str) -> Entry<'static> {
        Entry {
            url: format!("https://x.test/news/{number:03}.html"),
            title: "Chips <b> & “quotes”",
            summary: None,
            updated: Date::new(2024, 5, day).expect("a valid date"),
            content: content.to_owned(),
        }
    }

    #[test]
    fn escapes_text_and_content() {
        let xml = feed(vec![entry(12, 9, "<p>Tom & Jerry</p>\u{1}")]);
        assert!(xml.contains("<title>Picks &amp; more</title>"), "{xml}");
        assert!(
            xml.contains("<title>Chips &lt;b&gt; &amp; “quotes”</title>"),
            "{xml}"
        );
        assert!(
            xml.contains("<content type=\"html\">&lt;p&gt;Tom &amp; Jerry&lt;/p&gt;</content>"),
            "{xml}"
        );
    }

    #[test]
    fn feed_is_updated_with_its_newest_entry() {
        let xml = feed(vec![entry(13, 30, ""), entry(12, 9, "")]);
        let head = xml.split("<entry>").next().expect("a head");
        assert!(
            head.contains("<updated>2024-05-30T00:00:00Z</updated>"),
            "{head}"
        );
        assert!(xml.contains("<id>https://x.test/news/</id>"));
        assert!(xml.contains("<id>https://x.test/news/012.html</id>"));
        assert!(xml.contains("href=\"https://x.test/news/feed.xml\""));
    }

    #[test]
    fn main_element_is_found_with_attributes() {
        let page = "<html><body><header>x</header><main id=\"v\">\n<h1>Hi</h1>\n</main></body>";
        assert_eq!(main_element(page), Some("<h1>Hi</h1>"));
        assert_eq!(main_element("<mainly>no</mainly>"), None);
        assert_eq!(main_element("<main>unclosed"), None);
    }
}
