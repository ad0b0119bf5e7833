//! The rendered sample volume in a real headless Chromium: no horizontal scroll on a
//! 375 px phone, the newsletter's structure at 600 px, and what readers of assistive
//! technology and images-off clients get: headings in order, link names that say where
//! they lead, alt text that reads as text, and nothing serious for axe-core. (For
//! screenshots to look at, run `scripts/screenshots.sh`.)

use serde_json::json;

use crate::support::webdriver::Browser;
use crate::support::{Project, axe};

fn built_url(project: &Project) -> String {
    project.ok(&["build", "volumes/011.toml"]);
    format!("file://{}", project.path("out/011/email.html").display())
}

#[test]
fn phone_width_has_no_horizontal_scroll() {
    let project = Project::sample();
    crate::support::email::assert_fits_a_phone(&built_url(&project));
}

#[test]
fn desktop_width_shows_the_newsletter() {
    let project = Project::sample();
    let url = built_url(&project);
    let browser = Browser::start(600, 1000, false);
    browser.goto(&url);
    let layout = browser.eval(
        "const items = [...document.querySelectorAll('li')];
         const h1 = document.querySelector('h1').getBoundingClientRect();
         const imgs = [...document.images].map(i => i.alt);
         const text = document.body.innerText;
         return {
           items: items.length,
           h1Width: h1.width,
           imgs,
           expertAfterSix: items[5].getBoundingClientRect().bottom
             < [...document.querySelectorAll('h2')].find(h => h.textContent.trim() === 'CSET Expert View')
                 .getBoundingClientRect().top,
           titleFirst: text.indexOf('volume 11 (4/12/24-5/9/24)') < text.indexOf('Farming robots'),
           scroll: document.documentElement.scrollWidth <= document.documentElement.clientWidth,
         };",
    );
    assert_eq!(layout["items"], json!(21), "{layout}");
    assert!(
        layout["h1Width"].as_f64().unwrap() > 450.0,
        "single wide column: {layout}"
    );
    assert_eq!(
        layout["imgs"],
        json!([
            "ETO Logo",
            "A computer chip viewed through a circular lens.",
            "ETO Logo"
        ])
    );
    assert_eq!(layout["expertAfterSix"], json!(true), "{layout}");
    assert_eq!(layout["titleFirst"], json!(true), "{layout}");
    assert_eq!(layout["scroll"], json!(true), "{layout}");
}

#[test]
fn axe_core_finds_no_serious_violation_in_the_email() {
    let project = Project::sample();
    project.ok(&["build", "volumes/011.toml"]);
    let found = axe::audit_file(&project.path("out/011/email.html"));
    let serious = axe::serious(&found);
    assert!(serious.is_empty(), "axe-core:\n{serious}");
}

#[test]
fn section_titles_are_headings_in_order() {
    let project = Project::sample();
    let url = built_url(&project);
    let browser = Browser::start(600, 1000, false);
    browser.goto(&url);
    let headings = browser.eval(
        "return [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
           .map(h => [h.tagName, h.textContent.trim()]);",
    );
    let headline = "Farming robots, synthetic video, Nvidia salesmen and Chinese photolithography - plus, a CSET expert take on China's chip subsidies";
    assert_eq!(
        headings,
        json!([
            ["H1", headline],
            ["H2", "CSET Expert View"],
            ["H2", "Keep in touch"]
        ])
    );
}

#[test]
fn links_that_share_a_text_have_names_that_tell_them_apart() {
    let project = Project::sample();
    let url = built_url(&project);
    let browser = Browser::start(600, 1000, false);
    browser.goto(&url);
    // The accessible name of a link: its aria-label, else its text and its images' alt.
    let links = browser.eval(
        "return [...document.querySelectorAll('a[href]')].map(a => {
           const text = (a.textContent + [...a.querySelectorAll('img')].map(i => i.alt).join(' ')).trim();
           return { text, name: (a.getAttribute('aria-label') || text).trim(), href: a.href };
         });",
    );
    let links = links.as_array().expect("links");
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for link in links {
        let name = link["name"].as_str().unwrap();
        let text = link["text"].as_str().unwrap();
        // Speech users say what they see: a name holds the visible words (WCAG 2.5.3).
        let has_words = text.chars().any(char::is_alphanumeric);
        assert!(
            !has_words || name.starts_with(text),
            "the name {name:?} must start with the visible text {text:?}"
        );
        assert!(
            name.chars().any(char::is_alphanumeric),
            "a link named by no word: {link}"
        );
        by_name
            .entry(name)
            .or_default()
            .push(link["href"].as_str().unwrap());
    }
    for (name, targets) in &by_name {
        let mut distinct = targets.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            1,
            "{name:?} names several articles: {targets:?}"
        );
    }
    let thirty_six = links.iter().filter(|l| l["text"] == json!("36kr")).count();
    assert_eq!(thirty_six, 5, "the sample's five 36kr picks");
    assert!(
        by_name.contains_key(
            "36kr, April 28, 2024: Shengshu Technology and Tsinghua University's new Vidu model…"
        ),
        "{by_name:?}"
    );
}

#[test]
fn with_images_off_alt_text_reads_as_text() {
    let project = Project::sample();
    let url = built_url(&project);
    let browser = Browser::start_with(600, 1000, false, false);
    browser.goto(&url);
    let images = browser.eval(
        "return [...document.images].map(i => {
           const s = getComputedStyle(i);
           return { alt: i.alt, height: i.getBoundingClientRect().height,
                    lineHeight: parseFloat(s.lineHeight), align: s.textAlign,
                    colour: s.color, breaks: s.wordBreak };
         });",
    );
    let images = images.as_array().expect("images");
    assert_eq!(images.len(), 3, "{images:?}");
    for image in images {
        // One line: the alt text is not wrapped ("ETO / Logo"), nor broken inside a word.
        let (height, line) = (image["height"].as_f64(), image["lineHeight"].as_f64());
        assert!(
            height.zip(line).is_some_and(|(h, l)| h < 1.5 * l),
            "alt text on more than one line: {image}"
        );
        assert_eq!(image["align"], json!("center"), "{image}");
        assert_eq!(image["breaks"], json!("keep-all"), "{image}");
        // The layout's muted colour, #5a6b78.
        assert_eq!(image["colour"], json!("rgb(90, 107, 120)"), "{image}");
    }
    // The hero's alt text has room above and below, not flush with the headline.
    assert!(
        images[1]["lineHeight"].as_f64() >= Some(40.0),
        "{}",
        images[1]
    );
}

#[test]
fn a_volume_in_a_language_written_right_to_left_reads_from_the_right() {
    let project = Project::sample();
    project.edit("volumes/011.toml", "lang = \"en\"", "lang = \"ar\"");
    let url = built_url(&project);
    let browser = Browser::start(600, 1000, false);
    browser.goto(&url);
    let read = browser.eval(
        "const h1 = document.querySelector('h1');
         const ul = document.querySelector('li').closest('ul');
         return {
           dir: document.documentElement.dir,
           h1: getComputedStyle(h1).direction,
           align: getComputedStyle(h1.closest('div')).textAlign,
           bullets: getComputedStyle(ul).paddingRight,
         };",
    );
    assert_eq!(read["dir"], json!("rtl"), "{read}");
    assert_eq!(read["h1"], json!("rtl"), "{read}");
    assert_eq!(read["align"], json!("right"), "{read}");
    assert_eq!(
        read["bullets"],
        json!("20px"),
        "the list's room is on the right: {read}"
    );
}
