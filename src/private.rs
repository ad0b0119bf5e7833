//! Files that hold personal data (the ledger, recipients, suppressions, the outbox): created
//! readable by their owner only, folders 0700 and files 0600.

use std::fs::OpenOptions;
use std::path::Path;

use anyhow::Context as _;

/// Creates `dir` and its parents, owner-only for the folders it creates.
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Opens `path` for writing, creating it 0600 if it does not exist; with `truncate` its
/// old contents go.
pub fn open_write(path: &Path, truncate: bool) -> anyhow::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Creates `path` 0600 if it does not exist, leaving an existing file as it is.
pub fn touch(path: &Path) -> anyhow::Result<()> {
    open_write(path, false).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn files_and_folders_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("state/ledger");
        super::create_dir(&nested).unwrap();
        let file = nested.join("x.sqlite");
        super::touch(&file).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        assert_eq!(mode(&file), 0o600);
    }
}
