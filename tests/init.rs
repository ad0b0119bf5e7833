//! `broadsheet init`, as a newsroom starting its own newsletter meets it: a project made in
//! an empty folder checks, builds, previews and proofs with no edit; init never touches an
//! existing project; the layout it writes passes the same email oracles as the scout layout;
//! and the shell completions and manual page come from the command line itself.

use std::process::{Command, Stdio};

use crate::support::dispatching::SECRET;
use crate::support::email::{self, outbox};
use crate::support::oracle::run_ok;
use crate::support::preview::Preview;
use crate::support::{Project, Run};

/// A project made by `broadsheet init` with `flags`, in an empty folder.
fn initialized(flags: &[&str]) -> Project {
    let project = Project::empty();
    let mut args = vec!["init"];
    args.extend_from_slice(flags);
    let run = project.ok(&args);
    assert!(run.stdout.contains("next steps:"), "{}", run.stdout);
    project
}

/// The plain layout's project, built: the email's HTML.
fn built_plain() -> (Project, String) {
    let project = initialized(&["--title", "The Weekly Wire"]);
    project.ok(&["build", "volumes/001.toml"]);
    let html = project.read("out/001/email.html");
    (project, html)
}

#[test]
fn a_new_project_checks_builds_previews_and_proofs_with_no_edit() {
    let project = initialized(&[]);
    for file in [
        "broadsheet.toml",
        "layouts/plain/layout.toml",
        "volumes/001.toml",
        "recipients.toml",
        ".gitignore",
    ] {
        assert!(project.path(file).is_file(), "{file} is missing");
    }
    let check = project.ok(&["check", "volumes/001.toml"]);
    assert_draft_to_finish(&check.stderr, false);
    let build = project.ok(&["build", "volumes/001.toml"]);
    assert!(
        build.stdout.starts_with("built volume 1 into out/001: ")
            && build.stdout.contains("; 4 warnings"),
        "{}",
        build.stdout
    );
    let proof = project.ok(&["proof", "volumes/001.toml"]);
    assert!(
        proof.stdout.contains("to newsletter@example.org"),
        "{}",
        proof.stdout
    );
    let sent = outbox(&project);
    assert_eq!(sent.keys().collect::<Vec<_>>(), ["newsletter@example.org"]);
    let preview = Preview::start(&project, "volumes/001.toml");
    assert_eq!(preview.get("/").0, 200);
    let (status, body) = preview.get("/email.html");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Welcome to"));
}

#[test]
fn the_gitignore_keeps_state_output_and_secrets_out() {
    let project = initialized(&["-y"]);
    let ignored = project.read(".gitignore");
    for line in [
        "/state/",
        "/out/",
        "/outbox/",
        "/recipients.toml",
        "*.pem",
        ".env",
    ] {
        assert!(ignored.lines().any(|l| l == line), "{line} in:\n{ignored}");
    }
}

#[test]
fn the_flags_fill_the_settings_the_layout_and_the_recipients() {
    let project = initialized(&[
        "--title",
        "The Weekly Wire",
        "--from",
        "editors@wire.example.net",
        "--address",
        "1 Press Row, Springfield",
    ]);
    let settings = project.read("broadsheet.toml");
    for line in [
        "from = \"editors@wire.example.net\"",
        "domain = \"wire.example.net\"",
        "list_id = \"the-weekly-wire.wire.example.net\"",
        "url = \"https://wire.example.net/unsubscribe/{token}\"",
    ] {
        assert!(settings.contains(line), "{line} in:\n{settings}");
    }
    let layout = project.read("layouts/plain/layout.toml");
    assert!(layout.contains("name = \"The Weekly Wire\""), "{layout}");
    assert!(layout.contains("address = \"1 Press Row, Springfield\""));
    assert!(
        project
            .read("recipients.toml")
            .contains("email = \"editors@wire.example.net\"\nsegments = [\"staff\"]")
    );
    project.ok(&["build", "volumes/001.toml"]);
    let text = project.read("out/001/email.txt");
    assert!(text.starts_with("The Weekly Wire\nVolume 1 · "), "{text}");
    assert!(text.contains("1 Press Row, Springfield"), "{text}");
}

