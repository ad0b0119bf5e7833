//! A running `broadsheet serve` for tests: started on a free loopback port with the test
//! secret, spoken to with raw HTTP/1.1 (so tests control every header), killed at the end.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use broadsheet::audience::Address;
use broadsheet::unsubscribe::Signer;

use super::Project;
use crate::support::dispatching::SECRET;

/// The Content-Type of the forms our pages post.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The body of an RFC 8058 one-click POST.
pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// A serve process.
pub struct Serve {
    child: Child,
    pub port: u16,
    /// Where its stderr goes when started with [`Serve::start_logging`].
    log: Option<tempfile::NamedTempFile>,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The header lines, lowercased names, as received.
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl Serve {
    /// Starts `broadsheet serve --listen 127.0.0.1:PORT` in `project` and waits until it
    /// prints its address.
    pub fn start(project: &Project) -> Self {
        Self::start_on(project, super::free_port())
    }

    /// As [`Serve::start`], on `port`.
    pub fn start_on(project: &Project, port: u16) -> Self {
        Self::spawn(project, port, &[], None)
    }

    /// As [`Serve::start`], with the variables `env` set too.
    pub fn start_with(project: &Project, env: &[(&str, &str)]) -> Self {
        Self::spawn(project, super::free_port(), env, None)
    }

    /// As [`Serve::start_with`], logging at `info` into a file that [`Serve::log`] reads.
    pub fn start_logging(project: &Project, env: &[(&str, &str)]) -> Self {
        let log = tempfile::NamedTempFile::new().expect("create a log file");
        let mut env = env.to_vec();
        env.push(("BROADSHEET_LOG", "info"));
        Self::spawn(project, super::free_port(), &env, Some(log))
    }

    /// As [`Serve::start`], started with a limit on open files of `soft` out of `hard`.
    pub fn start_with_open_files(project: &Project, soft: u64, hard: u64) -> Self {
        let port = super::free_port();
        let command = serve_command(project, port);
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(format!(
                "ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" \"$@\""
            ))
            .arg(command.get_program())
            .args(command.get_args())
            .current_dir(project.root());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => shell.env(key, value),
                None => shell.env_remove(key),
            };
        }
        Self::launch(shell, port, &[], None)
    }

    fn spawn(
        project: &Project,
        port: u16,
        env: &[(&str, &str)],
        log: Option<tempfile::NamedTempFile>,
    ) -> Self {
        Self::launch(serve_command(project, port), port, env, log)
    }

    fn launch(
        mut command: Command,
        port: u16,
        env: &[(&str, &str)],
        log: Option<tempfile::NamedTempFile>,
    ) -> Self {
        let stderr = match &log {
            Some(file) => Stdio::from(file.reopen().expect("open the log file")),
            None => Stdio::inherit(),
        };
        let mut child = command
            .env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start broadsheet serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read serve's first line");
        assert!(line.contains("serving readers"), "serve said {line:?}");
        Self { child, port, log }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has logged so far (started with [`Serve::start_logging`]).
    pub fn log(&self) -> String {
        let log = self
            .log
            .as_ref()
            .expect("a server started with start_logging");
        std::fs::read_to_string(log.path()).expect("read the serve log")
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the answer to its end.
    pub fn raw(&self, request: &[u8]) -> Answer {
        Client { port: self.port }
            .try_raw(request)
            .expect("an answer from serve")
    }

    /// `METHOD path` with a loopback Host, `headers` and a body; a POST's body is a
    /// urlencoded form.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        if method == "POST" {
            return self.post(path, FORM, headers, body);
        }
        self.send(method, path, headers, body)
    }

    /// `POST path` of `body` as `content_type`, with a loopback Host and `headers`.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut all = vec![("Content-Type", content_type)];
        all.extend_from_slice(headers);
        self.send("POST", path, &all, body)
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.port
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.raw(request.as_bytes())
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], "")
    }

    /// A form POST from our own pages (Origin is the address it was sent to).
    pub fn form(&self, path: &str, body: &str) -> Answer {
        let origin = format!("http://127.0.0.1:{}", self.port);
        self.request("POST", path, &[("Origin", &origin)], body)
    }

    /// The RFC 8058 one-click POST a mail client sends.
    pub fn one_click(&self, path: &str) -> Answer {
        self.request("POST", path, &[], ONE_CLICK)
    }

    /// The server's base URL, e.g. `http://127.0.0.1:4080`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `broadsheet serve` on `port` in `project`, not yet started.
fn serve_command(project: &Project, port: u16) -> Command {
    project.command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
}

/// A client that may find the server gone (killed mid-burst).
pub struct Client {
    pub port: u16,
}

impl Client {
    /// Sends `request` and reads the whole answer; `None` if the connection failed or
    /// ended before an answer.
    pub fn try_raw(&self, request: &[u8]) -> Option<Answer> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .ok()?;
        stream.write_all(request).ok()?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).ok()?;
        bytes
            .windows(4)
            .any(|w| w == b"\r\n\r\n")
            .then(|| parse(&bytes))
    }

    /// A one-click POST to `path`; its status, if an answer came.
    pub fn one_click(&self, path: &str) -> Option<u16> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: {FORM}\r\nContent-Length: {}\r\n\r\n{ONE_CLICK}",
            self.port,
            ONE_CLICK.len()
        );
        self.try_raw(request.as_bytes()).map(|a| a.status)
    }
}

/// Parses a whole HTTP/1.1 answer (with a Content-Length body).
pub fn parse(bytes: &[u8]) -> Answer {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head[9..12].parse().expect("numeric status");
    Answer {
        status,
        head,
        body: String::from_utf8_lossy(&bytes[end + 4..]).into_owned(),
    }
}

/// The path of `url` (an `https://scout.eto.tech/...` link from a message).
pub fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("https://").expect("an https URL");
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// A project whose subscribers are `reader0..n@example.org`, in a CSV import.
pub fn readers(n: usize) -> Project {
    let project = Project::sample();
    let mut csv = String::from("email,name,segments,topics\n");
    for i in 0..n {
        csv.push_str(&format!("reader{i}@example.org,,subscribers,\n"));
    }
    project.write("recipients/subscribers.csv", &csv);
    project.write(
        "recipients.toml",
        "[segments.subscribers]\ndescription = \"Everyone\"\n\n[[imports]]\npath = \"recipients/subscribers.csv\"\n",
    );
    project
}

/// The unsubscribe token of `address`, signed as the messages are.
pub fn token(address: &str) -> String {
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").expect("signer");
    signer.token(&Address::parse(address).expect("address"))
}

/// The one-click path of `address`, signed as the messages are.
pub fn one_click_path(address: &str) -> String {
    format!("/unsubscribe/{}", token(address))
}
