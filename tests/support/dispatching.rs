//! Dispatching the fixture project through the real binary: a project with `n` generated
//! subscribers sending to a relay on loopback, and the commands and waits the dispatch tests
//! share.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::smtp::SmtpSink;
use super::{Project, Run};

/// The unsubscribe secret the dispatch tests use.
pub const SECRET: &str = "a test secret that is long enough";

/// The connections the generated projects use.
pub const CONNECTIONS: usize = 4;

/// Subscriber `i`'s address; the subscribers are spread over three domains.
pub fn reader(i: usize) -> String {
    format!("reader{i}@example{}.org", i % 3)
}

/// The fixture project with `n` subscribers in a CSV import, sending to a relay on `port`
/// with `limits` added to `[limits]`; the volume is cut to its first three picks to keep
/// 20,000 captured messages small.
pub fn project(port: u16, n: usize, limits: &str) -> Project {
    let project = Project::sample();
    let mut csv = String::from("email,name,segments,topics\n");
    for i in 0..n {
        csv.push_str(&format!("{},Reader {i},subscribers,\n", reader(i)));
    }
    project.write("recipients/subscribers.csv", &csv);
    project.write(
        "recipients.toml",
        "[segments.subscribers]\ndescription = \"Everyone\"\n\n[segments.staff]\ndescription = \"The newsroom\"\n\n[[imports]]\npath = \"recipients/subscribers.csv\"\n",
    );
    project.edit(
        "broadsheet.toml",
        "kind = \"outbox\"\ndir = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = 5\n\n[limits]\nconnections = {CONNECTIONS}\nretry_after_secs = 0\n{limits}"
        ),
    );
    let volume = project.read("volumes/011.toml");
    let kept: Vec<&str> = volume.split("\n[[picks]]\n").take(4).collect();
    let cut = kept
        .join("\n[[picks]]\n")
        .replace("after = 6", "after = 2")
        .replace(
            "(pick:chip-boom-and-bust)",
            "(https://scout.eto.tech/?pick=chip-boom-and-bust)",
        );
    project.write("volumes/011.toml", &cut);
    project
}

/// `broadsheet dispatch volumes/011.toml --segment subscribers EXTRA...`, not yet started.
pub fn dispatch_command(project: &Project, extra: &[&str]) -> Command {
    volume_dispatch_command(project, "volumes/011.toml", extra)
}

/// `broadsheet dispatch VOLUME --segment subscribers` with `extra` arguments, in `project`
/// with the unsubscribe secret set.
pub fn volume_dispatch_command(project: &Project, volume: &str, extra: &[&str]) -> Command {
    let mut args = vec!["dispatch", volume];
    if !extra.contains(&"--segment") {
        args.extend(["--segment", "subscribers"]);
    }
    args.extend_from_slice(extra);
    let mut command = project.command(&args);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    command
}

/// Runs a dispatch to the end.
pub fn dispatch(project: &Project, extra: &[&str]) -> Run {
    Run::from(
        dispatch_command(project, extra)
            .output()
            .expect("run dispatch"),
    )
}

/// Runs a dispatch confirmed with `--yes --expect n` to the end, with `extra` arguments.
pub fn confirmed(project: &Project, n: usize, extra: &[&str]) -> Run {
    let n = n.to_string();
    let mut args = vec!["--yes", "--expect", &n];
    args.extend_from_slice(extra);
    dispatch(project, &args)
}

/// Starts a confirmed dispatch of `expect` recipients in the background, output discarded.
pub fn spawn(project: &Project, expect: usize) -> Child {
    dispatch_command(project, &["--yes", "--expect", &expect.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dispatch")
}

/// The `excluded` lines of a `plan --json`, each `address: reason` as the text plan writes it.
pub fn excluded(plan: &Value) -> Vec<String> {
    plan["excluded"]
        .as_array()
        .expect("excluded list")
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["address"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect()
}

/// `status volumes/011.toml --json`.
pub fn status(project: &Project) -> Value {
    let run = project.ok(&["status", "volumes/011.toml", "--json"]);
    serde_json::from_str(&run.stdout).expect("status JSON")
}

/// `status volumes/011.toml --recipient ADDRESS --json`.
pub fn history(project: &Project, address: &str) -> Value {
    let run = project.ok(&[
        "status",
        "volumes/011.toml",
        "--recipient",
        address,
        "--json",
    ]);
    serde_json::from_str(&run.stdout).expect("history JSON")
}

/// Waits (at most two minutes) until `sent()` reaches `at`, while `child` keeps running.
pub fn wait_until(child: &mut Child, at: usize, sent: impl Fn() -> usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while sent() < at {
        assert!(Instant::now() < deadline, "dispatch too slow to reach {at}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "dispatch ended before {at}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the sink has started `at` messages, while `child` keeps running.
pub fn wait_for_sends(child: &mut Child, sink: &SmtpSink, at: usize) {
    wait_until(child, at, || sink.count());
}

/// Kills the dispatch with SIGKILL once the sink has started `at` messages.
pub fn kill_at(child: &mut Child, sink: &SmtpSink, at: usize) {
    wait_for_sends(child, sink, at);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// A project of `n` readers (with `limits`) whose dispatch to `sink` was SIGKILLed once
/// `at` messages had arrived: an interrupted dispatch, to resume or refuse.
pub fn interrupted(sink: &SmtpSink, n: usize, limits: &str, at: usize) -> Project {
    let project = project(sink.port, n, limits);
    let mut child = spawn(&project, n);
    kill_at(&mut child, sink, at);
    project
}
