//! DKIM: messages dispatched and proofed with `[dkim]` carry an RSA and an Ed25519
//! signature, and an independent verifier (Debian's python3-dkim, given the public keys the
//! test made with openssl) accepts both on every message, and rejects an altered copy.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::recipients::with_recipients;
use crate::support::Project;
use crate::support::dispatching::SECRET;

pub const KEY_ENV: &str = "BROADSHEET_DKIM_KEY";

/// Runs `openssl ARGS` and returns its stdout; the test fails when openssl is missing.
fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed (Debian: apt-get install openssl)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A fresh RSA-2048 and Ed25519 key in `dir`: the private PEMs joined, and the DNS TXT
/// records of selectors `r1` and `e1` on eto.tech.
pub fn keys(dir: &Path) -> (String, Vec<String>) {
    let rsa = dir.join("rsa.pem");
    let ed = dir.join("ed.pem");
    let path = |p: &PathBuf| p.to_str().expect("a UTF-8 path").to_owned();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &path(&rsa),
    ]);
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", &path(&ed)]);
    let public = |p: &PathBuf| openssl(&["pkey", "-in", &path(p), "-pubout", "-outform", "DER"]);
    let ed_public = public(&ed);
    let records = vec![
        format!(
            "r1._domainkey.eto.tech=v=DKIM1; k=rsa; p={}",
            STANDARD.encode(public(&rsa))
        ),
        format!(
            "e1._domainkey.eto.tech=v=DKIM1; k=ed25519; p={}",
            STANDARD.encode(&ed_public[ed_public.len() - 32..])
        ),
    ];
    let pem = std::fs::read_to_string(&rsa).unwrap() + &std::fs::read_to_string(&ed).unwrap();
    (pem, records)
}

/// Runs the verifier over `files`: its exit status and stdout.
pub fn verify(records: &[String], files: &[PathBuf]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/dkim_verify.py");
    let output = Command::new("/usr/bin/python3")
        .arg(script)
        .args(records)
        .arg("--")
        .args(files)
        .output()
        .expect(
            "/usr/bin/python3 with python3-dkim is needed (Debian: apt-get install python3-dkim)",
        );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("ModuleNotFoundError"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    (output.status.success(), format!("{stdout}{stderr}"))
}

pub fn signing_project(pem_dir: &Path) -> (Project, String, Vec<String>) {
    let project = with_recipients();
    let (pem, records) = keys(pem_dir);
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!(
            "{text}\n[dkim]\ndomain = \"eto.tech\"\nselector = [\"r1\", \"e1\"]\n\
             algorithm = [\"rsa-sha256\", \"ed25519-sha256\"]\nkey_env = \"{KEY_ENV}\"\n"
        ),
    );
    (project, pem, records)
}

/// Dispatches the sample volume to the fixture's two subscribers.
pub const DISPATCH: [&str; 7] = [
    "dispatch",
    "volumes/011.toml",
    "--segment",
    "subscribers",
    "--yes",
    "--expect",
    "2",
];

/// Runs broadsheet in `project` with `pem` as the DKIM key.
pub fn run_signed(project: &Project, pem: &str, args: &[&str]) -> crate::support::Run {
    let output = project
        .command(args)
        .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
        .env(KEY_ENV, pem)
        .output()
        .expect("run broadsheet");
    crate::support::Run::from(output)
}

/// The `.eml` files in `dir`, sorted.
pub fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the outbox")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

#[test]
fn dispatched_and_proofed_messages_verify_with_both_algorithms() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = signing_project(keys_dir.path());
    let sent = run_signed(&project, &pem, &DISPATCH);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let proof = run_signed(
        &project,
        &pem,
        &["proof", "volumes/011.toml", "--to", "editors@eto.tech"],
    );
    assert_eq!(proof.status, 0, "{}", proof.stderr);
    let files = eml_files(&project.path("outbox"));
    assert_eq!(files.len(), 3, "two dispatched and one proof");
    let (ok, report) = verify(&records, &files);
    assert!(ok, "{report}");
    assert_eq!(
        report.matches(" ok rsa-sha256 ed25519-sha256\n").count(),
        3,
        "{report}"
    );

    // The same message altered after signing: in a signed header, and in the body.
    for path in altered_copies(&files[0], keys_dir.path()) {
        let (ok, report) = verify(&records, std::slice::from_ref(&path));
        assert!(
            !ok && report.contains(" FAIL "),
            "{}: {report}",
            path.display()
        );
    }
}

