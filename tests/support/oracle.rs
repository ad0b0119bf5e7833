//! Independent tools that judge the email: SpamAssassin from Debian and the npm packages in
//! `bench/node_modules` (the reference MJML compiler, html-validate, doiuse-email), all
//! installed by `scripts/test`. A missing tool is a loud failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's folder of pinned Node tools (`bench/package.json` and its lock file).
fn node_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench")
}

/// The command for the npm package binary `name`, which must be installed.
pub fn npm_bin(name: &str) -> Command {
    let path = node_folder().join("node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, or `npm ci --prefix bench`",
        path.display()
    );
    Command::new(path)
}

/// The command for `node bench/SCRIPT`, whose packages must be installed.
pub fn node_script(script: &str) -> Command {
    assert!(
        node_folder().join("node_modules").is_dir(),
        "bench/node_modules is missing: run scripts/test, or `npm ci --prefix bench`"
    );
    let mut command = Command::new("node");
    command.arg(node_folder().join(script));
    command
}

/// The command for a Debian tool at `path`, which must be installed.
pub fn system_tool(path: &str, package: &str) -> Command {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: run scripts/test, or `apt-get install {package}`"
    );
    Command::new(path)
}

/// Runs `command`, panicking with its output unless it exits with 0.
pub fn run_ok(mut command: Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    assert!(
        status.success(),
        "{command:?} failed ({status}):\n{stdout}\n{stderr}"
    );
    stdout.into_owned()
}
