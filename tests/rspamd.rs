//! rspamd, the spam filter most large mail hosts run besides SpamAssassin, judges what
//! broadsheet sends: the proofs `broadsheet proof` writes to the outbox, and dispatched
//! messages with a VERP return path, a per-reader unsubscribe link and greeting, in the
//! scout layout and the plain one `init` writes. Every symbol rspamd adds must be one this
//! file explains, the score under rspamd's `add header` threshold, the action `no action`.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mail_parser::MessageParser;
use serde_json::Value;

use crate::recipients::with_recipients;
use crate::support::dispatching::SECRET;
use crate::support::oracle::run_ok;
use crate::support::rspamd::{Rspamd, Verdict, add_header_threshold};
use crate::support::{Project, decode_entities};

/// Every symbol a message of broadsheet's may earn, with what it says. rspamd scores all of
/// them 0 or below, except the last four, which [`check_explained`] holds to what they say.
const EXPLAINED: [(&str, &str); 22] = [
    // What the message is, as it should be.
    (
        "HAS_LIST_UNSUB",
        "List-Unsubscribe is there (RFC 2369, RFC 8058)",
    ),
    (
        "MAILLIST",
        "List-Id and other List-* fields mark a mailing list",
    ),
    (
        "MIME_GOOD",
        "multipart/alternative and text/plain are known, good types",
    ),
    (
        "MIME_TRACE",
        "the trace of the MIME type checks, which scores nothing",
    ),
    ("RCPT_COUNT_ONE", "one recipient in the envelope"),
    ("TO_MATCH_ENVRCPT_ALL", "To names the envelope's recipient"),
    ("MID_RHS_MATCH_FROM", "the Message-ID is on the From domain"),
    ("FROM_HAS_DN", "From has a display name ([sender] name)"),
    (
        "FROM_EQ_ENVFROM",
        "the return path is From (no [sender] bounce: the proofs)",
    ),
    (
        "FROM_NEQ_ENVFROM",
        "the return path is the VERP address under [sender] bounce",
    ),
    (
        "TAGGED_FROM",
        "the VERP return path's +TOKEN names the recipient",
    ),
    (
        "FORGED_SENDER_MAILLIST",
        "the VERP return path is not From, as in any mailing list (scored 0 with MAILLIST)",
    ),
    ("HAS_REPLYTO", "Reply-To is set ([sender] reply_to)"),
    ("REPLYTO_ADDR_EQ_FROM", "Reply-To is the From address"),
    ("TO_DN_ALL", "To has the recipient's name"),
    (
        "TO_DN_NONE",
        "To is a bare address (a recipient with no name)",
    ),
    ("TO_DOM_EQ_FROM_DOM", "a proof to the newsroom's own domain"),
    // The test's environment: no relay has handled the message yet.
    (
        "RCVD_COUNT_ZERO",
        "no Received field: scanned as broadsheet hands it over, before a relay adds one",
    ),
    // What a newsletter in Chinese is, checked by [`check_explained`].
    (
        "MIME_BASE64_TEXT",
        "a part mostly in Chinese goes out base64, a third larger, where quoted-printable \
         would triple it (RFC 2045 §6.8); base64 for 7-bit text would be _BOGUS",
    ),
    (
        "SUBJ_ALL_CAPS",
        "the `[TEST]` prefix a proof carries by design is the only cased text of a \
         subject in Chinese; the subscribers' copy is without it",
    ),
    // Rules that count something a correct newsletter has.
    (
        "MANY_INVISIBLE_PARTS",
        "one hidden block, the preheader (mj-preview, the inbox preview text): rspamd \
         scores one 0.05 and only more than ten in full",
    ),
    (
        "URI_COUNT_ODD",
        "rspamd 3.4 counts image sources with links; the links pair up between the parts",
    ),
];

/// Symbols every message must earn: what makes it a well-formed list message.
const REQUIRED: [&str; 6] = [
    "HAS_LIST_UNSUB",
    "MAILLIST",
    "MIME_GOOD",
    "RCPT_COUNT_ONE",
    "TO_MATCH_ENVRCPT_ALL",
    "MID_RHS_MATCH_FROM",
];

/// The `.eml` files in `project`'s outbox, each with its envelope's sender and recipient.
fn outbox(project: &Project) -> Vec<(PathBuf, String, String)> {
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(project.path("outbox")).expect("the outbox") {
        let path = entry.expect("an outbox entry").path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let envelope: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("envelope.json")).expect("envelope"),
        )
        .expect("the envelope's JSON");
        let from = envelope["mail_from"]
            .as_str()
            .expect("mail_from")
            .to_owned();
        let to = envelope["rcpt_to"][0].as_str().expect("rcpt_to").to_owned();
        messages.push((path, from, to));
    }
    messages.sort();
    messages
}

/// The `href` targets and the image sources of `html`, references decoded.
fn links_and_images(html: &str) -> (Vec<String>, usize) {
    let attribute = |name: &str| -> Vec<String> {
        html.split(&format!(" {name}=\""))
            .skip(1)
            .filter_map(|rest| rest.split_once('"'))
            .map(|(value, _)| decode_entities(value))
            .collect()
    };
    let images = html.split("<img ").count() - 1;
    assert_eq!(attribute("src").len(), images, "an <img> without src");
    (attribute("href"), images)
}

