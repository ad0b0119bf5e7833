//! Amazon SES's bounce and complaint events, as SNS delivers them in a notification's
//! `Message`: the event's JSON in, a [`Report`] out (or [`Event::Ignored`] for deliveries,
//! sends, delays and the rest). Bounces are classified as DSNs are, by the one classifier,
//! with SES's bounce sub-type as the reason when the diagnostic gives none; a `Transient`
//! or `Undetermined` bounce is never permanent.

use serde::Deserialize;

use super::{Event, message_id};
use crate::bounces::classify::feedback_reason;
use crate::bounces::dsn::{classified, recipient_status};
use crate::bounces::status::Action;
use crate::bounces::{Finding, Kind, Report};
use crate::status::Reason;

/// An SES event: `notificationType` from identity notifications, `eventType` from
/// configuration-set event publishing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    notification_type: Option<String>,
    event_type: Option<String>,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    #[serde(default)]
    mail: Mail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<Bounced>,
    feedback_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounced {
    email_address: String,
    status: Option<String>,
    action: Option<String>,
    diagnostic_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Complained>,
    complaint_feedback_type: Option<String>,
    feedback_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complained {
    email_address: String,
}

/// The original message: its envelope sender (our VERP address) and its Message-ID.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    source: Option<String>,
    return_path: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
    common_headers: Option<CommonHeaders>,
}

#[derive(Debug, Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonHeaders {
    message_id: Option<String>,
}

/// The event in `message`, an SNS notification's payload whose SNS id is `sns_id`.
pub(crate) fn event(message: &str, sns_id: &str) -> Result<Event, String> {
    let event: SesEvent =
        serde_json::from_str(message).map_err(|e| format!("not an SES event: {e}"))?;
    let name = event
        .event_type
        .as_deref()
        .or(event.notification_type.as_deref())
        .ok_or("an SES event names its type in `notificationType` or `eventType`")?;
    let (kind, findings, feedback_id) = match (name, event.bounce, event.complaint) {
        ("Bounce", Some(bounce), _) => {
            let findings = bounce
                .bounced_recipients
                .iter()
                .map(|r| bounced(&bounce.bounce_type, bounce.bounce_sub_type.as_deref(), r))
                .collect();
            (Kind::Bounce, findings, bounce.feedback_id)
        }
        // A reader who marked the message as *not* spam complains of nothing.
        ("Complaint", _, Some(c)) if c.complaint_feedback_type.as_deref() == Some("not-spam") => {
            return Ok(Event::Ignored("not-spam feedback".to_owned()));
        }
        ("Complaint", _, Some(complaint)) => {
            // The ARF feedback type when the complaint came as one; `abuse` when SES has
            // none (a complaint through a provider without a feedback loop).
            let feedback = complaint
                .complaint_feedback_type
                .as_deref()
                .unwrap_or("abuse");
            let reason = feedback_reason(&feedback.to_ascii_lowercase());
            let findings = complaint
                .complained_recipients
                .into_iter()
                .map(|r| Finding::named(Some(r.email_address), reason))
                .collect();
            (Kind::Complaint, findings, complaint.feedback_id)
        }
        ("Bounce" | "Complaint", _, _) => {
            return Err(format!(
                "an SES {name} event without its `{}` object",
                name.to_ascii_lowercase()
            ));
        }
        (other, _, _) => return Ok(Event::Ignored(other.to_owned())),
    };
    let mail = event.mail;
    let header_ids = mail
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Message-ID"))
        .map(|h| h.value.as_str());
    let common_id = mail
        .common_headers
        .as_ref()
        .and_then(|c| c.message_id.as_deref());
    let mut returned_ids: Vec<String> = common_id
        .into_iter()
        .chain(header_ids)
        .map(message_id)
        .collect();
    returned_ids.dedup();
    // SES's feedback id names the event itself, whichever notification carries it.
    let id = feedback_id.map_or_else(|| format!("sns:{sns_id}"), |f| format!("ses:{f}"));
    Ok(Event::Report(Report {
        return_paths: mail.source.into_iter().chain(mail.return_path).collect(),
        returned_ids,
        // The SNS signature was verified against AWS's certificate: SES vouches for it.
        vouched: true,
        ..Report::new(id, kind, findings)
    }))
}

/// One bounced recipient of a bounce of `bounce_type` (`Permanent`, `Transient`,
/// `Undetermined`) and `sub_type`.
fn bounced(bounce_type: &str, sub_type: Option<&str>, recipient: &Bounced) -> Finding {
    let action = recipient
        .action
        .as_deref()
        .map_or(Action::Failed, Action::parse);
    let diagnostic = recipient.diagnostic_code.clone();
    let status = recipient_status(recipient.status.as_deref(), diagnostic.as_deref());
    let mut found = classified(status, diagnostic.as_deref(), sub_type_reason(sub_type));
    found.permanent &= bounce_type == "Permanent";
    let address = Some(recipient.email_address.clone());
    let status = status.map(|s| s.to_string());
    Finding::failure(address, status, action, found, diagnostic)
}