/// Copies of the signed message at `signed`, written to `dir`, each altered after signing:
/// in a signed header, in the body, and with a From or a List-Unsubscribe prepended (the
/// signature names each once more than it occurs).
pub fn altered_copies(signed: &Path, dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(signed).unwrap();
    let subject = text.replacen("\r\nSubject: ", "\r\nSubject: Re: ", 1);
    let body = text.replacen("\r\n\r\n", "\r\n\r\nAn added line.\r\n", 1);
    let from = format!("From: Someone Else <ceo@eto.tech>\r\n{text}");
    let unsubscribe = format!("List-Unsubscribe: <https://evil.example/u>\r\n{text}");
    [
        ("subject.eml", subject),
        ("body.eml", body),
        ("from.eml", from),
        ("unsubscribe.eml", unsubscribe),
    ]
    .into_iter()
    .map(|(name, altered)| {
        let path = dir.join(name);
        std::fs::write(&path, altered).unwrap();
        path
    })
    .collect()
}

#[test]
fn a_dkim_key_others_can_read_is_refused() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, _) = signing_project(keys_dir.path());
    project.write("dkim.pem", &pem);
    project.edit(
        "broadsheet.toml",
        &format!("key_env = \"{KEY_ENV}\""),
        "key_file = \"dkim.pem\"",
    );
    use std::os::unix::fs::PermissionsExt as _;
    let key = project.path("dkim.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = project.run(&["proof", "volumes/011.toml", "--to", "editors@eto.tech"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("can be read by others"),
        "{}",
        run.stderr
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = project.run(&["proof", "volumes/011.toml", "--to", "editors@eto.tech"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
}

/// Bodies with every whitespace shape relaxed canonicalization rewrites (tabs, runs of
/// spaces, spaces before CRLF, lines of only whitespace, blank lines at the end, no final
/// CRLF).
const AWKWARD_BODIES: [&str; 7] = [
    "a\tb  c \r\n\r\n  \r\nd\t\r\n\r\n\r\n",
    "    * indented  item\r\n      continued \t \r\n\t\tx\r\n",
    "end of a body without CRLF  \t",
    "a last line of whitespace without CRLF\r\n\r\n \t",
    " \r\n\t\r\n",
    "",
    "plain line\r\n\r\nanother\r\n",
];

/// Each of [`AWKWARD_BODIES`] in a message signed by the library as dispatch signs, with
/// both algorithms, written to `dir` as a relay carries it (SMTP carries whole lines, so a
/// message arrives ending with CRLF: RFC 5321 §4.1.1.4); and the DNS records of the keys.
pub fn awkward_bodies(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    use broadsheet::message::dkim::{Key, Signer};
    let (pem, records) = keys(dir);
    let mut parsed = Key::parse_all(&pem).expect("the test's keys").into_iter();
    let (rsa, ed) = (parsed.next().unwrap(), parsed.next().unwrap());
    let signer = Signer::new(
        "eto.tech",
        vec![("r1".to_owned(), rsa), ("e1".to_owned(), ed)],
    );
    let head = "From: Scout <scout@eto.tech>\r\nTo: ana@example.org\r\nSubject: Whitespace\r\n\
                Date: Mon, 06 May 2024 10:30:45 +0000\r\nMessage-ID: <w@eto.tech>\r\n\
                MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
    let mut files = Vec::new();
    for (i, body) in AWKWARD_BODIES.iter().enumerate() {
        let mut signed = signer.sign(format!("{head}{body}"));
        if !signed.ends_with("\r\n") {
            signed.push_str("\r\n");
        }
        let path = dir.join(format!("body-{i}.eml"));
        std::fs::write(&path, &signed).unwrap();
        files.push(path);
    }
    (files, records)
}

/// Each of [`AWKWARD_BODIES`], signed, is accepted by the independent verifier with both
/// algorithms; and the same message with a changed word fails.
#[test]
fn awkward_whitespace_in_the_body_verifies() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (files, records) = awkward_bodies(keys_dir.path());
    let (ok, report) = verify(&records, &files);
    assert!(ok, "{report}");
    assert_eq!(
        report.matches(" ok rsa-sha256 ed25519-sha256\n").count(),
        AWKWARD_BODIES.len(),
        "{report}"
    );
    let signed = std::fs::read_to_string(&files[1]).unwrap();
    let altered = keys_dir.path().join("altered.eml");
    std::fs::write(&altered, signed.replacen("item", "items", 1)).unwrap();
    let (ok, report) = verify(&records, std::slice::from_ref(&altered));
    assert!(!ok && report.contains(" FAIL "), "{report}");
}

/// A signer with an RSA key is the costly kind (dispatch builds its messages on a pool of
/// threads); one with Ed25519 keys only is not (dispatch signs inline).
#[test]
fn only_rsa_signing_is_costly() {
    use broadsheet::message::dkim::{Algorithm, Key, Signer};
    let keys_dir = tempfile::tempdir().unwrap();
    let (pem, _) = keys(keys_dir.path());
    let signer = |kinds: &[Algorithm]| {
        let keys = Key::parse_all(&pem)
            .unwrap()
            .into_iter()
            .filter(|k| kinds.contains(&k.kind()))
            .map(|k| ("s".to_owned(), k))
            .collect();
        Signer::new("eto.tech", keys)
    };
    assert!(signer(&[Algorithm::RsaSha256, Algorithm::Ed25519Sha256]).is_costly());
    assert!(signer(&[Algorithm::RsaSha256]).is_costly());
    assert!(!signer(&[Algorithm::Ed25519Sha256]).is_costly());
}

/// A dispatch signing with Ed25519 alone (inline, not on the pool RSA needs): every
/// message verifies.
#[test]
fn an_ed25519_only_dispatch_verifies() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = signing_project(keys_dir.path());
    project.edit(
        "broadsheet.toml",
        "selector = [\"r1\", \"e1\"]\nalgorithm = [\"rsa-sha256\", \"ed25519-sha256\"]",
        "selector = \"e1\"\nalgorithm = \"ed25519-sha256\"",
    );
    // The Ed25519 key is the second of the two PEM blocks.
    let start = pem.rfind("-----BEGIN").expect("two keys");
    let sent = run_signed(&project, &pem[start..], &DISPATCH);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let files = eml_files(&project.path("outbox"));
    assert_eq!(files.len(), 2);
    let (ok, report) = verify(&records, &files);
    assert!(ok, "{report}");
    assert_eq!(
        report.matches(" ok ed25519-sha256\n").count(),
        2,
        "{report}"
    );
}

