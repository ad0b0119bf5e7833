//! The rules `check` applies beyond the file's syntax, one test each: last week's hero image
//! or link again, a summary longer than the layout's bound, a pick pasted twice, a
//! deliberately older pick, a link whose text has no words.

use crate::support::Project;

const SAMPLE: &str = "volumes/011.toml";
const NEXT: &str = "volumes/012.toml";

/// Volume 12, after the sample's period, with `hero` as its `[hero]` table's keys and one
/// pick per entry of `picks` (the keys after `summary`, `source` and `date`).
fn next_volume(hero: &str, picks: &[&str]) -> String {
    let mut text = String::from(
        "number = 12\ntitle = \"Editors' picks from ETO Scout\"\nheadline = \"Chips again\"\n\
         preheader = \"Scout's editors on Chinese-language tech news.\"\n\
         period = { from = 2024-05-10, to = 2024-06-06 }\n\n[hero]\n",
    );
    text.push_str(hero);
    for (i, pick) in picks.iter().enumerate() {
        text.push_str(&format!(
            "\n\n[[picks]]\nsummary = \"Item {i}.\"\nsource = \"36kr\"\ndate = 2024-05-1{i}\n{pick}"
        ));
    }
    text.push('\n');
    text
}

const NEW_HERO: &str =
    "src = \"https://scout.eto.tech/static/newsletter/volume-12-hero.jpg\"\nalt = \"A fab.\"";
const OLD_HERO: &str =
    "src = \"https://scout.eto.tech/static/newsletter/volume-11-hero.jpg\"\nalt = \"A fab.\"";

#[test]
fn last_weeks_hero_image_or_link_is_an_error_unless_marked_reuse() {
    let project = Project::sample();
    let old_link = "url = \"https://scout.eto.tech/?pick=vidu-video\"";
    let new_link = "url = \"https://scout.eto.tech/?pick=fab-tour\"";
    project.write(NEXT, &next_volume(OLD_HERO, &[new_link, old_link]));
    let run = project.run(&["check", NEXT]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: the hero image is the one volume 11 (volumes/011.toml) had\n --> volumes/012.toml:8:7"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "error: pick 2 links to the same article as pick 2 of volume 11 (volumes/011.toml)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with("error: volumes/012.toml: 2 errors\n"));

    // Marked, both are deliberate.
    let reused = format!("{old_link}\nreuse = true");
    let hero = format!("{OLD_HERO}\nreuse = true");
    project.write(NEXT, &next_volume(&hero, &[new_link, &reused]));
    let run = project.run(&["check", NEXT]);
    assert_eq!(run.stderr, "volumes/012.toml: no problems\n");

    // The previous volume is the last one sent: a draft between does not count.
    let draft =
        next_volume(NEW_HERO, &[new_link]).replace("number = 12", "number = 12\ndraft = true");
    project.write(NEXT, &draft);
    let after_draft = next_volume(OLD_HERO, &[new_link]).replace("number = 12", "number = 13");
    project.write("volumes/013.toml", &after_draft);
    let run = project.run(&["check", "volumes/013.toml"]);
    assert!(
        run.stderr
            .contains("error: the hero image is the one volume 11 (volumes/011.toml) had"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_summary_longer_than_the_layouts_bound_warns_with_its_length() {
    let project = Project::sample();
    // 50 visible characters a time; the link target does not count.
    let long = "Fifty visible characters in one sentence, [linked]. ".repeat(9);
    let long = long.replace("[linked]", "[linked](https://scout.eto.tech/?pick=x)");
    project.edit(
        SAMPLE,
        "summary = \"Gauth, an AI education and tutoring app from Chinese company ByteDance, is growing increasingly popular overseas, particularly in the US and UK.\"",
        &format!("summary = \"{}\"", long.trim_end()),
    );
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.status, 0, "a warning only:\n{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: the summary of pick 13 is 449 characters; the layout expects at most 400"
        ),
        "{}",
        run.stderr
    );
    // The layout sets the bound.
    let layout = "layouts/scout/layout.toml";
    project.edit(layout, "summary_max = 400", "summary_max = 450");
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.stderr, "volumes/011.toml: no problems\n");
}

#[test]
fn a_pick_pasted_twice_is_an_error() {
    let project = Project::sample();
    let link = "url = \"https://scout.eto.tech/?pick=fab-tour\"";
    project.write(NEXT, &next_volume(NEW_HERO, &[link, link]));
    let run = project.run(&["check", NEXT]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: pick 2 links to the same URL as pick 1\n  --> volumes/012.toml:21:7")
            && run.stderr.contains("= note: a pick pasted twice?"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_older_pick_warns_until_marked_with_true_or_a_reason() {
    let project = Project::sample();
    let marked = "date = 2021-05-28\nolder = true";
    project.edit(SAMPLE, marked, "date = 2021-05-28");
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: pick 21 is dated 2021-05-28, before the volume's period (2024-04-12 to 2024-05-09)"
        ) && run.stderr.contains("mark the pick `older = true`"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("warning:").count(), 1);

    project.edit(
        SAMPLE,
        "date = 2021-05-28",
        "date = 2021-05-28\nolder = \"background for the energy picks\"",
    );
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.stderr, "volumes/011.toml: no problems\n");

    // A mark where none is needed is itself suspicious; a wrong kind of value is an error.
    project.edit(
        SAMPLE,
        "date = 2024-05-04",
        "date = 2024-05-04\nolder = true",
    );
    let run = project.run(&["check", SAMPLE]);
    assert!(
        run.stderr
            .contains("warning: pick 1 is marked `older` but is dated within the volume's period"),
        "{}",
        run.stderr
    );
    project.edit(
        SAMPLE,
        "date = 2024-05-04\nolder = true",
        "date = 2024-05-04\nolder = 2021",
    );
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("expected `true` or the reason as text"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_link_of_symbols_only_warns_unless_a_title_names_it() {
    let project = Project::sample();
    project.edit(
        SAMPLE,
        "[🔭](https://scout.eto.tech/ \"Scout\")",
        "[🔭](https://scout.eto.tech/)",
    );
    let run = project.run(&["check", SAMPLE]);
    assert_eq!(run.status, 0, "a warning only:\n{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: the link text `🔭` has no words\n  --> volumes/011.toml:19:1"),
        "{}",
        run.stderr
    );
    project.edit(
        SAMPLE,
        "[🔭](https://scout.eto.tech/)",
        "[→](https://scout.eto.tech/)",
    );
    let run = project.run(&["check", SAMPLE]);
    assert!(
        run.stderr
            .contains("warning: the link text `→` has no words"),
        "{}",
        run.stderr
    );
    // Titled, the link is named in the email for screen readers.
    project.edit(
        SAMPLE,
        "[→](https://scout.eto.tech/)",
        "[→](https://scout.eto.tech/ \"Scout\")",
    );
    let run = project.ok(&["build", SAMPLE]);
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
    let html = project.read("out/011/email.html");
    assert!(
        html.contains("title=\"Scout\" aria-label=\"Scout\" style=\"color: #0b67a3;\">→</a>"),
        "no labelled link in the email"
    );
}
