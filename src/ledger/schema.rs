//! The ledger's tables, and the one-time migration of a ledger written by an earlier
//! version (one dispatch per volume, replies kept as flat strings) into them. The schema's
//! version is SQLite's `user_version`; version 3 added `returns` (what relays reported
//! after accepting a message), created empty on a version-2 ledger; version 4 added each
//! return's `reason` and `class`, left empty on the rows a version-3 ledger already held
//! (they are read from the row's status and words then); version 5 added the index that
//! finds the message a report names by its Message-ID, which was a scan of every row.

use anyhow::Context as _;
use rusqlite::{Connection, Transaction, params};

use crate::transport::Reply;

/// The schema version this code writes.
pub(super) const VERSION: i64 = 5;

/// The oldest version a read-only open can read: version 2 lacks only `returns`.
pub(super) const READABLE: i64 = 2;

/// The version that added `returns`.
pub(super) const RETURNS: i64 = 3;

/// The version that added `returns.reason` and `returns.class`.
pub(super) const CLASSES: i64 = 4;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS dispatches (
    id INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    segments TEXT NOT NULL,
    settings TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS dispatches_by_volume ON dispatches (volume, id);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    dispatch INTEGER NOT NULL REFERENCES dispatches(id),
    volume INTEGER NOT NULL,
    address TEXT NOT NULL,
    name TEXT,
    greeting TEXT,
    variant TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    reply_code INTEGER,
    reply_status TEXT,
    reply_text TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (volume, address)
);
CREATE INDEX IF NOT EXISTS recipients_by_state ON recipients (dispatch, state, id);
CREATE INDEX IF NOT EXISTS recipients_by_message_id ON recipients (message_id);
CREATE TABLE IF NOT EXISTS attempts (
    recipient INTEGER NOT NULL REFERENCES recipients(id),
    at INTEGER NOT NULL,
    state TEXT NOT NULL,
    reply_code INTEGER,
    reply_status TEXT,
    reply_text TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_recipient ON attempts (recipient);
CREATE TABLE IF NOT EXISTS returns (
    recipient INTEGER NOT NULL REFERENCES recipients(id),
    report TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    permanent INTEGER NOT NULL,
    diagnostic TEXT,
    at INTEGER NOT NULL,
    reason TEXT,
    class TEXT,
    UNIQUE (recipient, report)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// Creates the tables, or brings an older ledger up to date, in one transaction.
pub(super) fn set_up(conn: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == VERSION {
        return Ok(());
    }
    anyhow::ensure!(
        version < VERSION,
        "the ledger was written by a newer broadsheet (schema {version}); upgrade broadsheet"
    );
    let tx = conn.transaction()?;
    let legacy = version == 0 && has_legacy_tables(&tx)?;
    if legacy {
        tx.execute_batch(
            "ALTER TABLE dispatches RENAME TO dispatches_v1;
             ALTER TABLE recipients RENAME TO recipients_v1;
             ALTER TABLE attempts RENAME TO attempts_v1;
             DROP INDEX IF EXISTS recipients_by_state;
             DROP INDEX IF EXISTS attempts_by_recipient;",
        )?;
    }
    if version == RETURNS {
        tx.execute_batch(
            "ALTER TABLE returns ADD COLUMN reason TEXT;
             ALTER TABLE returns ADD COLUMN class TEXT;",
        )?;
        classify_returns(&tx).context("cannot classify the ledger's earlier returns")?;
    }
    tx.execute_batch(TABLES)?;
    if legacy {
        migrate_v1(&tx).context("cannot migrate the ledger from its earlier format")?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

fn has_legacy_tables(tx: &Transaction<'_>) -> anyhow::Result<bool> {
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'dispatches'",
        [],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Gives the returns a version-3 ledger holds their reason and class, read from their
/// kind, status, words and permanence (see [`super::Return`]).
fn classify_returns(tx: &Transaction<'_>) -> anyhow::Result<()> {
    let mut read = tx.prepare("SELECT rowid, kind, status, diagnostic, permanent FROM returns")?;
    let mut write = tx.prepare("UPDATE returns SET reason = ?2, class = ?3 WHERE rowid = ?1")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let kind = super::Returned::parse(&r.get::<_, String>(1)?)?;
        let status: Option<String> = r.get(2)?;
        let diagnostic: Option<String> = r.get(3)?;
        let (reason, class) =
            super::Return::derived(kind, status.as_deref(), diagnostic.as_deref(), r.get(4)?);
        write.execute(params![
            r.get::<_, i64>(0)?,
            reason.as_str(),
            class.as_str()
        ])?;
    }
    Ok(())
}

/// Version 1 had one dispatch per volume, keyed by the volume, and replies as strings such
/// as `550 5.1.1 no such user`: each becomes dispatch number `volume`, replies typed.
fn migrate_v1(tx: &Transaction<'_>) -> anyhow::Result<()> {
    tx.execute_batch(
        "INSERT INTO dispatches (id, volume, content_hash, segments, settings, started_at, finished_at)
         SELECT volume, volume, content_hash, segments, '{}', started_at, finished_at FROM dispatches_v1;",
    )?;
    {
        let mut read = tx.prepare(
            "SELECT id, volume, address, name, variant, message_id, state, attempts,
             next_attempt_at, last_reply, updated_at FROM recipients_v1",
        )?;
        let mut write = tx.prepare(
            "INSERT INTO recipients (id, dispatch, volume, address, name, variant, message_id,
             state, attempts, next_attempt_at, reply_code, reply_status, reply_text, updated_at)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let reply = recorded(r.get(9)?);
            let (code, status, text) = columns(reply.as_ref());
            write.execute(params![
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<i64>>(8)?,
                code,
                status,
                text,
                r.get::<_, i64>(10)?,
            ])?;
        }
    }
    {
        let mut read = tx.prepare("SELECT recipient, at, state, reply FROM attempts_v1")?;
        let mut write = tx.prepare(
            "INSERT INTO attempts (recipient, at, state, reply_code, reply_status, reply_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let reply = recorded(r.get(3)?);
            let (code, status, text) = columns(reply.as_ref());
            write.execute(params![
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                code,
                status,
                text
            ])?;
        }
    }
    tx.execute_batch(
        "DROP TABLE attempts_v1; DROP TABLE recipients_v1; DROP TABLE dispatches_v1;",
    )?;
    Ok(())
}

/// A reply recorded as a string by version 1: `550 5.1.1 text` had a code; anything else
/// (a timeout, a file written) had none.
fn recorded(text: Option<String>) -> Option<Reply> {
    let text = text?;
    let code = text
        .get(..3)
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse().ok())
        .filter(|_| text.as_bytes().get(3).is_none_or(|&b| b == b' '));
    Some(match code {
        Some(code) => Reply::with_code(code, text.get(4..).unwrap_or_default()),
        None => Reply::none(text),
    })
}

/// A reply as the ledger's three columns.
pub(super) fn columns(reply: Option<&Reply>) -> (Option<u16>, Option<String>, Option<&str>) {
    match reply {
        Some(r) => (
            r.code,
            r.enhanced.map(|s| s.to_string()),
            Some(r.text.as_str()),
        ),
        None => (None, None, None),
    }
}

/// The ledger's three columns as a reply (`None` when nothing was recorded).
pub(super) fn reply(
    code: Option<u16>,
    status: Option<String>,
    text: Option<String>,
) -> Option<Reply> {
    let text = text?;
    Some(Reply {
        code,
        enhanced: status.as_deref().and_then(crate::transport::Status::parse),
        text,
    })
}
