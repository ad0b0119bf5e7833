//! What must never happen on the wire: a password in broadsheet.toml, credentials or mail
//! over plaintext to a host that is not loopback, a downgrade from the TLS the settings ask
//! for. Each is refused, and the listeners prove no mail (or no connection) got through.

use std::net::TcpListener;

use crate::recipients::with_recipients;
use crate::sending::smtp_project;
use crate::support::smtp::SmtpSink;

fn transport(project: &crate::support::Project, lines: &str) {
    project.edit(
        "broadsheet.toml",
        "kind = \"outbox\"\ndir = \"outbox\"",
        lines,
    );
}

#[test]
fn a_password_in_the_settings_is_an_error_at_its_place() {
    let project = with_recipients();
    transport(
        &project,
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"news\"\npassword = \"hunter2\"",
    );
    let run = project.run(&["proof", "volumes/011.toml"]);
    assert_eq!(run.status, 1);
    let line = project
        .read("broadsheet.toml")
        .lines()
        .position(|l| l.starts_with("password ="))
        .unwrap()
        + 1;
    assert!(
        run.stderr
            .contains("error: a password does not belong in broadsheet.toml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("--> broadsheet.toml:{line}:1")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("password_env"), "{}", run.stderr);
}

#[test]
fn credentials_over_plaintext_to_another_host_are_refused_before_connecting() {
    // 0.0.0.0 reaches this machine's listeners, but it is not a loopback address.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let project = with_recipients();
    transport(
        &project,
        &format!(
            "kind = \"smtp\"\nhost = \"0.0.0.0\"\nport = {port}\nsecurity = \"none\"\nusername = \"news\"\npassword_env = \"BROADSHEET_SMTP_PASSWORD\""
        ),
    );
    let mut command = project.command(&["proof", "volumes/011.toml"]);
    command.env("BROADSHEET_SMTP_PASSWORD", "secret");
    let run = crate::support::Run::from(command.output().unwrap());
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("credentials are never sent unencrypted"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret\n"), "{}", run.stderr);
    let accepted = listener.accept();
    assert!(
        accepted.is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "broadsheet connected"
    );
}

#[test]
fn required_encryption_is_never_dropped() {
    let sink = SmtpSink::start();
    let project = smtp_project(sink.port);
    for (security, expected) in [
        ("starttls", "does not offer STARTTLS"),
        ("tls", "TLS with 127.0.0.1"),
    ] {
        project.edit(
            "broadsheet.toml",
            "security = \"none\"",
            &format!("security = \"{security}\""),
        );
        let run = project.run(&["proof", "volumes/011.toml", "--to", "editor@example.org"]);
        assert_eq!(run.status, 1, "{}", run.stdout);
        assert!(run.stderr.contains(expected), "{security}: {}", run.stderr);
        project.edit(
            "broadsheet.toml",
            &format!("security = \"{security}\""),
            "security = \"none\"",
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        sink.captured().is_empty(),
        "a message went out in plaintext"
    );
}
