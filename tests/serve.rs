//! `broadsheet serve` through the real binary: one-click unsubscribes with tokens from
//! dispatched messages, then `plan` and `suppress list`; pages whose GET changes nothing;
//! one 400 for every bad token; sign-up, confirmation mail and confirmation; preferences
//! that change what `plan` gives a reader; unsubscribes kept while other processes read the
//! store.

use serde_json::Value;

use crate::recipients::with_recipients;
use crate::support::dispatching::{SECRET, dispatch_command, excluded};
use crate::support::serve::{Serve, one_click_path, path_of, readers, token};
use crate::support::smtp::SmtpSink;
use crate::support::{Project, eventually_files};

/// Dispatches volume 11 to the subscribers and returns each message's (To, unsubscribe URL)
/// read from the outbox.
fn dispatched(project: &Project) -> Vec<(String, String)> {
    let mut dispatch = dispatch_command(project, &["--yes", "--expect", "2"]);
    let run = crate::support::Run::from(dispatch.output().expect("run dispatch"));
    assert_eq!(run.status, 0, "{}", run.stderr);
    eventually_files(&project.path("outbox"), ".eml", 2)
        .iter()
        .map(|eml| {
            let text = std::fs::read_to_string(eml).expect("read message");
            (header(&text, "To"), unsubscribe_url(&text))
        })
        .collect()
}

fn header(message: &str, name: &str) -> String {
    let line = message
        .lines()
        .find(|l| l.starts_with(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header"));
    let value = &line[name.len() + 2..];
    let address = value.rsplit_once('<').map_or(value, |(_, a)| a);
    address.trim_end_matches('>').to_owned()
}

/// The https URL of the message's List-Unsubscribe header.
pub fn unsubscribe_url(message: &str) -> String {
    let line = message
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe: "))
        .expect("a List-Unsubscribe header");
    let start = line.find("<https://").expect("an https URL") + 1;
    let end = start + line[start..].find('>').expect("a closing bracket");
    line[start..end].to_owned()
}

fn plan(project: &Project) -> Value {
    plan_of(project, "subscribers")
}

/// `plan --json` of the sample volume for `segment`.
fn plan_of(project: &Project, segment: &str) -> Value {
    let mut plan = project.command(&["plan", "volumes/011.toml", "--segment", segment, "--json"]);
    plan.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    let run = crate::support::Run::from(plan.output().expect("run plan"));
    assert_eq!(run.status, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("plan JSON")
}

/// Each variant of the plan with its number of recipients, e.g. `topics:chips 1`.
fn variants(plan: &Value) -> Vec<String> {
    plan["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| format!("{} {}", v["variant"].as_str().unwrap(), v["recipients"]))
        .collect()
}

#[test]
fn one_click_with_a_dispatched_token_suppresses_and_plan_excludes_the_reader() {
    let project = with_recipients();
    let messages = dispatched(&project);
    let serve = Serve::start(&project);
    let (to, url) = messages
        .iter()
        .find(|(to, _)| to == "ana.lima@example.org")
        .expect("a message to Ana");
    let path = path_of(url);
    // The page shows the masked address and a button, and changes nothing.
    let page = serve.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("a…@example.org") && !page.body.contains(to.as_str()));
    assert!(
        page.body.contains("name=\"confirm\" value=\"yes\""),
        "{}",
        page.body
    );
    assert_eq!(
        project.ok(&["suppress", "list"]).stdout,
        "",
        "a GET changed something"
    );
    let first = serve.one_click(&path);
    assert_eq!((first.status, first.body.as_str()), (200, "unsubscribed\n"));
    let replay = serve.one_click(&path);
    assert_eq!(replay.status, 200, "a replay is still 200");
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ana.lima@example.org  unsubscribed  one-click  "),
        "{list}"
    );
    assert_eq!(list.lines().count(), 1, "{list}");
    let excluded = excluded(&plan(&project));
    let suppressed: Vec<_> = excluded
        .iter()
        .filter(|e| e.contains("suppressed"))
        .collect();
    assert_eq!(
        suppressed,
        ["ana.lima@example.org: suppressed (unsubscribed)"]
    );
    let page = serve.get(&path);
    assert!(page.body.contains("You are unsubscribed") && page.body.contains("Resubscribe"));
}

#[test]
fn a_reader_no_longer_listed_leaves_with_the_token_of_a_message_they_got() {
    let project = with_recipients();
    let messages = dispatched(&project);
    let (_, url) = messages
        .iter()
        .find(|(to, _)| to == "wei.zhang@example.org")
        .expect("a message to Wei");
    let path = path_of(url);
    // The next export of the CRM leaves Wei out, then lists them again.
    let listed = project.read("recipients.toml");
    let start = listed
        .find("[[recipients]]\nemail = \"wei.zhang@example.org\"")
        .expect("Wei's row");
    let end = listed[start + 1..]
        .find("[[recipients]]")
        .map_or(listed.len(), |i| start + 1 + i);
    project.write(
        "recipients.toml",
        &format!("{}{}", &listed[..start], &listed[end..]),
    );
    let serve = Serve::start(&project);
    let page = serve.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("w…@example.org"), "{}", page.body);
    let one_click = serve.one_click(&path);
    assert_eq!(
        (one_click.status, one_click.body.as_str()),
        (200, "unsubscribed\n")
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("wei.zhang@example.org  unsubscribed  one-click  "),
        "{list}"
    );
    project.write("recipients.toml", &listed);
    assert!(
        excluded(&plan(&project))
            .contains(&"wei.zhang@example.org: suppressed (unsubscribed)".to_owned()),
        "listed again, they stay out"
    );
    // A token of an address no message went to still names nobody.
    let stranger = format!("/unsubscribe/{}", token("stranger@example.org"));
    assert_eq!(serve.one_click(&stranger).status, 400);
}

#[test]
fn a_token_from_an_smtp_sink_message_works_too() {
    let sink = SmtpSink::start();
    let project = crate::sending::smtp_project(sink.port);
    let mut dispatch = dispatch_command(&project, &["--yes", "--expect", "2"]);
    assert!(dispatch.status().expect("run dispatch").success());
    let captured = sink.wait_for(2);
    let wei = captured
        .iter()
        .find(|c| {
            c.rcpt_args
                .iter()
                .any(|r| r.contains("wei.zhang@example.org"))
        })
        .expect("the message to Wei");
    let url = crate::sending::check_message(wei);
    let serve = Serve::start(&project);
    assert_eq!(serve.one_click(&path_of(&url)).status, 200);
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("wei.zhang@example.org  unsubscribed  one-click"),
        "{list}"
    );
}

