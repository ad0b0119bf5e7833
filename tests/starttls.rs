//! STARTTLS against a real Postfix, its certificate issued by a CA made for the test: the
//! message arrives over TLS, and each session sends EHLO twice (before and after TLS, as
//! RFC 3207 requires), a plaintext one once, as Postfix counts them.

use std::io::{BufRead as _, BufReader, Write as _};
use std::time::{Duration, Instant};

use crate::sending::smtp_project;
use crate::support::postfix::Postfix;
use crate::support::tls::Issued;
use crate::support::{Project, Run};

/// Postfix offering STARTTLS with `issued`'s certificate.
fn tls_postfix(issued: &Issued) -> Postfix {
    Postfix::start_with(&format!(
        "smtpd_tls_security_level = may
smtpd_tls_cert_file = {}
smtpd_tls_key_file = {}
smtpd_tls_loglevel = 1
",
        issued.cert.display(),
        issued.key.display()
    ))
}

/// The command counts of each SMTP session, in order, from Postfix's summary as the client
/// leaves (`disconnect from … ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7`);
/// the harness's probe for the open port said nothing (`commands=0/0`).
fn sessions(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| l.split_once("]: disconnect from ").map(|(_, s)| s))
        .filter(|s| !s.ends_with(" commands=0/0"))
        .collect()
}

/// Postfix's log once `done` holds for it (or after 20 s): Postfix sums up a session after
/// the client has gone, and delivers after the client has its reply.
fn log_when(postfix: &Postfix, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = postfix.log();
        if done(&log) || Instant::now() > deadline {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The proof every test here sends.
const PROOF: [&str; 4] = ["proof", "volumes/011.toml", "--to", "editor@example.org"];

/// Makes `project` require STARTTLS of its relay.
fn require_starttls(project: &Project) {
    project.edit(
        "broadsheet.toml",
        "security = \"none\"",
        "security = \"starttls\"",
    );
}

/// A proof through the relay on `port` with STARTTLS required, which must fail.
fn refused_proof(port: u16) -> Run {
    let project = smtp_project(port);
    require_starttls(&project);
    let run = project.run(&PROOF);
    assert_eq!(run.status, 1, "{}", run.stdout);
    run
}

#[test]
fn starttls_sends_ehlo_before_and_after_tls_and_plaintext_once() {
    let issued = Issued::for_loopback();
    let postfix = tls_postfix(&issued);
    let project = smtp_project(postfix.port);
    let plain = project.ok(&PROOF);
    assert!(plain.stdout.contains("250 2.0.0 Ok"), "{}", plain.stdout);
    require_starttls(&project);
    let mut command = project.command(&PROOF);
    command.env("SSL_CERT_FILE", &issued.ca);
    let tls = Run::from(command.output().expect("run broadsheet"));
    assert_eq!(tls.status, 0, "{}\n{}", tls.stderr, postfix.log());
    let log = log_when(&postfix, |log| {
        sessions(log).len() == 2 && log.matches("status=sent").count() == 2
    });
    let sessions = sessions(&log);
    assert_eq!(sessions.len(), 2, "one connection a proof:\n{log}");
    assert!(
        sessions[0].contains(" ehlo=1 mail=1 "),
        "plaintext: {}",
        sessions[0]
    );
    assert!(
        sessions[1].contains(" ehlo=2 starttls=1 mail=1 "),
        "STARTTLS: {}",
        sessions[1]
    );
    assert!(
        log.contains("TLS connection established from localhost[127.0.0.1]"),
        "{log}"
    );
    assert_eq!(
        log.matches("status=sent (delivered to maildir)").count(),
        2,
        "{log}"
    );
}

#[test]
fn a_starttls_certificate_that_does_not_verify_is_refused_for_good() {
    let issued = Issued::for_loopback();
    let postfix = tls_postfix(&issued);
    // The test's CA is not among the system's roots.
    let run = refused_proof(postfix.port);
    assert!(
        run.stderr.contains("certificate") && !run.stderr.contains("temporary"),
        "{}",
        run.stderr
    );
    let log = log_when(&postfix, |log| sessions(log).len() == 1);
    assert_eq!(sessions(&log).len(), 1, "{log}");
    // One EHLO, and the handshake failed (Postfix counts the STARTTLS as not done): we sent
    // `unknown ca`.
    assert!(sessions(&log)[0].contains(" ehlo=1 starttls=0/1 "), "{log}");
    assert!(log.contains("alert unknown ca"), "{log}");
    assert!(!log.contains("status=sent"), "{log}");
}

#[test]
fn a_reply_to_starttls_followed_by_more_before_tls_is_refused() {
    // A relay (or someone between) that answers STARTTLS and sends a reply more: read after
    // the handshake, it would pass for the relay's word inside TLS.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let relay = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut writer = stream;
        let mut heard = Vec::new();
        writer.write_all(b"220 injected.test ESMTP\r\n").unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let reply: &[u8] = match line.trim_end() {
                l if l.starts_with("EHLO ") => {
                    b"250-injected.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                }
                "STARTTLS" => b"220 2.0.0 Ready to start TLS\r\n250 2.0.0 Ok\r\n",
                _ => b"",
            };
            heard.push(line.trim_end().to_owned());
            writer.write_all(reply).unwrap();
            line.clear();
        }
        heard
    });
    let run = refused_proof(port);
    assert!(
        run.stderr
            .contains("127.0.0.1 sent data after its reply to STARTTLS"),
        "{}",
        run.stderr
    );
    let heard = relay.join().expect("the relay's thread");
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        heard[0].starts_with("EHLO ") && heard[1] == "STARTTLS",
        "{heard:?}"
    );
}
