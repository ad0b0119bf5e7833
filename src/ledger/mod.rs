//! The dispatch ledger: one SQLite row per (volume, recipient) that says what happened to
//! that recipient's message, durable across crashes. WAL mode, `synchronous = FULL`, a file
//! created 0600 because it holds addresses.
//!
//! States: `pending` → `in_flight` (committed before the body is sent) → `sent` | `deferred`
//! (a 4xx: tried again later) | `failed` (a 5xx: never again) | `ambiguous` (the connection
//! died after the body was sent and before the reply: never resent automatically).

mod writer;

use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, params};

pub use writer::{Outcome, Writer, WriterHandle};

/// The ledger's place in a project (git-ignored, with the other state).
pub const LEDGER_FILE: &str = "state/ledger.sqlite";

/// Where a recipient's message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Not tried yet.
    Pending,
    /// The body may be on its way: marked before sending, so a crash leaves it here.
    InFlight,
    /// The server took it (250 after the final dot).
    Sent,
    /// A transient failure (4xx or a failure before the body); tried again after a delay.
    Deferred,
    /// A permanent failure (5xx); never tried again without `--retry-failed`.
    Failed,
    /// The body was sent but no reply came: it may or may not have been delivered.
    Ambiguous,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 6] = [
        State::Pending,
        State::InFlight,
        State::Sent,
        State::Deferred,
        State::Failed,
        State::Ambiguous,
    ];

    /// The name stored in the ledger and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InFlight => "in_flight",
            State::Sent => "sent",
            State::Deferred => "deferred",
            State::Failed => "failed",
            State::Ambiguous => "ambiguous",
        }
    }

    fn parse(text: &str) -> rusqlite::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("unknown state {text}")))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dispatches (
    volume INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    segments TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL REFERENCES dispatches(volume),
    address TEXT NOT NULL,
    name TEXT,
    variant TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_reply TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (volume, address)
);
CREATE INDEX IF NOT EXISTS recipients_by_state ON recipients (volume, state, id);
CREATE TABLE IF NOT EXISTS attempts (
    recipient INTEGER NOT NULL REFERENCES recipients(id),
    at INTEGER NOT NULL,
    state TEXT NOT NULL,
    reply TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_recipient ON attempts (recipient);
";

/// One recipient as frozen when a dispatch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The normalised address.
    pub address: String,
    /// The display name, if any.
    pub name: Option<String>,
    /// Which content variant the recipient gets.
    pub variant: String,
    /// The Message-ID, fixed for this (volume, recipient).
    pub message_id: String,
}

/// A recipient's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row's id, also the sending order.
    pub id: i64,
    /// The frozen recipient.
    pub entry: Entry,
    /// Where it stands.
    pub state: State,
    /// How many transactions were tried.
    pub attempts: u32,
    /// When a deferred message may be tried again (unix milliseconds).
    pub next_attempt_at: Option<i64>,
    /// The server's last reply, or what went wrong.
    pub last_reply: Option<String>,
}

/// The frozen facts of a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// Hash of the volume, layout and settings that produced the messages.
    pub content_hash: String,
    /// The segments it was started for.
    pub segments: String,
    /// When it started (unix milliseconds).
    pub started_at: i64,
    /// When every recipient reached a final state, if that happened.
    pub finished_at: Option<i64>,
}

/// One entry of a recipient's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When (unix milliseconds).
    pub at: i64,
    /// The state it led to.
    pub state: State,
    /// The reply or error.
    pub reply: Option<String>,
}

/// An open ledger file.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
}

