//! The email as inboxes see it, judged by independent tools: SpamAssassin on a dispatched
//! message, the reference MJML compiler's strict validation, html-validate, caniemail's
//! per-client support, and Chromium rendering the email with every `<style>` removed (as
//! Gmail does for non-Google accounts). Also the greeting, which must never fall back to a
//! display name.

use mail_parser::MessageParser;

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::{SECRET, dispatch_command};
use crate::support::email::{self, outbox};
use crate::support::oracle::run_ok;

fn built(project: &Project) -> String {
    project.ok(&["build", "volumes/011.toml"]);
    project.read("out/011/email.html")
}

#[test]
fn spamassassin_finds_nothing_in_a_dispatched_message() {
    let project = with_recipients();
    let dispatch = dispatch_command(&project, &["--yes", "--expect", "2"]);
    run_ok(dispatch);
    let messages = outbox(&project);
    assert_eq!(messages.len(), 2, "{:?}", messages.keys());
    email::assert_no_spam_rules(&project, &messages);
}

#[test]
fn the_reference_mjml_compiler_accepts_the_mjml_in_strict_validation() {
    let project = Project::sample();
    built(&project);
    email::assert_strict_mjml(&project.path("out/011/email.mjml"));
}

#[test]
fn html_validate_finds_no_error_with_an_email_profile() {
    let project = Project::sample();
    built(&project);
    email::assert_valid_email_html(&project.path("out/011/email.html"));
}

#[test]
fn caniemail_unsupported_features_per_client_are_known() {
    let project = Project::sample();
    built(&project);
    insta::assert_snapshot!(
        "caniemail",
        email::caniemail(&project.path("out/011/email.html"))
    );
}

#[test]
fn with_every_style_removed_the_email_keeps_its_shape() {
    let project = Project::sample();
    built(&project);
    email::assert_shape_without_styles(&project, "out/011/email.html", "scout");
}

#[test]
fn dark_mode_gives_the_page_cards_text_and_links_dark_colours() {
    let project = Project::sample();
    built(&project);
    email::assert_dark_mode(&project, "out/011/email.html", "scout");
}

#[test]
fn the_preheader_is_padded_and_dark_mode_declared() {
    let project = Project::sample();
    let html = built(&project);
    let preheader = "with a CSET expert view on chip subsidies.";
    email::assert_padded_preheader(&html, preheader, "View in browser");
}

#[test]
fn the_expert_view_names_its_author_and_role() {
    let project = Project::sample();
    let html = built(&project);
    project.ok(&["archive"]);
    let byline = "Ngor Luong, CSET Senior Research Analyst";
    for (part, text) in [
        ("HTML part", crate::support::html_text(&html)),
        (
            "text part",
            crate::support::collapse(&project.read("out/011/email.txt")),
        ),
        (
            "web page",
            crate::support::html_text(&project.read("out/archive/011.html")),
        ),
    ] {
        assert!(text.contains(byline), "the {part} lacks {byline:?}");
    }
}

#[test]
fn greetings_come_from_the_greeting_field_never_the_display_name() {
    let project = with_recipients();
    project.write(
        "recipients/staff.csv",
        "email,name,greeting,segments,topics\nquinn@example.org,\"Zhang, Quinn\",Quinn,staff,\n",
    );
    let recipients = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!("{recipients}\n[[imports]]\npath = \"recipients/staff.csv\"\n"),
    );
    let mut proof = project.command(&["proof", "volumes/011.toml"]);
    proof.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    run_ok(proof);
    let messages = outbox(&project);
    let parts = |to: &str| {
        let raw = messages
            .get(to)
            .unwrap_or_else(|| panic!("no copy for {to}"));
        let parsed = MessageParser::default().parse(raw.as_slice()).unwrap();
        let text = parsed.body_text(0).unwrap().into_owned();
        (
            text,
            crate::support::html_text(&parsed.body_html(0).unwrap()),
        )
    };
    let (text, html) = parts("quinn@example.org");
    assert!(
        text.lines().any(|l| l.trim_end() == "Hi Quinn,") && html.contains("Hi Quinn,"),
        "{text}"
    );
    for to in ["editor@example.org", "editors@eto.tech"] {
        let (text, html) = parts(to);
        assert!(
            !text.contains("Hi ") && !html.contains("Hi "),
            "{to} has no greeting, so the email greets nobody"
        );
    }
}

/// The text part is wrapped at 76 columns, so quoted-printable breaks no plain ASCII line
/// (lines with other characters grow when escaped, and a URL is never broken).
#[test]
fn ascii_text_lines_go_out_without_soft_line_breaks() {
    let project = with_recipients();
    let mut proof = project.command(&["proof", "volumes/011.toml", "--to", "me@example.org"]);
    proof.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    run_ok(proof);
    let raw = String::from_utf8(outbox(&project).remove("me@example.org").expect("a copy"))
        .expect("the message is ASCII");
    let text_part = raw
        .split("Content-Type: text/plain; charset=utf-8\r\n")
        .nth(1)
        .and_then(|p| p.split_once("\r\n\r\n"))
        .expect("a text part")
        .1
        .split("\r\n--=_")
        .next()
        .unwrap();
    assert!(raw.contains("Content-Transfer-Encoding: quoted-printable\r\n\r\nEditors'"));
    let mut logical = String::new();
    let mut broken = Vec::new();
    for line in text_part.split("\r\n") {
        assert!(line.len() <= 76, "{line:?}");
        match line.strip_suffix('=') {
            Some(start) => {
                logical.push_str(start);
                broken.push(line);
            }
            None => {
                logical.push_str(line);
                let non_ascii = ["=C", "=D", "=E", "=F"].iter().any(|e| logical.contains(e));
                let long_word = logical.split(' ').any(|w| w.len() > 60);
                // The per-recipient splice puts a soft break on each side of its slot.
                let spliced = logical.contains("https://scout.eto.tech/unsubscribe/proof");
                assert!(
                    broken.is_empty() || non_ascii || long_word || spliced,
                    "an ASCII line was soft-broken: {broken:?}"
                );
                logical.clear();
                broken.clear();
            }
        }
    }
}
