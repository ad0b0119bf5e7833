//! The reference MJML compiler's validation, said by broadsheet: on layouts with each kind of
//! mistake that mjml's strict validation rejects and mrml builds anyway, `check` warns on
//! exactly the lines of the generated MJML where mjml complains; on the sample layout, the
//! layout `init` writes and a layout using every kind of element, neither says a word.

use std::collections::BTreeSet;

use crate::support::Project;
use crate::support::oracle::npm_bin;

const VOLUME: &str = "volumes/011.toml";
const TEMPLATE: &str = "layouts/scout/email.mjml.hbs";

/// What the reference compiler's strict validation says of the MJML file at `relative`:
/// each complaint once, as (line, message).
fn mjml_complaints(project: &Project, relative: &str) -> BTreeSet<(usize, String)> {
    let output = npm_bin("mjml")
        .arg("--validate")
        .arg(project.path(relative))
        .arg("--config.validationLevel=strict")
        .output()
        .expect("run mjml");
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    // `Line 46 of /path/email.mjml (mj-text) — Attribute colr is illegal`, listed twice.
    let complaints: BTreeSet<(usize, String)> = said
        .lines()
        .filter_map(|l| {
            let (line, message) = l.trim_start().strip_prefix("Line ")?.split_once(" of ")?;
            Some((line.parse().ok()?, message.split_once(" — ")?.1.to_owned()))
        })
        .collect();
    assert_eq!(
        output.status.success(),
        complaints.is_empty(),
        "mjml's exit status and its complaints disagree:\n{said}"
    );
    complaints
}

/// The lines of the generated MJML (`<generated MJML>`, which `check` shows and does not
/// write) where broadsheet's `MJML:` warnings in `stderr` point.
fn warned_lines(stderr: &str) -> BTreeSet<usize> {
    let mut lines = BTreeSet::new();
    let mut in_warning = false;
    for line in stderr.lines() {
        if line.starts_with("warning: ") || line.starts_with("error: ") {
            in_warning = line.starts_with("warning: MJML: ");
        } else if let Some(at) = line.trim_start().strip_prefix("--> ")
            && std::mem::take(&mut in_warning)
        {
            let place = at
                .strip_prefix("<generated MJML>")
                .and_then(|p| p.strip_prefix(':'));
            let line = place.and_then(|p| p.split(':').next()?.parse().ok());
            lines.insert(line.unwrap_or_else(|| panic!("an MJML warning at {at}:\n{stderr}")));
        }
    }
    lines
}

/// Builds and checks `volume`, and requires broadsheet's MJML warnings to stand on the lines
/// where mjml complains about the generated MJML, one for each complaint, and `check` to
/// pass (they are warnings). Returns `check`'s stderr and mjml's complaints.
fn agree(project: &Project, volume: &str, out: &str) -> (String, BTreeSet<(usize, String)>) {
    project.ok(&["build", volume]);
    let check = project.ok(&["check", volume]);
    let mjml = format!("{out}/email.mjml");
    let complaints = mjml_complaints(project, &mjml);
    let lines: BTreeSet<usize> = complaints.iter().map(|(line, _)| *line).collect();
    assert_eq!(
        warned_lines(&check.stderr),
        lines,
        "broadsheet's warnings (left) and mjml's complaints (right) on {mjml}:\n{}\n{complaints:?}",
        check.stderr
    );
    assert_eq!(
        check.stderr.matches("warning: MJML: ").count(),
        complaints.len(),
        "one warning for each of mjml's complaints {complaints:?}:\n{}",
        check.stderr
    );
    (check.stderr, complaints)
}

/// The sample project with `mjml` put in the scout layout's template before `anchor`.
fn with_mjml(anchor: &str, mjml: &str) -> Project {
    let project = Project::sample();
    project.edit(TEMPLATE, anchor, &format!("{mjml}\n{anchor}"));
    project
}

#[test]
fn each_mistake_mjml_rejects_is_a_warning_where_mjml_complains() {
    let cases = [
        (
            "</mj-body>",
            "<mj-section><mj-text>loose</mj-text></mj-section>",
            "MJML: `<mj-text>` cannot be used inside `<mj-section>`",
        ),
        (
            "</mj-body>",
            r#"<mj-section><mj-column><mj-text colr="red">x</mj-text></mj-column></mj-section>"#,
            "MJML: `<mj-text>` has no attribute `colr`",
        ),
        (
            "</mj-body>",
            r#"<mj-section><mj-column><mj-text font-size="big">x</mj-text></mj-column></mj-section>"#,
            "MJML: `font-size=\"big\"` is not valid on `<mj-text>`",
        ),
        (
            "</mj-body>",
            r#"<mj-section><mj-column><mj-divider align="middle" /></mj-column></mj-section>"#,
            "MJML: `align=\"middle\"` is not valid on `<mj-divider>`",
        ),
        (
            "</mj-body>",
            r#"<mj-section background-color="reddish"><mj-column /></mj-section>"#,
            "MJML: `background-color=\"reddish\"` is not valid on `<mj-section>`",
        ),
        (
            "</mj-body>",
            "<mj-section><mj-column><p>a paragraph</p></mj-column></mj-section>",
            "MJML: `<p>` is not an MJML element",
        ),
        (
            "</mj-attributes>",
            r#"<mj-button font-size="big" /><mj-buton />"#,
            "MJML: `<mj-buton>` is not an MJML element",
        ),
        (
            "</mj-head>",
            r#"<mj-preview lang="en">Read on</mj-preview>"#,
            "MJML: `<mj-preview>` has no attribute `lang`",
        ),
    ];
    for (anchor, mistake, said) in cases {
        let project = with_mjml(anchor, mistake);
        let (stderr, complaints) = agree(&project, VOLUME, "out/011");
        assert!(!complaints.is_empty(), "mjml takes {mistake}");
        assert!(stderr.contains(said), "{mistake}:\n{stderr}");
    }
}

