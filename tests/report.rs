//! `broadsheet report` through the real binary: a dispatch to the outbox, one unsubscribe
//! through each channel of the volume's links (one-click, the page, the preferences page, a
//! `mailto:` mail), a bounce to the message's return path, and `report --json` counting
//! exactly what the test did; an old link without the volume still unsubscribes, and is
//! told apart, and so is a link that names the volume for somebody it never went to.

use serde_json::{Value, json};

use crate::bounces::{import, mailto_subject, message_to, return_path, run, verp_project};
use crate::serve::unsubscribe_url;
use crate::support::Project;
use crate::support::dispatching::dispatch;
use crate::support::serve::{Serve, path_of, token};

/// The six subscribers: the two of the example file and four more.
const READERS: [&str; 6] = [
    "ana.lima@example.org",
    "wei.zhang@example.org",
    "r1@example.net",
    "r2@example.net",
    "r3@example.net",
    "r4@example.net",
];

/// The VERP project with four more subscribers, dispatched to its outbox.
fn dispatched() -> Project {
    let project = verp_project();
    let toml = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!("{toml}\n[[imports]]\npath = \"lists/more.csv\"\nsegments = [\"subscribers\"]\n"),
    );
    let more: String = READERS[2..].iter().map(|r| format!("{r},,,\n")).collect();
    project.write(
        "lists/more.csv",
        &format!("email,name,segments,topics\n{more}"),
    );
    let sent = dispatch(&project, &["--yes", "--expect", "6"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project
}

/// The path of the unsubscribe link in the message to `to`.
fn link_of(project: &Project, to: &str) -> String {
    path_of(&unsubscribe_url(&message_to(project, to)))
}

fn dsn(to: &str, recipient: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\nTo: {to}\r\nSubject: Undelivered\r\n\
Message-ID: <dsn.report@mx.example.net>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown\r\n\r\n--b--\r\n"
    )
}

/// The `href` of the unsubscribe page's "Choose topics instead" link.
fn preferences_link(page: &str) -> String {
    let at = page
        .find("Choose topics instead")
        .expect("a preferences link");
    let start = page[..at].rfind("href=\"").expect("an href") + 6;
    let end = start + page[start..].find('"').expect("a closing quote");
    page[start..end].replace("&amp;", "&")
}

