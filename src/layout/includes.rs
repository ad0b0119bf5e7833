//! Partials that include each other: Handlebars follows `{{> name}}` without a depth limit,
//! so a cycle would recurse until the stack overflows, and partials that each include the
//! next ten times would render for minutes. The layout's templates are scanned for static
//! includes when they are loaded: every cycle is an error at the include that closes it,
//! and so is a template that expands into more than [`MAX_EXPANSION`] partial renderings.
//! An include names a template by the key its source is kept under ([`source_key`]). The
//! same scan tells which partials a command's entry templates reach ([`reachable`]): the
//! only ones it compiles.

use std::collections::{HashMap, HashSet};

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The most partial renderings one template may expand into, counted over its static
/// includes (a loop around an include multiplies this by the data, which the bound on
/// output size catches). The scout layout needs about ten.
pub(super) const MAX_EXPANSION: u64 = 10_000;

/// Reports every cycle among the static includes of `sources` (keyed as
/// [`source_key`] names them) and, when there is none, the template where the number of
/// renderings passes [`MAX_EXPANSION`].
pub(super) fn check(sources: &HashMap<String, SourceFile>, diags: &mut Diagnostics) {
    let mut keys: Vec<&String> = sources.keys().collect();
    keys.sort();
    let mut state: HashMap<&str, State> = HashMap::new();
    let before = diags.counts().0;
    for key in &keys {
        let mut path = Vec::new();
        visit(sources, key, &mut state, &mut path, diags);
    }
    if diags.counts().0 > before {
        return;
    }
    let mut counts = HashMap::new();
    for key in keys {
        let count = expansion(sources, key, &mut counts);
        let children_fit = targets(sources, key).iter().all(|(target, _)| {
            counts
                .get(target.as_str())
                .is_some_and(|&c| c <= MAX_EXPANSION)
        });
        if count > MAX_EXPANSION && children_fit {
            let source = &sources[key.as_str()];
            let (name, at) = includes(&source.text)[0];
            diags.push(
                Diagnostic::error(format!(
                    "`{}` expands into more than {MAX_EXPANSION} partial renderings",
                    display(key)
                ))
                .at_span(source, at..at + name.len())
                .note(
                    "its partials include one another over and over; the email would be enormous",
                ),
            );
        }
    }
}

/// The key of a template's source: its registered name, with `.txt` added for text partials,
/// which share their name with the MJML partial of the same stem.
pub(super) fn source_key(name: &str, is_text: bool) -> String {
    if name.ends_with(".hbs") || !is_text {
        name.to_owned()
    } else {
        format!("{name}.txt")
    }
}

/// The included templates of `key` that exist, with where each is included.
fn targets<'s>(sources: &'s HashMap<String, SourceFile>, key: &str) -> Vec<(&'s String, usize)> {
    let is_text = is_text_key(key);
    let Some(source) = sources.get(key) else {
        return Vec::new();
    };
    includes(&source.text)
        .into_iter()
        .filter_map(|(name, at)| Some((sources.get_key_value(&source_key(name, is_text))?.0, at)))
        .collect()
}

/// How many renderings `key` expands into (itself and every include, recursively); the
/// includes are known to have no cycle.
fn expansion<'s>(
    sources: &'s HashMap<String, SourceFile>,
    key: &'s str,
    counts: &mut HashMap<&'s str, u64>,
) -> u64 {
    if let Some(&count) = counts.get(key) {
        return count;
    }
    let mut count = 1u64;
    for (target, _) in targets(sources, key) {
        count = count.saturating_add(expansion(sources, target, counts));
    }
    counts.insert(key, count);
    count
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// On the path being followed: reaching it again closes a cycle.
    Open,
    /// Every include below it has been followed.
    Done,
}

fn visit<'s>(
    sources: &'s HashMap<String, SourceFile>,
    key: &'s str,
    state: &mut HashMap<&'s str, State>,
    path: &mut Vec<&'s str>,
    diags: &mut Diagnostics,
) {
    if state.contains_key(key) {
        return;
    }
    let Some(source) = sources.get(key) else {
        return;
    };
    state.insert(key, State::Open);
    path.push(key);
    for (target, at) in targets(sources, key) {
        match state.get(target.as_str()) {
            Some(State::Open) => {
                let from = path.iter().position(|k| *k == target).unwrap_or(0);
                let mut cycle: Vec<&str> = path[from..].iter().map(|k| display(k)).collect();
                cycle.push(display(target));
                diags.push(
                    Diagnostic::error(format!(
                        "partials include each other: {}",
                        cycle.join(" → ")
                    ))
                    .at_span(source, at..at + display(target).len())
                    .note("the rendering would never end; remove one of the includes"),
                );
            }
            Some(State::Done) => {}
            None => visit(sources, target, state, path, diags),
        }
    }
    path.pop();
    state.insert(key, State::Done);
}

/// A source key as the user knows it: the partial's name, or the template's path.
fn display(key: &str) -> &str {
    key.strip_suffix(".txt").unwrap_or(key)
}

/// The keys of the templates that the templates `from` include, directly or through other
/// partials, `from` among them; `None` when one of them includes a partial whose name the
/// scan cannot read (`{{> (expr)}}`, a quoted name), which could be any of them.
pub(super) fn reachable(
    sources: &HashMap<String, SourceFile>,
    from: &[String],
) -> Option<HashSet<String>> {
    let mut seen: HashSet<String> = from.iter().cloned().collect();
    let mut queue: Vec<String> = from.to_vec();
    while let Some(key) = queue.pop() {
        let Some(source) = sources.get(&key) else {
            continue;
        };
        let found = scan(&source.text);
        if found.unnamed {
            return None;
        }
        let is_text = is_text_key(&key);
        for (name, _) in found.named {
            let target = source_key(name, is_text);
            if seen.insert(target.clone()) {
                queue.push(target);
            }
        }
    }
    Some(seen)
}

