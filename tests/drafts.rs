//! Drafts (`draft = true`): placeholders and missing picks are warnings (errors with
//! `--strict` or once the mark is gone) and `preview` shows them as stand-ins from the first
//! save; `archive` leaves drafts out, even broken ones, and writes the other volumes;
//! `dispatch` refuses them and sends nothing; `plan` and `proof` work on them.

use serde_json::Value;

use crate::recipients::with_recipients;
use crate::support::dispatching::{SECRET, dispatch_command};
use crate::support::preview::Preview;
use crate::support::webdriver::Browser;
use crate::support::{Project, Run, axe};

const NEW: &str = "volumes/012.toml";

const VOLUME: &str = "volumes/011.toml";

/// Marks the sample volume as a draft.
fn draft(project: &Project) {
    project.edit(VOLUME, "number = 11\n", "number = 11\ndraft = true\n");
}

/// How many messages the outbox holds.
fn outbox_count(project: &Project) -> usize {
    std::fs::read_dir(project.path("outbox")).map_or(0, |dir| {
        dir.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}

#[test]
fn archive_leaves_out_drafts_even_broken_ones_and_names_them() {
    let project = Project::sample();
    project.ok(&["new"]);
    // A half-written draft with a syntax error must not hold back the sent volume's page.
    let scaffold = project.read("volumes/012.toml");
    project.write(
        "volumes/012.toml",
        &format!("{scaffold}\nsource = \"36kr\n"),
    );
    let run = project.ok(&["archive"]);
    assert!(
        run.stderr
            .contains("note: left out 1 draft: volumes/012.toml"),
        "{}",
        run.stderr
    );
    let archive = project.path("out/archive");
    assert!(archive.join("011.html").is_file());
    assert!(!archive.join("012.html").exists());
    let index = project.read("out/archive/index.html");
    let feed = project.read("out/archive/feed.xml");
    assert!(index.contains("011.html") && !index.contains("012.html"));
    assert!(feed.contains("011.html") && !feed.contains("012.html"));
}

#[test]
fn archive_of_drafts_only_says_so() {
    let project = Project::sample();
    draft(&project);
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("every volume is a draft"),
        "{}",
        run.stderr
    );
    assert!(!project.path("out").exists());
}

#[test]
fn dispatch_refuses_a_draft_and_sends_nothing_while_plan_and_proof_work() {
    let project = with_recipients();
    draft(&project);
    let plan = project.ok(&["plan", VOLUME, "--segment", "subscribers"]);
    assert!(plan.stdout.contains("subscribers"), "{}", plan.stdout);
    let mut proof = project.command(&["proof", VOLUME]);
    proof.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    let proof = Run::from(proof.output().expect("run proof"));
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    let proofs = outbox_count(&project);
    assert!(proofs > 0, "proof sends test copies of a draft");

    let dispatch = |project: &Project| {
        let mut command = dispatch_command(project, &["--yes", "--expect", "2"]);
        Run::from(command.output().expect("run dispatch"))
    };
    let refused = dispatch(&project);
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error: this volume is a draft\n")
            && refused.stderr.contains("--> volumes/011.toml:9:9")
            && refused.stderr.contains("a draft; nothing sent"),
        "{}",
        refused.stderr
    );
    assert_eq!(outbox_count(&project), proofs, "nothing sent");
    let status = project.ok(&["status", VOLUME]);
    assert!(
        status.stdout.contains("has not been dispatched"),
        "{}",
        status.stdout
    );

    // The same volume without the mark goes out.
    project.edit(VOLUME, "draft = true\n", "");
    let sent = dispatch(&project);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    assert_eq!(outbox_count(&project), proofs + 2);
}

