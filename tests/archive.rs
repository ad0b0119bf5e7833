//! `broadsheet archive` on a project with three volumes: one page per volume and an index
//! newest first, relative links, a feed that a real XML parser reads as Atom, no recipient
//! data, byte-identical reruns, no horizontal scroll on a phone, and nothing written when a
//! volume has an error. Also the email's "View in browser" link.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::webdriver::Browser;
use crate::support::{Project, html_text};

const BASE_URL: &str = "https://scout.eto.tech/newsletter/";
const ATOM: &str = "http://www.w3.org/2005/Atom";

/// The sample project plus volumes 12 and 13, copied from 11 with their own number, period,
/// headline, hero image and pick links. Their picks dated within 11's period are before
/// their own, unmarked: ten warnings each.
fn three_volumes() -> Project {
    let project = Project::sample();
    let seed = project.read("volumes/011.toml");
    let copies = [
        (
            12,
            "2024-05-10",
            "2024-06-06",
            "Robots & <chips>, week twelve",
        ),
        (13, "2024-06-07", "2024-07-04", "Thirteen: “quoted” news"),
    ];
    for (number, from, to, headline) in copies {
        let text: String = seed
            .lines()
            .map(|line| match line.split_once(" = ") {
                Some(("number", _)) => format!("number = {number}"),
                Some(("period", _)) => format!("period = {{ from = {from}, to = {to} }}"),
                Some(("headline", _)) => format!("headline = {headline:?}"),
                _ => line
                    .replace("?pick=", &format!("?v{number}-pick="))
                    .replace("volume-11-hero", &format!("volume-{number}-hero")),
            })
            .map(|line| line + "\n")
            .collect();
        project.write(&format!("volumes/{number:03}.toml"), &text);
    }
    project
}

/// Every file of an archive folder, by name.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("folder entry").path();
            let name = path.file_name().expect("a name").to_string_lossy().into();
            (
                name,
                std::fs::read_to_string(&path).expect("read an archive file"),
            )
        })
        .collect()
}

fn archived(project: &Project) -> BTreeMap<String, String> {
    project.ok(&["archive"]);
    files(&project.path("out/archive"))
}

/// The values of `attr="..."` in a page, in order.
fn attributes<'a>(page: &'a str, attr: &str) -> Vec<&'a str> {
    page.split(&format!(" {attr}=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().expect("closing quote"))
        .collect()
}

#[test]
fn three_pages_and_an_index_newest_first() {
    let project = three_volumes();
    let site = archived(&project);
    let names: Vec<&str> = site.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["011.html", "012.html", "013.html", "feed.xml", "index.html"]
    );
    let index = &site["index.html"];
    let hrefs: Vec<&str> = attributes(index, "href")
        .into_iter()
        .filter(|h| h.ends_with(".html"))
        .collect();
    assert_eq!(hrefs, ["013.html", "012.html", "011.html"]);
    let text = html_text(index);
    let order = [
        "Thirteen: “quoted” news Editors' picks from ETO Scout: volume 13 (6/7/24-7/4/24)",
        "Robots & <chips>, week twelve Editors' picks from ETO Scout: volume 12 (5/10/24-6/6/24)",
        "Farming robots, synthetic video, Nvidia salesmen and Chinese photolithography - plus, a CSET expert take on China's chip subsidies Editors' picks from ETO Scout: volume 11 (4/12/24-5/9/24)",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|line| {
            text.find(line)
                .unwrap_or_else(|| panic!("{line:?} in {text}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "newest first: {at:?}");
    assert!(index.contains("Robots &amp; &lt;chips&gt;, week twelve"));
    let page = html_text(&site["012.html"]);
    assert!(page.contains("Robots & <chips>, week twelve"));
    assert!(page.contains("volume 12 (5/10/24-6/6/24)"));
    assert_eq!(
        page.matches("?v12-pick=").count(),
        0,
        "links are attributes"
    );
    assert!(site["012.html"].contains("https://scout.eto.tech/?v12-pick=agri-machinery"));
}

#[test]
fn links_are_relative_and_lead_to_archive_files() {
    let project = three_volumes();
    let site = archived(&project);
    for (name, page) in site.iter().filter(|(n, _)| n.ends_with(".html")) {
        for href in attributes(page, "href") {
            assert!(!href.starts_with('/'), "{name}: absolute path {href}");
            assert!(
                !href.starts_with(BASE_URL),
                "{name}: absolute link {href} to the archive"
            );
            if !href.starts_with("https://") && !href.starts_with("mailto:") {
                assert!(
                    site.contains_key(href),
                    "{name}: {href} is not in the archive"
                );
            }
        }
    }
    let middle = attributes(&site["012.html"], "href");
    for neighbour in ["013.html", "index.html", "011.html", "feed.xml"] {
        assert!(middle.contains(&neighbour), "012.html lacks {neighbour}");
    }
}

/// The Atom element `name` among the children of `node`, which must have one.
fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    let found = node
        .children()
        .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(ATOM));
    found.unwrap_or_else(|| panic!("no <{name}> in <{}>", node.tag_name().name()))
}

/// The text of the Atom element `name` among the children of `node`.
fn text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    child(node, name).text().unwrap_or_default().to_owned()
}

#[test]
fn feed_is_atom_with_one_entry_per_volume() {
    let project = three_volumes();
    let site = archived(&project);
    let doc = roxmltree::Document::parse(&site["feed.xml"]).expect("the feed is XML");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().namespace(), Some(ATOM));
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(text(feed, "id"), BASE_URL);
    assert_eq!(text(feed, "updated"), "2024-07-04T00:00:00Z");
    assert!(!text(child(feed, "author"), "name").is_empty());
    let entries: Vec<_> = feed
        .children()
        .filter(|c| c.tag_name().name() == "entry")
        .collect();
    assert_eq!(entries.len(), 3);
    let mut ids = Vec::new();
    for (entry, (number, updated)) in entries.iter().zip([
        (13, "2024-07-04T00:00:00Z"),
        (12, "2024-06-06T00:00:00Z"),
        (11, "2024-05-09T00:00:00Z"),
    ]) {
        let page = format!("{BASE_URL}{number:03}.html");
        assert_eq!(text(*entry, "id"), page);
        assert_eq!(
            text(*entry, "updated"),
            updated,
            "RFC 3339, from the period"
        );
        assert!(!text(*entry, "title").is_empty());
        let link = child(*entry, "link");
        assert_eq!(link.attribute("rel"), Some("alternate"));
        assert_eq!(link.attribute("href"), Some(page.as_str()));
        let content = child(*entry, "content");
        assert_eq!(content.attribute("type"), Some("html"));
        let html = content.text().unwrap_or_default();
        assert!(html.contains("<h1>") && html.contains("<li>"), "{html}");
        ids.push(text(*entry, "id"));
    }
    assert_eq!(text(entries[1], "title"), "Robots & <chips>, week twelve");
    ids.dedup();
    assert_eq!(ids.len(), 3, "ids are unique");
}