#[test]
fn an_international_domain_is_written_in_punycode_and_an_accented_title_keeps_its_letters() {
    let project = initialized(&[
        "--title",
        "L'Écho — Édition",
        "--from",
        "redaction@BÜcher.example",
    ]);
    let settings = project.read("broadsheet.toml");
    for line in [
        "from = \"redaction@xn--bcher-kva.example\"",
        "domain = \"xn--bcher-kva.example\"",
        "list_id = \"l-echo-edition.xn--bcher-kva.example\"",
    ] {
        assert!(settings.contains(line), "{line} in:\n{settings}");
    }
    assert!(
        project
            .read("recipients.toml")
            .contains("email = \"redaction@xn--bcher-kva.example\"")
    );
    project.ok(&["check", "volumes/001.toml"]);
    project.ok(&["proof", "volumes/001.toml"]);
}

#[test]
fn a_folder_with_a_project_is_refused_and_left_as_it_was() {
    let project = Project::sample();
    let before = project.files();
    let run = project.run(&["init", "--title", "Another"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("already holds a broadsheet project")
            && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(project.files(), before, "nothing changed");
}

#[test]
fn a_bad_flag_is_named_and_nothing_is_written() {
    let project = Project::empty();
    let run = project.run(&["init", "--from", "not an address"]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("`not an address`"), "{}", run.stderr);
    assert!(project.files().is_empty());
}

#[test]
fn on_a_terminal_init_asks_and_asks_again_after_a_bad_answer() {
    let project = Project::empty();
    // `script` runs init on a pseudo-terminal, its input typed line by line.
    let answers = "The Daily Dial\nnot-an-address\ndesk@dial.example.org\n\nscout\n2 Dial Lane\n";
    let binary = env!("CARGO_BIN_EXE_broadsheet");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &format!("{binary} init"), "/dev/null"])
        .current_dir(project.root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), answers.as_bytes()).unwrap();
    let run = Run::from(child.wait_with_output().expect("init ends"));
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("The newsletter's name ["),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("`not-an-address` has no `@`"),
        "{}",
        run.stdout
    );
    let settings = project.read("broadsheet.toml");
    assert!(
        settings.contains("from = \"desk@dial.example.org\""),
        "{settings}"
    );
    assert!(
        settings.contains("domain = \"dial.example.org\""),
        "{settings}"
    );
    assert!(settings.contains("layout = \"scout\""), "{settings}");
    assert!(
        project
            .read("layouts/scout/layout.toml")
            .contains("2 Dial Lane")
    );
}

#[test]
fn the_scout_design_builds_for_a_newsroom_without_a_logo() {
    let project = initialized(&["--layout", "scout", "--title", "The Scout Copy"]);
    let check = project.ok(&["check", "volumes/001.toml"]);
    assert_draft_to_finish(&check.stderr, false);
    project.ok(&["build", "volumes/001.toml"]);
    let html = project.read("out/001/email.html");
    assert!(
        !html.contains("eto.tech"),
        "no trace of the sample's newsroom"
    );
    let text = crate::support::html_text(&html);
    assert!(
        text.contains("The Scout Copy The Scout Copy: volume 1"),
        "the newsroom's name stands where the logo would: {text}"
    );
}

#[test]
fn the_plain_layout_passes_the_reference_mjml_compiler_in_strict_validation() {
    let (project, _) = built_plain();
    email::assert_strict_mjml(&project.path("out/001/email.mjml"));
}

#[test]
fn the_plain_layout_passes_html_validate_with_an_email_profile() {
    let (project, _) = built_plain();
    email::assert_valid_email_html(&project.path("out/001/email.html"));
}

#[test]
fn the_plain_layouts_unsupported_features_per_client_are_known() {
    let (project, _) = built_plain();
    insta::assert_snapshot!(
        "caniemail_plain",
        email::caniemail(&project.path("out/001/email.html"))
    );
}

#[test]
fn the_plain_layout_keeps_its_shape_without_styles_and_fits_a_phone() {
    let (project, _) = built_plain();
    email::assert_shape_without_styles(&project, "out/001/email.html", "plain");
    let url = format!("file://{}", project.path("out/001/email.html").display());
    email::assert_fits_a_phone(&url);
}

#[test]
fn the_plain_layout_takes_its_dark_colours_in_dark_mode() {
    let (project, _) = built_plain();
    email::assert_dark_mode(&project, "out/001/email.html", "plain");
}

#[test]
fn the_plain_layouts_preheader_is_padded_and_dark_mode_declared() {
    let (_, html) = built_plain();
    let preheader = "What to expect every week, and three picks to start with.";
    email::assert_padded_preheader(&html, preheader, "The Weekly Wire");
}

