//! `bounces fetch` against the IMAP servers newsrooms use, as each speaks (see the
//! dialects of tests/support/fake_imap.rs and the transcripts they quote) and against a
//! real Dovecot: servers without MOVE or UIDPLUS, a folder that exists but cannot be
//! created again, folder names beyond ASCII, passwords beyond ASCII, Microsoft's
//! OAuth-only sign-in, and a server that says BYE.

use crate::bounces_bounded::{away, errors, imap_project, imap_run, records};
use crate::support::Run;
use crate::support::dispatching::SECRET;
use crate::support::fake_imap::{
    COURIER, Dialect, FakeImap, Fault, MICROSOFT_365, Message, RFC3501,
};

/// Three auto-replies, each applied (no effect) and so settled.
fn three() -> Vec<Message> {
    (1..=3).map(|n| Message::new(n, &away(n))).collect()
}

/// The commands of `server` that settle a message, in order.
fn settling(server: &FakeImap) -> Vec<String> {
    server
        .commands()
        .into_iter()
        .filter(|c| {
            [
                "UID COPY",
                "UID STORE",
                "UID EXPUNGE",
                "UID MOVE",
                "EXPUNGE",
            ]
            .iter()
            .any(|v| c.starts_with(v))
        })
        .collect()
}

#[test]
fn a_server_without_move_gets_each_message_copied_flagged_and_expunged() {
    let cases: [(Dialect, &str); 2] = [(COURIER, "UID EXPUNGE {n}"), (RFC3501, "EXPUNGE")];
    for (dialect, expunge) in cases {
        let server = FakeImap::speaking(
            dialect,
            three(),
            Fault::None,
            crate::support::dovecot::PASSWORD,
        );
        let project = imap_project(server.port);
        let (run, found) = records(&project, &["bounces", "fetch"]);
        assert_eq!(run.status, 0, "{}", run.stderr);
        assert_eq!(found.len(), 3, "{found:#?}");
        let expected: Vec<String> = (1..=3)
            .flat_map(|n| {
                [
                    format!("UID COPY {n} \"Processed\""),
                    format!("UID STORE {n} +FLAGS.SILENT (\\Deleted)"),
                    expunge.replace("{n}", &n.to_string()),
                ]
            })
            .collect();
        assert_eq!(settling(&server), expected, "{}", dialect.greeting);
    }
}

#[test]
fn a_folder_the_server_lists_is_not_created_again() {
    // Microsoft's refuses LOGIN (basic authentication off): this one takes it.
    let dialect = Dialect {
        before_login: MICROSOFT_365.after_login,
        refuses_login: None,
        ..MICROSOFT_365
    };
    let server = FakeImap::speaking(
        dialect,
        three(),
        Fault::None,
        crate::support::dovecot::PASSWORD,
    );
    let project = imap_project(server.port);
    let run = imap_run(&project, &["bounces", "fetch"]);
    assert_eq!((run.status, errors(&run.stderr).as_str()), (0, ""));
    assert!(
        !server.commands().iter().any(|c| c.starts_with("CREATE")),
        "{:?}",
        server.commands()
    );
    assert_eq!(server.uids("MOVE"), [1, 2, 3]);
}