#[test]
fn no_recipient_data_or_template_leftovers() {
    let project = three_volumes();
    for (name, text) in archived(&project) {
        for forbidden in ["unsubscribe.invalid", "BROADSHEET-PLACEHOLDER", "{{", "}}"] {
            assert!(!text.contains(forbidden), "{name} contains {forbidden}");
        }
        assert!(
            !text.to_lowercase().contains("unsubscribe"),
            "{name} has an unsubscribe link"
        );
        let chars: Vec<char> = text.chars().collect();
        let address = chars
            .windows(3)
            .position(|w| w[1] == '@' && w[0].is_alphanumeric() && w[2].is_alphanumeric());
        assert!(address.is_none(), "{name} contains an email address");
    }
}

#[test]
fn reruns_are_byte_identical() {
    let project = three_volumes();
    let first = project.ok(&["archive", "--out", "a"]);
    project.ok(&["archive", "--out", "b"]);
    assert_eq!(files(&project.path("a")), files(&project.path("b")));
    assert!(
        first
            .stdout
            .starts_with("archived 3 volumes into a: index.html, feed.xml"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.ends_with(
            "; 20 warnings: 10 in volumes/012.toml, 10 in volumes/013.toml \
             (see `broadsheet check` on each)\n"
        ),
        "the warnings are named with their volumes: {}",
        first.stdout
    );
    project.write("volumes/013.toml", "number = 13\ndraft = true\n");
    let one = project.ok(&["archive", "--out", "c"]);
    assert!(
        one.stdout.ends_with(
            "; 10 warnings in volumes/012.toml (see `broadsheet check volumes/012.toml`)\n"
        ),
        "{}",
        one.stdout
    );
}

#[test]
fn phone_width_has_no_horizontal_scroll() {
    let project = three_volumes();
    project.ok(&["archive"]);
    let browser = Browser::start(375, 800, true);
    for page in ["011.html", "index.html"] {
        let url = format!(
            "file://{}",
            project.path("out/archive").join(page).display()
        );
        browser.goto(&url);
        let widths = browser.eval(
            "const d = document.documentElement;
             return [d.scrollWidth, d.clientWidth, window.innerWidth, document.images.length];",
        );
        let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert_eq!(widths[2], 375, "viewport is 375 px: {widths}");
        assert!(
            scroll <= client,
            "{page} scrolls sideways at 375 px: {widths}"
        );
    }
}

#[test]
fn a_volume_with_an_error_writes_nothing() {
    let project = three_volumes();
    project.edit(
        "volumes/012.toml",
        "summary = \"Shengshu",
        "sumary = \"Shengshu",
    );
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: unknown field `sumary`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> volumes/012.toml:43:1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!project.path("out").exists(), "nothing written at all");
}

