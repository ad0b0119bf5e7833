//! One-click unsubscribes per second and their latency, durability on: the release binary's
//! `broadsheet serve` on a temp copy of the test fixture with 20,000 readers, driven from
//! this separate process by 32 keep-alive clients posting RFC 8058 one-clicks for distinct
//! readers. Every answer is a 200 after the change is committed (`synchronous = FULL`);
//! at the end the store must hold every one of them.
//! Run with `cargo bench --bench serve`.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use broadsheet::audience::Address;
use broadsheet::unsubscribe::Signer;

const READERS: usize = 20_000;
const REQUESTS: usize = 10_000;
const CLIENTS: usize = 32;
const SECRET: &str = "a benchmark secret that is long enough";

fn main() {
    let dir = tempfile::tempdir().expect("temp folder");
    project(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve's first line");
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").expect("signer");
    let paths: Vec<String> = (0..REQUESTS)
        .map(|i| {
            let address = Address::parse(&format!("reader{i}@example.org")).expect("address");
            format!("/unsubscribe/{}", signer.token(&address))
        })
        .collect();
    let started = Instant::now();
    let clients: Vec<_> = paths
        .chunks(REQUESTS / CLIENTS + 1)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || client(port, &chunk))
        })
        .collect();
    let mut latencies: Vec<Duration> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client"))
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{} one-click unsubscribes from {CLIENTS} keep-alive clients in {:.2} s: {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        latencies.last().expect("samples").as_secs_f64() * 1000.0,
    );
    let _ = server.kill();
    let _ = server.wait();
    let list = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .args(["suppress", "list"])
        .current_dir(dir.path())
        .output()
        .expect("run suppress list");
    let stored = String::from_utf8_lossy(&list.stdout).lines().count();
    println!("suppressions in the store after the run: {stored}");
    assert_eq!(
        stored, REQUESTS,
        "every answered unsubscribe is in the store"
    );
}

/// Writes the fixture project with `READERS` subscribers into `dir`.
fn project(dir: &Path) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copied = Command::new("cp")
        .arg("-r")
        .args([repo.join("tests/fixtures/project/."), repo.join("layouts")])
        .arg(dir)
        .status()
        .expect("copy the fixture project");
    assert!(copied.success());
    let mut csv = String::from("email,name,segments,topics\n");
    for i in 0..READERS {
        csv.push_str(&format!("reader{i}@example.org,,subscribers,\n"));
    }
    std::fs::write(dir.join("subscribers.csv"), csv).expect("write the readers");
    std::fs::write(
        dir.join("recipients.toml"),
        "[segments.subscribers]\ndescription = \"Everyone\"\n\n[[imports]]\npath = \"subscribers.csv\"\n",
    )
    .expect("write recipients.toml");
}

/// Posts a one-click for each of `paths` on one keep-alive connection; each latency.
fn client(port: u16, paths: &[String]) -> Vec<Duration> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let body = "List-Unsubscribe=One-Click";
    paths
        .iter()
        .map(|path| {
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let sent = Instant::now();
            writer.write_all(request.as_bytes()).expect("send");
            let (status, length) = read_head(&mut reader);
            let mut answer = vec![0; length];
            reader.read_exact(&mut answer).expect("read the body");
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
            sent.elapsed()
        })
        .collect()
}

/// The status and Content-Length of the next answer on `reader`.
fn read_head(reader: &mut impl BufRead) -> (u16, usize) {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).expect("a header");
        if line == "\r\n" {
            return (status, length);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("a length");
        }
    }
}
