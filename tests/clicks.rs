//! Click counts through the real binary: a dispatch to the outbox with `[clicks]` on, then
//! `serve` following the counted links: the same links for two readers, a redirect to the
//! exact target counted once per client and hour, HEAD, scanners' user agents and canary
//! followers counted apart, every bad link the same 400 counting nothing, and no address
//! or IP in the store or the log; `report --json` shows exactly the counts made.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use broadsheet::unsubscribe::Signer;
use serde_json::{Value, json};

use crate::bounces::{message_to, run};
use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::{SECRET, dispatch};
use crate::support::serve::{Answer, Serve};
use crate::support::webdriver::Browser;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PUBLIC: &str = "https://scout.eto.tech/";

/// The sample project with clicks counted, dispatched to its outbox.
fn dispatched() -> Project {
    dispatched_with("")
}

/// [`dispatched`] with `more` in `[clicks]`.
fn dispatched_with(more: &str) -> Project {
    let project = with_recipients();
    let settings = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!("{settings}\n[clicks]\nenabled = true\n{more}"),
    );
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project
}

/// The HTML and text parts of the message to `to`.
fn parts(project: &Project, to: &str) -> (String, String) {
    let raw = message_to(project, to);
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let html = parsed.body_html(0).expect("an HTML part").into_owned();
    let text = parsed.body_text(0).expect("a text part").into_owned();
    (html, text)
}

/// Every `href` of the HTML part of the message to `to`.
fn hrefs(project: &Project, to: &str) -> Vec<String> {
    let html = parts(project, to).0;
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .collect()
}

/// The counted links among `hrefs`, as paths.
fn counted(hrefs: &[String]) -> BTreeSet<String> {
    hrefs
        .iter()
        .filter_map(|h| h.strip_prefix(PUBLIC))
        .filter(|p| p.starts_with("c/"))
        .map(|p| format!("/{p}"))
        .collect()
}

/// A GET of `path` from the client `address` (behind the trusted proxy) as `agent`.
fn follow(serve: &Serve, method: &str, path: &str, address: &str, agent: &str) -> Answer {
    serve.request(
        method,
        path,
        &[("User-Agent", agent), ("X-Forwarded-For", address)],
        "",
    )
}

fn report(project: &Project) -> Value {
    let shown = run(project, &["report", "volumes/011.toml", "--json"]);
    assert_eq!(shown.status, 0, "{}", shown.stderr);
    serde_json::from_str(&shown.stdout).expect("report JSON")
}