#[test]
fn bad_tokens_all_get_the_same_400_and_gets_change_nothing() {
    let project = with_recipients();
    let messages = dispatched(&project);
    let serve = Serve::start(&project);
    // The token without the volume its message adds (`?v=11`): the token is what is forged.
    let path = path_of(&messages[0].1)
        .split_once('?')
        .expect("the volume's query")
        .0
        .to_owned();
    let mut tampered = path.clone();
    let last = tampered.pop().expect("a token");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let proof = "/unsubscribe/proof".to_owned();
    let short = format!("{}x", &path[..path.len() - 5]);
    // A percent escape that is no UTF-8 is a bad token like any other.
    let garbled = "/unsubscribe/%ff".to_owned();
    let answers: Vec<_> = [&tampered, &proof, &short, &garbled]
        .iter()
        .flat_map(|p| [serve.get(p), serve.one_click(p)])
        .chain([
            serve.get("/confirm/AAAA"),
            serve.get(&path.replace("unsubscribe", "confirm")),
            serve.get("/confirm/%ff"),
            serve.get("/preferences/%ff"),
            serve.get("/preferences/A%C3%28"),
        ])
        .collect();
    for answer in &answers {
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(
            answer.body, answers[0].body,
            "every bad token gets the same page"
        );
    }
    for page in [
        path.clone(),
        path.replace("unsubscribe", "preferences"),
        "/subscribe".to_owned(),
    ] {
        assert_eq!(serve.get(&page).status, 200, "{page}");
    }
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "");
    assert!(!project.path("state/audience.sqlite").exists() || history_is_empty(&project));
}

fn history_is_empty(project: &Project) -> bool {
    let explain = project
        .ok(&["recipients", "--explain", "ana.lima@example.org"])
        .stdout;
    !explain.contains("history")
}