#[test]
fn microsoft_365_without_basic_authentication_is_told_it_takes_oauth_only() {
    let server = FakeImap::speaking(
        MICROSOFT_365,
        three(),
        Fault::None,
        crate::support::dovecot::PASSWORD,
    );
    let project = imap_project(server.port);
    let run = imap_run(&project, &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let error = errors(&run.stderr);
    assert!(
        error.starts_with("error: the IMAP server takes no password here (it advertises LOGINDISABLED and no AUTHENTICATE PLAIN): this server signs in with OAuth 2.0")
            && error.contains("Outlook.com and Microsoft 365 (Exchange Online) take nothing else"),
        "{error}"
    );
    assert!(
        !server.commands().iter().any(|c| c.starts_with("LOGIN")),
        "no password is sent where the server disabled LOGIN"
    );

    // A Microsoft server that lists no LOGINDISABLED but refuses the password all the same.
    let dialect = Dialect {
        before_login: "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
        refuses_login: Some("NO LOGIN failed."),
        ..MICROSOFT_365
    };
    let server = FakeImap::speaking(
        dialect,
        three(),
        Fault::None,
        crate::support::dovecot::PASSWORD,
    );
    let run = imap_run(&imap_project(server.port), &["bounces", "fetch"]);
    let error = errors(&run.stderr);
    assert!(
        error.starts_with("error: the IMAP login failed: IMAP `LOGIN` answered `NO LOGIN failed.`: this server signs in with OAuth 2.0"),
        "{error}"
    );
    assert!(
        !error.contains(crate::support::dovecot::PASSWORD),
        "{error}"
    );
}

#[test]
fn a_refused_password_elsewhere_is_told_about_app_passwords() {
    // Gmail offers OAuth 2.0 and takes app passwords: its greeting and capabilities
    // before the login as an imapsync log shows them (`Host2 banner: * OK Gimap ready for
    // requests from ...`), and its answer to a wrong password.
    let gmail = Dialect {
        greeting: "OK Gimap ready for requests from 192.0.2.1 k12mb1234567abc",
        before_login: "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER AUTH=XOAUTH",
        after_login: "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584",
        folders: &[],
        create_existing: "NO [ALREADYEXISTS] Duplicate folder name Processed (Failure)",
        refuses_login: Some("NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"),
    };
    let server = FakeImap::speaking(
        gmail,
        three(),
        Fault::None,
        crate::support::dovecot::PASSWORD,
    );
    let run = imap_run(&imap_project(server.port), &["bounces", "fetch"]);
    assert_eq!(
        errors(&run.stderr),
        "error: the IMAP login failed: IMAP `LOGIN` answered `NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)`: \
         check `[bounces] username` and the password; Gmail, Yahoo, iCloud, Fastmail and Zoho take an app password \
         made in the account's security settings, not the account's own"
    );
}

#[test]
fn a_password_beyond_ascii_signs_in() {
    let password = "pässwörd \"quoted\" \\ ünïcode";
    for dialect in [COURIER, RFC3501] {
        let server = FakeImap::speaking(dialect, three(), Fault::None, password);
        let project = imap_project(server.port);
        let output = project
            .command(&["bounces", "fetch"])
            .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
            .env("BROADSHEET_IMAP_PASSWORD", password)
            .output()
            .expect("run broadsheet");
        let run = Run::from(output);
        assert_eq!(
            (run.status, errors(&run.stderr).as_str()),
            (0, ""),
            "{}",
            dialect.greeting
        );
        let commands = server.commands();
        let login = commands
            .iter()
            .find(|c| c.starts_with("LOGIN") || c.starts_with("AUTHENTICATE"))
            .expect("a login");
        // Courier offers AUTH=PLAIN (base64 after its `+`); RFC 3501 alone takes LOGIN
        // with literals, each sent once the server asked for it.
        let expected = if dialect.before_login.contains("AUTH=PLAIN") {
            "AUTHENTICATE PLAIN"
        } else {
            "LOGIN {6}"
        };
        assert!(login.starts_with(expected), "{commands:?}");
    }
}

#[test]
fn a_server_that_says_bye_is_quoted() {
    let server = FakeImap::start(three(), Fault::Bye(2));
    let (run, found) = records(&imap_project(server.port), &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        errors(&run.stderr),
        "error: cannot fetch imap:INBOX/2: the IMAP server said `* BYE Autologout; idle for too long`: \
         the IMAP server closed the connection"
    );
}

#[test]
fn a_folder_named_beyond_ascii_is_named_in_modified_utf7_on_a_real_dovecot() {
    let dovecot =
        crate::support::dovecot::Dovecot::start(&[("1.eml", &away(1)), ("2.eml", &away(2))]);
    let project = imap_project(dovecot.port);
    project.edit(
        "broadsheet.toml",
        "move_to = \"Processed\"",
        "move_to = \"Rückläufer & Co\"",
    );
    let run = imap_run(&project, &["bounces", "fetch"]);
    assert_eq!((run.status, errors(&run.stderr).as_str()), (0, ""));
    // Dovecot keeps a Maildir++ folder under its IMAP name, modified UTF-7 (RFC 3501
    // §5.1.3): the folder a mail client shows as `Rückläufer & Co`.
    let moved = dovecot.maildir().join(".R&APw-ckl&AOQ-ufer &- Co");
    let count = |sub: &str| std::fs::read_dir(moved.join(sub)).map_or(0, |d| d.count());
    assert_eq!(
        count("new") + count("cur"),
        2,
        "{:?}",
        std::fs::read_dir(dovecot.maildir())
            .map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>())
    );
}

