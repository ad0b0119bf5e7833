//! `broadsheet check`: one stderr snapshot per kind of user error, each with file, line and
//! column; every problem reported in one run, in file order; exit status 1 on errors only.

use crate::support::Project;

const VOLUME: &str = "volumes/011.toml";

/// Runs `check` on the sample volume, expects failure, and returns stderr.
fn check_fails(project: &Project) -> String {
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 1, "check should fail:\n{}", run.stderr);
    assert!(run.stdout.is_empty());
    run.stderr
}

#[test]
fn sample_volume_passes_without_noise() {
    let project = Project::sample();
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "volumes/011.toml: no problems\n");
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
        stderr.contains("error: MJML: unknown element `<mj-txt>`\n  --> <generated MJML>:"),
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
fn a_block_never_closed_is_named_at_its_opening_tag() {
    let project = Project::sample();
    let text = project.read("layouts/scout/partials/picks.mjml.hbs");
    let at = text
        .rfind("{{/each}}")
        .expect("the picks partial closes its each");
    project.write(
        "layouts/scout/partials/picks.mjml.hbs",
        &format!("{}{}", &text[..at], &text[at + "{{/each}}".len()..]),
    );
    let stderr = check_fails(&project);
    assert!(
        stderr.starts_with(
            "error: `{{#each}}` is never closed\n --> layouts/scout/partials/picks.mjml.hbs:"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("end the block with `{{/each}}`"),
        "{stderr}"
    );
}

#[test]
fn a_mistyped_partial_is_named_with_the_one_meant() {
    let project = Project::sample();
    project.edit("layouts/scout/email.txt.hbs", "{{> picks", "{{> pick");
    let stderr = check_fails(&project);
    assert!(
        stderr.starts_with(
            "error: template error: the template includes the partial `pick`, which the layout \
             does not have\n  --> layouts/scout/email.txt.hbs:"
        ),
        "{stderr}"
    );
    // The text registry's partials are offered, not the MJML ones of the same names.
    assert!(
        stderr.contains("= note: did you mean `picks`?\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("= note: known here: `expert_view`, `picks`\n"),
        "{stderr}"
    );
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
        stderr.ends_with("error: volumes/011.toml: 4 errors\n"),
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
    let lines = located_lines(&run.stderr, "volumes/012.toml");
    assert!(lines.len() >= 8, "{}", run.stderr);
    assert!(lines.is_sorted(), "not in file order: {lines:?}");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn nine_mistakes_in_one_run_in_file_order() {
    let project = Project::sample();
    project.write(
        "volumes/012.toml",
        include_str!("fixtures/mistakes/nine.toml"),
    );
    let run = project.run(&["check", "volumes/012.toml"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    // Each mistake is named in a comment on the line above it, or on the line above its
    // table for the missing key.
    let fixture = include_str!("fixtures/mistakes/nine.toml");
    let named: Vec<usize> = fixture
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("# ") && l[2..].starts_with(char::is_numeric))
        .map(|(i, _)| i + 2)
        .collect();
    assert_eq!(named.len(), 9);
    let reported: Vec<usize> = located_lines(&run.stderr, "volumes/012.toml");
    assert_eq!(
        reported, named,
        "one diagnostic per mistake, in file order:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("error: volumes/012.toml: 6 errors, 3 warnings\n"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!(run.stderr);
}

/// The line of each diagnostic placed in `path`, in the order printed.
fn located_lines(stderr: &str, path: &str) -> Vec<usize> {
    let prefix = format!("--> {path}:");
    stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
        .map(|at| {
            at.split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a line number")
        })
        .collect()
}

#[test]
fn a_topic_one_slip_from_a_declared_one_names_it() {
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
            "warning: topic `industy` is not declared in broadsheet.toml's [topics]\n  --> volumes/011.toml:40:23"
        ) && run.stderr.contains("= note: did you mean `industry`?\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("warning:").count(), 1, "{}", run.stderr);
}

#[test]
fn without_declared_topics_a_slip_is_judged_against_the_other_picks() {
    let project = Project::sample();
    let settings = project.read("broadsheet.toml");
    let cut = settings.find("\n[topics]").expect("a [topics] table");
    project.write("broadsheet.toml", &settings[..cut]);
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

#[test]
fn a_summary_starting_with_a_year_reads_as_text_and_an_image_in_one_is_named() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "summary = \"Shengshu Technology",
        "summary = \"2026. Shengshu Technology",
    );
    project.edit(
        VOLUME,
        "summary = \"A preliminary draft",
        "summary = \"![](https://tracker.example.com/p.gif) A preliminary draft",
    );
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: an image in the text: tracker.example.com learns who opens the email, and when\n  --> volumes/011.toml:50:12"
        ),
        "{}",
        run.stderr
    );
    project.ok(&["build", VOLUME]);
    let text = project.read("out/011/email.txt");
    assert!(text.contains("2026. Shengshu Technology"), "{text}");
    let html = project.read("out/011/email.html");
    assert!(html.contains("2026. Shengshu Technology"));
    assert!(!html.contains("<ol"), "no list numbered from 2026");
}

#[test]
fn a_link_whose_text_is_another_sites_address_is_a_warning_at_the_link() {
    let project = Project::sample();
    project.edit(
        VOLUME,
        "summary = \"A preliminary draft",
        "summary = \"[www.reuters.com](https://scout.eto.tech/?pick=lure) A preliminary draft",
    );
    let run = project.run(&["check", VOLUME]);
    assert_eq!(run.status, 0, "a warning: {}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: the link text is an address at www.reuters.com, but the link leads to \
             scout.eto.tech\n  --> volumes/011.toml:50:12"
        ),
        "{}",
        run.stderr
    );
    // The address of the site the link leads to is no lure.
    project.edit(VOLUME, "[www.reuters.com]", "[https://scout.eto.tech/]");
    let run = project.run(&["check", VOLUME]);
    assert!(
        !run.stderr.contains("the link text is an address"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_date_written_as_people_write_it_is_named_as_the_toml_date_it_means() {
    for (written, meant) in [
        ("04.05.2024", "2024-05-04"),
        ("\"04.05.2024\"", "2024-05-04"),
        ("4 May 2024", "2024-05-04"),
    ] {
        let project = Project::sample();
        project.edit(VOLUME, "date = 2024-05-04", &format!("date = {written}"));
        let stderr = check_fails(&project);
        assert!(
            stderr.contains(&format!(
                "write dates as TOML dates, year first and without quotes: `{meant}`"
            )),
            "{written}: {stderr}"
        );
    }
}

#[test]
fn an_mjml_error_in_a_partial_names_the_partials_line_and_no_file_check_never_wrote() {
    let project = Project::sample();
    let footer = "layouts/scout/partials/footer.mjml.hbs";
    project.edit(
        footer,
        "<mj-divider border-color",
        "<mj-dividr border-color",
    );
    project.edit(
        footer,
        "<mj-image src=\"{{layout.logo.src}}\" alt=\"{{layout.logo.alt}}\"",
        "<mj-image src=\"{{layout.logo.src}}\"",
    );
    let stderr = check_fails(&project);
    assert!(
        stderr
            .contains("error: MJML: unknown element `<mj-dividr>`\n   --> <generated MJML>:119:13")
            && stderr.contains(&format!(
                "= note: mrml copied it into the HTML as it is; check {footer}:3:9\n"
            )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "= note: add `alt=\"...\"` in {footer}:6:9 (alt=\"\" for a decorative image)\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: <generated MJML> is the MJML the layout's templates wrote"),
        "{stderr}"
    );
    assert!(!stderr.contains("out/011"), "{stderr}");
    assert!(!project.path("out").exists(), "check writes nothing");
}

#[test]
fn a_character_the_email_cannot_carry_is_one_error_at_the_volumes_field() {
    for (escape, message) in [
        (
            "\\uFFFF",
            "error: `summary` contains U+FFFF, a noncharacter, which the email cannot carry",
        ),
        (
            "\\uFDD0",
            "error: `summary` contains U+FDD0, a noncharacter, which the email cannot carry",
        ),
        (
            "\\u0001",
            "error: `summary` contains the control character '\\u{1}'",
        ),
    ] {
        let project = Project::sample();
        project.edit(
            VOLUME,
            "summary = \"A state media report",
            &format!("summary = \"{escape} A state media report"),
        );
        let stderr = check_fails(&project);
        assert!(
            stderr.contains(&format!("{message}\n  --> volumes/011.toml:36:11\n")),
            "{stderr}"
        );
        assert!(
            stderr.ends_with("error: volumes/011.toml: 1 error\n"),
            "one mistake, one diagnostic: {stderr}"
        );
    }
}

#[test]
fn template_mistakes_are_told_in_plain_words_at_their_place() {
    let template = "layouts/scout/email.mjml.hbs";
    for (written, message, note) in [
        (
            "{{volume.headline</h1>",
            "error: `{{` is never closed\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: end the expression with `}}`",
        ),
        (
            "{{lookup picks_before 99}}</h1>",
            "error: template error: the template looks up a value the data does not have\n   \
             --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: in strict mode a `lookup` must find its key or index",
        ),
        (
            "{{#each}}x{{/each}}</h1>",
            "error: template error: `each` needs a value to work on (its parameter 1), and none \
             is given\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: the values a helper works on follow its name inside the braces",
        ),
        // Closed tags that do not parse are named whole, never as an unclosed `{{`.
        (
            "{{> }}</h1>",
            "error: `{{> }}` is not valid Handlebars\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: a partial is included by its name: `{{> picks}}`",
        ),
        (
            "{{else}}</h1>",
            "error: `{{else}}` is not valid Handlebars\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: `{{else}}` goes inside a block",
        ),
        (
            "{{volume..headline}}</h1>",
            "error: `{{volume..headline}}` is not valid Handlebars\n   --> \
             layouts/scout/email.mjml.hbs:102:22\n",
            "= note: a path joins names with single dots",
        ),
        (
            "{{volume.headline}}{{/if}}</h1>",
            "error: `{{/if}}` is not valid Handlebars\n   --> layouts/scout/email.mjml.hbs:102:41\n",
            "= note: this closes a block that is not open here",
        ),
        (
            "{{! the headline: {{volume.headline}}</h1>",
            "error: this comment runs on into the tag on line 102: a `{{! ...}}` comment ends at \
             the first `}}`\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: end it with `}}` where it should end, or write a comment that holds tags",
        ),
        (
            "{{{volume.headline}}</h1>",
            "error: `{{{` is never closed\n   --> layouts/scout/email.mjml.hbs:102:22\n",
            "= note: end the expression with `}}}`",
        ),
    ] {
        let project = Project::sample();
        project.edit(template, "{{volume.headline}}</h1>", written);
        let stderr = check_fails(&project);
        assert!(
            stderr.contains(message) && stderr.contains(note),
            "{written}: {stderr}"
        );
        for jargon in [
            "trailing_tilde",
            "strict mode None",
            "param at index",
            "Helper/Decorator",
        ] {
            assert!(!stderr.contains(jargon), "{written}: {stderr}");
        }
    }
}
