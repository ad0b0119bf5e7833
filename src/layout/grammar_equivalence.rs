//! The patched Handlebars grammar (`vendor/handlebars`, see its `PATCHED.md`) against the
//! grammar of the handlebars 6.4.4 release, kept in `tests/fixtures`: the same pairs, once
//! the patch's own atomic runs are set aside as Handlebars sets them aside, and the same
//! errors, on every template of the repository's layouts, on truncations of them around
//! every tag and escape, on hand-written edge cases and on generated fragments.

use std::path::Path;

use pest::Parser as _;
use pest::RuleType;
use pest::iterators::Pairs;

mod released {
    #[derive(pest_derive::Parser)]
    #[grammar = "tests/fixtures/handlebars-6.4.4.pest"]
    pub(super) struct Grammar;
}

mod patched {
    #[derive(pest_derive::Parser)]
    #[grammar = "vendor/handlebars/src/grammar.pest"]
    pub(super) struct Grammar;
}

/// The rules only the patched grammar has; `Template::compile2` skips their pairs.
const PATCH_RULES: [&str; 2] = ["raw_run", "hbs_comment_body"];

/// What Handlebars gets from a parse: every pair as (rule, start, end), or the error text.
type Outcome = Result<Vec<(String, usize, usize)>, String>;

fn outcome<R: RuleType>(result: Result<Pairs<'_, R>, pest::error::Error<R>>) -> Outcome {
    match result {
        Ok(pairs) => Ok(pairs
            .flatten()
            .map(|p| (format!("{:?}", p.as_rule()), p.as_span()))
            .filter(|(rule, _)| !PATCH_RULES.contains(&rule.as_str()))
            .map(|(rule, span)| (rule, span.start(), span.end()))
            .collect()),
        Err(error) => Err(format!("{:?} {}", error.line_col, error)),
    }
}

fn assert_same(input: &str) {
    let released = outcome(released::Grammar::parse(released::Rule::handlebars, input));
    let patched = outcome(patched::Grammar::parse(patched::Rule::handlebars, input));
    assert_eq!(released, patched, "on {input:?}");
}

fn templates(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            templates(&path, found);
        } else if path.extension().is_some_and(|e| e == "hbs") {
            found.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Byte offsets at and just after each place where the grammar decides something: braces,
/// backslashes, tildes and comment dashes.
fn cut_points(text: &str) -> Vec<usize> {
    let mut cuts: Vec<usize> = text
        .match_indices(['{', '}', '\\', '~'])
        .map(|(i, _)| i)
        .chain(text.match_indices("--").map(|(i, _)| i))
        .flat_map(|i| i..i + 3)
        .filter(|&i| i <= text.len() && text.is_char_boundary(i))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn the_layouts_and_their_truncations_parse_alike() {
    let mut found = Vec::new();
    templates(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("layouts")
            .as_path(),
        &mut found,
    );
    assert!(found.len() > 20, "the layouts' templates were found");
    for text in &found {
        assert_same(text);
        // The text on each side of a cut, up to 200 bytes away (whole templates
        // on each side would make the test quadratic in their size).
        let boundary = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        for cut in cut_points(text) {
            assert_same(&text[boundary(cut.saturating_sub(200))..cut]);
            assert_same(&text[cut..boundary((cut + 200).min(text.len()))]);
        }
    }
}

#[test]
fn edge_cases_parse_alike() {
    for input in [
        "",
        "plain",
        "\\",
        "\\\\",
        "a\\{{b}}",
        "a\\\\{{b}}",
        "a\\\\\\{{b}}",
        "\\{{{{raw}}}}x\\{{{{/raw}}}}",
        "{{",
        "a{{",
        "a{b}c}}",
        "é{{x}}ü\\",
        "{{!--}}",
        "{{!-- a --}}",
        "{{! -- a --}}",
        "{{!-- a ---}}b",
        "{{!-- a -- }}--}}",
        "{{!-- unterminated",
        "{{!-- a }} b --}}",
        "{{! compact }}",
        "{{!-- \n\t --}}\n",
        "  {{!-- standalone --}}  \n  x",
        "{{#if a}}\\{{b}}{{else}}c\\\\{{/if}}",
        "{{{{raw}}}} {{x}} \\{{ {{{{/raw}}}}",
        "{{~a~}} b {{~!-- c --~}}",
    ] {
        assert_same(input);
    }
}

#[test]
fn generated_fragments_parse_alike() {
    const PIECES: [&str; 22] = [
        "{{",
        "}}",
        "{",
        "}",
        "\\",
        "-",
        "--",
        "--}}",
        "{{!--",
        "{{!",
        " ",
        "\n",
        "a",
        "é",
        "~",
        "{{#if x}}",
        "{{/if}}",
        "{{else}}",
        "{{{{raw}}}}",
        "{{{{/raw}}}}",
        "{{> p}}",
        "x}}",
    ];
    let mut rng = fastrand::Rng::with_seed(21);
    for _ in 0..5_000 {
        let input: String = (0..rng.usize(1..14))
            .map(|_| PIECES[rng.usize(..PIECES.len())])
            .collect();
        assert_same(&input);
    }
}
