//! Checks on a parsed volume that TOML types cannot express: links, dates, placeholders,
//! control characters, references between picks. Reports every problem it finds.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::{Volume, date::Date};
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::markdown::{self, PICK_SCHEME};

/// Words that mark unfinished copy.
const PLACEHOLDERS: [&str; 5] = ["TK", "TODO", "FIXME", "XXX", "TBD"];

/// The longest preheader most inbox previews show in full.
pub(crate) const PREHEADER_MAX: usize = 130;

/// What kind of text a field holds, which decides the checks it gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Reaches a mail header (the subject): no control characters at all.
    Header,
    /// A single line shown in the email.
    Line,
    /// Markdown: may hold line breaks and tabs, and links that must be safe.
    Markdown,
}

impl Volume {
    /// Checks everything about the volume that parsing could not, adding to `diags`.
    pub fn validate(&self, diags: &mut Diagnostics) {
        Validator {
            src: &self.source,
            diags,
            pick_ids: HashMap::new(),
        }
        .run(self);
    }
}

struct Validator<'a> {
    src: &'a SourceFile,
    diags: &'a mut Diagnostics,
    pick_ids: HashMap<&'a str, usize>,
}

impl<'a> Validator<'a> {
    fn run(mut self, volume: &'a Volume) {
        let meta = &volume.meta;
        self.check_number(volume);
        self.check_period(meta);
        self.text(&meta.title, Field::Header, "title");
        self.text(&meta.headline, Field::Header, "headline");
        if let Some(subject) = &meta.subject {
            self.text(subject, Field::Header, "subject");
        }
        self.check_preheader(meta);
        if let Some(intro) = &meta.intro {
            self.text(intro, Field::Markdown, "intro");
        }
        if let Some(lang) = &meta.lang {
            self.check_lang(lang);
        }
        if let Some(hero) = &volume.hero {
            self.check_hero(hero);
        }
        self.check_picks(volume);
        if let Some(ev) = &volume.expert_view {
            self.text(&ev.heading, Field::Line, "expert_view.heading");
            self.text(&ev.author, Field::Line, "expert_view.author");
            self.text(&ev.role, Field::Line, "expert_view.role");
            self.text(&ev.intro, Field::Markdown, "expert_view.intro");
            self.text(&ev.body, Field::Markdown, "expert_view.body");
            if let Some(after) = &ev.after
                && *after.get_ref() > volume.picks.len()
            {
                let n = volume.picks.len();
                self.error(
                    format!(
                        "`after = {}` but the volume has only {n} picks",
                        after.get_ref()
                    ),
                    after.span(),
                );
            }
        }
        // Markdown links are checked last, once every pick id is known.
        self.check_markdown_links(volume);
    }

    fn error(&mut self, message: impl Into<String>, span: Range<usize>) {
        self.diags
            .push(Diagnostic::error(message).at_span(self.src, span));
    }

    fn warning(&mut self, message: impl Into<String>, span: Range<usize>) {
        self.diags
            .push(Diagnostic::warning(message).at_span(self.src, span));
    }

