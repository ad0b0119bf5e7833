//! A running `broadsheet preview` for tests: started on a free port, stopped with SIGINT.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Project;

/// A preview server process.
pub struct Preview {
    child: Child,
    pub port: u16,
    pub url: String,
    /// Where its standard error goes.
    stderr: tempfile::NamedTempFile,
}

impl Preview {
    /// Starts `broadsheet preview VOLUME --port P` in `project` and waits for its URL line.
    pub fn start(project: &Project, volume: &str) -> Self {
        let port = super::free_port();
        let stderr = tempfile::NamedTempFile::new().expect("a file for stderr");
        let mut child = project
            .command(&["preview", volume, "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("open the stderr file"))
            .spawn()
            .expect("start broadsheet preview");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the preview's first line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        Self {
            child,
            port,
            url,
            stderr,
        }
    }

    /// What the server wrote to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).expect("read the preview's stderr")
    }

    /// Sends one raw HTTP/1.1 request and returns the status code and body.
    pub fn raw(&self, request: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("send request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read response");
        let head_end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of headers");
        let status = std::str::from_utf8(&response[9..12])
            .expect("status code")
            .parse()
            .expect("numeric status");
        (status, response[head_end + 4..].to_vec())
    }

    /// `GET path` with a loopback Host header.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        ))
    }

    /// Opens `/events` and reads its first event, which carries the current version.
    pub fn events(&self) -> Events {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            stream,
            "GET /events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        )
        .expect("send request");
        let mut events = Events {
            lines: BufReader::new(stream),
            version: 0,
        };
        events.version = events
            .next_version(Duration::from_secs(10))
            .expect("the first event, which every subscriber gets");
        events
    }

    /// Interrupts the server as Ctrl-C would and returns its exit code.
    pub fn interrupt(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait for preview") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server-sent events of a preview's `/events`, one `rebuilt` event per rebuild.
pub struct Events {
    lines: BufReader<TcpStream>,
    /// The version of the last event read.
    pub version: u64,
}

impl Events {
    /// Waits up to `limit` for a rebuild after the last one seen; true when one came.
    pub fn rebuilt(&mut self, limit: Duration) -> bool {
        match self.next_version(limit) {
            Some(version) => {
                assert!(version > self.version, "versions only grow");
                self.version = version;
                true
            }
            None => false,
        }
    }

    /// The data of the next `rebuilt` event, or None when none comes within `limit`.
    fn next_version(&mut self, limit: Duration) -> Option<u64> {
        let deadline = Instant::now() + limit;
        let mut in_rebuilt = false;
        let mut line = String::new();
        loop {
            // Keep-alive comments arrive too: the limit is for the whole wait.
            let left = deadline.checked_duration_since(Instant::now())?;
            self.lines
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            line.clear();
            match self.lines.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line == "event: rebuilt" {
                in_rebuilt = true;
            } else if let Some(data) = line.strip_prefix("data: ").filter(|_| in_rebuilt) {
                return Some(data.parse().expect("a numeric version"));
            }
        }
    }
}

/// Polls `check` every 50 ms until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
