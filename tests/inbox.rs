//! The email as inboxes see it, judged by independent tools: SpamAssassin on a dispatched
//! message, the reference MJML compiler's strict validation, html-validate, caniemail's
//! per-client support, and Chromium rendering the email with every `<style>` removed (as
//! Gmail does for non-Google accounts). Also the greeting, which must never fall back to a
//! display name.

use std::collections::BTreeMap;

use mail_parser::MessageParser;
use serde_json::{Value, json};

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::{SECRET, dispatch_command};
use crate::support::oracle::{node_script, npm_bin, run_ok, system_tool};
use crate::support::webdriver::Browser;

/// Rules SpamAssassin reports for any message that did not come through a relay.
const NO_RELAY_RULES: [&str; 3] = ["HTML_MESSAGE", "NO_RECEIVED", "NO_RELAYS"];

fn built(project: &Project) -> String {
    project.ok(&["build", "volumes/011.toml"]);
    project.read("out/011/email.html")
}

/// Each `.eml` the outbox transport wrote, by recipient address.
fn outbox(project: &Project) -> BTreeMap<String, Vec<u8>> {
    let mut messages = BTreeMap::new();
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox exists") {
        let path = entry.expect("outbox entry").path();
        if path.extension().is_some_and(|e| e == "eml") {
            let raw = std::fs::read(&path).expect("read .eml");
            let parsed = MessageParser::default().parse(&raw).expect("parses");
            let to = parsed
                .to()
                .and_then(|t| t.first())
                .and_then(|a| a.address())
                .expect("a To address")
                .to_owned();
            messages.insert(to, raw);
        }
    }
    messages
}

/// The score and the rules of SpamAssassin's report (`-t`, local tests only).
fn spamassassin(project: &Project, message: &[u8]) -> (f64, Vec<String>) {
    let path = project.path("message.eml");
    std::fs::write(&path, message).expect("write the message");
    let mut command = system_tool("/usr/bin/spamassassin", "spamassassin");
    command
        .args(["-t", "-L", "-p"])
        .arg(project.path("user_prefs"))
        .stdin(std::fs::File::open(&path).expect("open the message"));
    let report = run_ok(command);
    let details = report
        .split_once("Content analysis details:")
        .unwrap_or_else(|| panic!("no SpamAssassin report in:\n{report}"))
        .1;
    let score = details
        .trim_start()
        .trim_start_matches('(')
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in:\n{details}"));
    let rules = details
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.next()?.parse::<f64>().ok()?;
            words.next().map(str::to_owned)
        })
        .collect();
    (score, rules)
}

#[test]
fn spamassassin_finds_nothing_in_a_dispatched_message() {
    let project = with_recipients();
    let dispatch = dispatch_command(&project, &["--yes", "--expect", "2"]);
    run_ok(dispatch);
    let messages = outbox(&project);
    assert_eq!(messages.len(), 2, "{:?}", messages.keys());
    for (to, raw) in &messages {
        let (score, rules) = spamassassin(&project, raw);
        let unexpected: Vec<&String> = rules
            .iter()
            .filter(|r| !NO_RELAY_RULES.contains(&r.as_str()))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{to}: SpamAssassin rules {unexpected:?}"
        );
        assert!(score <= 0.0, "{to}: SpamAssassin score {score}");
    }
}

#[test]
fn the_reference_mjml_compiler_accepts_the_mjml_in_strict_validation() {
    let project = Project::sample();
    built(&project);
    let mut mjml = npm_bin("mjml");
    mjml.arg("--validate")
        .arg(project.path("out/011/email.mjml"))
        .arg("--config.validationLevel=strict");
    run_ok(mjml);
}

/// html-validate's recommended rules, less those that email HTML breaks on purpose
/// (`tests/fixtures/html-validate.json`): inline styles (all that some clients keep),
/// conditional comments and table attributes such as `cellpadding` and `bgcolor` (what
/// Outlook reads), a title longer than 70 characters (it is the subject), `role="article"`
/// (the accessible-email convention, since clients strip `<article>`) and `height="auto"`
/// on images (mrml writes it for Outlook).
#[test]
fn html_validate_finds_no_error_with_an_email_profile() {
    let project = Project::sample();
    built(&project);
    let mut validate = npm_bin("html-validate");
    validate
        .arg("--config")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/html-validate.json"
        ))
        .arg(project.path("out/011/email.html"));
    run_ok(validate);
}

#[test]
fn caniemail_unsupported_features_per_client_are_known() {
    let project = Project::sample();
    built(&project);
    let mut check = node_script("caniemail.mjs");
    check.arg(project.path("out/011/email.html"));
    insta::assert_snapshot!("caniemail", run_ok(check));
}