impl Ledger {
    /// Opens (creating it 0600 if needed) the ledger at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            crate::private::create_dir(dir)?;
        }
        crate::private::touch(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot set up the ledger {}", path.display()))?;
        Ok(Self { conn })
    }

    /// The dispatch of `volume`, if one was started.
    pub fn dispatch(&self, volume: u32) -> anyhow::Result<Option<Dispatch>> {
        let row = self
            .conn
            .query_row(
                "SELECT content_hash, segments, started_at, finished_at FROM dispatches WHERE volume = ?1",
                [volume],
                |r| {
                    Ok(Dispatch {
                        content_hash: r.get(0)?,
                        segments: r.get(1)?,
                        started_at: r.get(2)?,
                        finished_at: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Freezes a dispatch: its content hash and every recipient, all `pending`, in one
    /// transaction (all or nothing).
    pub fn start(
        &mut self,
        volume: u32,
        dispatch: &Dispatch,
        entries: impl IntoIterator<Item = Entry>,
    ) -> anyhow::Result<u64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO dispatches (volume, content_hash, segments, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![volume, dispatch.content_hash, dispatch.segments, dispatch.started_at],
        )
        .context("this volume's dispatch was already started")?;
        let mut count = 0;
        {
            let mut insert = tx.prepare(
                "INSERT INTO recipients (volume, address, name, variant, message_id, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
            )?;
            for e in entries {
                insert.execute(params![
                    volume,
                    e.address,
                    e.name,
                    e.variant,
                    e.message_id,
                    dispatch.started_at
                ])?;
                count += 1;
            }
        }
        tx.commit()?;
        Ok(count)
    }

    /// After a crash, rows left `in_flight` may have been delivered: they become `ambiguous`.
    /// Returns how many.
    pub fn settle_interrupted(&mut self, volume: u32, now: i64) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO attempts (recipient, at, state, reply)
             SELECT id, ?2, 'ambiguous', 'interrupted while in flight' FROM recipients
             WHERE volume = ?1 AND state = 'in_flight'",
            params![volume, now],
        )?;
        let n = tx.execute(
            "UPDATE recipients SET state = 'ambiguous', last_reply = 'interrupted while in flight',
             updated_at = ?2 WHERE volume = ?1 AND state = 'in_flight'",
            params![volume, now],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Puts rows in `from` back to `pending` (for `--retry-failed` / `--resend-ambiguous`).
    pub fn requeue(&mut self, volume: u32, from: State, now: i64) -> anyhow::Result<usize> {
        let n = self.conn.execute(
            "UPDATE recipients SET state = 'pending', next_attempt_at = NULL, updated_at = ?3
             WHERE volume = ?1 AND state = ?2",
            params![volume, from.as_str(), now],
        )?;
        Ok(n)
    }

    /// Up to `limit` rows in `states` with id above `after`, in sending order: a page of
    /// work, so that memory stays flat however long the list.
    pub fn page(
        &self,
        volume: u32,
        states: &[State],
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Row>> {
        let wanted: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, address, name, variant, message_id, state, attempts, next_attempt_at, last_reply
             FROM recipients WHERE volume = ?1 AND id > ?2
             AND state IN (SELECT value FROM json_each(?3)) ORDER BY id LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(
                params![volume, after, serde_json::to_string(&wanted)?, limit],
                read_row,
            )?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Counts by state.
    pub fn counts(&self, volume: u32) -> anyhow::Result<Vec<(State, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, count(*) FROM recipients WHERE volume = ?1 GROUP BY state",
        )?;
        let mut counts: Vec<(State, i64)> = stmt
            .query_map([volume], |r| {
                Ok((State::parse(&r.get::<_, String>(0)?)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        counts.sort();
        Ok(counts)
    }

    /// The distinct content variants of a dispatch's recipients.
    pub fn variants(&self, volume: u32) -> anyhow::Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT variant FROM recipients WHERE volume = ?1 ORDER BY variant",
        )?;
        let variants = stmt
            .query_map([volume], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(variants)
    }

    /// Rows in `state` (for reports: failures, the ambiguous list).
    pub fn in_state(&self, volume: u32, state: State) -> anyhow::Result<Vec<Row>> {
        self.page(volume, &[state], 0, i64::MAX)
    }

    /// One address's row and its attempts.
    pub fn history(
        &self,
        volume: u32,
        address: &str,
    ) -> anyhow::Result<Option<(Row, Vec<Attempt>)>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, address, name, variant, message_id, state, attempts, next_attempt_at, last_reply
                 FROM recipients WHERE volume = ?1 AND address = ?2 COLLATE NOCASE",
                params![volume, address],
                read_row,
            )
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, reply FROM attempts WHERE recipient = ?1 ORDER BY rowid",
        )?;
        let attempts = stmt
            .query_map([row.id], |r| {
                Ok(Attempt {
                    at: r.get(0)?,
                    state: State::parse(&r.get::<_, String>(1)?)?,
                    reply: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some((row, attempts)))
    }

    /// Records that every recipient reached a final state.
    pub fn finish(&mut self, volume: u32, now: i64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE dispatches SET finished_at = ?2 WHERE volume = ?1",
            params![volume, now],
        )?;
        Ok(())
    }
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        entry: Entry {
            address: r.get(1)?,
            name: r.get(2)?,
            variant: r.get(3)?,
            message_id: r.get(4)?,
        },
        state: State::parse(&r.get::<_, String>(5)?)?,
        attempts: r.get(6)?,
        next_attempt_at: r.get(7)?,
        last_reply: r.get(8)?,
    })
}

#[cfg(test)]
mod tests;
