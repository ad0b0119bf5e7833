//! Messages on the wire: proofs and real messages sent through Postfix's `smtp-sink`,
//! captured, and read back with a real MIME parser (mail-parser): header counts, part order
//! and charset, an encoded Chinese subject, RFC 8058's List-* headers, the unsubscribe URL
//! in the header and both bodies, line lengths, one RCPT per transaction.

use std::collections::BTreeSet;

use mail_parser::{MessageParser, MimeHeaders as _};

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::smtp::{Captured, SmtpSink};

use crate::support::dispatching::SECRET;
const SUBJECT: &str = "人工智能周报 🔭 第十一期：芯片、机器人与合成视频";

/// The sample project with recipients, sending to `sink` over plain SMTP on loopback.
pub fn smtp_project(port: u16) -> Project {
    let project = with_recipients();
    send_to_relay(&project, port);
    project.edit(
        "volumes/011.toml",
        "preheader = ",
        &format!("subject = \"{SUBJECT}\"\npreheader = "),
    );
    project
}

/// Sets `project`'s transport to plain SMTP to a relay on loopback `port`.
pub fn send_to_relay(project: &Project, port: u16) {
    project.edit(
        "broadsheet.toml",
        "kind = \"outbox\"\ndir = \"outbox\"",
        &format!("kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = 5"),
    );
}

/// What every message must satisfy; returns the parsed unsubscribe URL.
pub fn check_message(captured: &Captured) -> String {
    let raw = &captured.message;
    for line in raw.split(|&b| b == b'\n') {
        assert!(line.len() <= 999, "a line over 998 octets");
    }
    assert_eq!(captured.rcpt_args.len(), 1, "one RCPT per transaction");
    assert_eq!(captured.mail_args, "<scout@eto.tech>");
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let head = text.split("\n\n").next().unwrap_or_default();
    for name in [
        "From",
        "To",
        "Date",
        "Message-ID",
        "Subject",
        "MIME-Version",
        "Content-Type",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ] {
        let count = head
            .lines()
            .filter(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .count();
        assert_eq!(count, 1, "{name} appears {count} times in:\n{head}");
    }
    assert!(
        head.lines()
            .any(|l| l == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{head}"
    );
    assert!(
        head.lines()
            .any(|l| l == "List-Archive: <https://scout.eto.tech/newsletter/>"),
        "the web archive, from [archive] base_url: {head}"
    );
    let message = MessageParser::default()
        .parse(raw.as_slice())
        .expect("a MIME parser reads it");
    let to = message
        .to()
        .and_then(|t| t.first())
        .and_then(|a| a.address())
        .expect("To");
    assert_eq!(
        format!("<{to}>"),
        captured.rcpt_args[0],
        "To is the one envelope recipient"
    );
    let root = message.root_part().content_type().expect("Content-Type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let kinds: Vec<(String, Option<String>)> = message.parts[1..]
        .iter()
        .map(|p| {
            let ct = p.content_type().expect("part Content-Type");
            assert!(!p.is_encoding_problem);
            (
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()),
                ct.attribute("charset").map(str::to_owned),
            )
        })
        .collect();
    let utf8 = Some("utf-8".to_owned());
    assert_eq!(
        kinds,
        [
            ("text/plain".to_owned(), utf8.clone()),
            ("text/html".to_owned(), utf8)
        ]
    );
    let header = message
        .header_raw("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .replace(['\r', '\n'], "");
    let header = header.trim();
    let (https, mailto) = header.split_once(", ").expect("https and mailto");
    let url = https
        .strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .expect("<url>");
    if url.ends_with("/proof") {
        assert_eq!(
            mailto, "<mailto:unsubscribe@eto.tech?subject=unsubscribe>",
            "a proof's mailto names nobody"
        );
    } else {
        let token = mailto
            .strip_prefix("<mailto:unsubscribe@eto.tech?subject=unsubscribe%20")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or_else(|| panic!("the mailto link carries a token in its subject: {mailto}"));
        assert!(
            token.len() == 26
                && token
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')),
            "{mailto}"
        );
    }
    let url = https
        .strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .expect("<url>")
        .to_owned();
    assert!(
        url.starts_with("https://scout.eto.tech/unsubscribe/"),
        "{url}"
    );
    assert!(
        message.body_text(0).expect("text body").contains(&url),
        "the text part shows {url}"
    );
    assert!(
        message
            .body_html(0)
            .expect("html body")
            .contains(&format!("href=\"{}\"", handlebars::html_escape(&url))),
        "the HTML part links {url}"
    );
    url
}

#[test]
fn proofs_reach_only_the_proof_list_and_parse_cleanly() {
    let sink = SmtpSink::start();
    let project = smtp_project(sink.port);
    let run = project.ok(&["proof", "volumes/011.toml", "--as", "wei.zhang@example.org"]);
    let captured = sink.wait_for(2);
    let mut rcpts: Vec<&str> = captured.iter().map(|c| c.rcpt_args[0].as_str()).collect();
    rcpts.sort_unstable();
    assert_eq!(
        rcpts,
        ["<editor@example.org>", "<editors@eto.tech>"],
        "--as names content, not a recipient"
    );
    for c in &captured {
        assert_eq!(check_message(c), "https://scout.eto.tech/unsubscribe/proof");
        let message = MessageParser::default()
            .parse(c.message.as_slice())
            .unwrap();
        assert_eq!(
            message.subject(),
            Some(format!("[TEST] {SUBJECT}").as_str()),
            "the subject round-trips"
        );
        let text = message.body_text(0).unwrap();
        assert!(text.contains("Hi 张伟,"), "Wei's copy greets Wei");
        let text = crate::support::collapse(&text);
        assert!(
            !text.contains("agricultural machinery industry"),
            "Wei reads ai and chips only, not robotics"
        );
        assert!(
            text.contains("CSET Expert View"),
            "topic readers keep the expert view"
        );
    }
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("sent proof ("))
            .count(),
        2,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("via 127.0.0.1:{}: 250", sink.port)),
        "{}",
        run.stdout
    );
    for leftover in ["state", "outbox", "ledger.sqlite"] {
        assert!(!project.path(leftover).exists(), "proof left {leftover}");
    }
}

