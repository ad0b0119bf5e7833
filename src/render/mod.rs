//! Rendering: a volume and a layout into the email's parts. Handlebars writes MJML and the
//! text part from the same data; mrml compiles the MJML into responsive HTML. The archive's
//! web pages are rendered from that data too (`render::web`).

mod bounds;
mod label;
mod validate;
pub(crate) mod web;

use std::collections::{BTreeSet, HashMap};

use handlebars::Context;
use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::layout::{Layout, LayoutData};
use crate::markdown::{self, PickUrls};
use crate::volume::{Pick, Volume};

/// Stands in for each recipient's unsubscribe link in rendered output. It is a reserved
/// `.invalid` URL, so it can never work by accident; sending replaces it per recipient.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "https://unsubscribe.invalid/BROADSHEET-PLACEHOLDER";

/// Stands in for the name a recipient is greeted by (`recipient.greeting`) when a volume is
/// rendered for sending; each message gets the greeting spliced in. One word, so escaping
/// and wrapping leave it whole.
pub const GREETING_PLACEHOLDER: &str = "BROADSHEET-GREETING-PLACEHOLDER";

/// Who a rendering is for: by default everyone, with every pick and no greeting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reader<'a> {
    /// Only the picks tagged with one of these topics (the expert view stays).
    pub topics: Option<&'a BTreeSet<&'a str>>,
    /// The name the recipient is greeted by, shown to templates as `recipient.greeting`.
    pub greeting: Option<&'a str>,
}

impl Reader<'_> {
    /// True when this reader gets `pick`.
    pub fn gets(&self, pick: &Pick) -> bool {
        self.topics.is_none_or(|topics| {
            pick.topics
                .iter()
                .any(|t| topics.contains(t.get_ref().as_str()))
        })
    }
}

/// The MJML a layout produced for a volume: the intermediate stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mjml(pub String);

/// The email's HTML part, as compiled by mrml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html(pub String);

/// The email's plain-text part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

/// The data every volume template sees: the volume's content and the layout, plus `links`,
/// which differ between the email and its web page.
#[derive(Debug, Serialize)]
struct TemplateData<'a, L> {
    volume: VolumeData<'a>,
    picks_before: Vec<PickData<'a>>,
    picks_after: Vec<PickData<'a>>,
    expert_view: Option<ExpertData<'a>>,
    layout: &'a LayoutData,
    #[serde(flatten)]
    links: L,
}

/// The email's own links.
#[derive(Debug, Serialize)]
struct EmailLinks<'a> {
    /// Each recipient's unsubscribe link; a placeholder until sending.
    unsubscribe_url: &'a str,
    /// The volume's page in the web archive; null when the project has no `[archive]`.
    web_url: Option<&'a str>,
    /// Who the message is for.
    recipient: RecipientData<'a>,
}

#[derive(Debug, Serialize)]
struct RecipientData<'a> {
    /// The name to greet the reader by; null when they gave none, so that no layout falls
    /// back to a display name such as "Zhang, Quinn" or "The Editor".
    greeting: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct VolumeData<'a> {
    number: u32,
    title: &'a str,
    headline: &'a str,
    subject: &'a str,
    preheader: Option<&'a str>,
    lang: &'a str,
    /// `rtl` for a language written right to left, else `auto` (the reader's client
    /// decides from the text).
    dir: &'static str,
    /// Whether the language is written right to left, for a layout's own CSS.
    rtl: bool,
    /// The order of a section's columns and the direction of their text: `rtl` or `ltr`
    /// (MJML's `direction` of `mj-section` and `mj-column`).
    direction: &'static str,
    /// The side lines start on: `right` or `left`.
    start: &'static str,
    period: PeriodData,
    intro: Option<Prose>,
    hero: Option<HeroData<'a>>,
}

#[derive(Debug, Serialize)]
struct PeriodData {
    from: String,
    to: String,
}

#[derive(Debug, Serialize)]
struct HeroData<'a> {
    src: &'a str,
    alt: &'a str,
}

