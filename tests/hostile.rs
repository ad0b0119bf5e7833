//! The hostile corpus (`tests/fixtures/hostile/*.toml`): inputs that once crashed the tool,
//! were wrongly accepted, or printed megabytes. Each case writes or edits files of a fresh
//! project, runs one command, and expects exit status 1 (never a crash: 101 is a panic,
//! 134 an abort such as a stack overflow) with a diagnostic at a file:line:column, bounded
//! output, no secret echoed, and nothing written to the project.

use std::path::Path;

use serde::Deserialize;

use crate::support::Project;
use crate::support::dispatching::SECRET;

/// Output beyond this for one run is a flood, whatever the input.
const MAX_STDERR: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    args: Vec<String>,
    /// Text the diagnostic must hold.
    expect: String,
    /// The start of the place the diagnostic must point at (`--> PLACE`).
    place: String,
    /// Text that must appear nowhere in the output (a secret).
    absent: Option<String>,
    #[serde(default)]
    write: Vec<Write>,
    #[serde(default)]
    edit: Vec<Edit>,
}

/// A file written whole, from pieces repeated a number of times.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Write {
    path: String,
    text: Vec<(String, usize)>,
}

/// The first occurrence of `from` in a project file replaced.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    path: String,
    from: String,
    to: Vec<(String, usize)>,
}

fn joined(pieces: &[(String, usize)]) -> String {
    pieces.iter().map(|(text, n)| text.repeat(*n)).collect()
}

/// What is wrong with the run of one case, if anything.
fn run_case(case: &Case) -> Option<String> {
    let project = Project::sample();
    for w in &case.write {
        project.write(&w.path, &joined(&w.text));
    }
    for e in &case.edit {
        project.edit(&e.path, &e.from, &joined(&e.to));
    }
    let before = project.files();
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let mut command = project.command(&args);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    let output = command.output().expect("run broadsheet");
    let status = output.status.code();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let after = project.files();
    let head: String = stderr.chars().take(2000).collect();
    let problem = if status != Some(1) {
        format!("exit status {status:?}")
    } else if !stderr.contains(&case.expect) {
        format!("no {:?}", case.expect)
    } else if !stderr.contains(&format!("--> {}", case.place)) {
        format!("no diagnostic at {}", case.place)
    } else if stderr.len() + stdout.len() > MAX_STDERR {
        format!("{} bytes of output", stderr.len() + stdout.len())
    } else if case
        .absent
        .as_ref()
        .is_some_and(|secret| stderr.contains(secret) || stdout.contains(secret))
    {
        "the secret was printed".to_owned()
    } else if before != after {
        "files were written".to_owned()
    } else {
        return None;
    };
    Some(format!("{problem}:\n{head}"))
}

#[test]
fn every_hostile_input_is_a_located_error_and_writes_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("list the hostile corpus")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "the corpus holds {} cases", names.len());
    let mut failures = Vec::new();
    for path in &names {
        let text = std::fs::read_to_string(path).expect("read a case");
        let case: Case =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(problem) = run_case(&case) {
            failures.push(format!("{}: {problem}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_running_preview_keeps_the_last_good_email_through_hostile_layouts() {
    use crate::support::preview::{Preview, eventually};
    use std::time::Duration;

    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    let (_, good) = preview.get("/email.html");
    let state = || -> serde_json::Value {
        let (_, body) = preview.get("/api/state");
        serde_json::from_slice(&body).expect("the state is JSON")
    };
    let template = "layouts/scout/email.mjml.hbs";
    let original = project.read(template);
    let deep = format!(
        "{}{}",
        "<mj-wrapper>".repeat(20_000),
        "</mj-wrapper>".repeat(20_000)
    );
    let breakages = [
        (
            vec![
                ("ping", "{{> pong}}".to_owned()),
                ("pong", "{{> ping}}".to_owned()),
            ],
            "partials include each other",
        ),
        (vec![("ping", deep)], "nests more than 100 elements deep"),
    ];
    for (partials, expected) in breakages {
        for (name, text) in &partials {
            project.write(&format!("layouts/scout/partials/{name}.mjml.hbs"), text);
        }
        let broken = original.replacen("{{> footer}}", "{{> footer}}{{> ping}}", 1);
        project.write(template, &broken);
        let reported = eventually(Duration::from_secs(20), || {
            let now = state();
            now["failed"] == true && now["diagnostics"].to_string().contains(expected)
        });
        assert!(reported, "{expected:?} not reported: {}", state());
        assert_eq!(
            preview.get("/email.html").1,
            good,
            "the last good email stays"
        );
        // Back to the good layout: the next rebuild succeeds.
        project.write(template, &original);
        for (name, _) in &partials {
            std::fs::remove_file(project.path(&format!("layouts/scout/partials/{name}.mjml.hbs")))
                .expect("remove a partial");
        }
        assert!(eventually(Duration::from_secs(20), || state()["failed"] == false));
    }
    assert_eq!(preview.interrupt(), Some(0), "the preview survived");
}