#[test]
fn proof_is_capped_and_explicit_addresses_are_allowed() {
    let sink = SmtpSink::start();
    let project = smtp_project(sink.port);
    let many: Vec<String> = (0..6)
        .flat_map(|i| ["--to".to_owned(), format!("p{i}@example.org")])
        .collect();
    let mut args = vec!["proof", "volumes/011.toml"];
    args.extend(many.iter().map(String::as_str));
    let run = project.run(&args);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("6 proof copies exceed `[proof] max = 5`"),
        "{}",
        run.stderr
    );
    let run = project.ok(&[
        "proof",
        "volumes/011.toml",
        "--to",
        "outsider@example.net",
        "--topics",
        "chips",
    ]);
    let captured = sink.wait_for(1);
    assert_eq!(captured.len(), 1, "{}", run.stdout);
    assert_eq!(captured[0].rcpt_args, ["<outsider@example.net>"]);
    check_message(&captured[0]);
    let none = project.run(&[
        "proof",
        "volumes/011.toml",
        "--to",
        "x@example.org",
        "--topics",
        "astrology",
    ]);
    assert_eq!(none.status, 1);
    assert!(
        none.stdout
            .contains("no pick of this volume is tagged astrology"),
        "{}",
        none.stdout
    );
}

/// Real subscriber messages (real tokens) built with the library and sent through the
/// SMTP transport: the token in the header equals the one in both bodies and verifies.
#[test]
fn real_tokens_verify_after_the_trip() {
    let sink = SmtpSink::start();
    let project = smtp_project(sink.port);
    let sent = send_real(
        &project,
        &[
            "ana.lima@example.org",
            "wei.zhang@example.org",
            "policy@example.org",
        ],
    );
    let captured = sink.wait_for(sent);
    let mut seen = BTreeSet::new();
    for c in &captured {
        let url = check_message(c);
        let token = url.rsplit('/').next().unwrap();
        // The endpoint may pass the token or the whole URL.
        let arg = if seen.is_empty() { url.as_str() } else { token };
        let mut verify = project.command(&["unsubscribe-token", "verify", arg]);
        verify.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
        let out = verify.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rcpt = c.rcpt_args[0].trim_matches(['<', '>']);
        assert_eq!(
            stdout.trim(),
            format!("valid: {rcpt} on list scout.eto.tech")
        );
        seen.insert(rcpt.to_owned());
    }
    assert_eq!(seen.len(), 3);
    let mut forged = project.command(&[
        "unsubscribe-token",
        "verify",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    forged.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    assert!(!forged.output().unwrap().status.success());
}

fn send_real(project: &Project, addresses: &[&str]) -> usize {
    use broadsheet::audience::{Address, Audience};
    use broadsheet::clock::Timestamp;
    use broadsheet::message::variant::Variants;
    use broadsheet::message::{self, Common, Personal};
    use broadsheet::transport::{Configured, Envelope, Transport as _, Unrecorded};
    use broadsheet::unsubscribe::{self, Signer};
    use broadsheet::verp;

    let p = broadsheet::project::Project::open(project.root()).unwrap();
    let composition = broadsheet::pipeline::compose(&p, &project.path("volumes/011.toml")).unwrap();
    let volume = composition.volume.as_ref().unwrap();
    let sending = broadsheet::settings::Sending::new(&p.settings).unwrap();
    let (sender, unsub) = (&sending.identity, &sending.unsubscribe);
    let signer = Signer::new(SECRET.as_bytes(), &sender.list_id).unwrap();
    let audience = Audience::load(project.root(), None).unwrap();
    let everyone = audience.select(&[]).unwrap();
    let common = Common {
        identity: sender,
        mailto: unsub.mailto.as_deref(),
        list_name: volume.meta.title.get_ref(),
        subject: volume.subject(),
        date: Timestamp(1_715_250_645),
    };
    let mut variants = Variants::new(
        volume,
        composition.layout.as_ref().unwrap(),
        composition.origin.as_ref().unwrap(),
        common,
        None,
    );
    let mut transport = Configured::new(&p.root, &sending).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for address in addresses {
            let r = audience.find(&Address::parse(address).unwrap()).unwrap();
            let key = everyone.reader_key(r);
            let variant = variants.get(&key).unwrap().unwrap();
            let id = message::message_id(&signer, sender, 11, &r.address());
            let url = unsubscribe::url(unsub, &signer.token(&r.address()));
            let mailto = verp::token(&signer, verp::Purpose::Mailto, 11, &r.address());
            let personal = Personal {
                to: &r.address(),
                name: r.name(),
                greeting: r.greeting(),
                message_id: &id,
                unsubscribe_url: &url,
                mailto_token: Some(&mailto),
            };
            let bytes = variant.build(&personal);
            let envelope = Envelope::new(&sender.from, &personal);
            transport.send(&envelope, &bytes, Unrecorded).await.unwrap();
        }
        transport.close().await;
    });
    addresses.len()
}