#[test]
fn a_mistake_in_a_partial_written_for_every_pick_is_said_once_at_its_template_line() {
    let project = Project::sample();
    let partial = "layouts/scout/partials/picks.mjml.hbs";
    project.edit(
        partial,
        "<mj-text padding=",
        "<mj-text colr=\"red\" padding=",
    );
    let check = project.ok(&["check", VOLUME]);
    assert_eq!(
        check
            .stderr
            .matches("warning: MJML: `<mj-text>` has no attribute `colr`")
            .count(),
        1,
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains(&format!("= note: the MJML was generated by {partial}:")),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("= note: the same at 1 more place of <generated MJML>: line "),
        "the partial is written for the picks before and after the expert view: {}",
        check.stderr
    );
}

#[test]
fn the_sample_layout_is_valid_mjml_and_gets_no_warning() {
    let project = Project::sample();
    let (stderr, complaints) = agree(&project, VOLUME, "out/011");
    assert!(complaints.is_empty());
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn the_init_layout_is_valid_mjml_and_gets_no_warning() {
    let project = Project::empty();
    project.ok(&["init", "--title", "The Weekly Wire"]);
    let (stderr, complaints) = agree(&project, "volumes/001.toml", "out/001");
    assert!(complaints.is_empty());
    assert!(!stderr.contains("MJML"), "{stderr}");
}

#[test]
fn a_layout_with_every_kind_of_element_gets_no_warning() {
    let project = with_mjml(
        "</mj-body>",
        r##"<mj-wrapper padding="10px 0" border="1px solid #ccc"><mj-section full-width="full-width">
          <mj-group><mj-column width="50%"><mj-text mj-class="note">a</mj-text></mj-column>
          <mj-column width="50%"><mj-button href="https://example.org/" font-size="15px">Go</mj-button></mj-column>
          </mj-group></mj-section></mj-wrapper>
        <mj-hero mode="fixed-height" height="200px" background-url="https://example.org/h.png" background-color="#2a3448">
          <mj-text line-height="1.5">Hero</mj-text></mj-hero>
        <mj-section><mj-column><!-- a comment -->
          <mj-navbar hamburger="hamburger"><mj-navbar-link href="/a">A</mj-navbar-link></mj-navbar>
          <mj-social mode="horizontal" icon-size="20px"><mj-social-element name="github" href="https://github.com/" alt="GitHub">GitHub</mj-social-element></mj-social>
          <mj-table cellpadding="4" width="auto"><tr><td>1</td></tr></mj-table>
          <mj-accordion><mj-accordion-element><mj-accordion-title>Q</mj-accordion-title>
          <mj-accordion-text>A</mj-accordion-text></mj-accordion-element></mj-accordion>
          <mj-divider border-width="2px" border-color="rgba(0,0,0,0.5)" /><mj-spacer height="20px" />
          <mj-image src="https://example.org/i.png" alt="i" fluid-on-mobile="true" height="auto" />
        </mj-column></mj-section>"##,
    );
    project.edit(
        TEMPLATE,
        "</mj-attributes>",
        r#"<mj-class name="note" color="red" padding="2px" /></mj-attributes><mj-breakpoint width="320px" />"#,
    );
    let (stderr, complaints) = agree(&project, VOLUME, "out/011");
    assert!(complaints.is_empty());
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn a_mistake_repeated_in_more_than_fifty_places_is_said_once_with_its_places_and_counted() {
    let project = with_mjml(
        "</mj-body>",
        &"<mj-section><mj-text>loose</mj-text></mj-section>\n".repeat(60),
    );
    // Sixty sections make the HTML part too large for Gmail too: an error of its own.
    let check = project.run(&["check", VOLUME]);
    assert_eq!(
        check
            .stderr
            .matches("warning: MJML: `<mj-text>` cannot be used")
            .count(),
        1,
        "the fifty shown say the same of lines the same template lines wrote: {}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("= note: the same at 49 more places of <generated MJML>: lines "),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .contains("warning: MJML: 10 more places that mjml's validator rejects, not shown\n"),
        "{}",
        check.stderr
    );
}