#[test]
fn signup_mails_a_confirmation_whose_get_changes_nothing_and_whose_post_subscribes() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    let sent = serve.form(
        "/subscribe",
        "email=New.Reader%40Example.org&name=New+Reader&topics=chips&topics=ai&website=",
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.header("location"), Some("/subscribe?sent=1"));
    let inbox = serve.get("/subscribe?sent=1");
    assert!(inbox.body.contains("Check your inbox"), "{}", inbox.body);
    // A bad address and a filled honeypot get the very same answer, and no mail.
    for body in [
        "email=not-an-address",
        "email=bot%40example.org&website=http%3A%2F%2Fspam",
    ] {
        let same = serve.form("/subscribe", body);
        assert_eq!(
            (same.status, same.header("location")),
            (303, Some("/subscribe?sent=1"))
        );
    }
    let mails = eventually_files(&project.path("outbox"), ".eml", 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        eventually_files(&project.path("outbox"), ".eml", 1).len(),
        1,
        "one mail only"
    );
    let mail = std::fs::read_to_string(&mails[0]).expect("read the confirmation");
    assert!(
        mail.contains("To: New.Reader@example.org") && mail.contains("Subject: Confirm"),
        "{mail}"
    );
    let start = mail
        .find("https://scout.eto.tech/confirm/")
        .expect("a confirmation link");
    let link = mail[start..].split_whitespace().next().unwrap();
    let path = path_of(link);
    let explain = |p: &Project| {
        p.ok(&["recipients", "--explain", "new.reader@example.org"])
            .stdout
    };
    assert_eq!(serve.get(&path).status, 200);
    assert!(
        explain(&project).contains("gets no volume: not listed"),
        "{}",
        explain(&project)
    );
    let unsigned = serve.request("POST", &path, &[], "");
    assert_eq!(unsigned.status, 403, "a confirmation POST without Origin");
    let confirmed = serve.form(&path, "");
    assert_eq!(confirmed.status, 303);
    assert_eq!(serve.get(confirmed.header("location").unwrap()).status, 200);
    let story = explain(&project);
    assert!(
        story.contains("(signed up 20") && story.contains(", confirmed 20"),
        "{story}"
    );
    assert!(
        story.contains("\n  topics: ai, chips\n") && story.contains("segments: subscribers"),
        "{story}"
    );
    assert!(
        story.contains("gets a volume with the picks tagged ai or chips"),
        "{story}"
    );
    let plan = plan(&project);
    assert_eq!(plan["to_send"], 3, "{plan}");
    // Pressed twice (a double click, the back button): the same success page.
    let again = serve.form(&path, "");
    assert_eq!(
        (again.status, again.header("location")),
        (303, confirmed.header("location")),
        "{}",
        again.body
    );
    let reopened = serve.get(&path);
    assert!(
        reopened.body.contains("You are subscribed"),
        "{}",
        reopened.body
    );
}

/// Signs `address` up through `serve` and returns the path of the link mailed to it.
fn signed_up(serve: &Serve, project: &Project, address: &str) -> String {
    let body = format!("email={}&website=", address.replace('@', "%40"));
    assert_eq!(serve.form("/subscribe", &body).status, 303);
    let mails = eventually_files(&project.path("outbox"), ".eml", 1);
    let mail = std::fs::read_to_string(&mails[0]).expect("read the confirmation");
    assert!(mail.contains(&format!("To: {address}")), "{mail}");
    let start = mail
        .find("https://scout.eto.tech/confirm/")
        .expect("a confirmation link");
    path_of(mail[start..].split_whitespace().next().unwrap())
}

#[test]
fn confirming_a_sign_up_lifts_a_complaint_so_the_next_issue_reaches_them() {
    let project = with_recipients();
    project.ok(&[
        "suppress",
        "add",
        "policy@example.org",
        "--reason",
        "complained",
    ]);
    let serve = Serve::start(&project);
    let link = signed_up(&serve, &project, "policy@example.org");
    let complained = "policy@example.org: suppressed (complained)".to_owned();
    // A form anyone can fill in changes nothing until the owner confirms.
    assert!(excluded(&plan_of(&project, "chips-watch")).contains(&complained));
    assert_eq!(plan_of(&project, "chips-watch")["to_send"], 0);
    let confirmed = serve.form(&link, "");
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let page = serve.get(confirmed.header("location").expect("the done page"));
    assert!(page.body.contains("You are subscribed"), "{}", page.body);
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "");
    let plan = plan_of(&project, "chips-watch");
    assert_eq!(plan["to_send"], 1, "{plan}");
    assert!(!excluded(&plan).contains(&complained), "{plan}");
    let story = project
        .ok(&["recipients", "--explain", "policy@example.org"])
        .stdout;
    assert!(
        story.contains(" no longer suppressed (was complained) (confirmation)\n"),
        "{story}"
    );
}

