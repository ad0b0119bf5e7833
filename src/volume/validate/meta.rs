//! The checks of a volume's top-level fields and its hero image: the number against the
//! file name and the folder's other volumes, the period, the preheader's length, the
//! language tag, the hero's alt text.

use toml::Spanned;

use super::{Field, PREHEADER_MAX, Validator};
use crate::diag::Diagnostic;
use crate::volume::{Hero, Meta, Volume};

impl Validator<'_> {
    pub(super) fn check_number(&mut self, volume: &Volume) {
        let number = *volume.meta.number.get_ref();
        if number == 0 {
            self.error(
                "the volume number must be 1 or more",
                volume.meta.number.span(),
            );
            return;
        }
        let path = std::path::Path::new(&self.src.path);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u32>().ok());
        if let Some(stem) = stem.filter(|&s| s != number) {
            self.push(
                Diagnostic::error(format!(
                    "volume number {number} does not match the file name (`{stem:03}`)"
                ))
                .note(format!(
                    "`build` would write into out/{number:03}/ and `dispatch` would send it as \
                     volume {number}: set `number = {stem}`, or rename the file to `{number:03}.toml`"
                )),
                volume.meta.number.span(),
            );
        }
        if let Some(d) = super::super::duplicate_number(number, path, self.checks.numbered) {
            self.push(d, volume.meta.number.span());
        }
    }

    /// Checks the period; false when it cannot judge dates (it ends before it starts, or
    /// an end is missing).
    pub(super) fn check_period(&mut self, meta: &Meta) -> bool {
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

    pub(super) fn check_preheader(&mut self, meta: &Meta) {
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

    pub(super) fn check_lang(&mut self, lang: &Spanned<String>) {
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

    pub(super) fn check_hero(&mut self, hero: &Hero) {
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
}
