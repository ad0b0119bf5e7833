//! `broadsheet preview`: the server's safety rules over raw HTTP, the email bytes, clean
//! shutdown, and live reload in a real headless Chromium.

use std::time::Duration;

use serde_json::json;

use crate::support::preview::{Preview, eventually};
use crate::support::webdriver::Browser;
use crate::support::{Project, copy_tree};

#[test]
fn listens_on_loopback_only() {
    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    assert_eq!(preview.url, format!("http://127.0.0.1:{}/", preview.port));
    // /proc/net/tcp lists listening sockets with hex addresses: 0100007F is 127.0.0.1.
    let port = format!(":{:04X} ", preview.port);
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|table| {
            std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(port.trim_end()) && fields[3] == "0A"
        })
        .collect();
    assert_eq!(listening.len(), 1, "{listening:?}");
    assert!(
        listening[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:")
    );
}

#[test]
fn refuses_foreign_hosts_other_methods_and_escapes() {
    let project = Project::sample();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        project.path("broadsheet.toml"),
        project.path("layouts/scout/escape.toml"),
    )
    .expect("symlink");
    let preview = Preview::start(&project, "volumes/011.toml");
    let port = preview.port;
    assert_eq!(
        preview.get("/layouts/scout/layout.toml").0,
        200,
        "a layout file is served"
    );

    let foreign = preview.raw("GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    assert_eq!(foreign.0, 421);
    let rebinding = preview.raw(&format!(
        "GET /email.html HTTP/1.1\r\nHost: attacker.example:{port}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(rebinding.0, 421);
    let post = preview.raw(&format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(post.0, 405);

    for path in [
        "/layouts/../broadsheet.toml",
        "/layouts/scout/../../broadsheet.toml",
        "/layouts/%2e%2e/broadsheet.toml",
        "/layouts/%2E%2E%2Fbroadsheet.toml",
        "/layouts/scout/%2e%2e/%2e%2e/broadsheet.toml",
        "/layouts//etc/passwd",
        "/layouts/%2Fetc%2Fpasswd",
        "/layouts/..%5cbroadsheet.toml",
        "/layouts/scout/escape.toml",
        "/layouts/scout",
        "/layouts/scout/",
        "/../broadsheet.toml",
        "/broadsheet.toml",
    ] {
        let (status, body) = preview.get(path);
        assert!((400..500).contains(&status), "{path} gave {status}");
        assert!(
            !String::from_utf8_lossy(&body).contains("layout ="),
            "{path} leaked a file"
        );
    }
}

#[test]
fn iframe_bytes_equal_build_output_and_ctrl_c_stops() {
    let project = Project::sample();
    project.ok(&["build", "volumes/011.toml"]);
    let preview = Preview::start(&project, "volumes/011.toml");
    for (route, file) in [
        ("/email.html", "out/011/email.html"),
        ("/email.txt", "out/011/email.txt"),
        ("/email.mjml", "out/011/email.mjml"),
    ] {
        let (status, body) = preview.get(route);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            project.read(file).into_bytes(),
            "{route} differs from {file}"
        );
    }
    let (status, web) = preview.get("/web.html");
    let web = String::from_utf8(web).expect("UTF-8 page");
    assert_eq!(status, 200, "the volume's web archive page is shown too");
    assert!(
        web.contains("Farming robots, synthetic video") && !web.contains("unsubscribe.invalid")
    );
    let (_, page) = preview.get("/");
    let (_, email) = preview.get("/email.html");
    assert!(String::from_utf8_lossy(&page).contains("EventSource"));
    assert!(
        !String::from_utf8_lossy(&email).contains("<script"),
        "no reload script in the email"
    );
    assert_eq!(
        preview.interrupt(),
        Some(0),
        "Ctrl-C stops the preview cleanly"
    );
}

/// The text of the email inside the page's iframe, and whether the error banner shows.
const PAGE_STATE: &str = "
    const frame = document.getElementById('email');
    const doc = frame.contentDocument;
    return {
      email: doc && doc.body ? doc.body.innerText : '',
      failed: document.getElementById('stage').classList.contains('failed'),
      problems: document.getElementById('problems').innerText,
      marker: window.__notReloaded === true,
    };";

#[test]
fn live_reload_in_a_real_browser() {
    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    let browser = Browser::start(1280, 1000, false);
    browser.goto(&preview.url);
    let first_pick = "A state media report explains that China's agricultural machinery";
    let limit = Duration::from_secs(10);
    assert!(
        eventually(limit, || browser.eval(PAGE_STATE)["email"]
            .as_str()
            .unwrap_or_default()
            .contains(first_pick)),
        "the first pick never showed: {}",
        browser.eval(PAGE_STATE)
    );
    browser.eval("window.__notReloaded = true; return null;");

    project.edit(
        "volumes/011.toml",
        "A state media report explains",
        "A freshly edited report explains",
    );
    assert!(
        eventually(limit, || {
            let state = browser.eval(PAGE_STATE);
            state["email"]
                .as_str()
                .unwrap_or_default()
                .contains("A freshly edited report explains")
        }),
        "the edit never showed: {}",
        browser.eval(PAGE_STATE)
    );

    project.edit("volumes/011.toml", "number = 11", "number = 11\nnumbr = 12");
    assert!(
        eventually(limit, || browser.eval(PAGE_STATE)["failed"] == json!(true)),
        "the error never showed: {}",
        browser.eval(PAGE_STATE)
    );
    let broken = browser.eval(PAGE_STATE);
    assert!(
        broken["problems"]
            .as_str()
            .unwrap()
            .contains("unknown field `numbr`"),
        "{broken}"
    );
    assert!(
        broken["problems"]
            .as_str()
            .unwrap()
            .contains("volumes/011.toml:9:1"),
        "{broken}"
    );
    assert!(
        broken["email"]
            .as_str()
            .unwrap()
            .contains("A freshly edited report explains"),
        "the last good render stays visible: {broken}"
    );

    project.edit("volumes/011.toml", "\nnumbr = 12", "");
    assert!(
        eventually(limit, || browser.eval(PAGE_STATE)["failed"] == json!(false)),
        "the error never cleared: {}",
        browser.eval(PAGE_STATE)
    );
    let fixed = browser.eval(PAGE_STATE);
    assert!(
        !fixed["problems"].as_str().unwrap().contains("numbr"),
        "{fixed}"
    );
    assert_eq!(
        fixed["marker"],
        json!(true),
        "the page was never reloaded by hand or by script"
    );
}

#[test]
fn a_folder_gone_for_a_while_is_said_once_and_watched_again_when_back() {
    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    let mut events = preview.events();
    let limit = Duration::from_secs(10);
    let away = project.path("volumes.away");
    std::fs::rename(project.path("volumes"), &away).expect("move volumes away");
    assert!(events.rebuilt(limit), "no rebuild after the folder went");
    // The layout replaced twice while the volumes are away: each re-arms every watch.
    for _ in 0..2 {
        std::fs::rename(project.path("layouts"), project.path("layouts.x")).unwrap();
        std::fs::rename(project.path("layouts.x"), project.path("layouts")).unwrap();
        assert!(
            events.rebuilt(limit),
            "no rebuild after the layout came back"
        );
    }
    let said = |stderr: &str| stderr.matches("cannot watch volumes").count();
    assert_eq!(said(&preview.stderr()), 1, "{}", preview.stderr());
    std::fs::rename(&away, project.path("volumes")).expect("bring volumes back");
    assert!(
        events.rebuilt(limit),
        "no rebuild after the folder came back"
    );
    project.edit(
        "volumes/011.toml",
        "A state media report explains",
        "A report saved after the folder came back explains",
    );
    assert!(events.rebuilt(limit), "no rebuild after a save in it");
    std::fs::rename(project.path("volumes"), &away).expect("move volumes away again");
    assert!(
        events.rebuilt(limit),
        "no rebuild after the folder went again"
    );
    assert_eq!(
        said(&preview.stderr()),
        2,
        "gone a second time: {}",
        preview.stderr()
    );
}

#[test]
fn keeps_rebuilding_after_the_volumes_folder_is_replaced() {
    let project = Project::sample();
    let preview = Preview::start(&project, "volumes/011.toml");
    let mut events = preview.events();
    let limit = Duration::from_secs(10);

    // What a sync tool, `rm -rf volumes && git checkout volumes` or a restored backup does.
    let away = project.path("volumes.away");
    std::fs::rename(project.path("volumes"), &away).expect("move volumes away");
    copy_tree(&away, &project.path("volumes"));
    assert!(
        events.rebuilt(limit),
        "no rebuild after the folder came back"
    );

    project.edit(
        "volumes/011.toml",
        "A state media report explains",
        "A report saved in the new folder explains",
    );
    assert!(
        events.rebuilt(limit),
        "no rebuild after a save in the new folder"
    );
    let (status, email) = preview.get("/email.html");
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&email).contains("A report saved in the new folder explains"),
        "the page still shows the old folder's volume"
    );
}
