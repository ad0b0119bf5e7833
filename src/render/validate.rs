//! The reference MJML compiler's validation (mjml-validator's rules `validChildren`,
//! `validAttributes`, `validTypes` and `validTag`) on generated MJML: mrml builds MJML that
//! mjml rejects (an `mj-text` straight in an `mj-section`, an attribute an element does not
//! have, `font-size="big"`) and renders it broken, so each is a finding at its place. The
//! rules are data read from mjml's sources (`validate/rules.rs`). One scan of the text.

mod rules;
mod scan;
mod types;

use std::ops::Range;

use crate::diag::closest;
use scan::{Attribute, Event, Scanner};

/// An element mjml knows: whether its content is raw (an ending tag) and its attributes
/// with their mjml types.
#[derive(Debug)]
struct Component {
    name: &'static str,
    ending: bool,
    attributes: &'static [(&'static str, &'static str)],
}

/// Which elements an element takes as children.
#[derive(Debug)]
enum Children {
    /// Any element (`mj-attributes`: defaults for every element).
    Any,
    /// Only these.
    Only(&'static [&'static str]),
}

/// An element and the children it takes.
#[derive(Debug)]
struct Parent {
    name: &'static str,
    children: Children,
}

/// Attributes mjml takes on every element (mjml-validator's `WHITELIST`).
const EVERYWHERE: [&str; 2] = ["mj-class", "css-class"];

/// Elements mjml knows without a component of their own, which it never rejects
/// (mjml-validator's `componentLessTags`).
const COMPONENTLESS: [&str; 4] = ["mj-all", "mj-class", "mj-selector", "mj-html-attribute"];

/// How many findings a build shows: a mistake in a partial that every pick renders is
/// found once for each, and placing each is a walk through the generated MJML.
pub(crate) const SHOWN: usize = 50;

/// One thing mjml's validator rejects: where, what, and what would help.
#[derive(Debug)]
pub(crate) struct Finding {
    /// The byte span in the MJML.
    pub span: Range<usize>,
    /// What is wrong, in one line.
    pub message: String,
    /// A hint, when there is one.
    pub hint: Option<String>,
}

/// What mjml's validator says of `mjml`, in document order. Nothing inside an element mjml
/// does not know is judged: that element's own finding (or mrml's error) says it all.
pub(crate) fn validate(mjml: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    let mut scanner = Scanner::new(mjml);
    while let Some(event) = scanner.next() {
        let judged = !open.iter().any(|name| is_unknown(name));
        match event {
            Event::Start {
                name,
                span,
                attributes,
                empty,
            } => {
                let component = component(name);
                if judged {
                    if let Some(&parent) = open.last() {
                        child(parent, name, span.clone(), &mut findings);
                    }
                    if name != "mjml" {
                        let in_head = open.contains(&"mj-head");
                        element(name, component, in_head, span, &attributes, &mut findings);
                    }
                }
                if !empty {
                    if component.is_some_and(|c| c.ending) {
                        scanner.skip_ending(component_ending);
                    } else {
                        open.push(name);
                    }
                }
            }
            Event::End { name } => {
                if let Some(at) = open.iter().rposition(|open| *open == name) {
                    open.truncate(at);
                }
            }
            Event::Comment { span } => {
                if let Some(&parent) = open.last().filter(|_| judged) {
                    child(parent, "mj-raw", span, &mut findings);
                }
            }
        }
    }
    findings
}

/// The note every finding carries: who says so.
pub(crate) fn source_note() -> String {
    format!(
        "mjml {}'s validator rejects this; mrml builds it anyway, and mail clients may show \
         it broken",
        rules::MJML_VERSION
    )
}

fn component(name: &str) -> Option<&'static Component> {
    rules::COMPONENTS
        .binary_search_by(|c| c.name.cmp(name))
        .ok()
        .map(|i| &rules::COMPONENTS[i])
}

fn component_ending(name: &str) -> bool {
    component(name).is_some_and(|c| c.ending)
}

/// An element mjml neither knows nor lets pass (the root `mjml` it skips).
fn is_unknown(name: &str) -> bool {
    name != "mjml" && component(name).is_none() && !COMPONENTLESS.contains(&name)
}