/// `check` reads the `[dkim]` key as a send would and reports a key it cannot use at the
/// `key_file` line, saying what the key is and how to make or convert one; an unset
/// `key_env` and a signing domain off From's are warnings.
#[test]
fn check_reports_an_unusable_dkim_key_at_its_setting() {
    let keys_dir = tempfile::tempdir().unwrap();
    let project = with_recipients();
    let text = project.read("broadsheet.toml");
    project.write(
        "broadsheet.toml",
        &format!(
            "{text}\n[dkim]\ndomain = \"eto.tech\"\nselector = \"s1\"\n\
             algorithm = \"rsa-sha256\"\nkey_file = \"dkim.pem\"\n"
        ),
    );
    let line = text.lines().count() + 6;
    let dir = |name: &str| keys_dir.path().join(name).to_str().unwrap().to_owned();
    let ed = dir("ed.pem");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", &ed]);
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ],
            "the key's algorithm is elliptic-curve (ECDSA): DKIM signs with RSA",
        ),
        (
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
            ],
            "an RSA key of 1024 bits: use one of 2048 bits at least",
        ),
        (
            &["genpkey", "-algorithm", "ed448"],
            "the key's algorithm is Ed448",
        ),
        (
            &["pkey", "-in", &ed, "-outform", "DER"],
            "is binary DER, not PEM text; convert it with `openssl pkey -inform DER",
        ),
        (
            &["pkcs8", "-topk8", "-in", &ed, "-passout", "pass:secret"],
            "is encrypted (`ENCRYPTED PRIVATE KEY`) and broadsheet signs unattended; write it \
             out decrypted with `openssl pkey -in KEY -out KEY.pem`",
        ),
    ];
    use std::os::unix::fs::PermissionsExt as _;
    let key = project.path("dkim.pem");
    for (args, expected) in cases {
        std::fs::write(&key, openssl(args)).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let run = project.run(&["check", "volumes/011.toml"]);
        assert_eq!(run.status, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected)
                && run
                    .stderr
                    .contains(&format!("--> broadsheet.toml:{line}:12")),
            "{args:?}: {}",
            run.stderr
        );
    }
    std::fs::write(&key, keys(keys_dir.path()).0).unwrap();
    project.edit(
        "broadsheet.toml",
        "selector = \"s1\"\nalgorithm = \"rsa-sha256\"",
        "selector = [\"r1\", \"e1\"]\nalgorithm = [\"rsa-sha256\", \"ed25519-sha256\"]",
    );
    let run = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    project.edit(
        "broadsheet.toml",
        "domain = \"eto.tech\"\nselector",
        "domain = \"other.example.net\"\nselector",
    );
    project.edit(
        "broadsheet.toml",
        "key_file = \"dkim.pem\"",
        "key_env = \"UNSET_KEY\"",
    );
    let run = project.run(&["check", "volumes/011.toml"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    for warning in [
        "warning: the DKIM key is not checked: the environment variable UNSET_KEY is not set here",
        "warning: the DKIM `domain` `other.example.net` is neither the From address's domain `eto.tech`",
    ] {
        assert!(run.stderr.contains(warning), "{}", run.stderr);
    }
}

/// Every header line of a signed message that can be folded stays within RFC 5322's 78
/// octets (Content-Type after its `;`, DKIM-Signature between tags, here with a signing
/// domain long enough to need it), and both signatures still verify.
#[test]
fn signed_headers_fold_at_78_and_verify() {
    let keys_dir = tempfile::tempdir().unwrap();
    let (project, pem, records) = signing_project(keys_dir.path());
    let domain = "newsletter.eto.tech";
    project.edit(
        "broadsheet.toml",
        "[dkim]\ndomain = \"eto.tech\"",
        &format!("[dkim]\ndomain = \"{domain}\""),
    );
    let records: Vec<String> = records
        .iter()
        .map(|r| {
            r.replacen(
                "._domainkey.eto.tech=",
                &format!("._domainkey.{domain}="),
                1,
            )
        })
        .collect();
    let sent = run_signed(&project, &pem, &DISPATCH);
    assert_eq!(sent.status, 0, "{}", sent.stderr);
    let files = eml_files(&project.path("outbox"));
    assert_eq!(files.len(), 2);
    for file in &files {
        let raw = std::fs::read_to_string(file).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            // Only a single token (a long URL in its brackets) may pass 78: it has no
            // whitespace to fold at.
            let token = line.split_once(": ").map_or(line, |(_, value)| value);
            let unfoldable = !token.trim().contains([' ', '\t']);
            assert!(
                line.len() <= 78 || unfoldable,
                "{} octets: {line}",
                line.len()
            );
        }
        assert!(head.contains(&format!("d={domain};")), "{head}");
    }
    let (ok, report) = verify(&records, &files);
    assert!(ok, "{report}");
    assert_eq!(
        report.matches(" ok rsa-sha256 ed25519-sha256\n").count(),
        2,
        "{report}"
    );
}
