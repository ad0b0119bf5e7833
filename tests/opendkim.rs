//! OpenDKIM's verifier (Debian's `opendkim`, run with `-t` on files) beside dkimpy: the
//! RSA-2048 and Ed25519 signatures of dispatched and proofed messages, and of bodies with
//! every whitespace shape relaxed canonicalization rewrites, all pass; copies altered after
//! signing fail both, and a signed proof a real Postfix delivered passes. OpenDKIM 2.11
//! verifies rsa-sha256 and ed25519-sha256 (`opendkim -V` lists them). The public keys come
//! from a `TestPublicKeys` file, never from DNS.

use std::path::{Path, PathBuf};

use crate::dkim::{DISPATCH, altered_copies, awkward_bodies, eml_files, run_signed, verify};
use crate::sending::send_to_relay;
use crate::support::oracle::{run_ok, system_tool};
use crate::support::postfix::Postfix;

/// OpenDKIM's result for each signature of `message`, as `RESULT ALGORITHM` (`pass
/// rsa-sha256`), read from the Authentication-Results field it would add. `records` are
/// the keys' DNS records as `NAME=TXT`, which a `TestPublicKeys` file serves instead.
fn opendkim(records: &[String], message: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temp folder");
    let keys = dir.path().join("keys");
    let lines: Vec<String> = records.iter().map(|r| r.replacen('=', " ", 1)).collect();
    std::fs::write(&keys, lines.join("\n") + "\n").expect("write the keys");
    let config = dir.path().join("opendkim.conf");
    // Verify only; the Authentication-Results field even when nothing verifies.
    std::fs::write(
        &config,
        format!(
            "Mode v\nSyslog no\nAlwaysAddARHeader yes\nTestPublicKeys {}\n",
            keys.display()
        ),
    )
    .expect("write opendkim.conf");
    let mut command = system_tool("/usr/sbin/opendkim", "opendkim");
    // -vv prints the header fields the filter would add; -t reads the message from a file.
    command
        .arg("-x")
        .arg(&config)
        .arg("-vv")
        .arg("-t")
        .arg(message);
    let output = run_ok(command);
    let results: Vec<String> = output
        .lines()
        .filter_map(|line| {
            let result = line
                .trim()
                .strip_prefix("dkim=")?
                .split_whitespace()
                .next()?;
            let algorithm = line.split(" header.a=").nth(1)?.split_whitespace().next()?;
            Some(format!("{result} {algorithm}"))
        })
        .collect();
    assert!(!results.is_empty(), "no DKIM result in:\n{output}");
    results
}

/// Both signatures of each of `files` pass.
pub fn assert_all_pass(records: &[String], files: &[PathBuf]) {
    for file in files {
        assert_eq!(
            opendkim(records, file),
            ["pass rsa-sha256", "pass ed25519-sha256"],
            "{}",
            file.display()
        );
    }
}

#[test]
fn opendkim_passes_both_signatures_of_dispatched_and_proofed_messages() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = crate::dkim::signing_project(keys_dir.path());
    let sent = run_signed(&project, &pem, &DISPATCH);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let proof = run_signed(&project, &pem, &["proof", "volumes/011.toml"]);
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    let files = eml_files(&project.path("outbox"));
    assert_eq!(files.len(), 4, "two dispatched and two proofs");
    assert_all_pass(&records, &files);
    for altered in altered_copies(&files[0], keys_dir.path()) {
        assert_eq!(
            opendkim(&records, &altered),
            ["fail rsa-sha256", "fail ed25519-sha256"],
            "{}",
            altered.display()
        );
    }
}

#[test]
fn opendkim_passes_awkward_whitespace_in_the_body() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (files, records) = awkward_bodies(keys_dir.path());
    assert_all_pass(&records, &files);
}

/// A signed proof as a real Postfix delivered it to a Maildir: dot-stuffed on the way (its
/// quoted-printable lines that begin with a dot), with the trace fields Postfix adds and
/// the LF line ends of a Maildir file. Both verifiers pass both signatures.
#[test]
fn opendkim_passes_a_signed_proof_a_real_postfix_delivered() {
    let postfix = Postfix::start();
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = crate::dkim::signing_project(keys_dir.path());
    send_to_relay(&project, postfix.port);
    let to = ["proof", "volumes/011.toml", "--to", "editor@example.org"];
    let proof = run_signed(&project, &pem, &to);
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    let delivered = postfix.wait_for_mail("editor");
    let text = String::from_utf8(delivered).expect("an ASCII message");
    assert!(text.starts_with("Return-Path: "), "Postfix's trace fields");
    let path = keys_dir.path().join("delivered.eml");
    std::fs::write(&path, &text).unwrap();
    assert_all_pass(&records, std::slice::from_ref(&path));
    let (ok, report) = verify(&records, std::slice::from_ref(&path));
    assert!(ok, "{report}");
    assert!(
        text.lines().any(|line| line.starts_with('.')),
        "no line begins with a dot, so nothing was dot-stuffed"
    );
}