    fn check_number(&mut self, volume: &Volume) {
        let number = *volume.meta.number.get_ref();
        if number == 0 {
            self.error(
                "the volume number must be 1 or more",
                volume.meta.number.span(),
            );
            return;
        }
        let stem = std::path::Path::new(&self.src.path)
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u32>().ok());
        if let Some(stem) = stem.filter(|&s| s != number) {
            self.diags.push(
                Diagnostic::warning(format!(
                    "volume number {number} does not match the file name (`{stem:03}`)"
                ))
                .at_span(self.src, volume.meta.number.span()),
            );
        }
    }

    fn check_period(&mut self, meta: &super::Meta) {
        let period = meta.period.get_ref();
        if period.from.get_ref() > period.to.get_ref() {
            self.error(
                format!(
                    "the period ends ({}) before it starts ({})",
                    period.to.get_ref(),
                    period.from.get_ref()
                ),
                period.to.span(),
            );
        }
    }

    fn check_preheader(&mut self, meta: &super::Meta) {
        match &meta.preheader {
            None => self.diags.push(
                Diagnostic::warning(
                    "no `preheader`: inboxes will preview the first text they find",
                )
                .at_span(self.src, meta.headline.span())
                .note("add `preheader = \"...\"`, one sentence shown after the subject"),
            ),
            Some(p) => {
                self.text(p, Field::Line, "preheader");
                let len = p.get_ref().chars().count();
                if len > PREHEADER_MAX {
                    self.warning(
                        format!(
                            "preheader is {len} characters; inboxes show about {PREHEADER_MAX}"
                        ),
                        p.span(),
                    );
                }
            }
        }
    }

    fn check_lang(&mut self, lang: &Spanned<String>) {
        let tag = lang.get_ref();
        let mut parts = tag.split('-');
        let primary_ok = parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !(primary_ok && rest_ok) {
            self.error(
                format!("`{tag}` is not a BCP 47 language tag such as `en` or `zh-Hans`"),
                lang.span(),
            );
        }
    }

    fn check_hero(&mut self, hero: &super::Hero) {
        self.url(&hero.src, "hero.src");
        match &hero.alt {
            Some(alt) if !alt.get_ref().trim().is_empty() => self.text(alt, Field::Line, "hero.alt"),
            Some(alt) if !hero.decorative => self.diags.push(
                Diagnostic::error("the hero image has empty alt text")
                    .at_span(self.src, alt.span())
                    .note("describe the image, or set `decorative = true` if it carries no information"),
            ),
            Some(_) => {}
            None if hero.decorative => {}
            None => self.diags.push(
                Diagnostic::error("the hero image has no alt text")
                    .at_span(self.src, hero.src.span())
                    .note("add `alt = \"...\"` describing the image to readers who cannot see it"),
            ),
        }
    }

    fn check_picks(&mut self, volume: &'a Volume) {
        let period = volume.meta.period.get_ref();
        let (from, to) = (*period.from.get_ref(), *period.to.get_ref());
        if volume.picks.is_empty() {
            self.diags.push(
                Diagnostic::error("the volume has no picks")
                    .note("add at least one `[[picks]]` table with summary, source, date and url"),
            );
        }
        let mut urls: HashMap<&str, usize> = HashMap::new();
        for (i, pick) in volume.picks.iter().enumerate() {
            let n = i + 1;
            self.text(&pick.summary, Field::Markdown, "summary");
            self.text(&pick.source, Field::Line, "source");
            self.url(&pick.url, "url");
            let date = *pick.date.get_ref();
            if date < from || date > to {
                self.check_date(n, date, (from, to), pick.date.span());
            }
            if let Some(first) = urls.insert(pick.url.get_ref(), n) {
                self.diags.push(
                    Diagnostic::warning(format!("pick {n} links to the same URL as pick {first}"))
                        .at_span(self.src, pick.url.span()),
                );
                urls.insert(pick.url.get_ref(), first);
            }
            for topic in &pick.topics {
                self.text(topic, Field::Line, "topics");
            }
            if let Some(id) = &pick.id {
                self.check_id(id, n);
            }
        }
    }

    fn check_date(&mut self, n: usize, date: Date, (from, to): (Date, Date), span: Range<usize>) {
        let when = if date < from { "before" } else { "after" };
        self.diags.push(
            Diagnostic::warning(format!(
                "pick {n} is dated {date}, {when} the volume's period ({from} to {to})"
            ))
            .at_span(self.src, span)
            .note("fine for a deliberately older item; otherwise check the year"),
        );
    }

    fn check_id(&mut self, id: &'a Spanned<String>, n: usize) {
        let slug = id.get_ref();
        let valid = !slug.is_empty()
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            self.error(
                format!("pick id `{slug}` must be lowercase letters, digits and hyphens"),
                id.span(),
            );
        } else if let Some(first) = self.pick_ids.insert(slug, n) {
            self.error(
                format!("pick id `{slug}` is already used by pick {first}"),
                id.span(),
            );
        }
    }

    /// Checks a URL field: https only.
    fn url(&mut self, url: &Spanned<String>, what: &str) {
        if let Err(problem) = check_url(url.get_ref(), false) {
            self.error(format!("`{what}` {problem}"), url.span());
        }
    }

    fn check_markdown_links(&mut self, volume: &Volume) {
        let mut fields: Vec<&Spanned<String>> = Vec::new();
        fields.extend(&volume.meta.intro);
        fields.extend(volume.picks.iter().map(|p| &p.summary));
        if let Some(ev) = &volume.expert_view {
            fields.extend([&ev.intro, &ev.body]);
        }
        for field in fields {
            for link in markdown::links(field.get_ref()) {
                let span = sub_span(self.src, field, &field.get_ref()[link.range.clone()]);
                if let Some(id) = link.dest.strip_prefix(PICK_SCHEME) {
                    if !self.pick_ids.contains_key(id) {
                        self.diags.push(
                            Diagnostic::error(format!("link to unknown pick `{id}`"))
                                .at_span(self.src, span)
                                .note("give the cited pick `id = \"...\"` with this value"),
                        );
                    }
                } else if let Err(problem) = check_url(&link.dest, true) {
                    self.error(format!("link {problem}"), span);
                }
            }
        }
    }

    fn text(&mut self, field: &Spanned<String>, kind: Field, name: &str) {
        let value = field.get_ref();
        if value.trim().is_empty() {
            self.error(format!("`{name}` is empty"), field.span());
            return;
        }
        let bad = value.chars().find(|&c| {
            c.is_control() && (kind != Field::Markdown || !matches!(c, '\n' | '\t' | '\r'))
        });
        if let Some(c) = bad {
            let why = if kind == Field::Header {
                "; it would reach a mail header"
            } else {
                ""
            };
            self.error(
                format!("`{name}` contains the control character {c:?}{why}"),
                field.span(),
            );
        }
        if let Some(word) = placeholder(value) {
            let span = sub_span(self.src, field, word);
            self.error(
                format!("`{name}` still holds the placeholder `{word}`"),
                span,
            );
        }
    }
}

