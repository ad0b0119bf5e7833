//! The webhooks of `broadsheet serve` through the real binary: SNS messages carrying AWS's
//! sample SES events, signed at test time with a certificate made by openssl, and
//! Postmark's sample webhooks with basic auth. What they apply is what `bounces import`
//! applies (suppress list, `already-imported` on a second post); forged, stale, foreign and
//! unauthorised posts change nothing.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::bounces::{envelopes, verp_project};
use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::confirmed;
use crate::support::serve::{Answer, Serve};

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:broadsheet-bounces";
const CERT_URL: &str =
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem";
const ANA: &str = "ana.lima@example.org";
const WEI: &str = "wei.zhang@example.org";

/// Runs openssl, which the tests need (scripts/test installs it): a missing one fails.
fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is needed for the webhook tests (apt-get install openssl)");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A self-signed RSA-2048 certificate and its key, made in `dir`; `name` tells them apart.
pub fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pem")),
    );
    let (k, c) = (key.to_str().unwrap(), cert.to_str().unwrap());
    let subject = format!("/CN={name}.sns.test");
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", k, "-out", c, "-days", "2",
            "-subj", &subject,
        ],
        &[],
    );
    (key, cert)
}

/// `secs` after the epoch as SNS writes it: `2026-05-02T00:54:06.000Z`.
fn iso(secs: i64) -> String {
    let day = broadsheet::date::Date::from_unix_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{day}T{:02}:{:02}:{:02}.000Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn now() -> i64 {
    broadsheet::clock::Timestamp::now().0
}

/// An SNS message as AWS documents it: the signed fields, their canonical string (each
/// name and value on a line, names in byte order) signed with `key` (`sha1` for
/// SignatureVersion 1, `sha256` for 2), and the unsigned ones.
pub struct Sns {
    signed: BTreeMap<&'static str, String>,
    version: &'static str,
    cert_url: String,
}

impl Sns {
    pub fn notification(id: &str, message: &str) -> Self {
        let signed = BTreeMap::from([
            ("Type", "Notification".to_owned()),
            ("MessageId", id.to_owned()),
            ("TopicArn", TOPIC.to_owned()),
            ("Message", message.to_owned()),
            ("Timestamp", iso(now())),
        ]);
        Self {
            signed,
            version: "1",
            cert_url: CERT_URL.to_owned(),
        }
    }

    fn set(mut self, name: &'static str, value: &str) -> Self {
        self.signed.insert(name, value.to_owned());
        self
    }

    pub fn body(&self, key: &Path) -> String {
        let canonical: String = self
            .signed
            .iter()
            .map(|(name, value)| format!("{name}\n{value}\n"))
            .collect();
        let digest = if self.version == "1" {
            "-sha1"
        } else {
            "-sha256"
        };
        let signature = openssl(
            &["dgst", digest, "-sign", key.to_str().unwrap()],
            canonical.as_bytes(),
        );
        let mut body: serde_json::Map<String, Value> = self
            .signed
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        body.insert("SignatureVersion".to_owned(), json!(self.version));
        body.insert("Signature".to_owned(), json!(STANDARD.encode(signature)));
        body.insert("SigningCertURL".to_owned(), json!(self.cert_url));
        body.insert(
            "UnsubscribeURL".to_owned(),
            json!(format!(
                "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1"
            )),
        );
        Value::Object(body).to_string()
    }
}

/// A POST of `body` to `path` with `headers`, as a relay sends it.
fn post(serve: &Serve, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    serve.post(path, "text/plain; charset=UTF-8", headers, body)
}

/// Posts an SNS message of `kind` to `webhooks/ses`.
pub fn to_ses(serve: &Serve, kind: &str, body: &str) -> Answer {
    post(
        serve,
        "/webhooks/ses",
        &[("x-amz-sns-message-type", kind)],
        body,
    )
}

/// The effects and mappings of a 200 answer, as `effect/mapped_by` words.
fn outcomes(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{answer:?}");
    let json: Value =
        serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["effect"].as_str().unwrap(),
                f["mapped_by"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

/// AWS's sample bounce notification (SES developer guide, "Examples of Amazon SNS
/// notifications for Amazon SES"), for `to`, sent from `source` with `message_id`.
fn ses_bounce(
    kind: &str,
    status: &str,
    to: &str,
    source: &str,
    message_id: &str,
    feedback: &str,
) -> String {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind, "bounceSubType": "General", "reportingMTA": "dns; email.example.com",
            "bouncedRecipients": [{
                "emailAddress": to, "status": status, "action": "failed",
                "diagnosticCode": format!("smtp; 550 {status} <{to}>... User")
            }],
            "timestamp": "2016-01-27T14:59:38.237Z", "feedbackId": feedback, "remoteMtaIp": "127.0.2.0"
        },
        "mail": {
            "timestamp": "2016-01-27T14:59:38.237Z", "source": source,
            "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/eto.tech", "sourceIp": "127.0.3.0",
            "sendingAccountId": "123456789012", "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
            "destination": [to], "headersTruncated": false,
            "headers": [{"name": "From", "value": "ETO Scout <scout@eto.tech>"}, {"name": "Message-ID", "value": message_id}],
            "commonHeaders": {"from": ["ETO Scout <scout@eto.tech>"], "messageId": message_id, "subject": "Editors' picks"}
        }
    })
    .to_string()
}