/// A proof through a real Postfix instance, found in the recipient's Maildir.
#[test]
fn a_proof_is_delivered_by_a_real_postfix_to_a_maildir() {
    let postfix = crate::support::postfix::Postfix::start();
    let project = smtp_project(postfix.port);
    let run = project.ok(&["proof", "volumes/011.toml", "--to", "editor@example.org"]);
    assert!(
        run.stdout.contains(": 250 2.0.0 Ok: queued as "),
        "{}",
        run.stdout
    );
    let delivered = postfix.wait_for_mail("editor");
    let message = MessageParser::default()
        .parse(delivered.as_slice())
        .expect("parses");
    assert_eq!(
        message.subject(),
        Some(format!("[TEST] {SUBJECT}").as_str())
    );
    assert_eq!(
        message
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address()),
        Some("editor@example.org")
    );
    assert!(
        message
            .body_text(0)
            .unwrap()
            .contains("https://scout.eto.tech/unsubscribe/proof")
    );
    assert!(
        postfix.log().contains("status=sent (delivered to maildir)"),
        "{}",
        postfix.log()
    );
}

/// The mark of a message the ledger could not record (a full disk, say).
struct Unwritable;

impl broadsheet::transport::Mark for Unwritable {
    fn request(&mut self) {}

    async fn durable(self) -> bool {
        false
    }
}

/// No byte of a body leaves before its in-flight mark is durable: a real Postfix sees the
/// transaction of a message whose mark could not be written end after its 354 with nothing
/// received, keeps nothing of it, and the next message on the same transport arrives.
#[test]
fn a_message_whose_mark_fails_is_never_delivered_by_a_real_postfix() {
    use broadsheet::audience::Address;
    use broadsheet::settings::{Security, SmtpRoute};
    use broadsheet::transport::{Envelope, SendError, Smtp, Stage, Transport as _, Unrecorded};

    let postfix = crate::support::postfix::Postfix::start();
    let route = SmtpRoute {
        host: "127.0.0.1".into(),
        port: postfix.port,
        security: Security::None,
        username: None,
        password_env: None,
        timeout: std::time::Duration::from_secs(20),
        final_reply_timeout: std::time::Duration::from_secs(20),
        ehlo: "client.test".into(),
    };
    let envelope = Envelope {
        from: "news@example.org".into(),
        to: Address::parse("editor@example.org").unwrap(),
        message_id: "<unused@example.org>".into(),
    };
    let message = |subject: &str| {
        let line = "A line of the body, as long as a paragraph of a newsletter might be.\r\n";
        format!(
            "From: news@example.org\r\nTo: editor@example.org\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}@example.org>\r\n\r\n{}",
            line.repeat(1_000)
        )
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut smtp = Smtp::new(&route, "client.test").unwrap();
        let refused = smtp
            .send(&envelope, &message("unrecorded"), Unwritable)
            .await;
        assert!(
            matches!(
                &refused,
                Err(SendError::Transient {
                    stage: Stage::Data,
                    ..
                })
            ),
            "not sent, so not ambiguous: {refused:?}"
        );
        smtp.send(&envelope, &message("recorded"), Unrecorded)
            .await
            .expect("the next message goes on a new connection");
        smtp.close().await;
    });
    let delivered = String::from_utf8(postfix.wait_for_mail("editor")).unwrap();
    assert!(delivered.contains("Subject: recorded"), "{delivered}");
    // Postfix says how many bytes of the first it received.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let received = loop {
        let log = postfix.log();
        let bytes = log.split("lost connection after DATA (").nth(1);
        if let Some(n) = bytes.and_then(|b| b.split(' ').next()) {
            break n.parse::<usize>().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(received, 0, "{}", postfix.log());
    let kept = std::fs::read_dir(postfix.maildir("editor").join("new")).unwrap();
    assert_eq!(kept.count(), 1, "{}", postfix.log());
}

