//! Drafts (`draft = true`): `archive` leaves them out, even broken ones, and writes the
//! other volumes; `dispatch` refuses them and sends nothing; `plan` and `proof` work on
//! them.

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::{SECRET, dispatch_command};

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
    let proof = crate::support::Run::from(proof.output().expect("run proof"));
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    let proofs = outbox_count(&project);
    assert!(proofs > 0, "proof sends test copies of a draft");

    let dispatch = |project: &Project| {
        let mut command = dispatch_command(project, &["--yes", "--expect", "2"]);
        crate::support::Run::from(command.output().expect("run dispatch"))
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