/// AWS's sample complaint notification, for `to`, of the message `message_id`.
fn ses_complaint(to: &str, message_id: &str) -> String {
    json!({
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)", "complainedRecipients": [{"emailAddress": to}],
            "complaintFeedbackType": "abuse", "arrivalDate": "2016-01-27T14:59:38.237Z",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"
        },
        "mail": {"source": "scout@eto.tech", "messageId": "x", "commonHeaders": {"messageId": message_id}}
    })
    .to_string()
}

/// Adds `table` at the end of the project's settings.
pub fn add_settings(project: &Project, table: &str) {
    let text = project.read("broadsheet.toml");
    project.write("broadsheet.toml", &format!("{text}\n{table}"));
}

/// `[webhooks.ses]` naming `sns.pem` and the test topic.
fn ses_settings() -> String {
    format!("[webhooks.ses]\ncertificate = \"sns.pem\"\ntopic_arns = [\"{TOPIC}\"]\n")
}

/// [`ses_settings`], with the certificate `cert` copied to `sns.pem`.
pub fn add_ses(project: &Project, cert: &Path) {
    std::fs::copy(cert, project.path("sns.pem")).unwrap();
    add_settings(project, &ses_settings());
}

pub const POSTMARK_SETTINGS: &str = "[webhooks.postmark]\nusername = \"postmark\"\npassword_env = \"BROADSHEET_POSTMARK_PASSWORD\"\n";

fn suppressed(project: &Project) -> String {
    project.ok(&["suppress", "list"]).stdout
}

