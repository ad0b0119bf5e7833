//! Amazon SNS's HTTP(S) messages: a POSTed JSON body in, its fields checked against AWS's
//! signing scheme out. The signature (version 1, SHA1withRSA, or 2, SHA256withRSA) must
//! verify over the canonical string with the key of the certificate the operator put in
//! the project, since the server may not fetch one at run time; the topic must be one of
//! the configured ARNs; the `SigningCertURL` must at least look like SNS's own; and the
//! timestamp must be recent, so that a captured message cannot be replayed for ever.

use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::spki::ObjectIdentifier;

use crate::clock::Timestamp;
use crate::date::Date;

/// How old a message may be: SNS stops retrying a delivery within the hour.
pub(crate) const MAX_AGE_SECS: i64 = 3600;
/// How far in the future a timestamp may be, for clocks that disagree.
pub(crate) const MAX_SKEW_SECS: i64 = 300;

/// `rsaEncryption` (RFC 8017): the only key type SNS signs with.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The kinds of message SNS posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum Type {
    /// A message published to the topic (for SES, a bounce, complaint or delivery event).
    Notification,
    /// The first message of a subscription: someone must open its `SubscribeURL`.
    SubscriptionConfirmation,
    /// The subscription was removed.
    UnsubscribeConfirmation,
}

impl Type {
    /// The name SNS gives it (the `Type` field and `x-amz-sns-message-type` header).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// One SNS message, as posted.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Envelope {
    /// What it is.
    #[serde(rename = "Type")]
    pub kind: Type,
    /// SNS's id of the message, the same on every retry.
    pub message_id: String,
    /// The topic it was published to.
    pub topic_arn: String,
    /// The notification's subject, when the publisher gave one.
    pub subject: Option<String>,
    /// The payload: for SES, the event's JSON.
    pub message: String,
    /// When SNS published it (ISO 8601, UTC).
    pub timestamp: String,
    /// `1` (SHA1withRSA) or `2` (SHA256withRSA).
    pub signature_version: String,
    /// The base64 signature over the canonical string.
    pub signature: String,
    /// Where SNS's certificate is published.
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    /// The confirmation token (subscription messages).
    pub token: Option<String>,
    /// The URL that confirms the subscription (subscription messages).
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
}

impl Envelope {
    /// Parses a posted body.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("not an SNS message: {e}"))
    }

    /// The string SNS signed: each signed field's name and value on lines of their own, in
    /// byte order of the names, the optional ones only when present.
    pub(crate) fn canonical(&self) -> Result<String, Refusal> {
        let fields: Vec<(&str, Option<&str>)> = match self.kind {
            Type::Notification => vec![
                ("Message", Some(&self.message)),
                ("MessageId", Some(&self.message_id)),
                ("Subject", self.subject.as_deref()),
                ("Timestamp", Some(&self.timestamp)),
                ("TopicArn", Some(&self.topic_arn)),
                ("Type", Some(self.kind.as_str())),
            ],
            Type::SubscriptionConfirmation | Type::UnsubscribeConfirmation => {
                let url = self.subscribe_url.as_deref().ok_or(Refusal::Incomplete)?;
                let token = self.token.as_deref().ok_or(Refusal::Incomplete)?;
                vec![
                    ("Message", Some(&self.message)),
                    ("MessageId", Some(&self.message_id)),
                    ("SubscribeURL", Some(url)),
                    ("Timestamp", Some(&self.timestamp)),
                    ("Token", Some(token)),
                    ("TopicArn", Some(&self.topic_arn)),
                    ("Type", Some(self.kind.as_str())),
                ]
            }
        };
        let mut text = String::new();
        for (name, value) in fields {
            if let Some(value) = value {
                for part in [name, "\n", value, "\n"] {
                    text.push_str(part);
                }
            }
        }
        Ok(text)
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// A subscription message without its token or URL.
    #[error("a signed field is missing")]
    Incomplete,
    /// The topic is not one of `topic_arns`.
    #[error("the topic is not one of [webhooks.ses] topic_arns")]
    UnknownTopic,
    /// The certificate URL is not SNS's.
    #[error("SigningCertURL is not an https://sns.REGION.amazonaws.com/….pem URL")]
    CertificateUrl,
    /// The timestamp is unreadable, too old, or in the future.
    #[error("the timestamp is not within the last hour")]
    Stale,
    /// An unknown `SignatureVersion`.
    #[error("unknown SignatureVersion")]
    Version,
    /// The signature does not verify with the configured certificate.
    #[error("the signature does not verify with [webhooks.ses] certificate")]
    Signature,
}

