//! The message builder against a full build: splicing equals encoding from scratch, for
//! ASCII and Chinese variants, names and greetings of every kind; and what a MIME parser
//! reads back.

use mail_parser::MessageParser;

use super::splice::{encode_segments, split};
use super::*;
use crate::diag::SourceFile;
use crate::encoding;
use crate::settings::{self, Sending};
use crate::verp;

fn sending() -> Sending {
    let text = r#"
[sender]
from = "scout@eto.tech"
name = "ETO Scout"
reply_to = "replies@eto.tech"
list_id = "scout.eto.tech"
domain = "eto.tech"
[unsubscribe]
url = "https://scout.eto.tech/u/{token}"
mailto = "unsubscribe@eto.tech"
secret_env = "S"
"#;
    let settings = settings::parse(&SourceFile::new(
        std::path::Path::new("b.toml"),
        text.to_owned(),
    ))
    .unwrap();
    Sending::new(&settings).unwrap()
}

fn rendered(chinese: bool) -> Rendered {
    let body = if chinese {
        "人工智能与芯片。".repeat(300)
    } else {
        "Farming robots &amp; video. ".repeat(300)
    };
    Rendered {
        html: Html(format!(
            "<html><body><p>Hi {GREETING_PLACEHOLDER},</p><p>{body}</p><a href=\"{UNSUBSCRIBE_PLACEHOLDER}\">Unsubscribe</a></body></html>\n"
        )),
        text: Text(format!(
            "Hi {GREETING_PLACEHOLDER},\n\n{body}\n\nUnsubscribe: {UNSUBSCRIBE_PLACEHOLDER}\n"
        )),
    }
}

/// The message built from scratch: headers written in order, each part substituted and
/// encoded whole (by its segments) rather than spliced.
fn full_build(common: &Common<'_>, rendered: &Rendered, p: &Personal<'_>) -> String {
    let b = boundary(rendered);
    let s = common.identity;
    let mut out = String::new();
    out += &header::unstructured("Date", &common.date.rfc5322());
    out += &header::mailbox("From", Some("ETO Scout"), &s.from);
    out += &header::mailbox("Reply-To", None, "replies@eto.tech");
    out += &header::unstructured("Subject", common.subject);
    let mut list_id = header::phrase(common.list_name);
    list_id.push("<scout.eto.tech>".to_owned());
    out += &header::fold_list("List-Id", &list_id, "");
    out += "List-Post: NO\r\n";
    out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\n";
    out += &format!("Content-Type: multipart/alternative;\r\n\tboundary=\"{b}\"\r\n");
    out += &header::mailbox("To", p.name, p.to.as_str());
    out += &format!("Message-ID: {}\r\n", p.message_id);
    let url = format!("<{}>", p.unsubscribe_url);
    let mailto = format!(
        "<mailto:unsubscribe@eto.tech?subject=unsubscribe%20{}>",
        p.mailto_token.unwrap()
    );
    out += &header::fold_list("List-Unsubscribe", &[&url, &mailto], ",");
    out += "\r\n";
    let greeting = p.greeting.unwrap_or_default();
    let escaped = (
        handlebars::html_escape(p.unsubscribe_url),
        handlebars::html_escape(greeting),
    );
    for (kind, text, url, greeting) in [
        ("plain", &rendered.text.0, p.unsubscribe_url, greeting),
        (
            "html",
            &rendered.html.0,
            escaped.0.as_str(),
            escaped.1.as_str(),
        ),
    ] {
        let (chunks, slots) = split(text, &PLACEHOLDERS);
        let mut segments = vec![chunks[0]];
        for (slot, chunk) in slots.iter().zip(&chunks[1..]) {
            segments.push(if *slot == Slot::Greeting {
                greeting
            } else {
                url
            });
            segments.push(chunk);
        }
        let encoding = encoding::encode(text).encoding;
        if kind == "html" {
            out += "\r\n";
        }
        out += &format!(
            "--{b}\r\nContent-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: {}\r\n\r\n",
            encoding.as_str()
        );
        out += &encode_segments(encoding, &segments);
    }
    out += &format!("\r\n--{b}--\r\n");
    out
}

/// Address, display name and greeting of each test recipient.
fn people() -> Vec<(&'static str, Option<String>, Option<&'static str>)> {
    let some = |name: &str| Some(name.to_owned());
    vec![
        ("ana.lima@example.org", some("Ana Lima"), Some("Ana")),
        ("wei@example.org", some("张伟"), Some("伟")),
        (
            "zoe@example.org",
            some("Zoë \"Z\" <Ünal> & Co"),
            Some("Zoë & <Z>"),
        ),
        ("quinn@example.org", some("Zhang, Quinn"), None),
        ("nobody@example.org", None, None),
        (
            "Long.Name@Example.org",
            some("Maximiliane Konstanze Wilhelmine von Hohenzollern-Sigmaringen"),
            Some("Max"),
        ),
        ("huge@example.org", Some(["Quinn"; 400].join(" ")), None),
    ]
}

