//! Checks on a parsed volume that TOML types cannot express: links, dates, placeholders,
//! control characters, references between picks. Reports every problem it finds.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

mod picks;

use super::Volume;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::url::check_url;

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
        let dates_judged = self.check_period(meta);
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
        if let Some(layout) = meta
            .layout
            .as_ref()
            .filter(|l| !crate::layout::is_name(l.get_ref()))
        {
            self.push(
                Diagnostic::error("`layout` must name a folder under `layouts/`, such as `scout`")
                    .note("a layout is one folder of the project's `layouts/`, never a path"),
                layout.span(),
            );
        }
        if let Some(hero) = &volume.hero {
            self.check_hero(hero);
        }
        self.check_picks(volume, dates_judged);
        if let Some(ev) = &volume.expert_view {
            self.text(&ev.heading, Field::Line, "expert_view.heading");
            self.text(&ev.author, Field::Line, "expert_view.author");
            self.text(&ev.role, Field::Line, "expert_view.role");
            self.text(&ev.intro, Field::Markdown, "expert_view.intro");
            self.text(&ev.body, Field::Markdown, "expert_view.body");
            // With no picks at all, that is the one error to report.
            if let Some(after) = &ev.after
                && !volume.picks.is_empty()
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
        self.push(Diagnostic::error(message), span);
    }

    fn warning(&mut self, message: impl Into<String>, span: Range<usize>) {
        self.push(Diagnostic::warning(message), span);
    }

    /// Reports `diagnostic` at `span`, unless the span is empty: parsing put a stand-in
    /// there for a missing or rejected value, and has reported that already.
    fn push(&mut self, diagnostic: Diagnostic, span: Range<usize>) {
        if !span.is_empty() {
            self.diags.push(diagnostic.at_span(self.src, span));
        }
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
            self.push(
                Diagnostic::warning(format!(
                    "volume number {number} does not match the file name (`{stem:03}`)"
                )),
                volume.meta.number.span(),
            );
        }
    }

    /// Checks the period; false when it cannot judge dates (it ends before it starts, or
    /// an end is missing).
    fn check_period(&mut self, meta: &super::Meta) -> bool {
        let period = meta.period.get_ref();
        // A stand-in end (empty span) was reported as missing or wrong: judge nothing by it.
        let real = !period.from.span().is_empty() && !period.to.span().is_empty();
        let ordered = period.from.get_ref() <= period.to.get_ref();
        if !ordered {
            self.error(
                format!(
                    "the period ends ({}) before it starts ({})",
                    period.to.get_ref(),
                    period.from.get_ref()
                ),
                period.to.span(),
            );
        }
        ordered && real
    }

    fn check_preheader(&mut self, meta: &super::Meta) {
        match &meta.preheader {
            None => self.push(
                Diagnostic::warning(
                    "no `preheader`: inboxes will preview the first text they find",
                )
                .note("add `preheader = \"...\"`, one sentence shown after the subject"),
                meta.headline.span(),
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
            Some(alt) if !alt.get_ref().trim().is_empty() => {
                self.text(alt, Field::Line, "hero.alt")
            }
            Some(alt) if !hero.decorative => self.push(
                Diagnostic::error("the hero image has empty alt text").note(
                    "describe the image, or set `decorative = true` if it carries no information",
                ),
                alt.span(),
            ),
            Some(_) => {}
            None if hero.decorative => {}
            None => self.push(
                Diagnostic::error("the hero image has no alt text")
                    .note("add `alt = \"...\"` describing the image to readers who cannot see it"),
                hero.src.span(),
            ),
        }
    }

    /// Checks a URL field: https only.
    fn url(&mut self, url: &Spanned<String>, what: &str) {
        if let Err(problem) = check_url(url.get_ref(), false) {
            self.bad_link(format!("`{what}` {problem}"), url.get_ref(), url.span());
        }
    }

    /// Reports a rejected link, with the fix when there is an obvious one.
    fn bad_link(&mut self, message: String, url: &str, span: Range<usize>) {
        let d = Diagnostic::error(message);
        let d = match crate::url::hint(url) {
            Some(hint) => d.note(hint),
            None => d,
        };
        self.push(d, span);
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
    fn placeholders_are_whole_words() {
        assert_eq!(placeholder("Headline TK"), Some("TK"));
        assert_eq!(placeholder("TKO and TODOs"), None);
        assert_eq!(placeholder("Lorem Ipsum dolor"), Some("Lorem Ipsum"));
    }
}
