//! The checks of a volume's picks: each pick's fields, its date against the period (unless
//! marked `older`), its summary's length, a link pasted twice, ids, and the Markdown links
//! of every prose field (a `pick:ID` link must name a pick, a link's text must hold words),
//! which run once every id is known.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::{Field, Validator, sub_span};
use crate::date::Date;
use crate::diag::{Diagnostic, unknown_name_notes};
use crate::markdown::{self, PICK_SCHEME};
use crate::url::check_url;
use crate::volume::Volume;

impl<'a> Validator<'a> {
    /// Checks every pick; their dates against the period only when `dates_judged` (a
    /// period that ends before it starts would put every date outside it).
    pub(super) fn check_picks(&mut self, volume: &'a Volume, dates_judged: bool) {
        let period = volume.meta.period.get_ref();
        let (from, to) = (*period.from.get_ref(), *period.to.get_ref());
        if volume.picks.is_empty() {
            let d = self.unfinished("the volume has no picks yet".to_owned());
            let note = if self.lenient {
                "the preview shows where they go; add a `[[picks]]` table with summary, source, \
                 date and url for each"
            } else {
                "add at least one `[[picks]]` table with summary, source, date and url"
            };
            self.diags.push(d.note(note));
        }
        let mut urls: HashMap<&str, usize> = HashMap::new();
        for (i, pick) in volume.picks.iter().enumerate() {
            let n = i + 1;
            self.text(&pick.summary, Field::Markdown, "summary");
            self.check_summary_length(n, &pick.summary);
            self.text(&pick.source, Field::Line, "source");
            self.url(&pick.url, "url");
            let date = *pick.date.get_ref();
            let older = pick.older.as_ref().filter(|o| o.get_ref().is_set());
            if dates_judged && (date > to || date < from && older.is_none()) {
                self.check_date(n, date, (from, to), pick.date.span());
            }
            if let Some(older) = older.filter(|_| dates_judged && date >= from && date <= to) {
                self.warning(
                    format!("pick {n} is marked `older` but is dated within the volume's period"),
                    older.span(),
                );
            }
            if let Some(first) = urls.insert(pick.url.get_ref(), n) {
                self.push(
                    Diagnostic::error(format!("pick {n} links to the same URL as pick {first}"))
                        .note("a pick pasted twice? remove one, or link each to its own article"),
                    pick.url.span(),
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

    /// Warns about a summary longer than the layout expects, giving its length as readers
    /// see it (link targets and Markdown marks do not count).
    fn check_summary_length(&mut self, n: usize, summary: &Spanned<String>) {
        let Some(max) = self.checks.summary_max else {
            return;
        };
        let length = markdown::visible_len(&markdown::inline_source(summary.get_ref()));
        if length > max {
            self.push(
                Diagnostic::warning(format!(
                    "the summary of pick {n} is {length} characters; the layout expects at most {max}"
                ))
                .note("one paragraph a reader takes in at a glance: cut it, or split the item")
                .note("the bound is `summary_max` under [copy] in the layout's layout.toml"),
                summary.span(),
            );
        }
    }

    fn check_date(&mut self, n: usize, date: Date, (from, to): (Date, Date), span: Range<usize>) {
        let (when, note) = if date < from {
            (
                "before",
                "if the item is deliberately older, mark the pick `older = true` (or give the \
                 reason: `older = \"...\"`); otherwise check the year",
            )
        } else {
            (
                "after",
                "a volume cannot pick what was published after its period: check the date, or the period",
            )
        };
        self.push(
            Diagnostic::warning(format!(
                "pick {n} is dated {date}, {when} the volume's period ({from} to {to})"
            ))
            .note(note),
            span,
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

    pub(super) fn check_markdown_links(&mut self, volume: &Volume) {
        let mut fields: Vec<&Spanned<String>> = Vec::new();
        fields.extend(&volume.meta.intro);
        fields.extend(volume.picks.iter().map(|p| &p.summary));
        if let Some(ev) = &volume.expert_view {
            fields.extend([&ev.intro, &ev.body]);
        }
        for field in fields {
            for link in markdown::links(field.get_ref()) {
                // The link as written, else its target alone (escapes or a line break in
                // its text can make the source differ from the value), else the field.
                let whole = sub_span(self.src, field, &field.get_ref()[link.range.clone()]);
                let span = if whole == field.span() {
                    sub_span(self.src, field, &link.dest)
                } else {
                    whole
                };
                if let Some(id) = link.dest.strip_prefix(PICK_SCHEME) {
                    if !self.pick_ids.contains_key(id) {
                        let mut known: Vec<&str> = self.pick_ids.keys().copied().collect();
                        known.sort_unstable();
                        let mut d = Diagnostic::error(format!("link to unknown pick `{id}`"));
                        for note in unknown_name_notes(id, &known) {
                            d = d.note(note);
                        }
                        let note = "or give the cited pick `id = \"...\"` with this value";
                        self.push(d.note(note), span.clone());
                    }
                } else if let Err(problem) = check_url(&link.dest, true) {
                    self.bad_link(format!("link {problem}"), &link.dest, span.clone());
                }
                if link.is_wordless() {
                    self.wordless_link(&link, span);
                } else if link.text.is_none() {
                    self.image_in_text(&link.dest, span);
                } else if let Some((named, leads)) = link
                    .text
                    .as_deref()
                    .and_then(|text| crate::url::text_names_other_host(text, &link.dest))
                {
                    self.push(
                        Diagnostic::warning(format!(
                            "the link text is an address at {named}, but the link leads to {leads}"
                        ))
                        .note("mail clients and spam filters take such a link for phishing (Gmail warns, rspamd scores it)")
                        .note("write the text in words, or link the address it shows"),
                        span,
                    );
                }
            }
        }
    }

    /// Warns about an image in Markdown: it is fetched from its site each time a reader
    /// opens the email, so that site learns who opened it and when; readers with images
    /// off see its alt text, if any.
    fn image_in_text(&mut self, src: &str, span: Range<usize>) {
        let site = src.split_once("://").map_or(src, |(_, rest)| {
            rest.split(['/', '?', '#']).next().unwrap_or(rest)
        });
        self.push(
            Diagnostic::warning(format!(
                "an image in the text: {site} learns who opens the email, and when"
            ))
            .note("link to the picture instead (`[the chart](...)`), or use the volume's `hero` image"),
            span,
        );
    }

    /// Warns about a link whose text is only a symbol or emoji.
    fn wordless_link(&mut self, link: &markdown::Link, span: Range<usize>) {
        let text = link.text.as_deref().unwrap_or_default();
        self.push(
            Diagnostic::warning(format!("the link text `{text}` has no words"))
                .note("screen readers announce the symbol's name, which says nothing of where it leads")
                .note(format!(
                    "add words to the link, or a title naming its target: `[{text}]({} \"...\")`",
                    link.dest
                )),
            span,
        );
    }
}
