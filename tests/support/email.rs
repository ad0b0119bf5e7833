//! The email oracles, for any project and layout: SpamAssassin on a sent message, the
//! reference MJML compiler's strict validation, html-validate with an email profile,
//! caniemail's per-client support, and Chromium rendering the email with every `<style>`
//! removed and in dark mode. `tests/inbox.rs` runs them on the scout layout and
//! `tests/init.rs` on the layout `broadsheet init` writes.

use std::collections::BTreeMap;
use std::path::Path;

use mail_parser::MessageParser;
use serde_json::{Value, json};

use super::Project;
use super::oracle::{node_script, npm_bin, run_ok, system_tool};
use super::webdriver::Browser;

/// Rules SpamAssassin reports for any message that did not come through a relay.
const NO_RELAY_RULES: [&str; 3] = ["HTML_MESSAGE", "NO_RECEIVED", "NO_RELAYS"];

/// The rule that says the message is a mailing list's (List-Id, List-Unsubscribe and
/// List-Post): a `nice` rule, which scores below zero.
const LIST_RULE: &str = "MAILING_LIST_MULTI";

/// Each `.eml` the outbox transport wrote, by recipient address.
pub fn outbox(project: &Project) -> BTreeMap<String, Vec<u8>> {
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

/// SpamAssassin finds no rule beyond the no-relay ones and the mailing list's, and a score
/// of at most 0, in each of `messages` (by recipient).
pub fn assert_no_spam_rules(project: &Project, messages: &BTreeMap<String, Vec<u8>>) {
    assert!(!messages.is_empty(), "no message to judge");
    for (to, raw) in messages {
        let (score, rules) = spamassassin(project, raw);
        let unexpected: Vec<&String> = rules
            .iter()
            .filter(|r| !NO_RELAY_RULES.contains(&r.as_str()) && *r != LIST_RULE)
            .collect();
        assert!(
            unexpected.is_empty(),
            "{to}: SpamAssassin rules {unexpected:?}"
        );
        assert!(score <= 0.0, "{to}: SpamAssassin score {score}");
    }
}

/// The reference MJML compiler accepts `mjml` in strict validation.
pub fn assert_strict_mjml(mjml: &Path) {
    let mut command = npm_bin("mjml");
    command
        .arg("--validate")
        .arg(mjml)
        .arg("--config.validationLevel=strict");
    run_ok(command);
}

/// html-validate's recommended rules, less those that email HTML breaks on purpose
/// (`tests/fixtures/html-validate.json`): inline styles (all that some clients keep),
/// conditional comments and table attributes such as `cellpadding` and `bgcolor` (what
/// Outlook reads), a title longer than 70 characters (it is the subject), `role="article"`
/// (the accessible-email convention, since clients strip `<article>`) and `height="auto"`
/// on images (mrml writes it for Outlook).
pub fn assert_valid_email_html(html: &Path) {
    let mut command = npm_bin("html-validate");
    command
        .arg("--config")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/html-validate.json"
        ))
        .arg(html);
    run_ok(command);
}

/// caniemail's unsupported features per client, one line per client, for a snapshot.
pub fn caniemail(html: &Path) -> String {
    let mut command = node_script("caniemail.mjs");
    command.arg(html);
    run_ok(command)
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

/// `#rrggbb` as Chromium writes a computed colour.
fn rgb(hex: &str) -> String {
    let n = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("a hex colour");
    format!("rgb({}, {}, {})", n(1), n(3), n(5))
}

/// The colour `name` of `[colors]` in the project's `layouts/LAYOUT/layout.toml`, as
/// Chromium writes it.
fn colour(project: &Project, layout: &str, name: &str) -> String {
    let text = project.read(&format!("layouts/{layout}/layout.toml"));
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("no colour {name} in layouts/{layout}/layout.toml"));
    rgb(line.split('"').nth(1).expect("a quoted colour"))
}

/// The email at `html` (a project file), with every `<style>` removed as Gmail does for
/// non-Google accounts, keeps its shape: headline lines that do not overlap, lists indented
/// 20 px, links in the layout's link colour, all as designed.
pub fn assert_shape_without_styles(project: &Project, html: &str, layout: &str) {
    let stripped_path = format!("{html}.stripped.html");
    project.write(&stripped_path, &without_styles(&project.read(html)));
    let browser = Browser::start(600, 1000, false);
    let url = |name: &str| format!("file://{}", project.path(name).display());
    let designed = shapes(&browser, &url(html));
    let stripped = shapes(&browser, &url(&stripped_path));
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
        json!([colour(project, layout, "link")]),
        "link colour: {stripped}"
    );
    for shape in ["headline", "lists", "items", "links"] {
        assert_eq!(stripped[shape], designed[shape], "{shape} as designed");
    }
}

/// In dark mode the email at `html` (a project file) takes the layout's `dark_*` colours
/// for the page, the cards, the panel, the text and the links, and the light ones otherwise.
pub fn assert_dark_mode(project: &Project, html: &str, layout: &str) {
    let url = format!("file://{}", project.path(html).display());
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
    let expect = |names: [&str; 5]| json!(names.map(|n| colour(project, layout, n)));
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

/// The preheader in `html` is hidden without a colour of its own (no white-on-white text),
/// followed by at least 200 invisible characters before `next` (the email's next text), and
/// the email declares dark mode.
pub fn assert_padded_preheader(html: &str, preheader: &str, next: &str) {
    let body = &html[html.find("<body").expect("a body")..];
    let after = &body[body.find(preheader).expect("the preheader in the body") + preheader.len()..];
    let before_next = &after[..after.find(next).expect("the text after the preheader")];
    let padding = before_next
        .chars()
        .filter(|c| ['\u{34f}', '\u{200c}', '\u{a0}'].contains(c))
        .count()
        + before_next.matches("&nbsp;").count();
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

/// The page at `url` has no horizontal scroll in a 375 px wide phone viewport.
pub fn assert_fits_a_phone(url: &str) {
    let browser = Browser::start(375, 800, true);
    browser.goto(url);
    let widths = browser.eval(
        "const d = document.documentElement;
         return [d.scrollWidth, d.clientWidth, window.innerWidth];",
    );
    let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert_eq!(widths[2], json!(375), "viewport is 375 px: {widths}");
    assert!(scroll <= client, "horizontal scroll at 375 px: {widths}");
}