/// The partial includes of one template.
struct Found<'t> {
    /// The includes that name their partial (`{{> name}}`, `{{#> name}}`, with `~`
    /// allowed), each with the byte offset of its name.
    named: Vec<(&'t str, usize)>,
    /// Whether an include names its partial some other way: computed (`{{> (expr)}}`) or
    /// quoted.
    unnamed: bool,
}

/// The static partial includes in a template, each with the byte offset of its name.
fn includes(text: &str) -> Vec<(&str, usize)> {
    scan(text).named
}

/// Finds the partial includes of a template. It reads the text, not the template's syntax:
/// an include in a comment counts too.
fn scan(text: &str) -> Found<'_> {
    let mut found = Found {
        named: Vec::new(),
        unnamed: false,
    };
    // memmem finds the same non-overlapping `{{` as `match_indices`, with a vector search.
    for open in memchr::memmem::find_iter(text.as_bytes(), "{{") {
        let rest = &text[open + 2..];
        let rest = rest.strip_prefix('~').unwrap_or(rest);
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        let Some(rest) = rest.strip_prefix('>') else {
            continue;
        };
        let rest = rest.trim_start();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || "_-./".contains(c)))
            .unwrap_or(rest.len());
        if len > 0 {
            found.named.push((&rest[..len], text.len() - rest.len()));
        } else if !rest.starts_with(PARTIAL_BLOCK) {
            found.unnamed = true;
        }
    }
    found
}

/// What a partial called as a block (`{{#> name}}…{{/name}}`) includes to render the block.
const PARTIAL_BLOCK: &str = "@partial-block";

/// Whether the template kept under `key` is a text template.
pub(super) fn is_text_key(key: &str) -> bool {
    key.ends_with(".txt") || key.ends_with(".txt.hbs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> HashMap<String, SourceFile> {
        files
            .iter()
            .map(|(key, text)| {
                let path = std::path::Path::new(key);
                ((*key).to_owned(), SourceFile::new(path, (*text).to_owned()))
            })
            .collect()
    }

    #[test]
    fn finds_static_includes() {
        let found = includes("a {{> picks}} b {{~#> frame }}x{{/frame}} {{> (dyn)}}");
        let names: Vec<&str> = found.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["picks", "frame"]);
    }

    #[test]
    fn a_cycle_is_one_error_at_its_closing_include() {
        let mut diags = Diagnostics::default();
        let files = sources(&[
            ("email.mjml.hbs", "{{> a}}"),
            ("a", "x {{> b}}"),
            ("b", "{{> a}}"),
            ("c.txt", "{{> c}}"),
        ]);
        check(&files, &mut diags);
        let messages: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        assert_eq!(
            messages,
            [
                "partials include each other: a → b → a",
                "partials include each other: c → c"
            ]
        );
    }

    #[test]
    fn ten_includes_seven_levels_deep_are_too_many() {
        let mut files: Vec<(String, String)> = (1..7)
            .map(|i| (format!("l{i}"), format!("{{{{> l{}}}}}", i + 1).repeat(10)))
            .collect();
        files.push(("l7".to_owned(), "x".to_owned()));
        files.push(("email.mjml.hbs".to_owned(), "{{> l1}}".to_owned()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(k, t)| (k.as_str(), t.as_str()))
            .collect();
        let mut diags = Diagnostics::default();
        check(&sources(&refs), &mut diags);
        let messages: Vec<String> = diags.iter().map(|d| d.message.clone()).collect();
        assert_eq!(
            messages,
            ["`l3` expands into more than 10000 partial renderings"]
        );
    }

    #[test]
    fn reaches_the_partials_of_each_entry_in_its_own_registry() {
        let files = sources(&[
            (
                "email.mjml.hbs",
                "{{> picks list=a}} {{#> frame}}x{{/frame}}",
            ),
            ("email.txt.hbs", "{{~> picks}}"),
            ("picks", "{{> item}}"),
            ("picks.txt", "plain"),
            ("item", "{{> @partial-block}}"),
            ("item.txt", "unused"),
            ("frame", "{{> @partial-block}}"),
            ("page_head", "{{> item}}"),
        ]);
        let entries = ["email.mjml.hbs".to_owned(), "email.txt.hbs".to_owned()];
        let mut reached: Vec<String> = reachable(&files, &entries)
            .expect("every include is named")
            .into_iter()
            .collect();
        reached.sort();
        assert_eq!(
            reached,
            [
                "email.mjml.hbs",
                "email.txt.hbs",
                "frame",
                "item",
                "picks",
                "picks.txt"
            ]
        );
    }

    #[test]
    fn a_computed_or_quoted_partial_name_could_be_any_partial() {
        for include in ["{{> (lookup . \"name\")}}", "{{#> \"picks\"}}x{{/picks}}"] {
            let files = sources(&[("email.mjml.hbs", "{{> a}}"), ("a", include), ("b", "")]);
            assert_eq!(
                reachable(&files, &["email.mjml.hbs".to_owned()]),
                None,
                "{include}"
            );
        }
        // Only what the entries reach counts.
        let files = sources(&[("email.mjml.hbs", "{{> a}}"), ("a", ""), ("b", "{{> (x)}}")]);
        assert!(reachable(&files, &["email.mjml.hbs".to_owned()]).is_some());
    }

    #[test]
    fn a_partial_used_twice_is_no_cycle() {
        let mut diags = Diagnostics::default();
        let files = sources(&[("e", "{{> a}}{{> a}}"), ("a", "{{> b}}"), ("b", "x")]);
        check(&files, &mut diags);
        assert!(diags.iter().next().is_none());
    }
}
