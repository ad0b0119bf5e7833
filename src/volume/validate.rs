//! Checks on a parsed volume that TOML types cannot express: links, dates, placeholders,
//! control characters, references between picks, and, given the [`Checks`] context, the
//! topics the project declares, the previous volume's links and the layout's bounds.
//! Reports every problem it finds.
//!
//! A draft (`draft = true`) may hold placeholders and no picks yet: those are warnings
//! there, so that the preview renders it, and errors with [`Checks::strict`] or once the
//! mark is gone.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml::Spanned;

mod meta;
mod picks;
mod reuse;
mod topics;

use super::Volume;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::url::{check_url, example_host};

/// Words that mark unfinished copy.
const PLACEHOLDERS: [&str; 5] = ["TK", "TODO", "FIXME", "XXX", "TBD"];

/// The longest preheader most inbox previews show in full.
pub(crate) const PREHEADER_MAX: usize = 130;

/// What checking a volume needs besides the volume: the project's and the layout's
/// expectations, and the volume before it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks<'a> {
    /// A draft's placeholders and missing picks are errors too (`check --strict`).
    pub strict: bool,
    /// The topics `[topics]` in broadsheet.toml declares; empty or `None` allows any.
    pub topics: Option<&'a BTreeMap<String, String>>,
    /// The volume sent before this one, whose hero image and links must not come back
    /// unmarked.
    pub previous: Option<&'a Volume>,
    /// The longest summary the layout expects, in characters; `None` checks no length.
    pub summary_max: Option<usize>,
    /// The other volumes of the folder and their numbers, none of which may be this
    /// volume's ([`super::numbered`]).
    pub numbered: &'a [super::Numbered],
}

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
    /// Checks everything about the volume that parsing could not, on its own (no project,
    /// layout or previous volume), adding to `diags`.
    pub fn validate(&self, diags: &mut Diagnostics) {
        self.check(&Checks::default(), diags);
    }

    /// Checks everything about the volume that parsing could not, against `checks`, adding
    /// to `diags`. Returns false when some text holds a character that XML, and so the
    /// generated MJML, cannot carry (a control character, U+FFFE, U+FFFF): that MJML would
    /// not parse, and that error is this one, so the volume is not to be rendered.
    pub fn check(&self, checks: &Checks<'_>, diags: &mut Diagnostics) -> bool {
        let mut validator = Validator {
            src: &self.source,
            diags,
            pick_ids: HashMap::new(),
            checks: *checks,
            lenient: self.is_draft() && !checks.strict,
            draft: self.is_draft(),
            renderable: true,
        };
        validator.run(self);
        validator.renderable
    }
}

struct Validator<'a> {
    src: &'a SourceFile,
    diags: &'a mut Diagnostics,
    pick_ids: HashMap<&'a str, usize>,
    checks: Checks<'a>,
    /// A draft checked without `strict`: unfinished copy is a warning.
    lenient: bool,
    /// A draft, even checked with `strict` (as proofs are): what a fresh project still
    /// holds from its sample is a warning, so that it proofs as it is.
    draft: bool,
    /// No text holds a character the email cannot carry.
    renderable: bool,
}

