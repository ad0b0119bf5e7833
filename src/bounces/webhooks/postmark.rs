//! Postmark's bounce and spam complaint webhooks: the posted JSON in, a [`Report`] out (or
//! [`Event::Ignored`] for deliveries, opens, auto-replies and the other bounce types that
//! say nothing about the address). `Details` is classified as a DSN's diagnostic is, by the
//! one classifier; the bounce type gives the reason when `Details` says nothing, and only a
//! hard bounce or a bad address can be permanent. A spam complaint is a complaint.

use serde::Deserialize;
use serde_json::Value;

use super::{Event, message_id};
use crate::bounces::classify::{self, Context};
use crate::bounces::dsn::classified;
use crate::bounces::status::Action;
use crate::bounces::{Finding, Kind, Report};
use crate::status::{Reason, Status};

/// One webhook record (PascalCase fields, as Postmark posts them).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    record_type: String,
    #[serde(rename = "ID")]
    id: Option<Value>,
    #[serde(rename = "Type")]
    bounce_type: Option<String>,
    email: Option<String>,
    details: Option<String>,
    description: Option<String>,
    /// The bounce itself, when the webhook includes it: the returned original's headers.
    content: Option<String>,
}

/// What a bounce type says about the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// The address may be gone, with this status and reason unless `Details` gives one.
    Permanent(&'static str, Reason),
    /// A failure that may pass, with this status and reason unless `Details` gives one.
    Temporary(&'static str, Reason),
    /// The reader marked the message as spam.
    Complaint,
    /// The reader asked to be removed.
    Unsubscribe,
    /// Nothing about the address (auto-replies, challenges, our own errors).
    Nothing,
}

/// Postmark's bounce types (its API's "Bounce types" table), by name.
fn meaning(bounce_type: &str) -> Meaning {
    match bounce_type {
        "HardBounce" => Meaning::Permanent("5.1.1", Reason::UserUnknown),
        "BadEmailAddress" => Meaning::Permanent("5.1.3", Reason::UserUnknown),
        "SoftBounce" | "Transient" => Meaning::Temporary("4.0.0", Reason::Unknown),
        "DnsError" => Meaning::Temporary("4.4.3", Reason::Network),
        "SpamNotification" => Meaning::Temporary("5.7.1", Reason::ContentRejected),
        "Blocked" => Meaning::Temporary("5.7.1", Reason::Blocked),
        "DMARCPolicy" => Meaning::Temporary("5.7.1", Reason::Authentication),
        "SpamComplaint" => Meaning::Complaint,
        "Unsubscribe" => Meaning::Unsubscribe,
        _ => Meaning::Nothing,
    }
}

/// The event in a posted `body`.
pub(crate) fn event(body: &[u8]) -> Result<Event, String> {
    let record: Record =
        serde_json::from_slice(body).map_err(|e| format!("not a Postmark webhook: {e}"))?;
    let bounce_type = match record.record_type.as_str() {
        "Bounce" => record.bounce_type.as_deref().unwrap_or("Unknown"),
        "SpamComplaint" => "SpamComplaint",
        other => return Ok(Event::Ignored(other.to_owned())),
    };
    let meaning = meaning(bounce_type);
    if meaning == Meaning::Nothing {
        return Ok(Event::Ignored(bounce_type.to_owned()));
    }
    let id = match &record.id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err("a Postmark record has an `ID`".to_owned()),
    };
    let diagnostic = record
        .details
        .filter(|d| !d.is_empty())
        .or(record.description);
    let (kind, finding) = match meaning {
        Meaning::Permanent(implied, reason) | Meaning::Temporary(implied, reason) => {
            // The type's status is shown, but only `Details` is classified: the type's
            // reason is more precise than its generic status (5.7.1 for a block).
            let given = diagnostic.as_deref().and_then(Status::find_in);
            let mut found = classified(given, diagnostic.as_deref(), reason);
            found.permanent &= matches!(meaning, Meaning::Permanent(..));
            let status = given
                .or_else(|| Status::parse(implied))
                .map(|s| s.to_string());
            let finding = Finding::failure(record.email, status, Action::Failed, found, diagnostic);
            (Kind::Bounce, finding)
        }
        Meaning::Complaint => (
            Kind::Complaint,
            Finding::named(record.email, Reason::Complaint),
        ),
        Meaning::Unsubscribe => (
            Kind::Unsubscribe,
            Finding::named(record.email, Reason::Unsubscribe),
        ),
        Meaning::Nothing => return Ok(Event::Ignored(bounce_type.to_owned())),
    };
    // The bounce's own mail, when included, names the returned original's Message-ID.
    let returned = record
        .content
        .as_deref()
        .and_then(|c| classify::classify(c.as_bytes(), &Context::default()));
    let returned_ids = returned.map_or_else(Vec::new, |r| {
        r.returned_ids.iter().map(|id| message_id(id)).collect()
    });
    Ok(Event::Report(Report {
        returned_ids,
        // Basic auth with the webhook's credentials: Postmark vouches for it.
        vouched: true,
        ..Report::new(format!("postmark:{id}"), kind, vec![finding])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Class;

    /// Postmark's sample bounce webhook (its developer documentation, "Bounce webhook").
    const BOUNCE: &str = r#"{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,
      "Type":"HardBounce","TypeCode":1,"Name":"Hard bounce","Tag":"Test",
      "MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"a_key":"a_value","b_key":"b_value"},
      "ServerID":23,"Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",
      "Details":"Test bounce details","Email":"john@example.com","From":"sender@example.com",
      "BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,
      "Subject":"Test subject","Content":"<Full dump of bounce>"}"#;

    fn report(json: &str) -> Report {
        match event(json.as_bytes()).unwrap() {
            Event::Report(report) => report,
            Event::Ignored(what) => panic!("ignored {what}"),
        }
    }

    #[test]
    fn a_hard_bounce_is_permanent_and_names_its_record() {
        let found = report(BOUNCE);
        assert_eq!(found.id, "postmark:4323372036854775807");
        assert_eq!(found.kind, Kind::Bounce);
        let finding = &found.findings[0];
        assert_eq!(finding.address.as_deref(), Some("john@example.com"));
        assert_eq!(finding.status.as_deref(), Some("5.1.1"));
        assert_eq!(finding.reason, Reason::UserUnknown);
        assert!(finding.permanent());
        assert_eq!(finding.diagnostic.as_deref(), Some("Test bounce details"));
    }

    #[test]
    fn bounce_types_map_to_what_they_say_of_the_address() {
        let of = |t: &str| BOUNCE.replace("\"HardBounce\"", &format!("\"{t}\""));
        for t in [
            "SoftBounce",
            "Transient",
            "DnsError",
            "Blocked",
            "SpamNotification",
        ] {
            let found = report(&of(t));
            assert!(!found.findings[0].permanent(), "{t}");
            assert_eq!(found.kind, Kind::Bounce, "{t}");
        }
        let blocked = &report(&of("Blocked")).findings[0];
        assert_eq!(
            (blocked.reason, blocked.class),
            (Reason::Blocked, Class::Sender)
        );
        assert!(report(&of("BadEmailAddress")).findings[0].permanent());
        assert_eq!(report(&of("Unsubscribe")).kind, Kind::Unsubscribe);
        for t in [
            "AutoResponder",
            "ChallengeVerification",
            "Unknown",
            "SMTPApiError",
        ] {
            assert!(
                matches!(event(of(t).as_bytes()), Ok(Event::Ignored(_))),
                "{t}"
            );
        }
        let policy = BOUNCE.replace("Test bounce details", "smtp;550 5.7.1 blocked by policy");
        assert!(!report(&policy).findings[0].permanent(), "a policy refusal");
    }

    #[test]
    fn spam_complaints_and_other_records() {
        let complaint = r#"{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,
          "Type":"SpamComplaint","TypeCode":512,"Name":"Spam complaint","Tag":"Test",
          "MessageID":"00000000-0000-0000-0000-000000000000","ServerID":1234,"Description":"",
          "Details":"Test spam complaint details","Email":"john@example.com","From":"sender@example.com",
          "BouncedAt":"2019-11-05T16:33:54.9070259Z","DumpAvailable":true,"Inactive":true,
          "CanActivate":false,"Subject":"Test subject","Content":"<Abuse report dump>"}"#;
        let found = report(complaint);
        assert_eq!(
            (found.kind, found.id.as_str()),
            (Kind::Complaint, "postmark:42")
        );
        assert_eq!(
            found.findings[0].address.as_deref(),
            Some("john@example.com")
        );
        let delivery = r#"{"RecordType":"Delivery","ID":1,"Recipient":"john@example.com"}"#;
        assert!(matches!(event(delivery.as_bytes()), Ok(Event::Ignored(d)) if d == "Delivery"));
        assert!(event(b"{}").is_err());
    }

    #[test]
    fn the_included_bounce_names_the_returned_message() {
        let content = "From: MAILER-DAEMON@mx.example\r\nTo: pm_bounces@pm.mtasv.net\r\nSubject: Undelivered\r\n\
            Message-ID: <b1@mx.example>\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nNo such user.\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
            Final-Recipient: rfc822; john@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <v11.abc@eto.tech>\r\nSubject: Hello\r\n\
            --b--\r\n";
        let json = BOUNCE.replace(
            "\"<Full dump of bounce>\"",
            &serde_json::to_string(content).unwrap(),
        );
        assert_eq!(report(&json).returned_ids, ["<v11.abc@eto.tech>"]);
    }
}
