//! The subscriber service's pages in a real headless Chromium, at 600 px and on a 375 px
//! phone: sign up, confirm from the mailed link, choose topics, unsubscribe, resubscribe,
//! by clicking the pages' own buttons (no JavaScript in the pages; forms and redirects);
//! and the same buttons in a browser that sends no Fetch Metadata (Safari before 16.4).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use serde_json::json;

use crate::recipients::with_recipients;
use crate::support::eventually_files;
use crate::support::serve::{Serve, path_of, token};
use crate::support::webdriver::Browser;

/// Clicks the element `selector` names and waits until the page shows `text`.
fn click_until(browser: &Browser, selector: &str, text: &str) {
    browser.eval(&format!(
        "document.querySelector({selector:?}).click(); return true;"
    ));
    let shown = format!(
        "return document.readyState === 'complete' && document.body.innerText.includes({text:?});"
    );
    assert!(
        browser.wait_until(&shown, Duration::from_secs(10)),
        "no {text:?} after clicking {selector}: {}",
        browser.eval("return document.body.innerText;")
    );
}

/// The page's language, horizontal fit, and whether every visible field has a label.
fn check_page(browser: &Browser, width: u64) {
    let facts = browser.eval(
        "const d = document.documentElement;
         const fields = [...document.querySelectorAll('input:not([type=hidden])')]
           .filter(i => !i.closest('[aria-hidden=true]'));
         return { lang: d.lang, fits: d.scrollWidth <= d.clientWidth, width: window.innerWidth,
                  unlabelled: fields.filter(i => i.labels.length === 0).map(i => i.name),
                  scripts: document.scripts.length };",
    );
    assert_eq!(facts["lang"], json!("en"), "{facts}");
    assert_eq!(facts["fits"], json!(true), "horizontal scroll: {facts}");
    assert_eq!(facts["width"], json!(width), "{facts}");
    assert_eq!(facts["unlabelled"], json!([]), "{facts}");
    assert_eq!(facts["scripts"], json!(0), "{facts}");
}

fn walk(width: u32, mobile: bool, who: &str) {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let browser = Browser::start(width, 900, mobile);
    let check = |b: &Browser| check_page(b, u64::from(width));
    browser.goto(&format!("{}/subscribe", serve.url()));
    check(&browser);
    browser.eval(&format!(
        "document.querySelector('#email').value = '{who}';
         document.querySelector('#name').value = 'Browser Reader';
         document.querySelector('#topic-chips').click(); return true;"
    ));
    click_until(&browser, "button[type=submit]", "Check your inbox");
    let mail = std::fs::read_to_string(&eventually_files(&project.path("outbox"), ".eml", 1)[0])
        .expect("read the confirmation mail");
    let start = mail
        .find("https://scout.eto.tech/confirm/")
        .expect("a link");
    let link = path_of(mail[start..].split_whitespace().next().expect("the link"));
    browser.goto(&format!("{}{link}", serve.url()));
    check(&browser);
    click_until(&browser, "button[type=submit]", "You are subscribed");
    let explain = project.ok(&["recipients", "--explain", who]).stdout;
    assert!(explain.contains("\n  topics: chips\n"), "{explain}");

    let token = token(who);
    browser.goto(&format!("{}/preferences/{token}", serve.url()));
    check(&browser);
    let ticked = "return document.querySelector('#topic-chips').checked;";
    assert_eq!(browser.eval(ticked), json!(true));
    browser.eval("document.querySelector('#topic-ai').click(); return true;");
    click_until(&browser, "button[value=save]", "Your choices are saved");
    let explain = project.ok(&["recipients", "--explain", who]).stdout;
    assert!(explain.contains("\n  topics: ai, chips\n"), "{explain}");
    click_until(
        &browser,
        "button[value=unsubscribe]",
        "You are unsubscribed",
    );
    check(&browser);
    let list = project.ok(&["suppress", "list"]).stdout;
    // Through the preferences page: its own channel, told apart from the unsubscribe page.
    assert!(list.contains("unsubscribed  preferences"), "{list}");
    click_until(&browser, "button[type=submit]", "Unsubscribe from");
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "", "resubscribed");
}

#[test]
fn a_reader_walks_every_page_at_600_px() {
    walk(600, false, "desk.reader@example.org");
}

#[test]
fn a_reader_walks_every_page_on_a_375_px_phone() {
    walk(375, true, "phone.reader@example.org");
}

/// A loopback proxy to `port` that drops the `Sec-Fetch-*` request headers, as Safari
/// before 16.4 and in-app browsers never send them; its port.
fn without_fetch_metadata(port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let proxy = listener.local_addr().expect("the proxy's address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || relay(client, port));
        }
    });
    proxy
}

/// Passes `client`'s requests to `port` without their `Sec-Fetch-*` lines, and the answers
/// back as they come.
fn relay(client: TcpStream, port: u16) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let (Ok(mut answers), Ok(mut back)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut answers, &mut back);
        let _ = back.shutdown(Shutdown::Both);
    });
    let mut requests = BufReader::new(client);
    loop {
        let (mut head, mut length) = (String::new(), 0);
        loop {
            let mut line = String::new();
            if requests.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if !lower.starts_with("sec-fetch-") {
                head.push_str(&line);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if requests.read_exact(&mut body).is_err()
            || server.write_all(head.as_bytes()).is_err()
            || server.write_all(&body).is_err()
        {
            return;
        }
    }
}

#[test]
fn a_browser_without_fetch_metadata_saves_and_unsubscribes_from_the_pages() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let base = format!("http://127.0.0.1:{}", without_fetch_metadata(serve.port));
    let browser = Browser::start(600, 900, false);
    let token = token("ana.lima@example.org");
    browser.goto(&format!("{base}/preferences/{token}"));
    browser.eval("document.querySelector('#topic-ai').click(); return true;");
    click_until(&browser, "button[value=save]", "Your choices are saved");
    let explain = project
        .ok(&["recipients", "--explain", "ana.lima@example.org"])
        .stdout;
    assert!(explain.contains("\n  topics: ai\n"), "{explain}");
    browser.goto(&format!("{base}/unsubscribe/{token}"));
    click_until(&browser, "button[type=submit]", "You are unsubscribed");
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ana.lima@example.org  unsubscribed  page  "),
        "{list}"
    );
}

#[test]
fn axe_core_finds_no_serious_violation_on_the_service_pages() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    assert_eq!(
        serve
            .form("/subscribe", "email=new.reader%40example.org&website=")
            .status,
        303
    );
    let mails = eventually_files(&project.path("outbox"), ".eml", 1);
    let mail = std::fs::read_to_string(&mails[0]).expect("the confirmation");
    let start = mail
        .find("https://scout.eto.tech/confirm/")
        .expect("a link");
    let confirm = path_of(mail[start..].split_whitespace().next().unwrap());
    let ana = token("ana.lima@example.org");
    let pages = [
        "/subscribe".to_owned(),
        "/subscribe?sent=1".to_owned(),
        confirm,
        format!("/unsubscribe/{ana}"),
        format!("/preferences/{ana}"),
        "/unsubscribe/not-a-token".to_owned(),
    ];
    for page in pages {
        let url = format!("{}{page}", serve.url());
        let found = crate::support::axe::audit(&url);
        let serious = crate::support::axe::serious(&found);
        assert!(serious.is_empty(), "{page}: {serious}");
    }
}