/// Checks what the four scoring rules of [`EXPLAINED`] saw. MIME_BASE64_TEXT: see
/// [`check_base64_parts`]. SUBJ_ALL_CAPS: only a proof's `[TEST]` prefix is in capitals.
/// URI_COUNT_ODD: its count less the HTML part's images is even, and every link of the
/// HTML part is in the text part too, so the links pair up and only the images (which a
/// text part cannot carry) make the count odd. MANY_INVISIBLE_PARTS: one block.
fn check_explained(name: &str, raw: &[u8], verdict: &Verdict) {
    let message = MessageParser::default()
        .parse(raw)
        .expect("the message parses");
    let html = message.body_html(0).expect("an HTML part");
    let text = message.body_text(0).expect("a text part");
    if let Some(options) = verdict.symbols.get("URI_COUNT_ODD") {
        let count: usize = options[0].parse().expect("URI_COUNT_ODD's count");
        let (links, images) = links_and_images(&html);
        let links_only = count.checked_sub(images).expect("more URIs than images");
        assert_eq!(
            links_only % 2,
            0,
            "{name}: {count} URIs less {images} images is odd"
        );
        let text_links: Vec<&str> = text
            .split_whitespace()
            .map(|word| word.trim_matches(|c| "<>()\",;".contains(c)))
            .collect();
        for link in links {
            assert!(
                text_links.contains(&link.as_str()),
                "{name}: {link} is not in the text part"
            );
        }
    }
    if verdict.symbols.contains_key("MIME_BASE64_TEXT") {
        check_base64_parts(name, raw);
    }
    if verdict.symbols.contains_key("SUBJ_ALL_CAPS") {
        let subject = message.subject().expect("a subject");
        let rest = subject.strip_prefix("[TEST] ");
        assert!(
            rest.is_some_and(|r| !r.chars().any(char::is_lowercase)),
            "{name}: {subject:?} is more than a proof's prefix in capitals"
        );
    }
    if let Some(options) = verdict.symbols.get("MANY_INVISIBLE_PARTS") {
        assert_eq!(options, &["1"], "{name}: more than the preheader is hidden");
    }
}

/// Each base64 part of `raw` holds text of which more than a sixth of the bytes are not
/// ASCII: where base64 (4 octets per 3) is shorter than quoted-printable (3 octets per
/// such byte), the only parts broadsheet's encoder sends base64.
fn check_base64_parts(name: &str, raw: &[u8]) {
    let raw = String::from_utf8_lossy(raw);
    let parts: Vec<&str> = raw
        .split("Content-Transfer-Encoding: base64\r\n\r\n")
        .skip(1)
        .map(|rest| rest.split("\r\n--").next().unwrap_or_default())
        .collect();
    assert!(
        !parts.is_empty(),
        "{name}: MIME_BASE64_TEXT without a base64 part"
    );
    for part in parts {
        let text = STANDARD
            .decode(part.replace("\r\n", ""))
            .expect("valid base64");
        let wide = text.iter().filter(|b| !b.is_ascii()).count();
        assert!(
            wide * 6 > text.len(),
            "{name}: a base64 part with {wide} of {} bytes not ASCII",
            text.len()
        );
    }
}

/// Scans every message in `project`'s outbox and holds each to [`EXPLAINED`] and
/// [`REQUIRED`]; returns how many it scanned.
fn judge_outbox(rspamd: &Rspamd, project: &Project) -> usize {
    let threshold = add_header_threshold();
    let messages = outbox(project);
    for (path, from, to) in &messages {
        let verdict = rspamd.scan(path, from, to);
        let unexplained: Vec<&String> = verdict
            .symbols
            .keys()
            .filter(|s| !EXPLAINED.iter().any(|(e, _)| e == s))
            .collect();
        assert!(
            unexplained.is_empty(),
            "{to}: rspamd added {unexplained:?}: {verdict:?}"
        );
        for symbol in REQUIRED {
            assert!(
                verdict.symbols.contains_key(symbol),
                "{to}: no {symbol}: {verdict:?}"
            );
        }
        assert_eq!(verdict.action, "no action", "{to}: {verdict:?}");
        assert!(verdict.score < threshold, "{to}: {verdict:?}");
        check_explained(to, &std::fs::read(path).expect("read"), &verdict);
    }
    messages.len()
}