/// The VERP project dispatched to its two subscribers, with `[webhooks.ses]` and the test
/// certificate; the (MAIL FROM, Message-ID) of each message, by recipient.
fn ses_project(cert: &Path) -> (Project, BTreeMap<String, (String, String)>) {
    let project = verp_project();
    let sent = confirmed(&project, 2, &[]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let sent = envelopes(&project)
        .into_iter()
        .map(|(from, to, id)| (to, (from, id)))
        .collect();
    add_ses(&project, cert);
    (project, sent)
}

#[test]
fn serve_ses_notifications_apply_once_and_forgeries_change_nothing() {
    let pki = tempfile::tempdir().unwrap();
    let (key, cert) = certificate(pki.path(), "sns");
    let (other_key, _) = certificate(pki.path(), "other");
    let (project, sent) = ses_project(&cert);
    let (ana_from, ana_id) = &sent[ANA];
    assert!(ana_from.starts_with("bounces+"), "{ana_from}");
    let serve = Serve::start(&project);

    let subscribe_url = format!(
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37"
    );
    let subscription = Sns::notification("sub-1", "You have chosen to subscribe to the topic.")
        .set("Type", "SubscriptionConfirmation")
        .set("Token", "2336412f37")
        .set("SubscribeURL", &subscribe_url);
    let answer = to_ses(&serve, "SubscriptionConfirmation", &subscription.body(&key));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.body.contains(&subscribe_url),
        "the operator is told what to open: {answer:?}"
    );
    let forged = to_ses(
        &serve,
        "SubscriptionConfirmation",
        &subscription.body(&other_key),
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(!forged.body.contains(&subscribe_url), "{forged:?}");

    let permanent = ses_bounce(
        "Permanent",
        "5.1.1",
        ANA,
        ana_from,
        "<unknown@example.net>",
        "fb-permanent",
    );
    let good = Sns::notification("n-1", &permanent);
    let stale = Sns::notification("n-2", &permanent).set("Timestamp", &iso(now() - 2 * 3600));
    let future = Sns::notification("n-3", &permanent).set("Timestamp", &iso(now() + 3600));
    let foreign = Sns::notification("n-4", &permanent)
        .set("TopicArn", "arn:aws:sns:eu-west-1:123456789012:other");
    let mut elsewhere = Sns::notification("n-5", &permanent);
    elsewhere.cert_url = "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem".to_owned();
    let tampered = good
        .body(&key)
        .replace("ana.lima@example.org", "wei.zhang@example.org");
    let forgeries = [
        ("another key", good.body(&other_key), "signature"),
        ("a tampered message", tampered, "signature"),
        ("a stale timestamp", stale.body(&key), "timestamp"),
        ("a timestamp in the future", future.body(&key), "timestamp"),
        ("an unknown topic", foreign.body(&key), "topic"),
        (
            "a foreign certificate URL",
            elsewhere.body(&key),
            "SigningCertURL",
        ),
    ];
    for (what, body, why) in forgeries {
        let answer = to_ses(&serve, "Notification", &body);
        assert_eq!(answer.status, 403, "{what}: {answer:?}");
        assert!(answer.body.contains(why), "{what}: {answer:?}");
    }
    assert_eq!(
        to_ses(&serve, "SubscriptionConfirmation", &good.body(&key)).status,
        400,
        "the header names another type"
    );
    assert_eq!(
        suppressed(&project),
        "",
        "nothing forged or unconfirmed changed anything"
    );

    let transient = ses_bounce(
        "Transient",
        "4.2.2",
        ANA,
        ana_from,
        "<unknown@example.net>",
        "fb-transient",
    );
    let mut transient = Sns::notification("n-6", &transient);
    transient.version = "2";
    assert_eq!(
        outcomes(&to_ses(&serve, "Notification", &transient.body(&key))),
        ["counted/verp"]
    );
    assert_eq!(suppressed(&project), "", "a transient bounce only counts");

    let body = good.body(&key);
    assert_eq!(
        outcomes(&to_ses(&serve, "Notification", &body)),
        ["suppressed/verp"]
    );
    assert_eq!(
        outcomes(&to_ses(&serve, "Notification", &body)),
        ["already-imported/verp"]
    );
    let list = suppressed(&project);
    assert!(
        list.starts_with(ANA) && list.contains("bounced") && list.lines().count() == 1,
        "{list}"
    );

    // A complaint whose source is the plain sender: the Message-ID finds the reader.
    let (_, wei_id) = &sent[WEI];
    let complaint = Sns::notification("n-7", &ses_complaint("redacted@example.net", wei_id));
    assert_eq!(
        outcomes(&to_ses(&serve, "Notification", &complaint.body(&key))),
        ["suppressed/message-id"]
    );
    let list = suppressed(&project);
    assert!(
        list.lines()
            .any(|l| l.starts_with(WEI) && l.contains("complained")),
        "{list}"
    );
    assert_ne!(ana_id, wei_id);

    let delivery = Sns::notification("n-8", r#"{"eventType":"Delivery","mail":{},"delivery":{}}"#);
    let answer = to_ses(&serve, "Notification", &delivery.body(&key));
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "ignored: Delivery\n")
    );
    assert_eq!(suppressed(&project), list, "a delivery changes nothing");
    let unconfigured = post(&serve, "/webhooks/postmark", &[], "{}");
    assert_eq!(
        unconfigured.status, 404,
        "a route without its table is not there"
    );
}

/// Postmark's sample bounce webhook (developer documentation, "Bounce webhook"), for `to`.
fn postmark_bounce(id: u64, kind: &str, to: &str, content: &str) -> String {
    json!({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": id, "Type": kind, "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"a_key": "a_value", "b_key": "b_value"}, "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "Test bounce details", "Email": to, "From": "scout@eto.tech",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": true, "Inactive": true,
        "CanActivate": true, "Subject": "Test subject", "Content": content
    })
    .to_string()
}

pub const PASSWORD: &str = "a postmark webhook password";

pub fn to_postmark(serve: &Serve, authorization: Option<&str>, body: &str) -> Answer {
    let basic = authorization.map(|pair| format!("Basic {}", STANDARD.encode(pair)));
    let headers: Vec<(&str, &str)> = basic
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    post(serve, "/webhooks/postmark", &headers, body)
}

