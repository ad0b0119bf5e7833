//! The rendered sample volume in a real headless Chromium: no horizontal scroll on a
//! 375 px phone, and the newsletter's structure at 600 px. (For screenshots to look at,
//! run `scripts/screenshots.sh`.)

use serde_json::json;

use crate::support::Project;
use crate::support::webdriver::Browser;

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
             < [...document.querySelectorAll('div')].find(d => d.textContent.trim() === 'CSET Expert View')
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
