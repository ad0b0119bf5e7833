//! Files that hold personal data (the ledger, suppressions, the outbox): folders created
//! 0700, files created 0600, and whole-file writes replaced atomically, so a crash never
//! leaves half a file.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

use anyhow::Context as _;

/// Creates `dir` and its missing parents, readable by the owner only.
pub(crate) fn create_dir(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Opens `path` for writing, creating it 0600 if it does not exist; with `truncate` its old
/// contents go.
pub(crate) fn open_write(path: &Path, truncate: bool) -> anyhow::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Creates `path` 0600 if it does not exist, leaving an existing file as it is.
pub(crate) fn touch(path: &Path) -> anyhow::Result<()> {
    open_write(path, false).map(drop)
}

/// Writes `contents` to `path` (mode 0600) through a temporary file and a rename.
pub(crate) fn write(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let mut file = open_write(tmp, true)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/sub/list.csv");
        super::write(&path, b"x").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("state/sub")), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        let ledger = dir.path().join("state/ledger.sqlite");
        super::touch(&ledger).unwrap();
        assert_eq!(mode(&ledger), 0o600);
    }
}