/// Whether `parent` takes `child` (mjml-validator's `validChildren`: only elements mjml
/// knows are judged, and nothing is judged inside `mjml` itself or an unknown parent).
fn child(parent: &str, child: &str, span: Range<usize>, findings: &mut Vec<Finding>) {
    if parent == "mjml" || component(parent).is_none() || component(child).is_none() {
        return;
    }
    if takes(parent, child) {
        return;
    }
    let places: Vec<String> = rules::PARENTS
        .iter()
        .filter(|p| matches!(p.children, Children::Only(names) if names.contains(&child)))
        .map(|p| format!("`<{}>`", p.name))
        .collect();
    findings.push(Finding {
        span,
        message: format!("`<{child}>` cannot be used inside `<{parent}>`"),
        hint: one_of(&places).map(|places| format!("it goes only inside {places}")),
    });
}

/// `a`, `a or b`, `a, b or c`; `None` for none.
fn one_of(items: &[String]) -> Option<String> {
    let (last, rest) = items.split_last()?;
    Some(if rest.is_empty() {
        last.clone()
    } else {
        format!("{} or {last}", rest.join(", "))
    })
}

fn takes(parent: &str, child: &str) -> bool {
    rules::PARENTS
        .iter()
        .find(|p| p.name == parent)
        .is_some_and(|p| match p.children {
            Children::Any => true,
            Children::Only(names) => names.contains(&child),
        })
}

/// The element itself: known (`validTag`), its attributes known (`validAttributes`) and
/// their values of the right type (`validTypes`). An unknown `mj-` element in the body is
/// left to the error that mrml's copy of it into the HTML gives; in the head, mrml drops it
/// without a word, so it is said here.
fn element(
    name: &str,
    component: Option<&Component>,
    in_head: bool,
    span: Range<usize>,
    attributes: &[Attribute<'_>],
    findings: &mut Vec<Finding>,
) {
    let Some(component) = component else {
        if is_unknown(name) && (in_head || !name.starts_with("mj-")) {
            findings.push(Finding {
                span,
                message: format!("`<{name}>` is not an MJML element"),
                hint: Some(
                    "HTML goes inside `<mj-text>`, `<mj-raw>` or another ending tag".to_owned(),
                ),
            });
        }
        return;
    };
    let known: Vec<&str> = component.attributes.iter().map(|(n, _)| *n).collect();
    for attribute in attributes {
        if EVERYWHERE.contains(&attribute.name) {
            continue;
        }
        match component
            .attributes
            .iter()
            .find(|(n, _)| *n == attribute.name)
        {
            None => findings.push(Finding {
                span: attribute.name_span.clone(),
                message: format!("`<{name}>` has no attribute `{}`", attribute.name),
                hint: closest(attribute.name, &known).map(|k| format!("did you mean `{k}`?")),
            }),
            Some((_, kind)) => {
                if let Some(takes) = types::check(kind, attribute.value) {
                    findings.push(Finding {
                        span: attribute.value_span.clone(),
                        message: format!(
                            "`{}=\"{}\"` is not valid on `<{name}>`",
                            attribute.name, attribute.value
                        ),
                        hint: Some(format!("`{}` takes {takes}", attribute.name)),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    fn messages(mjml: &str) -> Vec<String> {
        validate(mjml).into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn valid_mjml_has_no_findings() {
        let mjml = r#"<mjml lang="en"><mj-head><mj-title>T</mj-title>
            <mj-attributes><mj-all font-family="Arial" /><mj-text font-size="14px" />
            <mj-class name="x" color="red" /></mj-attributes></mj-head>
            <mj-body width="600px"><!-- a comment --><mj-section padding="0 32px">
            <mj-column><mj-text align="center">Hi <b>there</b><br><img src="x.png"></mj-text>
            <mj-image src="a.png" alt="" width="96px" /></mj-column></mj-section></mj-body></mjml>"#;
        assert_eq!(messages(mjml), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_mistake_is_found_where_it_is() {
        let mjml = r#"<mjml><mj-body><mj-section><mj-text colr="red" font-size="big">x</mj-text>
            <mj-column><p>no <b>bold</b></p><mj-txt><h1>x</h1></mj-txt></mj-column></mj-section></mj-body></mjml>"#;
        let findings = validate(mjml);
        let at = |f: &super::Finding| &mjml[f.span.clone()];
        assert_eq!(
            findings
                .iter()
                .map(|f| (at(f), f.message.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "<mj-text",
                    "`<mj-text>` cannot be used inside `<mj-section>`"
                ),
                ("colr", "`<mj-text>` has no attribute `colr`"),
                ("big", "`font-size=\"big\"` is not valid on `<mj-text>`"),
                ("<p", "`<p>` is not an MJML element"),
            ]
        );
        assert_eq!(findings[1].hint.as_deref(), Some("did you mean `color`?"));
    }
}