#[test]
fn serve_postmark_webhooks_need_basic_auth_and_apply_once() {
    let project = with_recipients();
    add_settings(&project, POSTMARK_SETTINGS);
    let serve = Serve::start_with(&project, &[("BROADSHEET_POSTMARK_PASSWORD", PASSWORD)]);
    let login = format!("postmark:{PASSWORD}");
    let hard = postmark_bounce(
        4_323_372_036_854_775_807,
        "HardBounce",
        ANA,
        "<Full dump of bounce>",
    );
    for wrong in [
        None,
        Some("postmark:wrong"),
        Some("other:a postmark webhook password"),
    ] {
        let answer = to_postmark(&serve, wrong, &hard);
        assert_eq!(answer.status, 401, "{wrong:?}: {answer:?}");
        assert!(
            answer
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic ")),
            "{answer:?}"
        );
        assert!(!answer.body.contains(PASSWORD));
    }
    assert_eq!(
        suppressed(&project),
        "",
        "nothing unauthorised changed anything"
    );

    let soft = postmark_bounce(7, "SoftBounce", ANA, "");
    assert_eq!(
        outcomes(&to_postmark(&serve, Some(&login), &soft)),
        ["counted/address"]
    );
    assert_eq!(suppressed(&project), "");
    assert_eq!(
        outcomes(&to_postmark(&serve, Some(&login), &hard)),
        ["suppressed/address"]
    );
    assert_eq!(
        outcomes(&to_postmark(&serve, Some(&login), &hard)),
        ["already-imported/address"]
    );

    let complaint = json!({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42, "Type": "SpamComplaint",
        "TypeCode": 512, "Name": "Spam complaint", "Tag": "Test",
        "MessageID": "00000000-0000-0000-0000-000000000000", "ServerID": 1234, "Description": "",
        "Details": "Test spam complaint details", "Email": WEI, "From": "scout@eto.tech",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": true, "Inactive": true,
        "CanActivate": false, "Subject": "Test subject", "Content": "<Abuse report dump>"
    })
    .to_string();
    assert_eq!(
        outcomes(&to_postmark(&serve, Some(&login), &complaint)),
        ["suppressed/address"]
    );
    let list = suppressed(&project);
    assert!(
        list.lines()
            .any(|l| l.starts_with(ANA) && l.contains("bounced")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with(WEI) && l.contains("complained")),
        "{list}"
    );

    // A bounce with its whole dump is larger than a form may be, and still accepted.
    let big = postmark_bounce(8, "AutoResponder", ANA, &"x".repeat(100 * 1024));
    let answer = to_postmark(&serve, Some(&login), &big);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "ignored: AutoResponder\n")
    );
    let form = serve.request("POST", "/subscribe", &[], &"x".repeat(20 * 1024));
    assert_eq!(form.status, 413, "forms keep their limit");
    assert_eq!(suppressed(&project), list);
    assert_eq!(post(&serve, "/webhooks/ses", &[], "{}").status, 404);
}

#[test]
fn serve_webhook_settings_are_checked_by_check_and_at_start() {
    let pki = tempfile::tempdir().unwrap();
    let (_, cert) = certificate(pki.path(), "sns");
    let project = with_recipients();
    add_settings(&project, &ses_settings());
    let line = project
        .read("broadsheet.toml")
        .lines()
        .position(|l| l.starts_with("certificate"))
        .unwrap()
        + 1;
    let at = format!("broadsheet.toml:{line}:15");
    let missing = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(missing.status, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("`certificate` cannot be read") && missing.stderr.contains(&at),
        "{}",
        missing.stderr
    );
    project.write("sns.pem", "not a certificate\n");
    let started = crate::bounces::run(&project, &["serve", "--listen", "127.0.0.1:1"]);
    assert_eq!(started.status, 1);
    assert!(
        started.stderr.contains("`certificate` is not usable") && started.stderr.contains(&at),
        "{}",
        started.stderr
    );
    std::fs::copy(&cert, project.path("sns.pem")).unwrap();
    let checked = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(checked.status, 0, "{}", checked.stderr);

    add_settings(&project, POSTMARK_SETTINGS);
    let started = crate::bounces::run(&project, &["serve", "--listen", "127.0.0.1:1"]);
    assert_eq!(started.status, 1);
    assert!(
        started.stderr.contains("BROADSHEET_POSTMARK_PASSWORD"),
        "{}",
        started.stderr
    );
}

#[test]
fn serve_ses_reports_reach_readers_dispatched_after_serve_started() {
    let pki = tempfile::tempdir().unwrap();
    let (key, cert) = certificate(pki.path(), "sns");
    let project = verp_project();
    add_ses(&project, &cert);
    let serve = Serve::start(&project);
    let sent = confirmed(&project, 2, &[]);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let (ana_from, _) = envelopes(&project)
        .into_iter()
        .find(|e| e.1 == ANA)
        .map(|e| (e.0, e.2))
        .unwrap();
    let bounce = ses_bounce(
        "Permanent",
        "5.1.1",
        "ANA@mx.example.net",
        &ana_from,
        "<x@y.example>",
        "fb-1",
    );
    let answer = to_ses(
        &serve,
        "Notification",
        &Sns::notification("n-1", &bounce).body(&key),
    );
    assert_eq!(
        outcomes(&answer),
        ["suppressed/verp"],
        "the ledger written since serve started is read"
    );
    assert!(suppressed(&project).starts_with(ANA));
}
