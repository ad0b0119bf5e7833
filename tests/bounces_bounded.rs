//! The return path stays bounded and honest: a message over `[bounces] max_message_size`
//! is skipped with a record (by its size on disk, while an mbox streams by, or by its IMAP
//! `RFC822.SIZE`), a large folder imports, a hostile or vanishing IMAP server gets a clear
//! error after what was applied (and nothing unread is moved), and `status` says when it
//! cannot read `state/`.

use std::io::{Seek as _, SeekFrom, Write as _};

use serde_json::Value;

use crate::recipients::with_recipients;
use crate::support::dispatching::{SECRET, dispatch};
use crate::support::fake_imap::{FakeImap, Fault, Message};
use crate::support::{Project, Run};

const BIG: u64 = 200 * 1024 * 1024;

/// An auto-reply: read and applied (no effect), so `fetch` moves it.
pub(crate) fn away(n: u32) -> String {
    format!(
        "From: reader{n}@example.org\r\nMessage-ID: <away-{n}@example.org>\r\n\
Auto-Submitted: auto-replied\r\nSubject: Away\r\n\r\nBack soon.\r\n"
    )
}

/// A DSN about `address`, which no recipient has: read and applied, no change.
fn dsn(n: usize, address: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nMessage-ID: <dsn-{n}@mx.example.org>\r\n\
Subject: Undelivered\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
}

/// `broadsheet ARGS --json` with the secrets set: its run and records.
pub(crate) fn records(project: &Project, args: &[&str]) -> (Run, Vec<Value>) {
    let mut args = args.to_vec();
    args.push("--json");
    let run = imap_run(project, &args);
    let records: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let records = records.as_array().expect("an array").clone();
    (run, records)
}

/// `broadsheet ARGS` with the unsubscribe secret and the IMAP password set.
pub(crate) fn imap_run(project: &Project, args: &[&str]) -> Run {
    let output = project
        .command(args)
        .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
        .env(
            "BROADSHEET_IMAP_PASSWORD",
            crate::support::dovecot::PASSWORD,
        )
        .output()
        .expect("run broadsheet");
    Run::from(output)
}

/// A file of `size` bytes that starts with `head` and ends with `tail`, sparse in between.
fn sparse(path: &std::path::Path, head: &str, size: u64, tail: &str) {
    let mut file = std::fs::File::create(path).expect("create a large file");
    file.write_all(head.as_bytes()).unwrap();
    file.seek(SeekFrom::Start(size)).unwrap();
    file.write_all(tail.as_bytes()).unwrap();
    // Writing nothing past the end does not extend a file.
    file.set_len(size + tail.len() as u64).unwrap();
}

#[test]
fn a_200_mb_message_is_skipped_with_a_record_and_the_import_goes_on() {
    let project = Project::sample();
    project.write("mail/new/1-small", &away(1));
    project.write("mail/cur/3-small:2,S", &away(3));
    sparse(&project.path("mail/new/2-big"), &away(2), BIG, "");
    // A 200 MB message without a line break between two small ones: the stream skips it.
    let separator = "From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n";
    let before = format!("{separator}{}{separator}", away(4));
    let head = format!("{before}Subject: big\n\n");
    sparse(
        &project.path("returned.mbox"),
        &head,
        BIG,
        &format!("\n{separator}{}", away(5)),
    );
    let (run, found) = records(&project, &["bounces", "import", "mail", "returned.mbox"]);
    assert_eq!(
        run.status, 1,
        "skipped messages were not applied: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "error: 2 message(s) larger than 10 MiB (`[bounces] max_message_size`) were skipped"
        ),
        "{}",
        run.stderr
    );
    let files: Vec<&str> = found
        .iter()
        .map(|r| r["file"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "3-small:2,S",
            "1-small",
            "2-big",
            "returned.mbox#1",
            "returned.mbox#2",
            "returned.mbox#3"
        ]
    );
    let skipped: Vec<&Value> = found.iter().map(|r| &r["skipped"]).collect();
    // From its headers to the line break before the next separator.
    let mbox_size = BIG - before.len() as u64 + 1;
    assert_eq!(
        skipped[2],
        &serde_json::json!({"reason": "too-large", "size": BIG, "limit": 10 * 1024 * 1024})
    );
    assert_eq!(skipped[4]["size"], mbox_size);
    for i in [0, 1, 3, 5] {
        assert_eq!(
            (&found[i]["kind"], &found[i]["skipped"]),
            (&"auto-reply".into(), &Value::Null),
            "{:#}",
            found[i]
        );
    }
    let text = imap_run(&project, &["bounces", "import", "mail", "returned.mbox"]);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[2].ends_with(
            "/2-big: skipped: 200 MiB, larger than the 10 MiB `[bounces] max_message_size`"
        ),
        "{}",
        text.stdout
    );
    assert_eq!(
        lines.last(),
        Some(
            &"6 message(s), 6 finding(s): 0 suppressed, 0 counted, 4 no change, 0 already imported, 0 unverified, 0 unreadable, 2 skipped"
        )
    );
}