#[test]
fn rspamd_explains_every_symbol_of_proofs_and_dispatched_messages() {
    let project = with_recipients();
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"",
        "domain = \"eto.tech\"\nbounce = \"bounces@eto.tech\"",
    );
    proof_and_dispatch(&project);
    let ana = std::fs::read(message_to(&project, "ana.lima@example.org")).expect("Ana's copy");
    let ana = MessageParser::default().parse(&ana).expect("parses");
    let text = ana.body_text(0).expect("a text part");
    assert!(
        text.contains("Hi Ana,")
            && text.contains("/unsubscribe/")
            && !text.contains("/unsubscribe/proof"),
        "a per-reader greeting and unsubscribe link: {text}"
    );
    let rspamd = Rspamd::start();
    assert_eq!(
        judge_outbox(&rspamd, &project),
        4,
        "two proofs, two dispatched"
    );
    let chinese = in_chinese();
    assert_eq!(
        judge_outbox(&rspamd, &chinese),
        4,
        "two proofs, two dispatched"
    );
    reply_to_off_the_from_domain(&rspamd);
}

/// A Reply-To off From's domain: `check` warns at `reply_to`, and rspamd reads a proof to
/// an address on From's domain (the newsroom's) as a spoof, which is what the warning says.
fn reply_to_off_the_from_domain(rspamd: &Rspamd) {
    let project = with_recipients();
    let reply_to = "reply_to = \"editors@cset.example.net\"";
    project.edit("broadsheet.toml", "reply_to = \"scout@eto.tech\"", reply_to);
    let settings = project.read("broadsheet.toml");
    let line = settings
        .lines()
        .position(|l| l.starts_with(reply_to))
        .unwrap()
        + 1;
    let checked = project.ok(&["check", "volumes/011.toml"]);
    let warning = "warning: `reply_to` is on `cset.example.net`, not on the From address's \
                   domain `eto.tech`";
    assert!(
        checked.stderr.contains(warning)
            && checked
                .stderr
                .contains(&format!("--> broadsheet.toml:{line}:")),
        "{}",
        checked.stderr
    );
    run(
        &project,
        &["proof", "volumes/011.toml", "--to", "editors@eto.tech"],
    );
    let (path, from, to) = outbox(&project).remove(0);
    let verdict = rspamd.scan(&path, &from, &to);
    assert!(
        verdict.symbols.contains_key("SPOOF_REPLYTO") && verdict.action != "no action",
        "{verdict:?}"
    );
}

/// The fixture project with volume 11 in Chinese, its subject and every summary (so that
/// both parts go out base64), proofed and dispatched.
fn in_chinese() -> Project {
    let project = with_recipients();
    let summary = "summary = \"国家媒体报道称，中国农业机械行业落后于全球前沿，但目标是迎头赶上。\
                   报告指出，智能农机的研发投入在过去三年里增长了两倍。\"";
    let volume: Vec<String> = project
        .read("volumes/011.toml")
        .lines()
        .map(|line| match line {
            "lang = \"en\"" => {
                "lang = \"zh\"\nsubject = \"人工智能周报 🔭 第十一期：芯片与机器人\"".to_owned()
            }
            _ if line.starts_with("summary = \"") => summary.to_owned(),
            _ => line.to_owned(),
        })
        .collect();
    project.write("volumes/011.toml", &(volume.join("\n") + "\n"));
    proof_and_dispatch(&project);
    project
}

/// The layout `broadsheet init` writes, in a project with no web archive (so no
/// List-Archive) and a VERP return path: still a mailing list to rspamd.
#[test]
fn rspamd_takes_a_new_projects_newsletter_for_a_mailing_list() {
    let project = Project::empty();
    project.ok(&[
        "init",
        "--title",
        "The Weekly Wire",
        "--address",
        "1 Press Row",
    ]);
    let volume = project
        .read("volumes/001.toml")
        .replace("draft = true\n", "");
    // The picks link real stories by then, not the sample's example.org.
    project.write(
        "volumes/001.toml",
        &volume.replace("https://example.org/", "https://weekly-wire.news/"),
    );
    project.edit(
        "broadsheet.toml",
        "# bounce = \"bounces@example.org\"",
        "bounce = \"bounces@example.org\"",
    );
    let recipients = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!(
            "{recipients}\n[[recipients]]\nemail = \"ana@example.net\"\ngreeting = \"Ana\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    run(
        &project,
        &[
            "dispatch",
            "volumes/001.toml",
            "--segment",
            "subscribers",
            "--yes",
            "--expect",
            "1",
        ],
    );
    let rspamd = Rspamd::start();
    assert_eq!(judge_outbox(&rspamd, &project), 1);
}

/// Runs broadsheet with `args` in `project`, the unsubscribe secret set.
fn run(project: &Project, args: &[&str]) {
    let mut command = project.command(args);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    run_ok(command);
}

/// Proofs volume 11 to the proof list and dispatches it to the two subscribers.
fn proof_and_dispatch(project: &Project) {
    run(project, &["proof", "volumes/011.toml"]);
    let dispatch = ["dispatch", "volumes/011.toml", "--segment", "subscribers"];
    run(
        project,
        &[&dispatch[..], &["--yes", "--expect", "2"]].concat(),
    );
}

/// The outbox file of the message to `to`.
fn message_to(project: &Project, to: &str) -> PathBuf {
    outbox(project)
        .into_iter()
        .find(|(_, _, rcpt)| rcpt == to)
        .map(|(path, _, _)| path)
        .unwrap_or_else(|| panic!("no message to {to}"))
}
