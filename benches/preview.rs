//! Preview rebuild latency: the time from writing the volume file to the new email being
//! served, as a page sees it (change event received, then `/email.html` fetched with the
//! edit in it). Runs the real binary on a temp copy of the sample project.
//! Run with `cargo bench --bench preview`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 30;

fn main() {
    let dir = tempfile::tempdir().expect("temp folder");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copied = Command::new("cp")
        .args(["-r", "broadsheet.toml", "volumes", "layouts"])
        .arg(dir.path())
        .current_dir(repo)
        .status()
        .expect("copy the sample project");
    assert!(copied.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_broadsheet"))
        .args(["preview", "volumes/011.toml", "--port", &port.to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the preview");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the preview's URL line");

    let mut events = request(port, "/events");
    // The stream starts with the version on show when it connects.
    wait_for_event(&mut events);
    let volume = dir.path().join("volumes/011.toml");
    let original = std::fs::read_to_string(&volume).expect("read the volume");
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let marker = format!("Edited in round {round} of the benchmark");
        let edited = original.replacen("A state media report explains", &marker, 1);
        let started = Instant::now();
        std::fs::write(&volume, edited).expect("write the volume");
        wait_for_event(&mut events);
        let mut body = String::new();
        request(port, "/email.html")
            .read_to_string(&mut body)
            .expect("read the email");
        assert!(
            body.contains(&marker),
            "round {round}: the edit is not in the served email"
        );
        samples.push(started.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
    samples.sort();
    println!(
        "save to new email served, {ROUNDS} saves: median {:?}, p90 {:?}, max {:?}",
        samples[ROUNDS / 2],
        samples[ROUNDS * 9 / 10],
        samples[ROUNDS - 1]
    );
}

/// Sends a GET request and returns a reader positioned at the response body.
fn request(port: u16, path: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    while reader.read_line(&mut header).expect("read headers") > 2 {
        header.clear();
    }
    reader
}

/// Reads server-sent events until a `rebuilt` event's data line arrives.
fn wait_for_event(events: &mut BufReader<TcpStream>) {
    let mut line = String::new();
    loop {
        line.clear();
        events.read_line(&mut line).expect("read an event");
        if line.starts_with("data:") {
            return;
        }
    }
}