#[test]
fn counted_links_redirect_to_their_target_and_count_no_one() {
    let project = dispatched();
    let ana = hrefs(&project, "ana.lima@example.org");
    let wei = hrefs(&project, "wei.zhang@example.org");
    for href in ana.iter().chain(&wei) {
        assert!(
            !href.starts_with("http") || href.starts_with(PUBLIC),
            "a link leaves without being counted: {href}"
        );
    }
    let (ana_links, wei_links) = (counted(&ana), counted(&wei));
    let text = parts(&project, "ana.lima@example.org").1;
    assert!(
        !text.contains("/c/011/") && text.contains("https://scout.eto.tech/?pick="),
        "the text part keeps direct links unless `text = true`:\n{text}"
    );
    assert!(ana_links.len() > 3, "{ana_links:?}");
    assert!(
        wei_links.is_subset(&ana_links),
        "the links two readers share are the same: {wei_links:?} {ana_links:?}"
    );
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").unwrap();
    let canary = format!("/{}", broadsheet::clicks::path(&signer, 11, 0));
    assert!(ana_links.contains(&canary) && wei_links.contains(&canary));
    let first = format!("/{}", broadsheet::clicks::path(&signer, 11, 1));
    let second = format!("/{}", broadsheet::clicks::path(&signer, 11, 2));
    assert!(ana_links.contains(&first) && ana_links.contains(&second));
    let before = report(&project);
    let targets: Vec<&str> = before["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets.len() + 1, ana_links.len(), "{targets:?}");
    let labelled = before["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["label"].as_str().unwrap().is_empty())
        .count();
    assert!(
        labelled * 2 > targets.len(),
        "most links show the words of their anchor: {before:#}"
    );
    let volume = project.read("volumes/011.toml");
    let serve = Serve::start_logging(&project, &[]);
    let answer = follow(&serve, "GET", &first, "198.51.100.7", BROWSER);
    assert_eq!(answer.status, 302, "{}", answer.body);
    let location = answer.header("location").expect("a Location");
    assert_eq!(location, targets[0]);
    assert!(
        volume.contains(location) || location.starts_with("https://scout.eto.tech/"),
        "the target comes from the volume: {location}"
    );
    assert_eq!(
        follow(&serve, "GET", &first, "198.51.100.7", BROWSER).status,
        302
    );
    assert_eq!(
        follow(&serve, "GET", &first, "198.51.100.8", BROWSER).status,
        302
    );
    // Machines: a HEAD, a scanner's agent, and a client that followed the canary first.
    assert_eq!(
        follow(&serve, "HEAD", &second, "198.51.100.9", BROWSER).status,
        302
    );
    let scanner = "Mozilla/5.0 (compatible; Barracuda Sentinel)";
    assert_eq!(
        follow(&serve, "GET", &second, "198.51.100.10", scanner).status,
        302
    );
    assert_eq!(
        follow(&serve, "GET", &canary, "198.51.100.11", BROWSER).status,
        200
    );
    assert_eq!(
        follow(&serve, "GET", &second, "198.51.100.11", BROWSER).status,
        302
    );
    // Bad links: a tampered MAC, another volume, a link the volume does not have.
    let mut tampered = first.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let other = first.replace("/c/011/", "/c/012/");
    let unknown = format!("/{}", broadsheet::clicks::path(&signer, 11, 999));
    // Percent escapes that are no UTF-8, in the MAC and in the volume.
    let garbled = format!("{}%ff", &first[..first.len() - 1]);
    let garbled_volume = first.replace("/c/011/", "/c/%ff/");
    let bad: Vec<Answer> = [&tampered, &other, &unknown, &garbled, &garbled_volume]
        .iter()
        .map(|p| follow(&serve, "GET", p, "198.51.100.12", BROWSER))
        .collect();
    for answer in &bad {
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body, bad[0].body, "the same bad-link page");
    }
    assert_eq!(bad[0].body, serve.get("/unsubscribe/proof").body);
    let log = serve.log();
    serve.kill();
    let after = report(&project);
    let hours = after["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 72);
    let (sent, clicked): (u64, u64) = hours.iter().fold((0, 0), |(s, c), h| {
        (
            s + h["sent"].as_u64().unwrap(),
            c + h["clicks"].as_u64().unwrap(),
        )
    });
    assert_eq!((sent, clicked), (2, 2), "{hours:?}");
    let figures: Vec<Value> = after["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|c| json!([c["link"], c["clicks"], c["scanner"]]))
        .collect();
    assert_eq!(figures, [json!([1, 2, 0]), json!([2, 0, 3])], "{after:#}");
    let rest: u64 = after["clicks"].as_array().unwrap()[2..]
        .iter()
        .map(|c| c["clicks"].as_u64().unwrap() + c["scanner"].as_u64().unwrap())
        .sum();
    assert_eq!(rest, 0);
    let store = std::fs::read(project.path("state/audience.sqlite")).expect("the store");
    let store = String::from_utf8_lossy(&store);
    for trace in ["198.51.100", "127.0.0.1", "ana.lima"] {
        assert!(!log.contains(trace), "the log holds {trace}:\n{log}");
        if trace != "ana.lima" {
            assert!(!store.contains(trace), "the store holds {trace}");
        }
    }
    report_page(&project, &after);
}

/// `report --html` is one page with no script and no remote asset, whose only URLs are the
/// links' targets, and whose chart shows at a phone's width and a desktop's.
fn report_page(project: &Project, report: &Value) {
    let file = project.path("report-011.html");
    let written = run(
        project,
        &[
            "report",
            "volumes/011.toml",
            "--html",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(written.status, 0, "{}", written.stderr);
    let page = std::fs::read_to_string(&file).expect("the page");
    assert!(!page.to_lowercase().contains("<script"), "{page}");
    let targets: Vec<String> = report["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_str().unwrap().replace('&', "&amp;"))
        .collect();
    let mut rest = page.clone();
    for target in &targets {
        rest = rest.replace(target.as_str(), "");
    }
    assert!(
        !rest.contains("http"),
        "a URL that is no link's target:\n{rest}"
    );
    for (width, mobile) in [(375, true), (1200, false)] {
        let browser = Browser::start(width, 900, mobile);
        browser.goto(&format!("file://{}", file.display()));
        let shown = browser.eval(
            "const svg = document.querySelector('#clicks-per-link').getBoundingClientRect();
             const hours = document.querySelector('#clicks-per-hour').getBoundingClientRect();
             const hourly = [...document.querySelectorAll('#clicks-per-hour rect')]
               .filter(r => r.getBoundingClientRect().height > 0).length;
             const bars = [...document.querySelectorAll('#clicks-per-link rect')]
               .filter(r => r.getBoundingClientRect().width > 0).length;
             return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                      chart: svg.width, tall: svg.height, bars,
                      hoursWide: hours.width, hourly };",
        );
        assert!(
            shown["scroll"].as_u64() <= shown["inner"].as_u64(),
            "wider than the screen at {width}px: {shown}"
        );
        assert!(
            shown["chart"].as_f64() > Some(width as f64 / 2.0)
                && shown["tall"].as_f64() > Some(20.0),
            "the chart at {width}px: {shown}"
        );
        assert_eq!(
            shown["bars"], 2,
            "one bar of clicks and one of scanners: {shown}"
        );
        assert!(
            shown["hoursWide"].as_f64() > Some(width as f64 / 2.0),
            "the hourly chart at {width}px: {shown}"
        );
        // One bar, or two when the clicks straddled the turn of an hour.
        assert!(
            (1..=2).contains(&shown["hourly"].as_u64().unwrap()),
            "this hour's clicks: {shown}"
        );
        let png = browser.screenshot();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &png)
            .expect("a PNG");
        let out =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{width}.png"));
        std::fs::write(&out, bytes).expect("save the screenshot");
        let stats = browser.picture_stats(&png);
        assert!(
            stats["ink"].as_u64() > Some(1000),
            "a blank page at {width}px: {stats}"
        );
    }
}

#[test]
fn every_click_that_got_its_redirect_survives_a_sigkill_mid_burst() {
    const CLICKS: usize = 1000;
    const CLIENTS: usize = 40;
    let project = dispatched();
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").unwrap();
    let first = format!("/{}", broadsheet::clicks::path(&signer, 11, 1));
    let port = crate::support::free_port();
    let serve = Serve::start_on(&project, port);
    let answered = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (answered, next, first) = (answered.clone(), next.clone(), first.clone());
            std::thread::spawn(move || {
                let client = crate::support::serve::Client { port };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= CLICKS {
                        return;
                    }
                    // Each click from another reader's address, so each one counts.
                    let request = format!(
                        "GET {first} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
User-Agent: {BROWSER}\r\nX-Forwarded-For: 10.1.{}.{}\r\n\r\n",
                        i / 250,
                        i % 250
                    );
                    if client
                        .try_raw(request.as_bytes())
                        .is_some_and(|a| a.status == 302)
                    {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let waited = crate::support::preview::eventually(std::time::Duration::from_secs(30), || {
        answered.load(Ordering::SeqCst) >= CLICKS / 3
    });
    assert!(waited, "a third of the burst was answered");
    serve.kill();
    for client in clients {
        client.join().expect("a client thread");
    }
    let answered = answered.load(Ordering::SeqCst) as u64;
    assert!(
        answered < CLICKS as u64,
        "the kill came mid-burst: {answered}"
    );
    let counted = report(&project)["clicks"][0]["clicks"].as_u64().unwrap();
    assert!(
        (answered..=CLICKS as u64).contains(&counted),
        "{answered} redirects answered, {counted} counted"
    );
}

#[test]
fn with_text_on_the_text_parts_links_are_counted_too() {
    let project = dispatched_with("text = true\n");
    let text = parts(&project, "ana.lima@example.org").1;
    assert!(text.contains("https://scout.eto.tech/c/011/"), "{text}");
    assert!(
        !text.contains("https://scout.eto.tech/?pick="),
        "a pick's link left uncounted:\n{text}"
    );
    assert!(
        text.contains("https://scout.eto.tech/unsubscribe/"),
        "the reader's own link stays: {text}"
    );
}

/// The (link, target, clicks) of every counted link in `report --json`.
fn per_link(project: &Project) -> Vec<(u64, String, u64)> {
    let shown = report(project);
    let links = shown["clicks"].as_array().expect("clicks").iter();
    links
        .map(|c| {
            let target = c["target"].as_str().expect("a target").to_owned();
            (
                c["link"].as_u64().unwrap(),
                target,
                c["clicks"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_later_dispatch_of_an_edited_volume_keeps_every_recorded_link_in_its_place() {
    let project = dispatched();
    let before = per_link(&project);
    let sent = counted(&hrefs(&project, "ana.lima@example.org"));
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").unwrap();
    let third = format!("/{}", broadsheet::clicks::path(&signer, 11, 3));
    assert!(sent.contains(&third), "{sent:?}");
    let serve = Serve::start(&project);
    let answer = follow(&serve, "GET", &third, "198.51.100.20", BROWSER);
    assert_eq!(answer.header("location"), Some(before[2].1.as_str()));
    serve.kill();
    // A pick put first: a target new to the volume, ahead of every recorded one.
    let urgent = "https://www.caixinglobal.com/urgent-story/";
    project.edit(
        "volumes/011.toml",
        "\n[[picks]]\n",
        &format!(
            "\n[[picks]]\nsummary = \"Urgent.\"\nsource = \"Wire\"\ndate = 2024-05-08\nurl = \"{urgent}\"\n\n[[picks]]\n"
        ),
    );
    let late = dispatch(&project, &["--segment", "staff", "--yes", "--expect", "1"]);
    assert_eq!(late.status, 0, "{}", late.stderr);
    let after = per_link(&project);
    assert_eq!(
        after[..before.len()],
        before
            .iter()
            .map(|(link, target, clicks)| (*link, target.clone(), *clicks + u64::from(*link == 3)))
            .collect::<Vec<_>>()[..],
        "every recorded link keeps its place, its target and its clicks"
    );
    let added: Vec<(u64, &str)> = after[before.len()..]
        .iter()
        .map(|(link, target, _)| (*link, target.as_str()))
        .collect();
    assert_eq!(added, [(before.len() as u64 + 1, urgent)]);
    let serve = Serve::start(&project);
    for (link, target, _) in &after {
        let path = format!("/{}", broadsheet::clicks::path(&signer, 11, *link as u32));
        let answer = follow(&serve, "GET", &path, "198.51.100.21", BROWSER);
        assert_eq!(answer.header("location"), Some(target.as_str()), "{path}");
    }
    let editor = counted(&hrefs(&project, "editor@example.org"));
    assert!(
        editor.contains(&third),
        "the later message links a recorded target at its place: {editor:?}"
    );
}

#[test]
fn a_gateway_that_walks_every_link_is_one_scanner_whatever_its_order() {
    let project = dispatched();
    let walk: Vec<String> = hrefs(&project, "ana.lima@example.org")
        .iter()
        .filter_map(|h| h.strip_prefix(PUBLIC))
        .filter(|p| p.starts_with("c/"))
        .map(|p| format!("/{p}"))
        .collect();
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").unwrap();
    let canary = format!("/{}", broadsheet::clicks::path(&signer, 11, 0));
    assert_eq!(
        walk.first(),
        Some(&canary),
        "the canary comes first: {walk:?}"
    );
    let first = format!("/{}", broadsheet::clicks::path(&signer, 11, 1));
    // Safe Links' user agent is a browser's: only the canary gives it away.
    let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    let serve = Serve::start(&project);
    let in_order = walk.iter().chain(&walk[1..]);
    let backwards = walk.iter().rev();
    for (gateway, paths) in [
        ("203.0.113.1", in_order.collect::<Vec<_>>()),
        ("203.0.113.2", backwards.collect()),
    ] {
        for path in paths {
            let answer = follow(&serve, "GET", path, gateway, edge);
            assert!(
                matches!(answer.status, 200 | 302),
                "{path}: {}",
                answer.status
            );
        }
    }
    // A gateway that checks with HEAD, then fetches; and a reader.
    for (method, client) in [
        ("HEAD", "203.0.113.3"),
        ("GET", "203.0.113.3"),
        ("GET", "198.51.100.30"),
    ] {
        assert_eq!(follow(&serve, method, &first, client, edge).status, 302);
    }
    serve.kill();
    let shown = report(&project);
    let links = shown["clicks"].as_array().expect("clicks");
    let distinct: BTreeSet<&String> = walk.iter().collect();
    assert_eq!(links.len() + 1, distinct.len());
    for link in links {
        let expected = match link["link"].as_u64() {
            Some(1) => json!([1, 3]),
            _ => json!([0, 2]),
        };
        assert_eq!(
            json!([link["clicks"], link["scanner"]]),
            expected,
            "one reader's click, and each gateway once as a scanner: {link}"
        );
    }
}

#[test]
fn http_libraries_previewers_and_office_probes_count_as_scanners() {
    let project = dispatched();
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").unwrap();
    let first = format!("/{}", broadsheet::clicks::path(&signer, 11, 1));
    let machines = [
        "Java/1.8.0_281",
        "okhttp/4.9.3",
        "axios/1.6.2",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "Microsoft Office Existence Discovery",
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    ];
    let serve = Serve::start(&project);
    for (i, agent) in machines.iter().chain([&BROWSER]).enumerate() {
        let address = format!("198.51.100.{}", 40 + i);
        assert_eq!(follow(&serve, "GET", &first, &address, agent).status, 302);
    }
    serve.kill();
    let link = &report(&project)["clicks"][0];
    assert_eq!(
        json!([link["clicks"], link["scanner"]]),
        json!([1, machines.len()]),
        "only the browser is a reader: {link}"
    );
}

#[test]
fn the_report_page_shows_large_counts_whole_and_the_hourly_figures_as_text() {
    let project = dispatched();
    let hour = broadsheet::clock::Timestamp::now().0 / 3600;
    let store = rusqlite::Connection::open(project.path("state/audience.sqlite")).expect("store");
    store
        .execute(
            "INSERT INTO clicks (volume, link, hour, clicks, scanner) VALUES (11, 4, ?1, 123456, 654321)",
            [hour],
        )
        .expect("counts");
    drop(store);
    let file = project.path("report-large.html");
    let path = file.to_str().unwrap();
    project.ok(&["report", "volumes/011.toml", "--html", path]);
    let browser = Browser::start(1000, 900, false);
    browser.goto(&format!("file://{}", file.display()));
    let shown = browser.eval(
        "const svg = document.querySelector('#clicks-per-link');
         const wide = svg.viewBox.baseVal.width;
         const cut = [...svg.querySelectorAll('text')]
           .map(t => t.getBBox()).filter(b => b.x + b.width > wide).length;
         const labels = [...svg.querySelectorAll('text')].map(t => t.textContent);
         const rows = [...document.querySelectorAll('table tbody tr')]
           .map(r => [...r.cells].map(c => c.textContent));
         const hourly = [...document.querySelectorAll('#sent-per-hour, #clicks-per-hour')]
           .map(s => s.getAttribute('aria-label'));
         return { cut, big: labels.includes('123456'), rows, hourly,
                  caption: document.querySelector('table caption')?.textContent };",
    );
    assert_eq!(shown["cut"], 0, "a label runs past the chart: {shown}");
    assert_eq!(shown["big"], true, "{shown}");
    let rows = shown["rows"].as_array().expect("the table's rows");
    assert_eq!(rows.len(), 72, "{shown}");
    let column = |i: usize| -> u64 {
        rows.iter()
            .map(|r| r[i].as_str().unwrap().parse::<u64>().expect("a figure"))
            .sum()
    };
    assert_eq!((column(1), column(2)), (2, 123456), "{shown}");
    assert!(
        shown["caption"]
            .as_str()
            .is_some_and(|c| c.contains("72 hours"))
    );
    for label in shown["hourly"].as_array().expect("two hourly charts") {
        assert!(
            label.as_str().unwrap().contains("at most"),
            "the chart says its scale: {label}"
        );
    }
}