#[test]
fn a_reader_who_ticks_no_topic_gets_every_pick_whatever_their_segments_filter() {
    let project = with_recipients();
    // policy@ is in chips-watch only, whose `topics_any` is chips and trade.
    assert_eq!(
        variants(&plan_of(&project, "chips-watch")),
        ["topics:chips,trade 1"]
    );
    let serve = Serve::start(&project);
    let policy = format!("/preferences/{}", token("policy@example.org"));
    assert_eq!(serve.form(&policy, "topics=chips&action=save").status, 303);
    assert_eq!(
        variants(&plan_of(&project, "chips-watch")),
        ["topics:chips 1"]
    );
    // The page says "Tick none to get every pick": the reader's word, not the segment's.
    assert!(
        serve
            .get(&policy)
            .body
            .contains("Tick none to get every pick")
    );
    assert_eq!(serve.form(&policy, "action=save").status, 303);
    assert!(!serve.get(&policy).body.contains(" checked"));
    assert_eq!(variants(&plan_of(&project, "chips-watch")), ["all 1"]);
    let explain = project
        .ok(&["recipients", "--explain", "policy@example.org"])
        .stdout;
    assert!(
        explain.contains("\n  topics: every pick, by their own choice\n")
            && explain.contains("gets a volume with every pick"),
        "{explain}"
    );
}

#[test]
fn preferences_change_the_plan_and_resubscribing_lifts_only_the_readers_own_unsubscribe() {
    let project = with_recipients();
    let serve = Serve::start(&project);
    // Signed as the messages are (a dispatch would leave the plan nobody to send to).
    let ana = format!("/preferences/{}", token("ana.lima@example.org"));
    let page = serve.get(&ana);
    assert!(
        page.body.contains("value=\"chips\"") && !page.body.contains(" checked"),
        "{}",
        page.body
    );
    let before = variants(&plan(&project));
    assert_eq!(
        before.len(),
        2,
        "every pick for Ana, ai and chips for Wei: {before:?}"
    );
    assert!(!before.contains(&"topics:chips 1".to_owned()), "{before:?}");
    let saved = serve.form(&ana, "topics=chips&topics=unknown&action=save");
    assert_eq!(saved.status, 303);
    assert_eq!(
        saved.header("location"),
        Some(format!("{ana}?saved=1").as_str())
    );
    assert!(
        serve
            .get(&ana)
            .body
            .contains("id=\"topic-chips\" name=\"topics\" value=\"chips\" checked")
    );
    assert_eq!(
        variants(&plan(&project)),
        ["topics:ai,chips 1", "topics:chips 1"]
    );
    let explain = project
        .ok(&["recipients", "--explain", "ana.lima@example.org"])
        .stdout;
    assert!(explain.contains("\n  topics: chips\n"), "{explain}");
    // Unsubscribe from the page, come back, and a bounce is never lifted by the reader.
    assert_eq!(serve.form(&ana, "action=unsubscribe").status, 303);
    assert!(
        excluded(&plan(&project))
            .contains(&"ana.lima@example.org: suppressed (unsubscribed)".to_owned())
    );
    assert_eq!(serve.form(&ana, "action=resubscribe").status, 303);
    assert!(
        !excluded(&plan(&project))
            .iter()
            .any(|e| e.contains("suppressed"))
    );
    project.ok(&[
        "suppress",
        "add",
        "ana.lima@example.org",
        "--reason",
        "bounced",
    ]);
    assert!(!serve.get(&ana).body.contains("value=\"resubscribe\""));
    assert_eq!(serve.form(&ana, "action=resubscribe").status, 303);
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ana.lima@example.org  bounced  suppress"),
        "{list}"
    );
    assert_eq!(
        serve
            .request(
                "POST",
                &ana,
                &[("Origin", "https://evil.example")],
                "action=save"
            )
            .status,
        403
    );
}

/// Another process reading the store while `serve` runs (`sqlite3`, a backup, a script)
/// must not make later unsubscribes vanish: `serve` keeps the lock that tells it the
/// database is in use, so its write-ahead log is never deleted under it.
#[test]
fn an_unsubscribe_after_another_process_read_the_store_is_kept() {
    let project = readers(2);
    let serve = Serve::start(&project);
    let first = serve.one_click(&one_click_path("reader0@example.org"));
    assert_eq!(first.status, 200, "{}", first.body);
    let store = project.path("state/audience.sqlite");
    let reader = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             print(c.execute('SELECT count(*) FROM sqlite_master').fetchone()[0])\n\
             c.close()",
        ])
        .arg(&store)
        .output()
        .expect("python3 reads the store (Debian's python3)");
    assert!(reader.status.success(), "{reader:?}");
    let wal = project.path("state/audience.sqlite-wal");
    assert!(wal.exists(), "the write-ahead log was deleted under serve");
    let second = serve.one_click(&one_click_path("reader1@example.org"));
    assert_eq!(second.status, 200, "{}", second.body);
    let suppressed = || project.ok(&["suppress", "list"]).stdout.lines().count();
    assert_eq!(suppressed(), 2);
    drop(serve);
    assert_eq!(suppressed(), 2, "after serve stopped");
}