/// What Chromium computes for the shapes that matter: the headline's font size and line
/// height, the lists' left padding and their items' left margin, and the colours links are
/// drawn in.
fn shapes(browser: &Browser, url: &str) -> Value {
    browser.goto(url);
    browser.eval(
        "const style = e => getComputedStyle(e);
         const h1 = style(document.querySelector('h1'));
         return {
           styles: document.querySelectorAll('style').length,
           headline: [parseFloat(h1.fontSize), parseFloat(h1.lineHeight)],
           lists: [...new Set([...document.querySelectorAll('ul')].map(u => style(u).paddingLeft))],
           items: [...new Set([...document.querySelectorAll('li')].map(li => style(li).marginLeft))],
           links: [...new Set([...document.querySelectorAll('a')].map(a => style(a).color))],
         };",
    )
}

/// `html` with every `<style>` element removed, including those in conditional comments.
fn without_styles(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<style") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("</style>")
            .expect("every <style> closes");
        rest = &rest[start + end + "</style>".len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn with_every_style_removed_the_email_keeps_its_shape() {
    let project = Project::sample();
    let html = built(&project);
    project.write("out/011/stripped.html", &without_styles(&html));
    let browser = Browser::start(600, 1000, false);
    let url = |name: &str| format!("file://{}", project.path(name).display());
    let designed = shapes(&browser, &url("out/011/email.html"));
    let stripped = shapes(&browser, &url("out/011/stripped.html"));
    assert_eq!(stripped["styles"], json!(0), "{stripped}");
    let [size, height] = [0, 1].map(|i| stripped["headline"][i].as_f64().unwrap());
    assert!(height >= size, "the headline's lines overlap: {stripped}");
    assert_eq!(
        stripped["lists"],
        json!(["20px"]),
        "list indent: {stripped}"
    );
    assert_eq!(
        stripped["links"],
        json!(["rgb(11, 103, 163)"]),
        "link colour: {stripped}"
    );
    for shape in ["headline", "lists", "items", "links"] {
        assert_eq!(stripped[shape], designed[shape], "{shape} as designed");
    }
}

#[test]
fn dark_mode_gives_the_page_cards_text_and_links_dark_colours() {
    let project = Project::sample();
    built(&project);
    let url = format!("file://{}", project.path("out/011/email.html").display());
    let colours = |browser: &Browser| {
        browser.goto(&url);
        browser.eval(
            "const style = s => getComputedStyle(document.querySelector(s));
             return [
               style('body').backgroundColor,
               style('.bs-card > table').backgroundColor,
               style('.bs-panel > table > tbody > tr > td').backgroundColor,
               style('h1').color,
               style('li a').color,
             ];",
        )
    };
    let light = colours(&Browser::start(600, 1000, false));
    let browser = Browser::start(600, 1000, false);
    browser.prefer_dark();
    let dark = colours(&browser);
    let rgb = |hex: &str| {
        let n = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
        format!("rgb({}, {}, {})", n(1), n(3), n(5))
    };
    let layout = project.read("layouts/scout/layout.toml");
    let colour = |name: &str| {
        let line = layout
            .lines()
            .find(|l| l.starts_with(&format!("{name} = ")))
            .unwrap_or_else(|| panic!("no colour {name}"));
        rgb(line.split('"').nth(1).unwrap())
    };
    let expect = |names: [&str; 5]| json!(names.map(colour));
    assert_eq!(light, expect(["page", "card", "panel", "text", "link"]));
    assert_eq!(
        dark,
        expect([
            "dark_page",
            "dark_card",
            "dark_panel",
            "dark_text",
            "dark_link"
        ])
    );
}

#[test]
fn the_preheader_is_padded_and_dark_mode_declared() {
    let project = Project::sample();
    let html = built(&project);
    let body = &html[html.find("<body").expect("a body")..];
    let preheader = "with a CSET expert view on chip subsidies.";
    let after = &body[body.find(preheader).expect("the preheader in the body") + preheader.len()..];
    let before_view = &after[..after.find("View in browser").expect("the view link")];
    let padding = before_view
        .chars()
        .filter(|c| ['\u{34f}', '\u{200c}', '\u{a0}'].contains(c))
        .count()
        + before_view.matches("&nbsp;").count();
    assert!(
        padding >= 200,
        "{padding} padding characters after the preheader"
    );
    let hidden = &body[body
        .find("<div style=\"display:none")
        .expect("a hidden preheader")..];
    let style = &hidden[..hidden.find('>').expect("a tag ends")];
    assert!(
        !style.contains("color"),
        "no white-on-white preheader: {style}"
    );
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    assert!(html.contains("@media (prefers-color-scheme: dark)"));
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
