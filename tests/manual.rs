//! `broadsheet completions` and `broadsheet man`, judged by the tools that read them: bash
//! parses the completion script and completes a command with it, and man renders the page.

use std::process::Command;

use crate::support::Project;
use crate::support::oracle::{run_ok, system_tool};

#[test]
fn the_bash_completion_script_parses_and_completes_commands() {
    let project = Project::empty();
    let script = project.ok(&["completions", "bash"]).stdout;
    project.write("broadsheet.bash", &script);
    let path = project.path("broadsheet.bash");
    let mut syntax = Command::new("bash");
    syntax.arg("-n").arg(&path);
    run_ok(syntax);
    // Completing `broadsheet dis` as bash does on Tab: the function `complete` registered
    // for the command, called with the words typed so far.
    let mut complete = Command::new("bash");
    complete.arg("-c").arg(format!(
        "source {}; f=$(complete -p broadsheet | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
         COMP_WORDS=(broadsheet dis); COMP_CWORD=1; COMP_LINE='broadsheet dis'; COMP_POINT=14; \
         \"$f\" broadsheet dis broadsheet; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    ));
    let offered = run_ok(complete);
    assert_eq!(
        offered.lines().collect::<Vec<_>>(),
        ["dispatch"],
        "{offered}"
    );
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    let project = Project::empty();
    for shell in ["zsh", "fish"] {
        let script = project.ok(&["completions", shell]).stdout;
        for command in ["init", "dispatch", "completions", "man"] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
    }
}

#[test]
fn the_manual_page_renders_with_man() {
    let project = Project::empty();
    let page = project.ok(&["man"]).stdout;
    project.write("broadsheet.1", &page);
    let mut man = system_tool("/usr/bin/man", "man-db");
    man.arg("-l")
        .arg(project.path("broadsheet.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80");
    let shown = crate::support::collapse(&run_ok(man));
    for text in [
        "NAME",
        "broadsheet - Compose",
        "SUBCOMMANDS",
        "dispatch",
        "init",
    ] {
        assert!(shown.contains(text), "no {text:?} in:\n{shown}");
    }
    assert!(!shown.contains(".TH"), "roff was rendered:\n{shown}");
}

#[test]
fn man_out_writes_a_page_per_command() {
    let project = Project::empty();
    let run = project.ok(&["man", "--out", "man"]);
    assert!(
        run.stdout.contains("man -l man/broadsheet.1"),
        "{}",
        run.stdout
    );
    for page in [
        "broadsheet.1",
        "broadsheet-init.1",
        "broadsheet-suppress-add.1",
    ] {
        assert!(project.path(&format!("man/{page}")).is_file(), "{page}");
    }
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let project = Project::empty();
    let shown = project.ok(&["--version"]).stdout;
    let version = env!("CARGO_PKG_VERSION");
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let expected = match head {
        Some(commit) => format!("broadsheet {version} ({commit})\n"),
        None => format!("broadsheet {version}\n"),
    };
    assert_eq!(shown, expected);
}
