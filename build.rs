//! Build script: the version `broadsheet --version` prints, `0.1.0 (abc1234)` with the git
//! commit when built from a git checkout, and the bare version otherwise (a source archive,
//! no git installed). Cargo runs it again when the checkout's HEAD or branch moves.

use std::path::Path;
use std::process::Command;

/// The trimmed output of `git ARGS`, when git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

/// Asks cargo to run this again when `path` changes; a path that does not exist is left
/// out, since cargo would run the script on every build for it.
fn watch(path: &str) {
    if Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = env!("CARGO_PKG_VERSION");
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch(&format!("{dir}/HEAD"));
    }
    // A branch's commit lives in its ref file, or in packed-refs once git packs it; both
    // are in the common folder that worktrees share.
    if let (Some(common), Some(branch)) = (
        git(&["rev-parse", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        watch(&format!("{common}/{branch}"));
        watch(&format!("{common}/packed-refs"));
    }
    let full = match commit {
        Some(commit) => format!("{version} ({commit})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=BROADSHEET_VERSION={full}");
}