#[test]
fn a_folder_of_ten_thousand_messages_imports() {
    let project = Project::sample();
    let new = project.path("mail/new");
    std::fs::create_dir_all(&new).unwrap();
    for n in 0..10_000 {
        let address = format!("reader{n}@example.net");
        std::fs::write(new.join(format!("{n:05}")), dsn(n, &address)).unwrap();
    }
    let run = imap_run(&project, &["bounces", "import", "mail"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 10_001);
    assert!(
        lines[9_999].ends_with(
            "/09999: bounce reader9999@example.net 5.1.1: unverified (tied to no message we sent), nobody changed"
        ),
        "{}",
        lines[9_999]
    );
    assert_eq!(
        lines[10_000],
        "10000 message(s), 10000 finding(s): 0 suppressed, 0 counted, 0 no change, 0 already imported, 10000 unverified, 0 unreadable"
    );
}

/// The sample project reading the fake server's INBOX, moving what it applied.
pub(crate) fn imap_project(port: u16) -> Project {
    let project = Project::sample();
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!(
            "{text}\n[bounces]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nusername = \"reader\"\n\
             password_env = \"BROADSHEET_IMAP_PASSWORD\"\nmove_to = \"Processed\"\n"
        ),
    );
    project
}

#[test]
fn a_connection_lost_mid_fetch_stops_after_what_was_applied_and_moves_nothing_unread() {
    let mut big = Message::new(2, &away(2));
    big.size = BIG;
    let messages = vec![
        Message::new(1, &away(1)),
        big,
        Message::new(3, &away(3)),
        Message::new(4, &away(4)),
        Message::new(5, &away(5)),
    ];
    let server = FakeImap::start(messages, Fault::DropMidFetch(4));
    let project = imap_project(server.port);
    let (run, found) = records(&project, &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: cannot fetch imap:INBOX/4: the IMAP server closed the connection"),
        "{}",
        run.stderr
    );
    let files: Vec<&str> = found.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["imap:INBOX/1", "imap:INBOX/2", "imap:INBOX/3"]);
    assert_eq!(found[1]["skipped"]["size"], BIG);
    assert_eq!(
        server.uids("FETCH"),
        [1, 3, 4],
        "the large one is never fetched"
    );
    assert_eq!(server.uids("MOVE"), [1, 3], "only what was applied moves");
}

#[test]
fn a_hostile_imap_server_gets_a_clear_error_not_an_allocation() {
    let cases = [
        (
            Fault::HugeLiteral(1, 10 << 30),
            "error: cannot fetch imap:INBOX/1: the IMAP server announced 10737418240 bytes, over the 10 MiB limit",
        ),
        (
            Fault::EndlessLine(1 << 20),
            "error: cannot open the IMAP folder `INBOX`: the IMAP server sent a line longer than 64 KiB",
        ),
    ];
    for (fault, error) in cases {
        let server = FakeImap::start(vec![Message::new(1, &away(1))], fault);
        let project = imap_project(server.port);
        let run = imap_run(&project, &["bounces", "fetch"]);
        assert_eq!(run.status, 1, "{fault:?}: {}", run.stderr);
        assert_eq!(errors(&run.stderr), error, "{fault:?}");
        assert!(server.uids("MOVE").is_empty(), "{fault:?}");
    }
}

#[test]
fn a_real_imap_folder_keeps_what_is_over_the_limit() {
    let big = format!("{}{}\r\n", away(2), "x".repeat(100_000));
    let dovecot = crate::support::dovecot::Dovecot::start(&[("1.eml", &away(1)), ("2.eml", &big)]);
    let project = imap_project(dovecot.port);
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!("{text}max_message_size = 65536\n"),
    );
    let (run, found) = records(&project, &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0]["kind"], "auto-reply");
    assert_eq!(
        found[1]["skipped"],
        serde_json::json!({"reason": "too-large", "size": big.len(), "limit": 65536})
    );
    let count = |folder: &str| {
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(dovecot.maildir().join(folder).join(sub)).map_or(0, |d| d.count())
            })
            .sum::<usize>()
    };
    assert_eq!(
        (count(""), count(".Processed")),
        (1, 1),
        "the large message stays for a person to look at"
    );
}

#[test]
fn a_closed_standard_output_is_a_quiet_success() {
    let project = Project::sample();
    project.write("mail/1.eml", &away(1));
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = project
        .command(&["bounces", "import", "mail"])
        .stdout(writer)
        .output()
        .expect("run broadsheet");
    let run = Run::from(output);
    assert_eq!((run.status, errors(&run.stderr).as_str()), (0, ""));
}

/// The lines of `stderr` that are not warnings (a project without `[sender] bounce` is
/// warned that reports can be forged; these tests are about errors).
pub(crate) fn errors(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("warning:") && !l.starts_with("  = help:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn status_says_when_it_cannot_read_the_state_folder() {
    let project = with_recipients();
    let sent = dispatch(&project, &["--yes", "--expect", "2"]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let state = project.path("state");
    let frozen = crate::support::ReadOnly::new(&state);
    let chmod = |mode: &str| {
        let done = std::process::Command::new("chmod")
            .arg(mode)
            .arg(&state)
            .status()
            .unwrap();
        assert!(done.success());
    };
    chmod("000");
    let locked = frozen.run(&project, &["status", "volumes/011.toml"]);
    chmod("755");
    assert_eq!(locked.status, 1, "{}", locked.stdout);
    assert!(
        locked.stderr.starts_with("error: cannot read the ledger ")
            && locked
                .stderr
                .contains("state/ledger.sqlite: Permission denied"),
        "{}",
        locked.stderr
    );
    drop(frozen);

    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(project.path(&format!("state/ledger.sqlite{suffix}")));
    }
    project.write(
        "state/ledger.sqlite",
        "not a database, whatever it once was",
    );
    let corrupt = project.run(&["status", "volumes/011.toml"]);
    assert_eq!(corrupt.status, 1, "{}", corrupt.stdout);
    assert!(
        corrupt
            .stderr
            .contains("state/ledger.sqlite: file is not a database"),
        "{}",
        corrupt.stderr
    );
}