/// Why `url` is not acceptable as a link, if it is not. `mailto:` is allowed when `mailto` is.
pub(crate) fn check_url(url: &str, mailto: bool) -> Result<(), String> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme = lower.split_once(':').map(|(s, _)| s);
    match scheme {
        Some("https") => {
            let host = lower["https:".len()..]
                .strip_prefix("//")
                .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
            match host {
                Some(h) if !h.is_empty() && !url.chars().any(char::is_whitespace) => Ok(()),
                _ => Err(format!("`{url}` is not a valid https URL")),
            }
        }
        Some("mailto") if mailto => Ok(()),
        Some(s @ ("javascript" | "data" | "vbscript" | "file")) => Err(format!(
            "uses a `{s}:` URL, which is never allowed in email"
        )),
        Some("http") => Err(format!("`{url}` must use https, not http")),
        _ if mailto => Err(format!("`{url}` must be an https or mailto URL")),
        _ => Err(format!("`{url}` must be an https URL")),
    }
}

/// The first placeholder word in `text`, if any.
fn placeholder(text: &str) -> Option<&str> {
    let words = text.split(|c: char| !c.is_alphanumeric());
    let found = words.clone().find(|w| PLACEHOLDERS.contains(w));
    found.or_else(|| {
        const LOREM: &[u8] = b"lorem ipsum";
        let at = text
            .as_bytes()
            .windows(LOREM.len())
            .position(|w| w.eq_ignore_ascii_case(LOREM))?;
        // The match is ASCII, so both ends are character boundaries.
        text.get(at..at + LOREM.len())
    })
}

/// The span of `needle` inside the source text of a string field, or the field's span when
/// escapes make the raw text differ from the value.
fn sub_span(src: &SourceFile, field: &Spanned<String>, needle: &str) -> Range<usize> {
    let span = field.span();
    src.text
        .get(span.clone())
        .and_then(|raw| raw.find(needle))
        .map_or(span.clone(), |at| {
            span.start + at..span.start + at + needle.len()
        })
}

/// Warns about pick topics that `[topics]` in `broadsheet.toml` does not declare: readers
/// choose from that table, so an undeclared topic is one nobody can ask for. Nothing is
/// checked when the table is empty (a project without a preference centre).
pub(crate) fn undeclared_topics(
    volume: &Volume,
    declared: &std::collections::BTreeMap<String, String>,
    diags: &mut Diagnostics,
) {
    if declared.is_empty() {
        return;
    }
    for topic in volume.picks.iter().flat_map(|p| &p.topics) {
        if !declared.contains_key(topic.get_ref()) {
            diags.push(
                Diagnostic::warning(format!(
                    "topic `{}` is not declared in broadsheet.toml's [topics]",
                    topic.get_ref()
                ))
                .at_span(&volume.source, topic.span())
                .note("readers choose topics from [topics]; add it there so they can ask for it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https() {
        assert!(check_url("https://scout.eto.tech/?p=1", false).is_ok());
        assert!(
            check_url("http://x.test/", false)
                .unwrap_err()
                .contains("https")
        );
        assert!(
            check_url("JavaScript:alert(1)", true)
                .unwrap_err()
                .contains("javascript:")
        );
        assert!(check_url("data:text/html,x", true).is_err());
        assert!(check_url("https:///nohost", false).is_err());
        assert!(check_url("mailto:a@b.test", true).is_ok());
        assert!(check_url("mailto:a@b.test", false).is_err());
    }

    #[test]
    fn placeholders_are_whole_words() {
        assert_eq!(placeholder("Headline TK"), Some("TK"));
        assert_eq!(placeholder("TKO and TODOs"), None);
        assert_eq!(placeholder("Lorem Ipsum dolor"), Some("Lorem Ipsum"));
    }
}
