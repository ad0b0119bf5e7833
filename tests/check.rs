//! `broadsheet check`: one stderr snapshot per kind of user error, each with file, line and
//! column; every problem reported in one run; exit status 1 on errors only.

use crate::support::Project;

const VOLUME: &str = "volumes/011.toml";

/// Runs `check` on the sample volume, expects failure, and returns stderr without the
/// seed's eleven expected date warnings.
fn check_fails(project: &Project) -> String {
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 1, "check should fail:\n{}", run.stderr);
    assert!(run.stdout.is_empty());
    run.stderr
        .split("\n\n")
        .filter(|block| !block.contains("before the volume's period"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[test]
fn sample_volume_passes_with_date_warnings_only() {
    let project = Project::sample();
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stderr.matches("warning: pick").count(), 11);
    assert!(!run.stderr.contains("error"));
    assert!(run.stderr.ends_with("volumes/011.toml: 11 warnings\n"));
    assert!(!project.path("out").exists(), "check writes nothing");
}

#[test]
fn toml_syntax_error() {
    let project = Project::sample();
    project.edit(VOLUME, r#"source = "36kr""#, r#"source = "36kr"#);
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn unknown_field() {
    let project = Project::sample();
    project.edit(VOLUME, "summary = \"Shengshu", "sumary = \"Shengshu");
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn wrong_type() {
    let project = Project::sample();
    project.edit(VOLUME, "date = 2024-04-28", "date = \"04/28/24\"");
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn bad_links() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "https://scout.eto.tech/?pick=vidu-video",
        "http://scout.eto.tech/?pick=vidu-video",
    );
    project.edit(
        VOLUME,
        "[browse the feed by topic](https://scout.eto.tech/?view=topics)",
        "[browse the feed by topic](javascript:alert(1))",
    );
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn missing_template_field() {
    let project = Project::sample();
    project.edit(
        "layouts/scout/partials/picks.mjml.hbs",
        "{{source}}",
        "{{outlet}}",
    );
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn broken_mjml_from_layout() {
    let project = Project::sample();
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</h1></mj-text>",
        "</h1></mj-text",
    );
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn unknown_mjml_element_is_an_error() {
    let project = Project::sample();
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "<mj-text><h1>",
        "<mj-txt><h1>",
    );
    let stderr = check_fails(&project);
    assert!(
        stderr.contains("error: MJML: unknown element `<mj-txt>`\n  --> out/011/email.mjml:"),
        "{stderr}"
    );
}

#[test]
fn template_syntax_error() {
    let project = Project::sample();
    project.edit("layouts/scout/email.txt.hbs", "{{/wrap}}", "{{/wrapp}}");
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn every_problem_is_reported_at_once() {
    let project = Project::sample();
    project.edit(VOLUME, "summary = \"Shengshu", "sumary = \"Shengshu");
    project.edit(VOLUME, r#"source = "Leiphone""#, "");
    project.edit(VOLUME, "date = 2024-04-18", "date = \"2024-04-18\"");
    project.edit(VOLUME, "number = 11", "number = \"eleven\"");
    let stderr = check_fails(&project);
    for expected in [
        "unknown field `sumary`",
        "missing field `source`",
        "expected a TOML datetime",
        "invalid type: string \"eleven\"",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        stderr.ends_with("error: volumes/011.toml: 4 errors, 11 warnings\n"),
        "{stderr}"
    );
}

#[test]
fn content_lints() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "headline = \"Farming",
        "subject = \"Hi\\r\\nBcc: x@evil.test\"\nheadline = \"TK Farming",
    );
    project.edit(
        VOLUME,
        "alt = \"A computer chip viewed through a circular lens.\"",
        "alt = \"\"",
    );
    project.edit(
        VOLUME,
        "https://scout.eto.tech/?pick=vidu-video",
        "https://scout.eto.tech/?pick=agri-machinery",
    );
    project.edit(
        VOLUME,
        "preheader = \"Scout's editors",
        &format!("preheader = \"{}", "very ".repeat(30)),
    );
    project.edit(VOLUME, "(pick:chip-boom-and-bust)", "(pick:no-such-pick)");
    insta::assert_snapshot!(check_fails(&project));
}

#[test]
fn oversized_html_is_an_error() {
    let project = Project::sample();
    let long = "A long summary that repeats itself. ".repeat(120);
    let picks: String = (0..30)
        .map(|i| {
            format!(
                "\n[[picks]]\nsummary = \"{long}\"\nsource = \"Outlet\"\ndate = 2024-05-01\nurl = \"https://x.test/{i}\"\n"
            )
        })
        .collect();
    let volume = project.read(VOLUME);
    project.write(VOLUME, &format!("{volume}{picks}"));
    let stderr = check_fails(&project);
    assert!(
        stderr.contains("error: the HTML part is") && stderr.contains("Gmail clips"),
        "{stderr}"
    );
}

#[test]
fn every_mistake_of_a_volume_in_one_run_in_file_order() {
    let project = Project::sample();
    project.write(
        "volumes/012.toml",
        include_str!("fixtures/mistakes/012.toml"),
    );
    let run = project.run(&["check", "volumes/012.toml"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let lines: Vec<usize> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> volumes/012.toml:"))
        .map(|at| {
            at.split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a line number")
        })
        .collect();
    assert!(lines.len() >= 8, "{}", run.stderr);
    assert!(lines.is_sorted(), "not in file order: {lines:?}");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_topic_one_slip_from_the_others_is_a_warning() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "topics = [\"robotics\", \"industry\"]",
        "topics = [\"robotics\", \"industy\"]",
    );
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 0, "a warning only:\n{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: topic `industy` is used by no other pick; did you mean `industry`?\n  --> volumes/011.toml:40:23"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_period_that_ends_before_it_starts_is_one_error() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "period = { from = 2024-04-12, to = 2024-05-09 }",
        "period = { from = 2024-05-09, to = 2024-04-12 }",
    );
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr.matches("error:").count(), 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the period ends (2024-04-12) before it starts (2024-05-09)")
            && !run.stderr.contains("warning: pick"),
        "no pick is judged against a backwards period:\n{}",
        run.stderr
    );
}