/// 1,201 auto-replies, of which UIDs 250 and 700 are 70 KB, over a 64 KiB limit.
fn many() -> Vec<(u32, String)> {
    (1..=1201)
        .map(|n| {
            let text = away(n);
            let text = if n == 250 || n == 700 {
                format!("{text}{}\r\n", "x".repeat(70_000))
            } else {
                text
            };
            (n, text)
        })
        .collect()
}

/// The project reading the server at `port`, with a 64 KiB `max_message_size`.
fn limited_project(port: u16) -> crate::support::Project {
    let project = imap_project(port);
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!("{text}max_message_size = 65536\n"),
    );
    project
}

/// The records of a fetch that read `many()`: every message once, in order, the two
/// large ones skipped.
fn assert_read_once(found: &[serde_json::Value]) {
    let files: Vec<&str> = found.iter().map(|r| r["file"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=1201).map(|n| format!("imap:INBOX/{n}")).collect();
    assert_eq!(files, expected);
    let skipped: Vec<&str> = found
        .iter()
        .filter(|r| r.get("skipped").is_some())
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["imap:INBOX/250", "imap:INBOX/700"]);
}

#[test]
fn a_large_folder_is_listed_in_batches_and_read_once() {
    let messages = many()
        .iter()
        .map(|(n, text)| Message::new(*n, text))
        .collect();
    let server = FakeImap::start(messages, Fault::None);
    let (run, found) = records(&limited_project(server.port), &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "the two large ones stay: {}", run.stderr);
    assert_read_once(&found);
    let listings: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|c| c.contains("RFC822.SIZE"))
        .collect();
    // Each batch starts after what stayed (UID 250, then 700), the moved ones gone.
    assert_eq!(
        listings,
        [
            "FETCH 1:500 (UID FLAGS RFC822.SIZE)",
            "FETCH 2:501 (UID FLAGS RFC822.SIZE)",
            "FETCH 3:203 (UID FLAGS RFC822.SIZE)",
        ],
        "each listing is at most 500 messages"
    );
    assert_eq!(server.uids("MOVE").len(), 1199);
}

#[test]
fn a_real_dovecot_folder_of_1201_messages_is_read_once_in_batches() {
    let files: Vec<(String, String)> = many()
        .into_iter()
        .map(|(n, text)| (format!("{n:05}.eml"), text))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dovecot = crate::support::dovecot::Dovecot::start(&files);
    let (run, found) = records(&limited_project(dovecot.port), &["bounces", "fetch"]);
    assert_eq!(run.status, 1, "the two large ones stay: {}", run.stderr);
    assert_read_once(&found);
    let count = |folder: &str| {
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(dovecot.maildir().join(folder).join(sub)).map_or(0, |d| d.count())
            })
            .sum::<usize>()
    };
    assert_eq!((count(""), count(".Processed")), (2, 1199));
}
