//! The audience store, `state/audience.sqlite`: the audience's durable half. Readers who
//! signed up, topic choices that override the files', suppressions, pending sign-ups, and an
//! append-only history of every change with its source, and the reports that were tied to no
//! message of ours (kept to be shown, never acted on). WAL mode, `synchronous = FULL`, a
//! file created 0600; every writer goes through [`Store::write`], an immediate transaction,
//! so concurrent processes (`serve`, `dispatch`, `suppress`) never lose each other's changes.

mod clicks;
mod migrate;
mod notices;
mod read;
mod unverified;
mod volumes;
mod write;

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{Connection, TransactionBehavior};

use crate::audience::Address;
use crate::clock::Timestamp;

pub use crate::audience::source::Source;
pub use clicks::Click;
pub use read::{Event, Reader, Snapshot, TopicChoice};
pub use unverified::Unverified;
pub use volumes::Unsubscribes;
pub use write::{Requested, SIGNUP_HOURS, Suppressed, Temporary, Tx};

/// A sign-up waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The address given.
    pub address: Address,
    /// The name given, if any.
    pub name: Option<String>,
    /// The topics chosen (none: every pick).
    pub topics: Vec<String>,
    /// The segment the reader joins once confirmed.
    pub segment: String,
    /// When the request was made.
    pub requested_at: Timestamp,
}

/// The store's place in a project (git-ignored, with the other state).
pub const STORE_FILE: &str = "state/audience.sqlite";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readers (
    key TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    name TEXT,
    segment TEXT NOT NULL,
    signed_up_at INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS topics (
    key TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    topics TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS suppressions (
    key TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT,
    at INTEGER NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS signups (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    name TEXT,
    topics TEXT NOT NULL,
    segment TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    mailed_at INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    key TEXT NOT NULL,
    address TEXT NOT NULL,
    change TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT
);
CREATE TABLE IF NOT EXISTS mails (
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (key, kind)
);
CREATE TABLE IF NOT EXISTS unverified (
    reference TEXT NOT NULL,
    named TEXT NOT NULL,
    kind TEXT NOT NULL,
    doubt TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (reference, named)
);
CREATE TABLE IF NOT EXISTS event_volumes (
    event INTEGER PRIMARY KEY REFERENCES events (id),
    volume INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS event_volumes_by_volume ON event_volumes (volume);
CREATE TABLE IF NOT EXISTS click_links (
    volume INTEGER NOT NULL,
    link INTEGER NOT NULL,
    target TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (volume, link)
);
CREATE TABLE IF NOT EXISTS clicks (
    volume INTEGER NOT NULL,
    link INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    scanner INTEGER NOT NULL,
    PRIMARY KEY (volume, link, hour)
);
CREATE INDEX IF NOT EXISTS events_by_key ON events (key, id);
CREATE INDEX IF NOT EXISTS events_by_reference ON events (reference) WHERE reference IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event history is append-only'); END;
";

fn bad_value(what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnName(format!("unknown {what} `{text}` in {STORE_FILE}"))
}

/// An open audience store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The columns suppressions are read from (see [`read::suppression_columns`]).
    columns: &'static str,
}

impl Store {
    /// Opens the store of the project in `root` for reading and writing, creating it (0600)
    /// and moving `state/suppressions.csv` into it the first time.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(STORE_FILE);
        let conn = crate::private::open_sqlite(&path, BUSY_TIMEOUT)
            .context("cannot open the audience store")?;
        let mut store = Self {
            conn,
            columns: read::SUPPRESSION_COLUMNS,
        };
        let moved = store
            .write(|tx| tx.set_up(root))
            .with_context(|| format!("cannot set up the audience store {}", path.display()))?;
        if let Some(moved) = moved {
            migrate::retire_csv(root, moved)?;
        }
        Ok(store)
    }

    /// Opens the store read-only, for commands that only look (`plan`, `status`,
    /// `recipients`); works on a read-only `state/`. `None` when there is no store yet.
    pub fn open_read_only(root: &Path) -> anyhow::Result<Option<Self>> {
        let path = root.join(STORE_FILE);
        let Some(conn) = crate::private::open_sqlite_read_only(&path, "the audience store")? else {
            return Ok(None);
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let columns = read::suppression_columns(&conn)?;
        Ok(Some(Self { conn, columns }))
    }

    /// Runs `change` in one immediate transaction (the write lock taken first, waiting up to
    /// 30 s for other writers) and commits it durably; nothing is kept if it fails.
    pub fn write<R>(
        &mut self,
        change: impl FnOnce(&mut Tx<'_>) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot start a transaction on the audience store")?;
        let mut tx = Tx::new(tx);
        let result = change(&mut tx)?;
        tx.commit().context("cannot commit to the audience store")?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests;