/// Markdown rendered both ways.
#[derive(Debug, Serialize)]
struct Prose {
    html: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct PickData<'a> {
    number: usize,
    summary: Prose,
    /// The summary's first words, to name the article where the outlet alone would not
    /// (a link's `aria-label`).
    lead: String,
    source: &'a str,
    date: String,
    url: &'a str,
    topics: Vec<&'a str>,
    id: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct ExpertData<'a> {
    heading: &'a str,
    author: &'a str,
    role: &'a str,
    intro: Prose,
    body: Prose,
}

impl<'a, L> TemplateData<'a, L> {
    /// The data for `reader` (everyone by default): only the picks the reader gets, numbered
    /// in the order shown, the expert view where it stands among them.
    fn new(volume: &'a Volume, layout: &'a LayoutData, reader: &Reader<'_>, links: L) -> Self {
        let ids = pick_ids(volume);
        let urls = |id: &str| ids.get(id).copied();
        let pick = |(i, p): (usize, &'a Pick)| PickData {
            number: i + 1,
            summary: prose(p.summary.get_ref(), true, &urls),
            lead: label::lead(&markdown::plain_text(&markdown::inline_source(
                p.summary.get_ref(),
            ))),
            source: p.source.get_ref(),
            date: p.date.get_ref().to_string(),
            url: p.url.get_ref(),
            topics: p.topics.iter().map(|t| t.get_ref().as_str()).collect(),
            id: p.id.as_ref().map(|id| id.get_ref().as_str()),
        };
        let split = volume.expert_view_after();
        let shown = |picks: &'a [Pick]| picks.iter().filter(|p| reader.gets(p));
        let picks_before: Vec<PickData<'a>> = shown(&volume.picks[..split])
            .enumerate()
            .map(pick)
            .collect();
        let picks_after = shown(&volume.picks[split..])
            .enumerate()
            .map(|(i, p)| pick((i + picks_before.len(), p)))
            .collect();
        Self {
            volume: VolumeData::new(volume, &urls),
            picks_before,
            picks_after,
            expert_view: volume.expert_view.as_ref().map(|e| ExpertData {
                heading: e.heading.get_ref(),
                author: e.author.get_ref(),
                role: e.role.get_ref(),
                intro: prose(e.intro.get_ref(), true, &urls),
                body: prose(e.body.get_ref(), false, &urls),
            }),
            layout,
            links,
        }
    }
}

impl<'a> VolumeData<'a> {
    fn new(volume: &'a Volume, urls: PickUrls<'_>) -> Self {
        let meta = &volume.meta;
        let period = meta.period.get_ref();
        let rtl = right_to_left(volume.lang());
        Self {
            number: *meta.number.get_ref(),
            title: meta.title.get_ref(),
            headline: meta.headline.get_ref(),
            subject: volume.subject(),
            preheader: meta.preheader.as_ref().map(|p| p.get_ref().as_str()),
            lang: volume.lang(),
            dir: if rtl { "rtl" } else { "auto" },
            rtl,
            direction: if rtl { "rtl" } else { "ltr" },
            start: if rtl { "right" } else { "left" },
            period: PeriodData {
                from: period.from.get_ref().to_string(),
                to: period.to.get_ref().to_string(),
            },
            intro: meta.intro.as_ref().map(|i| prose(i.get_ref(), true, urls)),
            hero: volume.hero.as_ref().map(|h| HeroData {
                src: h.src.get_ref(),
                alt: h.alt.as_ref().map_or("", |a| a.get_ref()),
            }),
        }
    }
}

/// Whether the language tag `lang` (BCP 47) names a language written right to left: by its
/// script subtag when it has one (`pa-Arab`, `az-Arab`), else by the language's usual
/// script (Arabic, Hebrew, Persian, Urdu, Pashto, Sindhi, Uyghur, Sorani, Dhivehi,
/// Yiddish, Syriac).
fn right_to_left(lang: &str) -> bool {
    const SCRIPTS: [&str; 9] = [
        "arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg", "mand", "samr",
    ];
    const LANGUAGES: [&str; 13] = [
        "ar", "he", "iw", "fa", "ur", "ps", "sd", "ug", "ckb", "dv", "yi", "syr", "arc",
    ];
    let mut subtags = lang.split(['-', '_']).map(str::to_ascii_lowercase);
    let language = subtags.next().unwrap_or_default();
    match subtags.find(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_alphabetic())) {
        Some(script) => SCRIPTS.contains(&script.as_str()),
        None => LANGUAGES.contains(&language.as_str()),
    }
}

