//! The signer's output shape, on a message in memory; `tests/dkim.rs` has an independent
//! verifier check the signatures themselves.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;

use super::*;

const MESSAGE: &str = "From: Scout <scout@eto.tech>\r\nTo: ana@example.org\r\nSubject: Hi\r\n\
List-Unsubscribe: <https://x.test/u/t>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
Message-ID: <1@eto.tech>\r\n\r\nHello  there \r\n\r\n";

fn ed25519() -> (Key, Vec<u8>) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(pkcs8.as_ref())
    );
    let public = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let mut keys = Key::parse_all(&pem).unwrap();
    (keys.remove(0), public)
}

#[test]
fn signatures_cover_the_one_click_headers_and_come_first() {
    let (key, _) = ed25519();
    let (second, _) = ed25519();
    let signer = Signer::new("eto.tech", vec![("a".into(), key), ("b".into(), second)]);
    let signed = signer.sign(MESSAGE.to_owned());
    assert!(signed.ends_with(MESSAGE), "the message follows unchanged");
    let head = &signed[..signed.len() - MESSAGE.len()];
    assert_eq!(head.matches("DKIM-Signature: ").count(), 2);
    assert!(
        head.starts_with(
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=eto.tech; s=a;"
        )
    );
    let unfolded = head.replace("\r\n\t ", "");
    assert!(
        unfolded.contains(
            "h=from:to:subject:message-id:list-unsubscribe:list-unsubscribe-post:\
             from:subject:list-unsubscribe:list-unsubscribe-post;"
        ),
        "each signed, and the ones a forger would prepend signed once more: {head}"
    );
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
}

#[test]
fn a_long_signing_domain_folds_between_tags() {
    let (key, _) = ed25519();
    let signer = Signer::new("wire.example.org", vec![("ed1".into(), key)]);
    let signed = signer.sign(MESSAGE.to_owned());
    let head = &signed[..signed.len() - MESSAGE.len()];
    assert!(
        head.starts_with(
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=wire.example.org;\r\n\ts=ed1;\r\n"
        ),
        "{head}"
    );
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
}

#[test]
fn an_ed25519_signature_verifies_over_the_canonical_headers() {
    let (key, public) = ed25519();
    let signer = Signer::new("eto.tech", vec![("a".into(), key)]);
    let signed = signer.sign(MESSAGE.to_owned());
    let (fields, _) = canon::split(signed.as_bytes()).unwrap();
    let signature = fields[0];
    let value = std::str::from_utf8(signature.value).unwrap();
    let (unsigned, b) = value.split_once("b=").unwrap();
    let mut data = Vec::new();
    for name in [
        "from",
        "to",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        let field = fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .unwrap();
        canon::header(&mut data, field, true);
    }
    let unsigned = format!("{unsigned}b=");
    let field = canon::Field {
        name: "DKIM-Signature",
        value: unsigned.as_bytes(),
    };
    canon::header(&mut data, &field, false);
    let b: String = b.chars().filter(|c| !c.is_whitespace()).collect();
    let raw = STANDARD.decode(b).unwrap();
    let verifier = UnparsedPublicKey::new(&ED25519, &public);
    assert!(verifier.verify(&Sha256::digest(&data), &raw).is_ok());
    let mut altered = data.clone();
    altered[0] ^= 1;
    assert!(verifier.verify(&Sha256::digest(&altered), &raw).is_err());
}

#[test]
fn bad_keys_are_refused_without_showing_them() {
    for (pem, expected) in [
        ("nothing here", "no PEM private key"),
        (
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----",
            "not valid base64",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "not an RSA or Ed25519",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
            "is encrypted (`ENCRYPTED PRIVATE KEY`) and broadsheet signs unattended; write it \
             out decrypted with `openssl pkey -in KEY -out KEY.pem`",
        ),
    ] {
        let error = Key::parse_all(pem).unwrap_err().to_string();
        assert!(error.contains(expected), "{pem}: {error}");
    }
}