#[test]
fn a_failed_run_leaves_the_previous_archive_untouched() {
    let project = three_volumes();
    let before = archived(&project);
    project.edit("volumes/013.toml", "number = 13", "number = 12");
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("volume 12 is also volumes/012.toml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> volumes/013.toml:8:10"),
        "{}",
        run.stderr
    );
    assert_eq!(files(&project.path("out/archive")), before);
    let out: Vec<String> = files_and_folders(&project.path("out"));
    assert_eq!(out, ["archive"], "no staging folder left behind");
}

fn files_and_folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_folder_holding_other_files_is_never_replaced() {
    let project = three_volumes();
    let run = project.run(&["archive", "--out", "volumes"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("volumes holds 011.toml, which `broadsheet archive` did not write"),
        "{}",
        run.stderr
    );
    assert_eq!(
        files_and_folders(&project.path("volumes")),
        ["011.toml", "012.toml", "013.toml"]
    );

    // The project's own folder is named, not left blank.
    let before = project.files();
    let run = project.run(&["archive", "--out", "."]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: the folder . holds "),
        "{}",
        run.stderr
    );
    assert_eq!(project.files(), before, "nothing written");
}

#[test]
fn a_layout_without_web_templates_is_named_and_build_still_works() {
    let project = Project::sample();
    std::fs::remove_file(project.path("layouts/scout/web.html.hbs")).expect("remove");
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: missing layout template layouts/scout/web.html.hbs"),
        "{}",
        run.stderr
    );
    project.ok(&["build", "volumes/011.toml"]);
}

#[test]
fn a_mistake_in_a_web_page_partial_is_reported_where_the_pages_are_made() {
    let project = Project::sample();
    project.ok(&["build", "volumes/011.toml", "--out", "before"]);
    let partial = "layouts/scout/partials/page_head.html.hbs";
    project.edit(partial, "{{/if}}", "{{/iff}}");
    // The email does not include the web pages' partials: it builds as before.
    project.ok(&["build", "volumes/011.toml", "--out", "after"]);
    project.ok(&["check", "volumes/011.toml"]);
    assert_eq!(
        files(&project.path("after")),
        files(&project.path("before"))
    );
    // The archive renders them, and names the mistake's place.
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("template syntax"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--> {partial}:4:")),
        "{}",
        run.stderr
    );
    // A partial the email includes, broken the same way, stops the build.
    project.edit(
        "layouts/scout/partials/footer.mjml.hbs",
        "{{/each}}",
        "{{/eachh}}",
    );
    let run = project.run(&["build", "volumes/011.toml"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--> layouts/scout/partials/footer.mjml.hbs:"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_email_links_to_its_web_page() {
    let project = Project::sample();
    project.ok(&["build", "volumes/011.toml"]);
    let page = format!("{BASE_URL}011.html");
    let html = project.read("out/011/email.html");
    let link = html
        .find(&format!("<a href=\"{page}\""))
        .expect("the email links its page");
    assert!(
        html[link..]
            .split_once("</a>")
            .unwrap()
            .0
            .ends_with(">View in browser")
    );
    let text = project.read("out/011/email.txt");
    assert!(
        text.contains(&format!("\nView in browser: {page}\n")),
        "{text}"
    );
}

#[test]
fn without_archive_settings_there_is_no_link_and_no_archive() {
    let project = Project::sample();
    let settings = project.read("broadsheet.toml");
    let (kept, _) = settings
        .split_once("[archive]")
        .expect("an [archive] table");
    project.write("broadsheet.toml", kept);
    project.ok(&["build", "volumes/011.toml"]);
    for part in ["email.html", "email.txt"] {
        let text = project.read(&format!("out/011/{part}"));
        assert!(!text.contains("View in browser"), "{part}");
    }
    let run = project.run(&["archive"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("broadsheet.toml has no [archive] table"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_bad_base_url_is_reported_at_its_place() {
    let project = Project::sample();
    project.edit("broadsheet.toml", "/newsletter/\"", "/newsletter\"");
    let run = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("error: `base_url` must end with `/`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> broadsheet.toml:12:12"),
        "{}",
        run.stderr
    );
}