/// The URL of each pick that has an id, for `pick:ID` links.
fn pick_ids(volume: &Volume) -> HashMap<&str, &str> {
    volume
        .picks
        .iter()
        .filter_map(|p| Some((p.id.as_ref()?.get_ref().as_str(), p.url.get_ref().as_str())))
        .collect()
}

fn prose(md: &str, inline: bool, urls: PickUrls<'_>) -> Prose {
    let md = if inline {
        markdown::inline_source(md)
    } else {
        md.into()
    };
    let md = md.as_ref();
    Prose {
        html: markdown::to_html(md, inline, urls),
        text: markdown::to_text(md, urls),
    }
}

/// Runs the layout's templates for everyone: MJML and text, each an error at its template
/// line on failure. `web_url` is the volume's page in the web archive, for the "view in
/// browser" link.
pub fn templates(
    volume: &Volume,
    layout: &Layout,
    web_url: Option<&str>,
) -> (Result<Mjml, Diagnostic>, Result<Text, Diagnostic>) {
    templates_for(volume, layout, &Reader::default(), web_url)
}

/// Runs the layout's templates for one kind of reader (a topic selection, a greeting).
pub fn templates_for(
    volume: &Volume,
    layout: &Layout,
    reader: &Reader<'_>,
    web_url: Option<&str>,
) -> (Result<Mjml, Diagnostic>, Result<Text, Diagnostic>) {
    let links = EmailLinks {
        unsubscribe_url: UNSUBSCRIBE_PLACEHOLDER,
        web_url,
        recipient: RecipientData {
            greeting: reader.greeting,
        },
    };
    let data = TemplateData::new(volume, &layout.data, reader, links);
    // One serialization of the data for both templates (Handlebars would make one each).
    let (mjml, text) = match Context::wraps(&data) {
        Ok(context) => (
            bounded_with(layout, &layout.mjml_name, &context, false),
            bounded_with(layout, &layout.text_name, &context, true),
        ),
        Err(e) => (
            Err(Box::new(layout.render_diagnostic(&e, false))),
            Err(Box::new(layout.render_diagnostic(&e, true))),
        ),
    };
    (
        mjml.map(Mjml).map_err(|d| *d),
        text.map(|t| Text(tidy_text(&t))).map_err(|d| *d),
    )
}

/// Renders the template registered as `name` (in the text registry when `is_text`) with
/// `data`, stopping a runaway template at the size bound of its kind.
pub(crate) fn bounded(
    layout: &Layout,
    name: &str,
    data: &impl Serialize,
    is_text: bool,
) -> Result<String, Box<Diagnostic>> {
    let context =
        Context::wraps(data).map_err(|e| Box::new(layout.render_diagnostic(&e, is_text)))?;
    bounded_with(layout, name, &context, is_text)
}

/// [`bounded`], with the data already serialized.
fn bounded_with(
    layout: &Layout,
    name: &str,
    context: &Context,
    is_text: bool,
) -> Result<String, Box<Diagnostic>> {
    let (registry, limit) = if is_text {
        (&layout.text, bounds::MAX_TEXT_BYTES)
    } else {
        (&layout.html, bounds::MAX_MARKUP_BYTES)
    };
    bounds::render(registry, name, context, limit).map_err(|failure| {
        Box::new(match failure {
            bounds::Failure::Template(e) => layout.render_diagnostic(&e, is_text),
            bounds::Failure::TooLong(limit) => {
                layout.at_template(name, is_text, bounds::too_long(name, limit))
            }
        })
    })
}

/// Trims trailing spaces and runs of blank lines left by template tags, and ends the text
/// with one newline.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines().map(str::trim_end) {
        blank_run = if line.is_empty() { blank_run + 1 } else { 0 };
        if blank_run <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Where generated MJML is reported in diagnostics: the file `build` writes it to and the