#[test]
fn spliced_messages_equal_full_builds() {
    let sending = sending();
    let sender = &sending.identity;
    for (chinese, subject) in [
        (false, "Farming robots, synthetic video"),
        (true, "人工智能周报 🔭 第十一期"),
    ] {
        let rendered = rendered(chinese);
        let common = Common {
            identity: sender,
            mailto: sending.unsubscribe.mailto.as_deref(),
            list_name: "Editors' picks from ETO Scout",
            subject,
            date: Timestamp(1_715_250_645),
        };
        let template = MessageTemplate::new(&common, &rendered);
        for (i, (address, name, greeting)) in people().iter().enumerate() {
            let to = Address::parse(address).unwrap();
            let id = message_id(&signer(), sender, 11, &to);
            let url = format!("https://scout.eto.tech/u/{}&n={i}", "T".repeat(36 + i));
            let mailto_token = "m".repeat(verp::TOKEN_CHARS);
            let personal = Personal {
                to: &to,
                name: name.as_deref(),
                greeting: *greeting,
                message_id: &id,
                unsubscribe_url: &url,
                mailto_token: Some(&mailto_token),
            };
            let spliced = template.build(&personal);
            assert_eq!(
                spliced,
                full_build(&common, &rendered, &personal),
                "{address}"
            );
            check_parsed(spliced.as_bytes(), subject, &personal, chinese);
        }
    }
}

fn check_parsed(raw: &[u8], subject: &str, p: &Personal<'_>, chinese: bool) {
    for line in raw.split(|&b| b == b'\n') {
        assert!(line.len() <= 999, "line over 998 octets");
    }
    let message = MessageParser::default().parse(raw).expect("parses");
    assert_eq!(message.subject(), Some(subject));
    let to = message.to().and_then(|t| t.first()).unwrap();
    assert_eq!(to.address(), Some(p.to.as_str()));
    let shown: Option<String> = p
        .name
        .map(|n| n.chars().take(header::MAX_DISPLAY_NAME).collect());
    assert_eq!(
        to.name(),
        shown.as_deref(),
        "the display name, cut if very long"
    );
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    assert!(
        text.contains(&format!("Unsubscribe: {}\n", p.unsubscribe_url))
            || text.contains(&format!("Unsubscribe: {}\r\n", p.unsubscribe_url))
    );
    assert!(html.contains(&format!(
        "href=\"{}\"",
        handlebars::html_escape(p.unsubscribe_url)
    )));
    let greeting = format!("Hi {},", p.greeting.unwrap_or_default());
    assert!(
        text.contains(&greeting) && html.contains(&handlebars::html_escape(&greeting)),
        "{greeting}"
    );
    if let Some(name) = p.name.filter(|_| p.greeting.is_none()) {
        assert!(!text.contains(name), "no fallback to the display name");
    }
    assert_eq!(text.contains("人工智能"), chinese);
    assert_eq!(
        message.message_id(),
        Some(p.message_id.trim_matches(['<', '>']))
    );
}

fn signer() -> Signer {
    Signer::new(b"0123456789abcdef0123", "scout.eto.tech").unwrap()
}

#[test]
fn message_ids_are_stable_per_volume_and_recipient() {
    let sending = sending();
    let sender = &sending.identity;
    let signer = signer();
    let ana = Address::parse("Ana@Example.org").unwrap();
    let id = message_id(&signer, sender, 11, &ana);
    assert_eq!(
        id,
        message_id(
            &signer,
            sender,
            11,
            &Address::parse("ana@example.org").unwrap()
        )
    );
    assert_ne!(id, message_id(&signer, sender, 12, &ana));
    assert!(id.starts_with('<') && id.ends_with("@eto.tech>") && !id.contains("ana"));
    assert_eq!(id.len(), sample_message_id(sender).len(), "sized right");
    let proof = proof_message_id(sender, 11, &ana).unwrap();
    assert_ne!(proof, id);
    assert!(proof.ends_with("@eto.tech>") && !proof.contains("ana"));
    assert_ne!(
        proof,
        proof_message_id(sender, 11, &ana).unwrap(),
        "never two alike, even in the same second"
    );
}

#[test]
fn message_ids_are_keyed_so_nobody_without_the_secret_can_compute_one() {
    let sending = sending();
    let sender = &sending.identity;
    let ana = Address::parse("ana@example.org").unwrap();
    let id = message_id(&signer(), sender, 11, &ana);
    assert!(is_message_id(&signer(), &id, 11, &ana));
    assert!(
        !is_message_id(&signer(), &id, 12, &ana),
        "bound to the volume"
    );
    let bo = Address::parse("bo@example.org").unwrap();
    assert!(
        !is_message_id(&signer(), &id, 11, &bo),
        "bound to the reader"
    );
    let other = Signer::new(b"another secret, long enough", "scout.eto.tech").unwrap();
    assert_ne!(
        id,
        message_id(&other, sender, 11, &ana),
        "bound to the secret"
    );
    // The Message-ID of versions before the MAC: a hash of public data, which anyone can
    // compute, is not ours to trust.
    let mut public = Sha256::new();
    for part in [
        &b"scout.eto.tech"[..],
        b"\0",
        &11u32.to_be_bytes(),
        b"\0",
        b"ana@example.org",
    ] {
        public.update(part);
    }
    let unkeyed = format!("<{}@eto.tech>", hex(&public.finalize()[..16]));
    assert_ne!(unkeyed, id);
    assert!(!is_message_id(&signer(), &unkeyed, 11, &ana));
}
