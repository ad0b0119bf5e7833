//! The checks of a volume's picks: each pick's fields, its date against the period, links
//! shared by two picks, ids, and the Markdown links of every prose field (a `pick:ID` link
//! must name a pick), which run once every id is known.

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
            if dates_judged && (date < from || date > to) {
                self.check_date(n, date, (from, to), pick.date.span());
            }
            if let Some(first) = urls.insert(pick.url.get_ref(), n) {
                self.push(
                    Diagnostic::warning(format!("pick {n} links to the same URL as pick {first}")),
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
        self.check_topic_slips(volume);
    }

    /// Warns about a topic that only one pick uses and that is one slip away from a topic
    /// other picks use: readers who chose `chips` would miss a pick tagged `chip`.
    fn check_topic_slips(&mut self, volume: &Volume) {
        let mut uses: HashMap<&str, Vec<&Spanned<String>>> = HashMap::new();
        for topic in volume.picks.iter().flat_map(|p| &p.topics) {
            uses.entry(topic.get_ref().as_str())
                .or_default()
                .push(topic);
        }
        let mut known: Vec<&str> = uses.keys().copied().collect();
        known.sort_unstable();
        for (name, spans) in &uses {
            let others: Vec<&str> = known.iter().copied().filter(|k| k != name).collect();
            if let ([once], Some(meant)) = (spans.as_slice(), crate::diag::closest(name, &others)) {
                self.push(
                    Diagnostic::warning(format!(
                        "topic `{name}` is used by no other pick; did you mean `{meant}`?"
                    ))
                    .note(format!(
                        "readers who chose `{meant}` will not get this pick"
                    )),
                    once.span(),
                );
            }
        }
    }

    fn check_date(&mut self, n: usize, date: Date, (from, to): (Date, Date), span: Range<usize>) {
        let (when, note) = if date < from {
            (
                "before",
                "fine for a deliberately older item; otherwise check the year",
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
                        self.push(d.note(note), span);
                    }
                } else if let Err(problem) = check_url(&link.dest, true) {
                    self.bad_link(format!("link {problem}"), &link.dest, span);
                }
            }
        }
    }
}