/// template that produced it.
#[derive(Debug, Clone)]
pub struct MjmlOrigin {
    /// How diagnostics name the generated MJML ([`crate::pipeline::GENERATED_MJML`]).
    pub path: String,
    /// Display path of the template that wrote it.
    pub template: String,
}

/// Compiles MJML to HTML with mrml: no remote fonts, no comments. Warnings and errors point
/// into the generated MJML.
pub fn html(mjml: &Mjml, origin: &MjmlOrigin, diags: &mut Diagnostics) -> Option<Html> {
    let at = |span: mrml::prelude::parser::Span| {
        Location::from_span(&origin.path, &mjml.0, span.start..span.end)
    };
    if let Some(deep) = bounds::too_deep(&mjml.0) {
        diags.push(bounds::too_deep_diagnostic(
            at(mrml::prelude::parser::Span {
                start: deep,
                end: deep + 1,
            }),
            &origin.template,
        ));
        return None;
    }
    let note = format!("the MJML was generated by {}", origin.template);
    let parsed = match mrml::parse(&mjml.0) {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = match &error {
                mrml::prelude::parser::Error::ParserError { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            let mut d = Diagnostic::error(format!("MJML: {message}")).note(note);
            if let Some(span) = mrml_error_span(&error, &mjml.0) {
                d = d.at(at(span));
            }
            diags.push(d);
            return None;
        }
    };
    // What mjml's validator rejects, where mrml accepts it: an attribute mrml also warns
    // about is said once, in mjml's terms.
    let findings = validate::validate(&mjml.0);
    for warning in &parsed.warnings {
        if findings.iter().any(|f| f.span.start == warning.span.start) {
            continue;
        }
        diags.push(
            Diagnostic::warning(format!("MJML: {}", warning.kind))
                .at(at(warning.span))
                .note(note.clone()),
        );
    }
    let more = findings.len().saturating_sub(validate::SHOWN);
    for finding in findings.into_iter().take(validate::SHOWN) {
        let mut d = Diagnostic::warning(format!("MJML: {}", finding.message)).at(at(
            mrml::prelude::parser::Span {
                start: finding.span.start,
                end: finding.span.end,
            },
        ));
        if let Some(hint) = finding.hint {
            d = d.note(hint);
        }
        diags.push(d.note(validate::source_note()).note(note.clone()));
    }
    if more > 0 {
        diags.push(
            Diagnostic::warning(format!(
                "MJML: {more} more places that mjml's validator rejects, not shown"
            ))
            .note(note.clone()),
        );
    }
    let options = mrml::prelude::render::RenderOptions {
        disable_comments: true,
        social_icon_origin: None,
        fonts: HashMap::new(),
    };
    match parsed.element.render(&options) {
        Ok(html) => Some(Html(html)),
        Err(error) => {
            diags.push(Diagnostic::error(format!("MJML: {error}")).note(note));
            None
        }
    }
}

fn mrml_error_span(
    error: &mrml::prelude::parser::Error,
    text: &str,
) -> Option<mrml::prelude::parser::Span> {
    use mrml::prelude::parser::{Error, Span};
    match error {
        Error::UnexpectedElement { position, .. }
        | Error::UnexpectedToken { position, .. }
        | Error::MissingAttribute { position, .. }
        | Error::InvalidAttribute { position, .. }
        | Error::InvalidFormat { position, .. }
        | Error::IncludeLoaderError { position, .. } => Some(*position),
        Error::ParserError { source, .. } => {
            let pos = source.pos();
            let line_start: usize = text
                .split_inclusive('\n')
                .take(usize::try_from(pos.row).ok()?.saturating_sub(1))
                .map(str::len)
                .sum();
            let column = usize::try_from(pos.col).ok()?.saturating_sub(1);
            let start = line_start
                + text[line_start..]
                    .char_indices()
                    .nth(column)
                    .map_or(0, |(i, _)| i);
            Some(Span {
                start,
                end: start + 1,
            })
        }
        Error::EndOfStream { .. } => Some(Span {
            start: text.len(),
            end: text.len(),
        }),
        _ => None,
    }
}
