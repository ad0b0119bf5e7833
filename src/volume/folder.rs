//! The volumes of a project's folder: the files named `NNN.toml`, which are drafts, and
//! the number each says it has (two volumes with one number are an error).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use toml::de::{DeTable, DeValue};

use crate::diag::{Diagnostic, display_path};

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
    is_draft(root.get_ref())
}

fn is_draft(root: &DeTable<'_>) -> bool {
    root.get("draft")
        .is_some_and(|v| matches!(v.get_ref(), DeValue::Boolean(true)))
}

/// A volume file and the number it says it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    /// The `number` at the file's top level.
    pub number: u32,
    /// The file.
    pub path: PathBuf,
}

/// The volume files in `dir` that are not drafts, each with the number it says it has (a
/// draft holds back no other volume, as in the archive). Files that cannot be read or say
/// no number are left out: checking them reports why. Empty when `dir` has no volume files.
pub fn numbered(dir: &Path) -> Vec<Numbered> {
    let files = files(dir).unwrap_or_default();
    files
        .into_iter()
        .filter_map(|(_, path)| {
            let text = std::fs::read_to_string(&path).ok()?;
            let (root, _) = DeTable::parse_recoverable(&text);
            let root = root.get_ref();
            if is_draft(root) {
                return None;
            }
            let number = root.get("number")?.get_ref().as_integer()?;
            let digits = number.as_str().replace('_', "");
            let number = u32::from_str_radix(&digits, number.radix()).ok()?;
            Some(Numbered { number, path })
        })
        .collect()
}

/// The error for a volume read from `path` that says `number` when another file of
/// `others` says it too: `build` would write both into one folder and `dispatch` would
/// take one for the other, so a reader could never get the second. `None` when the
/// number is its own.
pub fn duplicate_number(number: u32, path: &Path, others: &[Numbered]) -> Option<Diagnostic> {
    let other = others
        .iter()
        .find(|o| o.number == number && o.path.file_name() != path.file_name())?;
    Some(
        Diagnostic::error(format!(
            "volume {number} is also {}: one number names one volume",
            display_path(&other.path)
        ))
        .note(
            "`build` and `dispatch` would take one for the other: give each volume the number \
             in its file name, and start the next volume with `broadsheet new`",
        ),
    )
}