#[test]
fn spamassassin_finds_nothing_in_a_message_the_plain_layout_dispatched() {
    let project = initialized(&["--title", "The Weekly Wire", "--address", "1 Press Row"]);
    project.edit("volumes/001.toml", "draft = true\n", "");
    // The picks link real stories by then, not the sample's example.org.
    let volume = project.read("volumes/001.toml");
    project.write(
        "volumes/001.toml",
        &volume.replace("https://example.org/", "https://weekly-wire.news/"),
    );
    let recipients = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!(
            "{recipients}\n[[recipients]]\nemail = \"ana@example.net\"\ngreeting = \"Ana\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    let mut command = project.command(&[
        "dispatch",
        "volumes/001.toml",
        "--segment",
        "subscribers",
        "--yes",
        "--expect",
        "1",
    ]);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    run_ok(command);
    let messages = outbox(&project);
    assert_eq!(messages.keys().collect::<Vec<_>>(), ["ana@example.net"]);
    email::assert_no_spam_rules(&project, &messages);
}

/// `check`'s output on the draft init writes: no error, and a warning for each thing left to
/// fill in: the three sample links and, unless `--address` gave it, the postal address.
fn assert_draft_to_finish(stderr: &str, address_given: bool) {
    let headings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:") || l.starts_with("error:"))
        .collect();
    let link = "warning: `url` links to example.org, a name reserved for examples";
    let mut expected = vec![link; 3];
    if !address_given {
        expected.insert(
            0,
            "warning: the layout's postal address (`address` under `[footer]`) is empty",
        );
    }
    assert_eq!(headings, expected, "{stderr}");
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("volumes/001.toml: {} warnings", expected.len()),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "note: volumes/001.toml is a draft: its placeholders and missing picks are warnings \
             until `draft = true` is removed (`--strict` makes them errors now)"
        ),
        "{stderr}"
    );
}

#[test]
fn an_empty_postal_address_and_the_sample_links_are_errors_once_the_draft_is_done() {
    let project = initialized(&["--address", "1 Press Row"]);
    let check = project.ok(&["check", "volumes/001.toml"]);
    assert_draft_to_finish(&check.stderr, true);

    project.edit("layouts/plain/layout.toml", "\"1 Press Row\"", "\"\"");
    project.edit("volumes/001.toml", "draft = true\n", "");
    let check = project.run(&["check", "volumes/001.toml"]);
    assert_eq!(check.status, 1, "{}", check.stderr);
    let line = project
        .read("layouts/plain/layout.toml")
        .lines()
        .position(|l| l == "address = \"\"")
        .expect("the address line")
        + 1;
    assert!(
        check.stderr.contains(&format!(
            "error: the layout's postal address (`address` under `[footer]`) is empty\n  \
             --> layouts/plain/layout.toml:{line}:11"
        )),
        "{}",
        check.stderr
    );
    let link = "error: `url` links to example.org, a name reserved for examples";
    assert_eq!(check.stderr.matches(link).count(), 3, "{}", check.stderr);
    assert!(
        check.stderr.contains(
            "  --> volumes/001.toml:28:7\n   |\n28 | url = \"https://example.org/first-story\""
        ),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stderr
            .ends_with("error: volumes/001.toml: 4 errors\n"),
        "{}",
        check.stderr
    );
}

#[test]
fn the_plain_layout_shows_the_year_of_a_pick_from_another_year() {
    let project = initialized(&[]);
    let volume = project.read("volumes/001.toml");
    let first_date = volume
        .lines()
        .find(|l| l.starts_with("date = "))
        .expect("a pick's date");
    project.edit(
        "volumes/001.toml",
        first_date,
        "date = 2021-03-02\nolder = true",
    );
    project.ok(&["build", "volumes/001.toml"]);
    let text = project.read("out/001/email.txt");
    let html = project.read("out/001/email.html");
    for (part, contents) in [("text", &text), ("html", &html)] {
        assert!(contents.contains("Mar 2, 2021)"), "{part}: {contents}");
    }
    assert!(
        !text.contains("Mar 2)"),
        "the short form hides the year: {text}"
    );
}

#[test]
fn the_recipients_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let project = initialized(&[]);
    let mode = std::fs::metadata(project.path("recipients.toml"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "it holds personal data");
}