/// What checks SNS messages: the certificate's RSA key and the topics we subscribed.
pub(crate) struct Verifier {
    /// The DER `RSAPublicKey` of each certificate: the file may hold the outgoing and the
    /// incoming one while AWS rotates them.
    keys: Vec<Vec<u8>>,
    topics: Vec<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// The verifier for the PEM certificates in `pem` (one, or several one after the other)
    /// and the accepted `topics`.
    pub(crate) fn new(pem: &str, topics: Vec<String>) -> Result<Self, String> {
        let certificates = Certificate::load_pem_chain(pem.as_bytes())
            .map_err(|e| format!("not a PEM X.509 certificate: {e}"))?;
        if certificates.is_empty() {
            return Err("holds no PEM X.509 certificate".to_owned());
        }
        let keys = certificates
            .iter()
            .map(|certificate| {
                let info = certificate.tbs_certificate().subject_public_key_info();
                if info.algorithm.oid != RSA_ENCRYPTION {
                    return Err(format!(
                        "the certificate's key is not RSA (algorithm {})",
                        info.algorithm.oid
                    ));
                }
                info.subject_public_key
                    .as_bytes()
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| "the certificate's public key is not whole bytes".to_owned())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys, topics })
    }

    /// Checks `envelope` as of `now`: topic, certificate URL, age, then the signature.
    pub(crate) fn verify(&self, envelope: &Envelope, now: Timestamp) -> Result<(), Refusal> {
        if !self.topics.contains(&envelope.topic_arn) {
            return Err(Refusal::UnknownTopic);
        }
        if !is_sns_certificate_url(&envelope.signing_cert_url) {
            return Err(Refusal::CertificateUrl);
        }
        let at = parse_time(&envelope.timestamp).ok_or(Refusal::Stale)?;
        if at.0 < now.0 - MAX_AGE_SECS || at.0 > now.0 + MAX_SKEW_SECS {
            return Err(Refusal::Stale);
        }
        let algorithm = match envelope.signature_version.as_str() {
            "1" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "2" => &RSA_PKCS1_2048_8192_SHA256,
            _ => return Err(Refusal::Version),
        };
        let signature = STANDARD
            .decode(envelope.signature.trim())
            .map_err(|_| Refusal::Signature)?;
        let canonical = envelope.canonical()?;
        let verifies = |key: &Vec<u8>| {
            UnparsedPublicKey::new(algorithm, key)
                .verify(canonical.as_bytes(), &signature)
                .is_ok()
        };
        if self.keys.iter().any(verifies) {
            Ok(())
        } else {
            Err(Refusal::Signature)
        }
    }
}

