//! Files that hold personal data (the ledger, suppressions, the outbox): folders created
//! 0700, files created 0600, and whole-file writes replaced atomically, so a crash never
//! leaves half a file; SQLite files opened durable (WAL, `synchronous = FULL`).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rusqlite::Connection;

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

/// The SQLite file at `path` opened for reading only, if it exists (`what` names it in
/// errors: "the ledger"): works on a read-only `state/` and never changes the file. Reading
/// a WAL database needs its `-shm` file; where the folder is read-only and no writer left
/// one, the file is read as it is on disk (`immutable`, no writer can be running there).
pub(crate) fn open_sqlite_read_only(path: &Path, what: &str) -> anyhow::Result<Option<Connection>> {
    // A `state/` that cannot be searched is not "no file yet".
    let exists = path
        .try_exists()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !exists {
        return Ok(None);
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open = |uri: String| {
        let conn = Connection::open_with_flags(uri, flags)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok::<_, rusqlite::Error>(conn)
    };
    let _alone = SQLITE_FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let conn = open(format!("file:{}", path.display()))
        .or_else(|_| open(format!("file:{}?immutable=1", path.display())))
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    Ok(Some(conn))
}

/// Opens the SQLite file at `path` (its folder 0700 and the file 0600 when created) in WAL
/// mode with `synchronous = FULL`, waiting up to `busy` for other connections' locks.
///
/// A new file starts in rollback mode, and switching it to WAL needs it to itself: when
/// several connections open a new file at once (a dispatch's workers, `serve` beside
/// `suppress`), SQLite answers the others "database is locked" at once, without waiting.
/// They try again until the first has switched it, and then find it in WAL already.
pub(crate) fn open_sqlite(path: &Path, busy: Duration) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let conn = {
        let _alone = SQLITE_FILES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        create_new_sqlite(path)?;
        Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?
    };
    conn.busy_timeout(busy)?;
    let until = Instant::now() + busy;
    loop {
        let mode =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0));
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => break,
            Ok(mode) => anyhow::bail!(
                "{} cannot be put in WAL mode (it stays in {mode} mode)",
                path.display()
            ),
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < until =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot put {} in WAL mode", path.display()));
            }
        }
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Held while this process creates an SQLite file or opens a connection to one, so that
/// no connection of its own can be on a file while [`create_new_sqlite`] closes its handle.
static SQLITE_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Creates the SQLite file at `path` 0600 if there is none (SQLite then gives its `-wal` and
/// `-shm` files the same mode). An existing file is not opened at all: closing any handle
/// on a file drops every POSIX lock this process holds on it, among them the shared lock
/// by which each of its connections tells other processes that the database is in use.
/// Without it, another process that closes its own connection (`sqlite3`, a backup, a
/// second `broadsheet`) believes it was the last, checkpoints and deletes the write-ahead
/// log, and this process goes on committing into a deleted file: every change it answers
/// for after that is lost.
fn create_new_sqlite(path: &Path) -> anyhow::Result<()> {
    let exists = path
        .try_exists()
        .with_context(|| format!("cannot open {}", path.display()))?;
    if exists {
        return Ok(());
    }
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(file) => {
            drop(file);
            Ok(())
        }
        // Another process made it between the look and the creation.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
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
        let conn = super::open_sqlite(&ledger, super::Duration::from_secs(1)).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for file in ["", "-wal", "-shm"] {
            let path = format!("{}{file}", ledger.display());
            assert_eq!(mode(std::path::Path::new(&path)), 0o600, "{path}");
        }
    }

    #[test]
    fn connections_opening_a_new_file_at_once_all_get_it_in_wal_mode() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("state/new-{round}.sqlite"));
            let start = std::sync::Barrier::new(8);
            std::thread::scope(|scope| {
                let opened: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            super::open_sqlite(&path, super::Duration::from_secs(5))
                        })
                    })
                    .collect();
                for opened in opened {
                    let conn = opened.join().unwrap().expect("every connection opens it");
                    let mode: String = conn
                        .pragma_query_value(None, "journal_mode", |r| r.get(0))
                        .unwrap();
                    assert_eq!(mode, "wal");
                }
            });
        }
    }
}