#[test]
fn a_drafts_placeholders_are_warnings_until_strict_or_no_longer_a_draft() {
    let project = Project::sample();
    project.ok(&["new"]);
    let lenient = project.run(&["check", NEW]);
    assert_eq!(lenient.status, 0, "{}", lenient.stderr);
    let placeholders = lenient
        .stderr
        .matches("still holds the placeholder `TK`")
        .count();
    assert_eq!(placeholders, 8, "{}", lenient.stderr);
    assert!(
        lenient.stderr.contains("note: volumes/012.toml is a draft")
            && lenient.stderr.ends_with("volumes/012.toml: 9 warnings\n"),
        "{}",
        lenient.stderr
    );
    let strict = project.run(&["check", "--strict", NEW]);
    assert_eq!(strict.status, 1);
    assert!(
        strict
            .stderr
            .ends_with("error: volumes/012.toml: 9 errors\n"),
        "{}",
        strict.stderr
    );
    project.edit(NEW, "draft = true\n", "");
    let finished = project.run(&["check", NEW]);
    assert_eq!(finished.status, 1);
    let errors = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        errors(&finished.stderr),
        errors(&strict.stderr),
        "no longer a draft: as strict"
    );
}

#[test]
fn a_new_draft_previews_its_placeholders_from_the_first_save() {
    let project = Project::sample();
    project.ok(&["new"]);
    let preview = Preview::start(&project, NEW);
    let (status, body) = preview.get("/email.html");
    let html = String::from_utf8(body).expect("UTF-8 HTML");
    assert_eq!(status, 200, "{html}");
    for placeholder in [
        ">TK</h1>",
        "Hero%20image:%20TK",
        "pick 1 goes here",
        "pick 7 goes here",
        "CSET Expert View",
    ] {
        assert!(html.contains(placeholder), "no {placeholder:?} in\n{html}");
    }
    let (_, state) = preview.get("/api/state");
    let state: Value = serde_json::from_slice(&state).expect("state JSON");
    assert_eq!(state["failed"], Value::Bool(false), "{state}");
    let severities: Vec<&str> = state["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["severity"].as_str())
        .collect();
    assert_eq!(severities, ["warning"; 9], "{state}");

    // Stand-ins are no excuse for an email some readers cannot use.
    let email_url = format!("{}email.html", preview.url);
    let serious = axe::serious(&axe::audit(&email_url));
    assert!(serious.is_empty(), "axe-core:\n{serious}");

    let browser = Browser::start(600, 1000, false);
    browser.goto(&email_url);
    let text = browser.eval("return document.body.innerText;");
    assert!(
        text.as_str()
            .is_some_and(|t| t.contains("pick 1 goes here")),
        "{text}"
    );
    let stats = browser.picture_stats(&browser.screenshot());
    let (pixels, ink) = (stats["pixels"].as_u64(), stats["ink"].as_u64());
    assert_eq!(pixels, Some(600 * 1000), "{stats}");
    // The hero stand-in alone covers a fifth of the viewport; text adds many shades.
    assert!(
        ink.is_some_and(|ink| ink > 600 * 1000 / 10) && stats["colours"].as_u64() > Some(50),
        "a blank screenshot: {stats}"
    );
}

#[test]
fn dispatch_refuses_a_new_draft_full_of_placeholders() {
    let project = with_recipients();
    project.ok(&["new"]);
    let mut command = project.command(&[
        "dispatch",
        NEW,
        "--segment",
        "subscribers",
        "--yes",
        "--expect",
        "2",
    ]);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    let refused = Run::from(command.output().expect("run dispatch"));
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error: this volume is a draft\n")
            && refused.stderr.contains("a draft; nothing sent"),
        "{}",
        refused.stderr
    );
    assert_eq!(outbox_count(&project), 0, "nothing sent");
}

#[test]
fn a_draft_with_placeholders_is_never_proofed_to_people() {
    let project = Project::sample();
    project.ok(&["new"]);
    let proof = project.run(&["proof", NEW, "--to", "you@example.org"]);
    assert_eq!(proof.status, 1, "{}", proof.stderr);
    assert!(
        proof.stderr.contains("still holds the placeholder `TK`")
            && proof.stderr.contains("error: volumes/012.toml"),
        "{}",
        proof.stderr
    );
    assert_eq!(outbox_count(&project), 0, "nothing sent");
}