#[test]
fn report_counts_what_the_volume_did_and_each_channel_of_its_links() {
    let project = dispatched();
    let [ana, wei, r1, r2, r3, r4] = READERS;
    let links: Vec<String> = READERS.iter().map(|r| link_of(&project, r)).collect();
    assert!(
        links.iter().all(|l| l.ends_with("?v=11")),
        "every unsubscribe link names its volume: {links:?}"
    );
    let serve = Serve::start(&project);
    assert_eq!(serve.one_click(&links[0]).status, 200);
    let page = serve.form(&links[1], "confirm=yes");
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.header("location"), Some(links[1].as_str()));
    let shown = serve.get(&links[2]);
    let preferences = preferences_link(&shown.body);
    assert!(preferences.ends_with("?v=11"), "{preferences}");
    assert_eq!(serve.form(&preferences, "action=unsubscribe").status, 303);
    // A link of an older message, without the volume, still works, tied to no volume.
    let old = links[5].trim_end_matches("?v=11");
    assert_eq!(serve.one_click(old).status, 200);
    // The volume is in the clear: a link naming volume 11 for a reader it never went to (the
    // editor is on the list, in no segment of the dispatch) is heard, and not counted
    // toward the volume.
    let stranger = "editor@example.org";
    let named = links[0].replace(&token(ana), &token(stranger));
    assert!(named.ends_with("?v=11") && named != links[0], "{named}");
    assert_eq!(serve.one_click(&named).status, 200);
    serve.kill();
    project.write(
        "inbox/mailto.eml",
        &format!(
            "From: Somebody <somebody@example.net>\r\nTo: unsubscribe@eto.tech\r\nSubject: {}\r\n\r\n",
            mailto_subject(&project, r2)
        ),
    );
    project.write("inbox/dsn.eml", &dsn(&return_path(&project, r3), r3));
    let (status, records) = import(&project, &["inbox"]);
    assert_eq!(status, 0, "{records:#?}");
    let list = project.ok(&["suppress", "list"]).stdout;
    for (reader, reason) in [
        (ana, "unsubscribed  one-click"),
        (wei, "unsubscribed  page"),
        (r1, "unsubscribed  preferences"),
        (r2, "unsubscribed  mailto"),
        (r3, "bounced (user-unknown)  bounce"),
        (r4, "unsubscribed  one-click"),
        (stranger, "unsubscribed  one-click"),
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("{reader}  {reason}"))),
            "{reader} {reason}:\n{list}"
        );
    }
    let shown = run(&project, &["report", "volumes/011.toml", "--json"]);
    assert_eq!(shown.status, 0, "{}", shown.stderr);
    let report: Value = serde_json::from_str(&shown.stdout).expect("report JSON");
    let figures: Value = [
        "sent",
        "delivered",
        "deferred",
        "failed",
        "bounced",
        "complaints",
        "unsubscribed",
        "clicks",
    ]
    .iter()
    .map(|k| (k.to_string(), report[k].clone()))
    .collect::<serde_json::Map<_, _>>()
    .into();
    assert_eq!(
        figures,
        json!({
            "sent": 6, "delivered": 5, "deferred": 0, "failed": 0,
            "bounced": { "hard": 1, "soft": 0, "sender": 0 },
            "complaints": 0,
            "unsubscribed": { "one-click": 1, "page": 1, "preferences": 1, "mailto": 1 },
            "clicks": [],
        }),
        "{report:#}"
    );
    let reasons = report["reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r["domain"] == "example.net" && r["reason"] == "user-unknown"),
        "{reasons:#?}"
    );
    let status = run(&project, &["status", "volumes/011.toml"]).stdout;
    assert!(
        status.contains(
            "unsubscribed through the volume's links: 4 (1 one-click, 1 page, 1 preferences, 1 mailto)"
        ),
        "{status}"
    );
    let text = run(&project, &["report", "volumes/011.toml"]);
    assert!(
        text.stdout
            .contains("unsubscribed: 4 (1 one-click, 1 page, 1 preferences, 1 mailto)")
            && text
                .stdout
                .contains("sent 6, delivered 5, deferred 0, failed 0"),
        "{}",
        text.stdout
    );
    // The two commands print the same row for the same reason.
    let row = |out: &str| {
        out.lines()
            .find(|l| l.contains("example.net") && l.contains("user-unknown"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(
        row(&text.stdout).as_deref(),
        Some("bounce example.net user-unknown 5.1.1 1"),
        "{}",
        text.stdout
    );
    assert_eq!(row(&status), row(&text.stdout), "{status}");
}

#[test]
fn status_says_why_an_address_was_left_out() {
    let project = verp_project();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let why = |address: &str| {
        let shown = run(
            &project,
            &["status", "volumes/011.toml", "--recipient", address],
        );
        assert_eq!(shown.status, 1, "{}", shown.stdout);
        shown.stderr
    };
    let staff = why("editor@example.org");
    assert!(
        staff.contains(
            "error: editor@example.org was left out of volume 11: in none of the segments dispatched (subscribers)"
        ),
        "{staff}"
    );
    let stranger = why("nobody@example.org");
    assert!(
        stranger.contains("not listed in recipients.toml or its imports"),
        "{stranger}"
    );
    project.ok(&[
        "suppress",
        "add",
        "editor@example.org",
        "--reason",
        "bounced",
    ]);
    let suppressed = why("editor@example.org");
    assert!(
        suppressed.contains("left out of volume 11: suppressed since ")
            && suppressed.contains("(bounced)"),
        "{suppressed}"
    );
}

#[test]
fn a_volume_never_dispatched_reports_zeros_a_script_can_read() {
    let project = Project::sample();
    let json = project.ok(&["report", "volumes/011.toml", "--json"]);
    let summary: Value = serde_json::from_str(&json.stdout).expect("JSON on stdout");
    assert_eq!(
        json!([
            summary["volume"],
            summary["sent"],
            summary["delivered"],
            summary["clicks"]
        ]),
        json!([11, 0, 0, []]),
        "{summary:#}"
    );
    assert_eq!(summary["unsubscribed"]["one-click"], 0, "{summary:#}");
    let hours = summary["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 72);
    assert!(hours.iter().all(|h| h["sent"] == 0 && h["clicks"] == 0));
    assert_eq!(json.stderr, "volume 11 has not been dispatched\n");
    let status = project.ok(&["status", "volumes/011.toml", "--json"]);
    let report: Value = serde_json::from_str(&status.stdout).expect("JSON on stdout");
    assert_eq!(
        json!([report["volume"], report["dispatches"]]),
        json!([11, []])
    );
    assert_eq!(status.stderr, "volume 11 has not been dispatched\n");
    let page = project.path("report.html");
    let html = project.ok(&[
        "report",
        "volumes/011.toml",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(
        html.stdout.contains("has not been dispatched"),
        "{}",
        html.stdout
    );
    let page = std::fs::read_to_string(&page).expect("the page is written");
    assert!(page.contains("<svg") && page.contains("</html>"), "{page}");
    let one = project.run(&[
        "status",
        "volumes/011.toml",
        "--recipient",
        "ana.lima@example.org",
    ]);
    assert_eq!(one.status, 1);
    assert!(
        one.stderr.contains("has not been dispatched"),
        "{}",
        one.stderr
    );
}
