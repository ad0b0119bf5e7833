//! Test harness: a throwaway copy of the sample project and a runner for the real binary.

pub mod axe;
pub mod dispatching;
pub mod dovecot;
pub mod email;
pub mod fake_imap;
pub mod fault_smtp;
pub mod oracle;
pub mod postfix;
pub mod preview;
pub mod rspamd;
pub mod serve;
pub mod smtp;
pub mod tls;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A copy of the test fixture project (`tests/fixtures/project`: settings and volumes) with
/// the repository's layouts, in a temp folder. The repository's own `broadsheet.toml` and
/// `volumes/` are the user's to edit, so no test reads them.
pub struct Project {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Project {
    /// A fresh copy of the fixture project.
    pub fn sample() -> Self {
        let dir = tempfile::tempdir().expect("create a temp folder");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_tree(&repo.join("tests/fixtures/project"), dir.path());
        copy_tree(&repo.join("layouts"), &dir.path().join("layouts"));
        Self { dir }
    }

    /// An empty folder, for `broadsheet init` to make a project in.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temp folder"),
        }
    }

    /// A copy of the repository's own sample project: its live `broadsheet.toml`,
    /// `volumes/` and `layouts/`. Only the test that the sample still builds may use it.
    pub fn repository_sample() -> Self {
        let dir = tempfile::tempdir().expect("create a temp folder");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(
            repo.join("broadsheet.toml"),
            dir.path().join("broadsheet.toml"),
        )
        .expect("copy broadsheet.toml");
        for folder in ["volumes", "layouts"] {
            copy_tree(&repo.join(folder), &dir.path().join(folder));
        }
        Self { dir }
    }

    /// The project's root folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the project.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// Reads a project file.
    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    /// Writes a project file, creating its folder.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("create folder");
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {relative}: {e}"));
    }

    /// Replaces the first occurrence of `from` in a project file, which must contain it.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// Every file of the project with its contents, by path relative to the root: to see
    /// that a run wrote nothing.
    pub fn files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut files = std::collections::BTreeMap::new();
        let mut folders = vec![self.root().to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("list a project folder") {
                let path = entry.expect("a folder entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let name = path.strip_prefix(self.root()).expect("inside").display();
                    let contents = std::fs::read(&path).expect("read a project file");
                    files.insert(name.to_string(), contents);
                }
            }
        }
        files
    }

    /// Runs `broadsheet ARGS` in the project root with no `BROADSHEET_*` variables set.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run broadsheet");
        Run::from(output)
    }

    /// The command for `broadsheet ARGS` in the project root, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_broadsheet"));
        command.args(args).current_dir(self.root());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("BROADSHEET_") {
                command.env_remove(key);
            }
        }
        command
    }

    /// Runs `broadsheet ARGS` and insists that it succeeds.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.status, 0, "broadsheet {args:?} failed:\n{}", run.stderr);
        run
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Copies the folder `from` and everything in it to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("list folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The visible text of an HTML document: tags removed, entities decoded, whitespace collapsed.
pub fn html_text(html: &str) -> String {
    let body = html.split_once("<body").map_or(html, |(_, b)| b);
    let mut text = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = decode_entities(&text);
    collapse(&decoded)
}

/// `text` with its HTML character references (named ones that the layouts use, and numeric) decoded.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e < 12);
        let decoded = end.and_then(|e| match &rest[1..e] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "nbsp" => Some('\u{a0}'),
            "middot" => Some('·'),
            entity => {
                let hex = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"));
                let code = match hex {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                };
                code.and_then(char::from_u32)
            }
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collapses every run of whitespace to one space, and drops spaces before punctuation
/// that closes a phrase (tags stripped from `(<a>x</a>, ...)` leave such spaces).
pub fn collapse(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words.join(" ");
    for closer in [" ,", " )", " .", " :"] {
        out = out.replace(closer, &closer[1..]);
    }
    out.replace("( ", "(")
}

/// A picked item of the seed issue: summary, outlet and date as printed (`MM/DD/YY`).
pub struct SeedPick {
    pub summary: String,
    pub source: String,
    pub date: String,
}

/// The picks listed in the seed text (`tests/fixtures/seed-volume-011.txt`), in order.
pub fn seed_picks() -> Vec<SeedPick> {
    let seed = include_str!("../fixtures/seed-volume-011.txt");
    seed.lines()
        .filter_map(|line| line.strip_prefix("  • "))
        .map(|item| {
            let (rest, tail) = item
                .rsplit_once(" (")
                .expect("a pick ends with (Outlet, date)");
            let (source, date) = tail
                .trim_end_matches(')')
                .rsplit_once(", ")
                .expect("outlet, date");
            SeedPick {
                summary: rest.to_owned(),
                source: source.to_owned(),
                date: date.to_owned(),
            }
        })
        .collect()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A folder that the commands run through [`ReadOnly::run`] cannot write to: its write bits
/// are cleared, and since permissions do not stop root, as root the command runs as
/// `nobody` (with read access to the project). Undone on drop.
pub struct ReadOnly {
    dir: PathBuf,
}

impl ReadOnly {
    /// Makes `dir` read-only for the commands run through this.
    pub fn new(dir: &Path) -> Self {
        let walk = Command::new("chmod")
            .args(["-R", "a+rX,a-w"])
            .arg(dir)
            .status()
            .expect("run chmod");
        assert!(walk.success());
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Runs `broadsheet ARGS` in `project`, as `nobody` when the tests run as root.
    pub fn run(&self, project: &Project, args: &[&str]) -> Run {
        let command = project.command(args);
        if !is_root() {
            let mut command = command;
            return Run::from(command.output().expect("run broadsheet"));
        }
        let mut path = project.root().to_path_buf();
        while path.pop() && path.as_os_str().len() > 1 {
            // The temp folder and its parents must let `nobody` in.
            let _ = Command::new("chmod").arg("a+x").arg(&path).status();
        }
        let _ = Command::new("chmod")
            .arg("a+rx")
            .arg(project.root())
            .status();
        let mut wrapped = Command::new("setpriv");
        wrapped
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(command.get_program())
            .args(command.get_args())
            .current_dir(project.root())
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        Run::from(wrapped.output().expect("run setpriv (util-linux)"))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(&self.dir)
            .status();
    }
}

/// Runs `stop`, a daemon's own stop command, and waits for it at most 10 s; if it has not
/// ended by then (a daemon stuck, say on its log), kills it, the master whose pid
/// `pid_file` holds, and the master's children, so that a failing test never hangs the
/// suite. Nothing is asserted: this runs in `Drop`, perhaps while a failed test unwinds.
pub fn stop_daemon(mut stop: Command, pid_file: &Path) {
    let Ok(mut stop) = stop
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = stop.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = stop.kill();
    let _ = stop.wait();
    if let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
    {
        // The daemons are the master's children: `pkill -P` finds them.
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &pid.to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The files in `dir` whose names end with `suffix`, sorted, once there are at least `n`
/// (waiting up to 10 s for them, as a server may write them a moment after answering).
pub fn eventually_files(dir: &Path, suffix: &str, n: usize) -> Vec<PathBuf> {
    let list = || -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    let found = preview::eventually(std::time::Duration::from_secs(10), || list().len() >= n);
    assert!(found, "fewer than {n} {suffix} files in {}", dir.display());
    list()
}