/// What SES's bounce sub-type says (its developer guide, "Bounce types"), for a bounce
/// whose diagnostic says nothing itself.
fn sub_type_reason(sub_type: Option<&str>) -> Reason {
    match sub_type {
        // "The address does not exist"; "SES suppressed it: it recently bounced as invalid".
        Some("NoEmail" | "Suppressed") => Reason::UserUnknown,
        Some("MailboxFull") => Reason::MailboxFull,
        Some("MessageTooLarge") => Reason::MessageTooLarge,
        Some("ContentRejected" | "AttachmentRejected") => Reason::ContentRejected,
        // Our own account's suppression list, which does not say why it holds the address.
        Some("OnAccountSuppressionList") => Reason::Policy,
        _ => Reason::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Class;

    /// AWS's sample bounce notification (Amazon SES developer guide, "Examples of Amazon
    /// SNS notifications"), one recipient.
    const BOUNCE: &str = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
      "reportingMTA":"dns; email.example.com","bouncedRecipients":[{"emailAddress":"jane@example.com",
      "status":"5.1.1","action":"failed","diagnosticCode":"smtp; 550 5.1.1 <jane@example.com>... User"}],
      "bounceSubType":"General","timestamp":"2016-01-27T14:59:38.237Z",
      "feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000","remoteMtaIp":"127.0.2.0"},
      "mail":{"timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com",
      "sourceArn":"arn:aws:ses:us-east-1:888888888888:identity/example.com","sourceIp":"127.0.3.0",
      "sendingAccountId":"123456789012","messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
      "destination":["jane@example.com"],"headersTruncated":false,
      "headers":[{"name":"From","value":"\"John Doe\" <john@example.com>"},{"name":"Message-ID","value":"custom-message-ID"}],
      "commonHeaders":{"from":["John Doe <john@example.com>"],"messageId":"custom-message-ID","subject":"Hello"}}}"#;

    fn report(json: &str) -> Report {
        match event(json, "sns-1").unwrap() {
            Event::Report(report) => report,
            Event::Ignored(what) => panic!("ignored {what}"),
        }
    }

    #[test]
    fn a_permanent_bounce_with_a_5_1_1_is_permanent() {
        let report = report(BOUNCE);
        assert_eq!(report.kind, Kind::Bounce);
        assert_eq!(
            report.id,
            "ses:00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000"
        );
        assert_eq!(report.return_paths, ["john@example.com"]);
        assert_eq!(report.returned_ids, ["<custom-message-ID>"]);
        let finding = &report.findings[0];
        assert_eq!(finding.address.as_deref(), Some("jane@example.com"));
        assert_eq!(finding.status.as_deref(), Some("5.1.1"));
        assert_eq!(finding.reason, Reason::UserUnknown);
        assert!(finding.permanent());
    }

    #[test]
    fn transient_and_policy_bounces_are_temporary() {
        let transient = BOUNCE.replace("\"Permanent\"", "\"Transient\"");
        assert!(
            !report(&transient).findings[0].permanent(),
            "never permanent"
        );
        let policy = BOUNCE.replace("5.1.1", "5.7.1");
        assert!(!report(&policy).findings[0].permanent());
        let no_email = BOUNCE
            .replace("\"status\":\"5.1.1\",", "")
            .replace("smtp; 550 5.1.1 <jane@example.com>... User", "")
            .replace("\"General\"", "\"NoEmail\"");
        let found = &report(&no_email).findings[0];
        assert_eq!(
            (found.status.as_deref(), found.reason),
            (None, Reason::UserUnknown)
        );
        assert!(found.permanent());
        let full = no_email.replace("\"NoEmail\"", "\"MailboxFull\"");
        let found = &report(&full).findings[0];
        assert_eq!(
            (found.reason, found.class),
            (Reason::MailboxFull, Class::Soft)
        );
    }

    #[test]
    fn complaints_and_other_events() {
        let complaint = r#"{"notificationType":"Complaint","complaint":{"userAgent":"AnyCompany Feedback Loop (V0.01)",
          "complainedRecipients":[{"emailAddress":"richard@example.com"}],"complaintFeedbackType":"abuse",
          "arrivalDate":"2016-01-27T14:59:38.237Z","timestamp":"2016-01-27T14:59:38.237Z",
          "feedbackId":"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},
          "mail":{"source":"john@example.com","messageId":"x"}}"#;
        let found = report(complaint);
        assert_eq!(found.kind, Kind::Complaint);
        assert_eq!(
            found.findings[0].address.as_deref(),
            Some("richard@example.com")
        );
        assert!(found.returned_ids.is_empty());
        let not_spam = complaint.replace("\"abuse\"", "\"not-spam\"");
        assert!(matches!(event(&not_spam, "s"), Ok(Event::Ignored(_))));
        let delivery = r#"{"eventType":"Delivery","mail":{},"delivery":{}}"#;
        assert!(matches!(event(delivery, "s"), Ok(Event::Ignored(d)) if d == "Delivery"));
        assert!(event(r#"{"notificationType":"Bounce"}"#, "s").is_err());
        assert!(event("Hello world!", "s").is_err());
        let without_feedback = BOUNCE.replace("feedbackId", "otherId");
        assert_eq!(report(&without_feedback).id, "sns:sns-1");
    }
}
