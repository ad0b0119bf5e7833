//! Writes the archive's files into their folder all at once: into a staging folder beside
//! it, then swapped into place, so a failure leaves the previous archive (or none) as it was.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::diag::display_path;

/// Replaces the folder `dest` with exactly `files` (name → contents). A file whose bytes
/// did not change is carried over as a hard link, keeping its modification time, so that
/// sync tools and static hosts upload only what changed.
pub(crate) fn publish(files: &BTreeMap<String, String>, dest: &Path) -> anyhow::Result<()> {
    let dest =
        std::path::absolute(dest).with_context(|| format!("cannot resolve {}", dest.display()))?;
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        bail!("cannot write the archive to {}", dest.display());
    };
    check_replaceable(&dest)?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = sibling(parent, name, "staging");
    if let Err(error) = fill(&staging, files, &dest) {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    swap(&staging, &dest, &sibling(parent, name, "old"))
}

/// `.NAME.SUFFIX` beside `NAME`: on the same file system, so `rename` can move it.
fn sibling(parent: &Path, name: &OsStr, suffix: &str) -> PathBuf {
    parent.join(format!(".{}.{suffix}", name.to_string_lossy()))
}

/// An existing `dest` is replaced whole, so it must hold nothing but an earlier archive:
/// `--out .` must never delete a project.
fn check_replaceable(dest: &Path) -> anyhow::Result<()> {
    let Ok(meta) = fs::symlink_metadata(dest) else {
        return Ok(());
    };
    if !meta.is_dir() {
        bail!(
            "{} exists and is not a folder; the archive replaces its folder whole",
            display_path(dest)
        );
    }
    let mut foreign = Vec::new();
    for entry in fs::read_dir(dest).with_context(|| format!("cannot list {}", dest.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dest.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_archive_file(&name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            foreign.push(name);
        }
    }
    foreign.sort();
    if let Some(first) = foreign.first() {
        bail!(
            "the folder {} holds {first}, which `broadsheet archive` did not write; the archive \
             replaces its folder whole, so write it elsewhere (--out) or empty the folder",
            display_path(dest),
        );
    }
    Ok(())
}

/// The names the archive writes: `index.html`, `feed.xml` and `NNN.html`.
fn is_archive_file(name: &str) -> bool {
    let page = name
        .strip_suffix(".html")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    page || name == super::INDEX || name == super::FEED
}

/// Writes `files` into a fresh `staging` folder, linking those unchanged from `dest`.
fn fill(staging: &Path, files: &BTreeMap<String, String>, dest: &Path) -> anyhow::Result<()> {
    // A staging folder left by an interrupted run is ours to discard.
    if staging.exists() {
        fs::remove_dir_all(staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    fs::create_dir(staging).with_context(|| format!("cannot create {}", staging.display()))?;
    for (name, contents) in files {
        let (old, new) = (dest.join(name), staging.join(name));
        let unchanged = fs::read(&old).is_ok_and(|bytes| bytes == contents.as_bytes());
        if unchanged && fs::hard_link(&old, &new).is_ok() {
            continue;
        }
        fs::write(&new, contents).with_context(|| format!("cannot write {}", new.display()))?;
    }
    Ok(())
}

/// Moves `staging` to `dest`, moving any existing `dest` aside first and deleting it after.
fn swap(staging: &Path, dest: &Path, old: &Path) -> anyhow::Result<()> {
    let replacing = dest.exists();
    if replacing {
        if old.exists() {
            fs::remove_dir_all(old).with_context(|| format!("cannot remove {}", old.display()))?;
        }
        fs::rename(dest, old).with_context(|| format!("cannot move {}", dest.display()))?;
    }
    if let Err(error) = fs::rename(staging, dest) {
        if replacing {
            let _ = fs::rename(old, dest);
        }
        let _ = fs::remove_dir_all(staging);
        return Err(error)
            .with_context(|| format!("cannot move the archive to {}", dest.display()));
    }
    if replacing {
        fs::remove_dir_all(old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, c)| ((*n).to_owned(), (*c).to_owned()))
            .collect()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_folder_and_links_unchanged_files() {
        let tmp = tempfile::tempdir().expect("temp folder");
        let dest = tmp.path().join("site");
        publish(&files(&[("001.html", "a"), ("002.html", "b")]), &dest).expect("first");
        let before = fs::metadata(dest.join("001.html")).expect("001").modified();
        publish(&files(&[("001.html", "a"), ("index.html", "i")]), &dest).expect("second");
        assert_eq!(listing(&dest), ["001.html", "index.html"]);
        assert_eq!(listing(tmp.path()), ["site"], "no staging folder left");
        let after = fs::metadata(dest.join("001.html")).expect("001").modified();
        assert_eq!(before.ok(), after.ok(), "an unchanged file keeps its time");
    }

    #[test]
    fn refuses_to_replace_a_folder_with_other_files() {
        let tmp = tempfile::tempdir().expect("temp folder");
        fs::write(tmp.path().join("broadsheet.toml"), "").expect("write");
        let error = publish(&files(&[("index.html", "i")]), tmp.path()).expect_err("refused");
        assert!(
            error.to_string().contains("holds broadsheet.toml"),
            "{error}"
        );
        assert_eq!(listing(tmp.path()), ["broadsheet.toml"]);
    }
}
