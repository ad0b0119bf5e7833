//! The repository's own sample project (`broadsheet.toml`, `volumes/`, `layouts/` at the
//! root), which editors change: every volume that is not a draft still checks without an
//! error and builds. This is the one test that reads the live project, by design; the
//! others use `tests/fixtures/project`.

use crate::support::Project;

/// Whether volume text says `draft = true` before its first table.
fn is_draft(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with('['))
        .any(|line| {
            line.split('#').next().map(str::trim).is_some_and(|l| {
                l.split_once('=')
                    .is_some_and(|(k, v)| k.trim() == "draft" && v.trim() == "true")
            })
        })
}

#[test]
fn the_repository_sample_volumes_that_are_not_drafts_check_and_build() {
    let project = Project::repository_sample();
    let mut volumes: Vec<String> = std::fs::read_dir(project.path("volumes"))
        .expect("list the sample's volumes")
        .map(|e| {
            e.expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".toml"))
        .map(|name| format!("volumes/{name}"))
        .collect();
    volumes.sort();
    let published: Vec<&String> = volumes
        .iter()
        .filter(|v| !is_draft(&project.read(v)))
        .collect();
    assert!(
        !published.is_empty(),
        "the sample has a volume that is not a draft"
    );
    for volume in published {
        let check = project.run(&["check", volume]);
        assert_eq!(check.status, 0, "{volume}:\n{}", check.stderr);
        assert!(
            !check.stderr.contains("error"),
            "{volume}:\n{}",
            check.stderr
        );
        project.ok(&["build", volume]);
    }
}

#[test]
fn drafts_are_recognised() {
    assert!(is_draft(
        "number = 12\ndraft = true  # until Friday\n[hero]\n"
    ));
    assert!(!is_draft("number = 12\n[hero]\ndraft = true\n"));
    assert!(!is_draft("number = 12\ndraft = false\n"));
}