/// `https://sns.REGION.amazonaws.com/NAME.pem` (or `.amazonaws.com.cn`), nothing else:
/// no port, user, query or fragment, a plain path.
fn is_sns_certificate_url(url: &str) -> bool {
    let Some((host, path)) = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
    else {
        return false;
    };
    let region = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .and_then(|h| h.strip_prefix("sns."));
    let region_ok = region.is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let path_ok = path.len() > ".pem".len()
        && path.ends_with(".pem")
        && !path.contains("..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    region_ok && path_ok
}

/// `2012-05-02T00:54:06.655Z` (fraction optional, UTC only) as a timestamp.
fn parse_time(text: &str) -> Option<Timestamp> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let date = Date::parse_iso(date)?;
    let time = time.split_once('.').map_or(time, |(whole, fraction)| {
        if fraction.bytes().all(|b| b.is_ascii_digit()) {
            whole
        } else {
            ""
        }
    });
    let mut parts = time.split(':').map(|p| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i64>().ok())
            .flatten()
    });
    let (hours, minutes, seconds) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let days = Date::new(1970, 1, 1)?.days_until(date);
    Some(Timestamp(
        days * 86_400 + hours * 3600 + minutes * 60 + seconds,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(subject: Option<&str>) -> Envelope {
        Envelope {
            kind: Type::Notification,
            message_id: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324".to_owned(),
            topic_arn: "arn:aws:sns:us-west-2:123456789012:MyTopic".to_owned(),
            subject: subject.map(str::to_owned),
            message: "Hello world!".to_owned(),
            timestamp: "2012-05-02T00:54:06.655Z".to_owned(),
            signature_version: "1".to_owned(),
            signature: String::new(),
            signing_cert_url: "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem".to_owned(),
            token: None,
            subscribe_url: None,
        }
    }

    #[test]
    fn the_canonical_string_of_a_notification_has_the_subject_only_when_given() {
        let tail = "Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n";
        let head = "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n";
        assert_eq!(
            notification(None).canonical().unwrap(),
            format!("{head}{tail}")
        );
        assert_eq!(
            notification(Some("My First Message")).canonical().unwrap(),
            format!("{head}Subject\nMy First Message\n{tail}")
        );
    }

    #[test]
    fn the_canonical_string_of_a_subscription_has_its_url_and_token() {
        let mut envelope = notification(Some("ignored"));
        envelope.kind = Type::SubscriptionConfirmation;
        assert_eq!(envelope.canonical(), Err(Refusal::Incomplete));
        envelope.token = Some("2336412f37".to_owned());
        envelope.subscribe_url =
            Some("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription".to_owned());
        assert_eq!(
            envelope.canonical().unwrap(),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
             SubscribeURL\nhttps://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription\n\
             Timestamp\n2012-05-02T00:54:06.655Z\nToken\n2336412f37\n\
             TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nSubscriptionConfirmation\n"
        );
    }

    /// A self-signed RSA-2048 certificate, and SHA1withRSA and SHA256withRSA signatures
    /// of [`notification`]`(None)`'s canonical string made with its key by `openssl dgst`.
    const CERTIFICATE: &str = include_str!("../../../tests/fixtures/sns/rsa-cert.pem");
    const SHA1: &str = "Ryv2EAm/AhrKrwEF1/GDPZPDTqAyNWNLsNSCS+K/u03nThd691W3yjH2FAzRbXTqgZzCuV5VaIOJNRIy9jooaEDXLJtrirssKZEl1xk8uD0wj7J6zWWBsbLUsJAgLLvXYSattbbAa2uxqIgon4Hu/xNZHQFVyucow/OWgwV9/gOKCk7wJDuLWsxSJHSmmTPchsad9PK5ugMXMueESCSiS89j9syT7F3Jf1We6I9950F6FUHkfHvb3bZDjAANC+xhwJ9wkWBNQs7au5EleQ8K4HdyiOEHFgKRvIH77Uo6KwyqPL67pMFV49GfnbQjP2v2hKci3Hm1unOJIxf26bqFXg==";
    const SHA256: &str = "j9XuiDpi725Ts5Ezg4DB8iSQ1hfdfEyRFWNrtAiQmwRgnMCyc2veGTwONQvuYGsbMr3pwIh9sN+I7hoso+lc4aeIMzhjJjB55QhWa76eVk93hq5C95NT3y4jEKVtw8fZOd4yUDr88SgMAqeP19PqLBEbP9ouQQEvG6EFVEsXd4SDcBno1eX2ubUTOVfwLNO+qJzsPQZfD/gRBBVZXNs8ja7ugNwaGh7WI0E17yoa9OolVznqol81qq+Y/pgO5N0bT2zrg9j/NOK0/UxkJoXCoqI0/BMNZOGXXCiGOul0B5oEb+wE33sC3yVPfORJbZ9y7+n9Fp4egv76bcQqeONdIA==";

    #[test]
    fn signatures_verify_with_the_certificate_key_and_nothing_else() {
        let topic = notification(None).topic_arn;
        let verifier = Verifier::new(CERTIFICATE, vec![topic]).unwrap();
        let at = Timestamp(1_335_920_046);
        let signed = |version: &str, signature: &str| {
            let mut envelope = notification(None);
            envelope.signature_version = version.to_owned();
            envelope.signature = signature.to_owned();
            envelope
        };
        assert_eq!(verifier.verify(&signed("1", SHA1), at), Ok(()));
        assert_eq!(verifier.verify(&signed("2", SHA256), at), Ok(()));
        let refusals = [
            (signed("2", SHA1), at, Refusal::Signature),
            (signed("3", SHA1), at, Refusal::Version),
            (signed("1", "not base64"), at, Refusal::Signature),
            (
                signed("1", SHA1),
                Timestamp(at.0 + MAX_AGE_SECS + 1),
                Refusal::Stale,
            ),
            (
                signed("1", SHA1),
                Timestamp(at.0 - MAX_SKEW_SECS - 1),
                Refusal::Stale,
            ),
        ];
        for (envelope, now, refusal) in refusals {
            assert_eq!(verifier.verify(&envelope, now), Err(refusal));
        }
        let mut tampered = signed("1", SHA1);
        tampered.subject = Some("added".to_owned());
        assert_eq!(verifier.verify(&tampered, at), Err(Refusal::Signature));
        let elsewhere = Verifier::new(
            CERTIFICATE,
            vec!["arn:aws:sns:us-west-2:123456789012:Other".to_owned()],
        )
        .unwrap();
        assert_eq!(
            elsewhere.verify(&signed("1", SHA1), at),
            Err(Refusal::UnknownTopic)
        );
    }

    #[test]
    fn a_file_may_hold_the_outgoing_and_the_incoming_certificate() {
        let other = include_str!("../../../tests/fixtures/sns/other-rsa-cert.pem");
        let topic = notification(None).topic_arn;
        let mut envelope = notification(None);
        envelope.signature_version = "1".to_owned();
        envelope.signature = SHA1.to_owned();
        let at = Timestamp(1_335_920_046);
        let both = Verifier::new(&format!("{other}\n{CERTIFICATE}"), vec![topic.clone()]);
        assert_eq!(both.unwrap().verify(&envelope, at), Ok(()));
        let alone = Verifier::new(other, vec![topic]).unwrap();
        assert_eq!(alone.verify(&envelope, at), Err(Refusal::Signature));
        assert!(
            Verifier::new("", Vec::new())
                .unwrap_err()
                .contains("no PEM X.509 certificate")
        );
    }

    #[test]
    fn only_rsa_certificates_make_a_verifier() {
        let ec = include_str!("../../../tests/fixtures/sns/ec-cert.pem");
        assert!(
            Verifier::new(ec, Vec::new())
                .unwrap_err()
                .contains("not RSA")
        );
        let garbage = Verifier::new(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            Vec::new(),
        );
        assert!(garbage.unwrap_err().contains("not a PEM X.509 certificate"));
    }

    #[test]
    fn only_sns_certificate_urls_pass() {
        assert!(is_sns_certificate_url(&notification(None).signing_cert_url));
        assert!(is_sns_certificate_url(
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem"
        ));
        for bad in [
            "http://sns.us-west-2.amazonaws.com/x.pem",
            "https://sns.us-west-2.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-west-2.amazonaws.com/x.pem",
            "https://sns.us-west-2.amazonaws.com:8443/x.pem",
            "https://user@sns.us-west-2.amazonaws.com/x.pem",
            "https://sns.us-west-2.amazonaws.com/x.pem?y",
            "https://sns.us-west-2.amazonaws.com/x.txt",
            "https://sns..amazonaws.com/x.pem",
            "https://s3.us-west-2.amazonaws.com/x.pem",
        ] {
            assert!(!is_sns_certificate_url(bad), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_read_in_utc() {
        assert_eq!(
            parse_time("2012-05-02T00:54:06.655Z"),
            Some(Timestamp(1_335_920_046))
        );
        assert_eq!(parse_time("1970-01-02T00:00:00Z"), Some(Timestamp(86_400)));
        for bad in [
            "2012-05-02T00:54:06+01:00",
            "2012-05-02 00:54:06Z",
            "2012-05-02T24:00:00Z",
            "2012-05-02T00:54Z",
            "2012-05-02T00:54:06.x5Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
