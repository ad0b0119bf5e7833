//! Dispatch throughput: the engine (durable ledger on, TCP_NODELAY, one connection per
//! worker) sending 20,000 messages of the seed volume's size to Postfix's `smtp-sink` on
//! loopback with 4 and 16 connections, beside Postfix's own C load generator `smtp-source`
//! sending as many messages of the same size over as many sessions, in the same run.
//! Run with `cargo bench --bench dispatch` (needs Debian's postfix).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broadsheet::audience::Address;
use broadsheet::diag::SourceFile;
use broadsheet::dispatch::engine::{Counters, End, Engine, Tuning};
use broadsheet::dispatch::limits::{Breaker, RateLimiter};
use broadsheet::ledger::{Dispatch, Entry, Ledger, Writer};
use broadsheet::transport::{Envelope, Smtp};

const MESSAGES: usize = 20_000;
/// The seed volume's message as sent: HTML part about 27 KB, text part about 8 KB, headers.
const SIZE: usize = 36 * 1024;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// smtp-sink on a free port; killed on drop.
struct Sink(Child, u16);

impl Sink {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "256"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start smtp-sink (apt-get install postfix)");
        std::thread::sleep(Duration::from_millis(300));
        Self(child, port)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn message() -> Vec<u8> {
    let mut body = b"From: news@example.org\r\nSubject: benchmark\r\n\r\n".to_vec();
    let line = format!("{}\r\n", "x".repeat(74));
    while body.len() < SIZE {
        body.extend_from_slice(line.as_bytes());
    }
    body
}

/// The project's SMTP transport for a relay on loopback, as `broadsheet.toml` configures it.
fn transport(port: u16) -> Smtp {
    let text = format!(
        "[transport]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n"
    );
    let source = SourceFile::new(std::path::Path::new("broadsheet.toml"), text);
    let settings = broadsheet::settings::parse(&source).expect("valid settings");
    Smtp::from_settings(&settings.transport, "bench.example.org").expect("a transport")
}

fn engine_rate(connections: usize) -> f64 {
    let sink = Sink::start();
    let dir = tempfile::tempdir().expect("temp folder");
    let path = dir.path().join("ledger.sqlite");
    let mut ledger = Ledger::open(&path).expect("ledger");
    let dispatch = Dispatch {
        content_hash: "bench".into(),
        segments: "all".into(),
        started_at: 0,
        finished_at: None,
    };
    let entries = (0..MESSAGES).map(|i| Entry {
        address: format!("reader{i}@example.org"),
        name: None,
        variant: "all".into(),
        message_id: format!("<{i}@example.org>"),
    });
    ledger.start(1, &dispatch, entries).expect("freeze");
    let body = Arc::new(message());
    let port = sink.1;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let end = runtime.block_on(async {
        let (writer, handle) = Writer::start(&path).expect("writer");
        let (_stop, stop) = tokio::sync::watch::channel(false);
        let engine = Engine {
            transports: Arc::new(move || Ok(transport(port))),
            ledger: path.clone(),
            volume: 1,
            build: Arc::new(move |e: &Entry| {
                let envelope = Envelope {
                    from: "news@example.org".into(),
                    to: Address::parse(&e.address).map_err(anyhow::Error::msg)?,
                    message_id: e.message_id.clone(),
                };
                Ok((envelope, body.as_ref().clone()))
            }),
            tuning: Tuning {
                connections,
                max_attempts: 3,
                retry_base: Duration::from_secs(1),
                retry_cap: Duration::from_secs(10),
            },
            limiter: Arc::new(RateLimiter::new(None, None)),
            breaker: Arc::new(Breaker::new(50)),
            stop,
            counters: Arc::new(Counters::default()),
            writer: handle,
        };
        let end = engine.run().await.expect("run");
        writer.finish().expect("writer");
        end
    });
    let elapsed = started.elapsed();
    assert_eq!(end, End::Finished);
    let sent = ledger.counts(1).expect("counts");
    assert_eq!(
        sent,
        vec![(broadsheet::ledger::State::Sent, MESSAGES as i64)],
        "every message sent"
    );
    MESSAGES as f64 / elapsed.as_secs_f64()
}

fn source_rate(sessions: usize) -> f64 {
    let sink = Sink::start();
    let started = Instant::now();
    let status = Command::new("/usr/sbin/smtp-source")
        .args([
            "-s",
            &sessions.to_string(),
            "-m",
            &MESSAGES.to_string(),
            "-l",
            &SIZE.to_string(),
        ])
        .args(["-f", "news@example.org", "-t", "reader@example.org"])
        .arg(format!("127.0.0.1:{}", sink.1))
        .status()
        .expect("run smtp-source");
    assert!(status.success());
    MESSAGES as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    println!(
        "{MESSAGES} messages of {} KB to smtp-sink on loopback",
        SIZE / 1024
    );
    for connections in [4, 16] {
        let source = source_rate(connections);
        let ours = engine_rate(connections);
        println!(
            "{connections:>2} connections: broadsheet {ours:>6.0} msg/s, smtp-source {source:>6.0} msg/s, ratio {:.0}%",
            100.0 * ours / source
        );
    }
}
