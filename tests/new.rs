//! `broadsheet new`: the next volume from the latest, never overwriting.

use crate::support::Project;

#[test]
fn scaffolds_the_next_volume() {
    let project = Project::sample();
    let run = project.ok(&["new"]);
    assert!(
        run.stdout
            .starts_with("created volumes/012.toml (volume 12) from volumes/011.toml"),
        "{}",
        run.stdout
    );
    let text = project.read("volumes/012.toml");
    assert!(text.contains("number = 12\n"));
    // 4/12-5/9 is 28 days; the next period starts the day after and is as long.
    assert!(
        text.contains("period = { from = 2024-05-10, to = 2024-06-06 }"),
        "{text}"
    );
    assert!(text.contains("title = \"Editors' picks from ETO Scout\""));
    assert!(
        text.contains("\n# [[picks]]\n"),
        "one commented example pick"
    );
    assert!(!text.contains("\n[[picks]]"), "picks are emptied");

    // Last week's hero image is named, not kept: readers saw it.
    assert!(
        text.contains("src = \"TK\"\n")
            && text.contains(
                "volume 11's image was https://scout.eto.tech/static/newsletter/volume-11-hero.jpg"
            ),
        "{text}"
    );

    // The scaffold is valid TOML whose only problems are the ones left for the editor:
    // warnings in a draft, errors with --strict.
    let check = project.run(&["check", "volumes/012.toml"]);
    assert_eq!(check.status, 0, "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("warning: the volume has no picks yet")
    );
    assert!(
        check
            .stderr
            .contains("warning: `headline` still holds the placeholder `TK`")
    );
    assert!(!check.stderr.contains("unknown field") && !check.stderr.contains("expected"));
    assert!(!check.stderr.contains("error:"), "{}", check.stderr);
    let strict = project.run(&["check", "--strict", "volumes/012.toml"]);
    assert_eq!(strict.status, 1);
    assert!(strict.stderr.contains("error: the volume has no picks yet"));
    assert!(
        strict
            .stderr
            .contains("error: `hero.src` still holds the placeholder `TK`")
    );
    assert!(!strict.stderr.contains("warning:"), "{}", strict.stderr);
}

#[test]
fn drafts_are_numbered_after_the_highest_and_started_from_the_latest_published() {
    let project = Project::sample();
    project.ok(&["new"]);
    assert!(
        project
            .read("volumes/012.toml")
            .contains("\ndraft = true\n")
    );
    let run = project.ok(&["new"]);
    assert!(
        run.stdout
            .starts_with("created volumes/013.toml (volume 13) from volumes/011.toml"),
        "the TK-filled draft 012 is no model: {}",
        run.stdout
    );
    let text = project.read("volumes/013.toml");
    assert!(text.contains("number = 13\n"), "{text}");
    // Two periods on from 011's (4/12-5/9, 28 days), since 012 takes the one between.
    assert!(
        text.contains("period = { from = 2024-06-07, to = 2024-07-04 }"),
        "{text}"
    );
}

#[test]
fn a_broken_latest_volume_is_reported_and_left_alone() {
    let project = Project::sample();
    project.write("volumes/014.toml", "# hand-written, must survive\n");
    let run = project.run(&["new"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("--> volumes/014.toml:1:1"),
        "{}",
        run.stderr
    );
    assert_eq!(
        project.read("volumes/014.toml"),
        "# hand-written, must survive\n"
    );
    assert!(!project.path("volumes/015.toml").exists());
    // Marked as a draft, it is skipped as a model but still counts for the number.
    project.write("volumes/014.toml", "draft = true\n");
    let run = project.ok(&["new"]);
    assert!(
        run.stdout
            .starts_with("created volumes/015.toml (volume 15) from volumes/011.toml"),
        "{}",
        run.stdout
    );
}

#[test]
fn refuses_when_no_volume_exists() {
    let project = Project::sample();
    std::fs::remove_file(project.path("volumes/011.toml")).unwrap();
    let run = project.run(&["new"]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("no volume files"), "{}", run.stderr);
}

/// The period of `broadsheet new`'s two next volumes after volume 11 whose period is
/// `from`..`to`.
fn next_two_periods(from: &str, to: &str) -> [String; 2] {
    let project = Project::sample();
    project.edit(
        "volumes/011.toml",
        "period = { from = 2024-04-12, to = 2024-05-09 }",
        &format!("period = {{ from = {from}, to = {to} }}"),
    );
    project.ok(&["new"]);
    project.ok(&["new"]);
    ["volumes/012.toml", "volumes/013.toml"].map(|file| {
        let text = project.read(file);
        let line = text.lines().find(|l| l.starts_with("period = "));
        line.unwrap_or_else(|| panic!("no period in {text}"))
            .to_owned()
    })
}

#[test]
fn a_monthly_volumes_next_periods_are_the_next_calendar_months() {
    assert_eq!(
        next_two_periods("2027-01-01", "2027-01-31"),
        [
            "period = { from = 2027-02-01, to = 2027-02-28 }",
            "period = { from = 2027-03-01, to = 2027-03-31 }"
        ]
    );
}

#[test]
fn a_working_weeks_next_periods_are_the_next_working_weeks() {
    // Monday to Friday, then the next two Mondays to Fridays.
    assert_eq!(
        next_two_periods("2027-01-04", "2027-01-08"),
        [
            "period = { from = 2027-01-11, to = 2027-01-15 }",
            "period = { from = 2027-01-18, to = 2027-01-22 }"
        ]
    );
}