impl<'a> Validator<'a> {
    fn run(&mut self, volume: &'a Volume) {
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
            self.check_expert_view(ev, volume.picks.len());
        }
        self.check_topics(volume);
        self.check_reuse(volume);
        // Markdown links are checked last, once every pick id is known.
        self.check_markdown_links(volume);
    }

    fn check_expert_view(&mut self, ev: &super::ExpertView, picks: usize) {
        self.text(&ev.heading, Field::Line, "expert_view.heading");
        self.text(&ev.author, Field::Line, "expert_view.author");
        self.text(&ev.role, Field::Line, "expert_view.role");
        self.text(&ev.intro, Field::Markdown, "expert_view.intro");
        self.text(&ev.body, Field::Markdown, "expert_view.body");
        // With no picks at all, that is the one error to report.
        if let Some(after) = &ev.after
            && picks > 0
            && *after.get_ref() > picks
        {
            self.error(
                format!(
                    "`after = {}` but the volume has only {picks} picks",
                    after.get_ref()
                ),
                after.span(),
            );
        }
    }

    fn error(&mut self, message: impl Into<String>, span: Range<usize>) {
        self.push(Diagnostic::error(message), span);
    }

    fn warning(&mut self, message: impl Into<String>, span: Range<usize>) {
        self.push(Diagnostic::warning(message), span);
    }

    /// A diagnostic for copy not written yet: an error, or a warning in a draft checked
    /// leniently.
    fn unfinished(&mut self, message: String) -> Diagnostic {
        if self.lenient {
            Diagnostic::warning(message)
        } else {
            Diagnostic::error(message)
        }
    }

    /// Reports the placeholder word in a field, if it holds one; true when it did.
    fn report_placeholder(&mut self, field: &Spanned<String>, name: &str) -> bool {
        let Some(word) = placeholder(field.get_ref()) else {
            return false;
        };
        let span = sub_span(self.src, field, word);
        let d = self.unfinished(format!("`{name}` still holds the placeholder `{word}`"));
        self.push(d, span);
        true
    }

    /// Reports `diagnostic` at `span`, unless the span is empty: parsing put a stand-in
    /// there for a missing or rejected value, and has reported that already.
    fn push(&mut self, diagnostic: Diagnostic, span: Range<usize>) {
        if !span.is_empty() {
            self.diags.push(diagnostic.at_span(self.src, span));
        }
    }

    /// Checks a URL field: https only, once it is no longer a placeholder, and not a
    /// sample's link to a domain reserved for examples.
    fn url(&mut self, url: &Spanned<String>, what: &str) {
        if self.report_placeholder(url, what) || self.report_unsendable(url, Field::Line, what) {
            return;
        }
        if let Err(problem) = check_url(url.get_ref(), false) {
            self.bad_link(format!("`{what}` {problem}"), url.get_ref(), url.span());
        } else if let Some(host) = example_host(url.get_ref()) {
            let message = format!("`{what}` links to {host}, a name reserved for examples");
            let d = if self.draft {
                Diagnostic::warning(message)
            } else {
                Diagnostic::error(message)
            };
            let d = d.note("a sample's link is still here: link the real story or image");
            self.push(d, url.span());
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
        self.report_unsendable(field, kind, name);
        self.report_placeholder(field, name);
    }

    /// Reports the first character of a field that the email cannot carry (see
    /// [`unsendable`]), if there is one; true when there was.
    fn report_unsendable(&mut self, field: &Spanned<String>, kind: Field, name: &str) -> bool {
        let Some(c) = field.get_ref().chars().find(|&c| unsendable(c, kind)) else {
            return false;
        };
        // XML 1.0's `Char` production: the generated MJML would not parse.
        let xml_char = matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}';
        self.renderable &= xml_char;
        let d = if c.is_control() {
            let why = if kind == Field::Header {
                "; it would reach a mail header"
            } else {
                ""
            };
            Diagnostic::error(format!(
                "`{name}` contains the control character {c:?}{why}"
            ))
        } else {
            Diagnostic::error(format!(
                "`{name}` contains U+{:04X}, a noncharacter, which the email cannot carry",
                u32::from(c)
            ))
            .note("noncharacters are not for interchange (XML forbids U+FFFE and U+FFFF): delete it, or write the character meant")
        };
        self.push(d, field.span());
        true
    }
}

/// Whether the email cannot carry `c` in a field of `kind`: a control character (but the
/// line breaks and tabs of Markdown), or a Unicode noncharacter (U+FDD0 to U+FDEF, and the
/// last two code points of every plane). XML 1.0's `Char` production excludes most controls
/// and U+FFFE and U+FFFF; it discourages the other noncharacters, which are not for
/// interchange.
fn unsendable(c: char, kind: Field) -> bool {
    let code = u32::from(c);
    let noncharacter = (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE;
    noncharacter || c.is_control() && (kind != Field::Markdown || !matches!(c, '\n' | '\t' | '\r'))
}

/// The first placeholder word in `text`, if any.
pub(super) fn placeholder(text: &str) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noncharacters_and_controls_are_unsendable_but_markdowns_line_breaks() {
        for c in [
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{FDD0}',
            '\u{FDEF}',
            '\u{1FFFE}',
            '\u{10FFFF}',
            '\u{1}',
        ] {
            assert!(unsendable(c, Field::Markdown), "{c:?}");
        }
        for c in [
            '\u{FFFD}',
            '\u{FDCF}',
            '\u{FDF0}',
            '\u{1FFFD}',
            'é',
            '\n',
            '\t',
        ] {
            assert!(!unsendable(c, Field::Markdown), "{c:?}");
        }
        assert!(unsendable('\n', Field::Header));
    }

    #[test]
    fn placeholders_are_whole_words() {
        assert_eq!(placeholder("Headline TK"), Some("TK"));
        assert_eq!(placeholder("TKO and TODOs"), None);
        assert_eq!(placeholder("Lorem Ipsum dolor"), Some("Lorem Ipsum"));
    }
}
