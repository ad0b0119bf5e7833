//! The volumes of a project's folder: the files named `NNN.toml`, and which are drafts.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml::de::{DeTable, DeValue};

/// The volume files in `dir` (those named `NNN.toml`) with the number in their name, in
/// increasing order. Having none is an error.
pub fn files(dir: &Path) -> anyhow::Result<Vec<(u32, PathBuf)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let number = path
            .extension()
            .filter(|ext| *ext == "toml")
            .and_then(|_| path.file_stem()?.to_str()?.parse::<u32>().ok());
        if let Some(number) = number {
            found.push((number, path));
        }
    }
    if found.is_empty() {
        bail!(
            "no volume files (NNN.toml) in {}",
            crate::diag::display_path(dir)
        );
    }
    found.sort();
    Ok(found)
}

/// True when volume text says `draft = true` at its top level, whatever else is wrong with
/// it: a draft may be half written, and is still known to be a draft.
pub fn is_draft_text(text: &str) -> bool {
    let (root, _) = DeTable::parse_recoverable(text);
    root.get_ref()
        .get("draft")
        .is_some_and(|v| matches!(v.get_ref(), DeValue::Boolean(true)))
}
