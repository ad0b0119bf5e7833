//! What comes back: the VERP return path each dispatched message carries, and
//! `bounces import` reading reports and suppressing exactly the recipients they name.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::recipients::with_recipients;
use crate::sending::SECRET;
use crate::support::{Project, Run};

/// The sample project with recipients and `[sender] bounce` set.
pub fn verp_project() -> Project {
    let project = with_recipients();
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"",
        "domain = \"eto.tech\"\nbounce = \"bounces@eto.tech\"",
    );
    project
}

/// Runs `broadsheet ARGS` with the unsubscribe secret set.
pub fn run(project: &Project, args: &[&str]) -> Run {
    let output = project
        .command(args)
        .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
        .output()
        .expect("run broadsheet");
    Run::from(output)
}

/// The outbox's envelopes, as (MAIL FROM, RCPT TO) pairs.
fn envelopes(project: &Project) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox") {
        let path = entry.expect("an entry").path();
        if path.to_string_lossy().ends_with(".envelope.json") {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            found.push((
                json["mail_from"].as_str().unwrap().to_owned(),
                json["rcpt_to"][0].as_str().unwrap().to_owned(),
            ));
        }
    }
    found.sort();
    found
}

#[test]
fn each_dispatched_message_has_its_own_return_path_and_proofs_the_plain_one() {
    let project = verp_project();
    let sent = run(
        &project,
        &[
            "dispatch",
            "volumes/011.toml",
            "--segment",
            "subscribers",
            "--yes",
            "--expect",
            "2",
        ],
    );
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let found = envelopes(&project);
    assert_eq!(found.len(), 2);
    let senders: BTreeSet<&str> = found.iter().map(|(from, _)| from.as_str()).collect();
    assert_eq!(senders.len(), 2, "one return path per recipient: {found:?}");
    for (from, to) in &found {
        let (local, domain) = from.rsplit_once('@').unwrap();
        let token = local
            .strip_prefix("bounces+")
            .unwrap_or_else(|| panic!("{from}"));
        assert_eq!(domain, "eto.tech");
        assert_eq!(token.len(), 26, "{from}");
        assert!(
            token
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')),
            "{from}"
        );
        let user = to.split('@').next().unwrap();
        assert!(!from.contains(user), "the address does not show: {from}");
    }
    std::fs::remove_dir_all(project.path("outbox")).unwrap();
    let proof = run(
        &project,
        &["proof", "volumes/011.toml", "--to", "editors@eto.tech"],
    );
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    assert_eq!(
        envelopes(&project)[0].0,
        "scout@eto.tech",
        "proofs keep the plain sender"
    );
}

#[test]
fn check_warns_when_the_return_path_is_off_the_from_domain() {
    let project = verp_project();
    project.edit(
        "broadsheet.toml",
        "bounces@eto.tech",
        "bounces@relay.example.net",
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(
        checked.status, 0,
        "a warning, not an error: {}",
        checked.stderr
    );
    assert!(
        checked
            .stderr
            .contains("warning: `bounce` is on `relay.example.net`")
            && checked.stderr.contains("broadsheet.toml:"),
        "{}",
        checked.stderr
    );
}