#[test]
fn proof_to_an_address_works_on_a_fresh_clone_without_recipients() {
    // The README's first command: a clean clone has no recipients.toml (personal data stays
    // out of git), and `proof --to` must still write its copy to the default outbox.
    let project = Project::sample();
    assert!(!project.path("recipients.toml").exists());
    let run = project.ok(&["proof", "volumes/011.toml", "--to", "you@example.org"]);
    assert!(
        run.stdout.contains("to you@example.org via outbox/"),
        "{}",
        run.stdout
    );
    let written: Vec<_> = std::fs::read_dir(project.path("outbox"))
        .expect("the outbox folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written.iter().filter(|n| n.ends_with(".eml")).count(),
        1,
        "{written:?}"
    );
}

#[test]
fn two_proofs_started_in_the_same_second_have_their_own_message_ids() {
    let project = Project::sample();
    let args = ["proof", "volumes/011.toml", "--to", "you@example.org"];
    let (first, second) = (project.command(&args), project.command(&args));
    let started = [first, second].map(|mut c| c.spawn().expect("start proof"));
    for child in started {
        let out = child.wait_with_output().expect("wait for proof");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut ids: Vec<String> = std::fs::read_dir(project.path("outbox"))
        .expect("the outbox folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".envelope.json"))
        .map(|p| {
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            json["message_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        2,
        "two copies, two files, two Message-IDs: {ids:?}"
    );
}

#[test]
fn a_feedback_id_goes_in_every_message_the_same_and_is_checked() {
    let project = with_recipients();
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"",
        "domain = \"eto.tech\"\nfeedback_id = \"weekly:scout:newsletter:eto\"",
    );
    let sent = crate::support::dispatching::confirmed(&project, 2, &[]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "eml") {
            let raw = std::fs::read(&path).expect("a message");
            let message = MessageParser::default().parse(&raw).expect("parsed");
            found.push(
                message
                    .header_raw("Feedback-ID")
                    .expect("a Feedback-ID")
                    .trim()
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        found, ["weekly:scout:newsletter:eto"; 2],
        "no per-reader value"
    );
    project.edit(
        "broadsheet.toml",
        "weekly:scout:newsletter:eto",
        "weekly scout",
    );
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(checked.status, 1);
    assert!(
        checked.stderr.contains("`feedback_id` must be")
            && checked.stderr.contains("broadsheet.toml:"),
        "{}",
        checked.stderr
    );
}

/// Every address of `[sender]` and `[unsubscribe]` with an international domain leaves as
/// its punycode A-label: in From, Reply-To and List-Unsubscribe, and in MAIL FROM (VERP
/// included), which a relay without SMTPUTF8 (Postfix) would otherwise refuse.
#[test]
fn sender_addresses_with_international_domains_go_out_in_punycode() {
    let sink = SmtpSink::start();
    let project = crate::support::dispatching::project(sink.port, 2, "");
    let settings = project
        .read("broadsheet.toml")
        .replace("from = \"scout@eto.tech\"", "from = \"scout@例子.测试\"")
        .replace(
            "reply_to = \"scout@eto.tech\"",
            "reply_to = \"editors@Bücher.example\"\nbounce = \"bounces@例子.测试\"",
        )
        .replace(
            "mailto = \"unsubscribe@eto.tech\"",
            "mailto = \"unsub@bücher.example\"",
        );
    project.write("broadsheet.toml", &settings);
    project.ok(&["check", "volumes/011.toml"]);
    let sent = crate::support::dispatching::confirmed(&project, 2, &[]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    project.ok(&["proof", "volumes/011.toml", "--to", "editor@example.org"]);
    let captured = sink.wait_for(3);
    let mut envelopes: Vec<&str> = captured.iter().map(|c| c.mail_args.as_str()).collect();
    envelopes.sort_unstable();
    let verp = |e: &&str| e.starts_with("<bounces+") && e.ends_with("@xn--fsqu00a.xn--0zwm56d>");
    assert!(envelopes[..2].iter().all(verp), "{envelopes:?}");
    assert_eq!(
        envelopes[2], "<scout@xn--fsqu00a.xn--0zwm56d>",
        "a proof's return path is From"
    );
    for c in &captured {
        let head = c
            .message
            .split(|&b| b == b'\n')
            .take_while(|l| !l.is_empty());
        for line in head {
            assert!(line.is_ascii(), "{}", String::from_utf8_lossy(line));
        }
        let message = MessageParser::default()
            .parse(c.message.as_slice())
            .expect("a MIME parser reads it");
        let address = |h: Option<&mail_parser::Address>| {
            h.and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_owned)
        };
        assert_eq!(
            address(message.from()).as_deref(),
            Some("scout@xn--fsqu00a.xn--0zwm56d")
        );
        assert_eq!(
            address(message.reply_to()).as_deref(),
            Some("editors@xn--bcher-kva.example")
        );
        let list = message
            .header_raw("List-Unsubscribe")
            .expect("List-Unsubscribe");
        assert!(
            list.contains("<mailto:unsub@xn--bcher-kva.example?subject=unsubscribe"),
            "{list}"
        );
    }
}

/// A non-ASCII local part in `[sender]` cannot be converted: it stays an error at its line.
#[test]
fn a_sender_address_with_a_non_ascii_local_part_is_refused_at_its_line() {
    let project = Project::sample();
    project.edit(
        "broadsheet.toml",
        "from = \"scout@eto.tech\"",
        "from = \"josé@例子.测试\"",
    );
    let line = project
        .read("broadsheet.toml")
        .lines()
        .position(|l| l.starts_with("from = "))
        .expect("the from line")
        + 1;
    let run = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("needs SMTPUTF8; use an ASCII address")
            && run.stderr.contains(&format!("broadsheet.toml:{line}:8")),
        "{}",
        run.stderr
    );
}

/// `plan` reports the HTML part's size as sent in kB (1000 bytes) for the largest copy a
/// reader can get: no dispatched copy's HTML part, a reader's unsubscribe link and the
/// longest greeting (256 emoji, 12 octets each in quoted-printable) spliced in, is larger.
/// `build` weighs the copy it writes, without a greeting, which is smaller.
#[test]
fn no_readers_html_part_is_larger_than_plan_reports() {
    let project = with_recipients();
    let longest = "😀".repeat(256);
    project.edit(
        "recipients.toml",
        "greeting = \"Ana\"",
        &format!("greeting = \"{longest}\""),
    );
    let kilobytes = |text: &str, before: &str, after: &str| {
        text.split(before)
            .nth(1)
            .and_then(|rest| rest.split(after).next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no size in kB: {text}"))
    };
    let planned = project.ok(&["plan", "volumes/011.toml", "--segment", "subscribers"]);
    let reported = kilobytes(
        &planned.stdout,
        "the HTML part: at most ",
        " kB as a reader gets it",
    );
    let built = project.ok(&["build", "volumes/011.toml"]);
    let shown = kilobytes(&built.stdout, " kB (", " kB as sent)");
    assert!(
        shown < reported,
        "build weighs the copy without a greeting: {shown} kB, plan {reported} kB"
    );
    let sent = crate::support::dispatching::confirmed(&project, 2, &[]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let messages = crate::support::email::outbox(&project);
    assert_eq!(messages.len(), 2);
    for (to, raw) in &messages {
        let text = String::from_utf8_lossy(raw);
        let (_, html) = text
            .split_once("Content-Type: text/html; charset=utf-8\r\n")
            .expect("an HTML part");
        let body = html.split_once("\r\n\r\n").expect("its body").1;
        let encoded = body.split("\r\n--=_broadsheet_").next().unwrap().len();
        assert!(
            encoded as f64 <= reported * 1000.0 + 50.0,
            "{to}'s HTML part is {encoded} bytes, build said {reported} kB"
        );
    }
    let ana = String::from_utf8_lossy(&messages["ana.lima@example.org"]).into_owned();
    assert!(ana.contains("=F0=9F=98=80"), "Ana is greeted at length");
}
