//! The dispatch ledger: one SQLite row per (volume, recipient) that says what happened to
//! that recipient's message, durable across crashes. WAL mode, `synchronous = FULL`, a file
//! created 0600 because it holds addresses. A volume may be dispatched several times (to a
//! pilot segment, then to everyone); each dispatch freezes its own recipients, and the
//! `(volume, address)` key means nobody is ever in two of them.
//!
//! States: `pending` → `in_flight` (committed before the body is sent) → `sent` | `deferred`
//! (a 4xx: tried again later) | `failed` (a 5xx: never again) | `ambiguous` (the connection
//! died after the body was sent and before the reply: never resent automatically) |
//! `suppressed` (on the suppression list when its turn came: never sent).
//!
//! What a relay reports later about a message it accepted (a bounce, a complaint, an
//! unsubscribe mail) is kept beside its row, in `returns` (see [`Return`]): the row's state
//! stays what the SMTP transaction said.

mod lookup;
mod returns;
mod schema;
mod writer;

use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::audience::Address;
use crate::transport::Reply;
pub(crate) use returns::{Return, Returned};
pub(crate) use writer::{Marked, Outcome, Writer, WriterHandle};

/// The ledger's place in a project (git-ignored, with the other state).
pub(crate) const LEDGER_FILE: &str = "state/ledger.sqlite";

/// How long a writer waits for another process's write lock before giving up.
const BUSY: std::time::Duration = std::time::Duration::from_secs(5);

/// Where a recipient's message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum State {
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
    /// The address was on the suppression list when its message's turn came: not sent.
    Suppressed,
}

impl State {
    /// Every state, in lifecycle order.
    pub(crate) const ALL: [State; 7] = [
        State::Pending,
        State::InFlight,
        State::Sent,
        State::Deferred,
        State::Failed,
        State::Ambiguous,
        State::Suppressed,
    ];

    /// The states in which a message still waits for a try.
    pub(crate) const OPEN: [State; 3] = [State::Pending, State::InFlight, State::Deferred];

    /// The name stored in the ledger and shown to users.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::InFlight => "in_flight",
            State::Sent => "sent",
            State::Deferred => "deferred",
            State::Failed => "failed",
            State::Ambiguous => "ambiguous",
            State::Suppressed => "suppressed",
        }
    }

    fn parse(text: &str) -> rusqlite::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("unknown state {text}")))
    }
}

/// One recipient as frozen when a dispatch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The normalised address (parsed again from the file when a row is read).
    pub address: Address,
    /// The display name, if any.
    pub name: Option<String>,
    /// The salutation's name (`Hi Ana,`), if the reader has one.
    pub greeting: Option<String>,
    /// Which content variant the recipient gets.
    pub variant: String,
    /// The Message-ID, fixed for this (volume, recipient).
    pub message_id: String,
}

/// A recipient's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The row's id, also the sending order.
    pub id: i64,
    /// The dispatch it belongs to.
    pub dispatch: i64,
    /// The frozen recipient.
    pub entry: Entry,
    /// Where it stands.
    pub state: State,
    /// How many transactions were tried.
    pub attempts: u32,
    /// When a deferred message may be tried again (unix milliseconds).
    pub next_attempt_at: Option<i64>,
    /// The last reply, or what happened instead.
    pub reply: Option<Reply>,
    /// When the row last changed (unix milliseconds).
    pub updated_at: i64,
}

/// The frozen facts of one dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dispatch {
    /// Its number in the ledger (the first dispatch of a volume is not always 1).
    pub id: i64,
    /// The volume.
    pub volume: u32,
    /// Hash of the volume and layout that produced the messages.
    pub content_hash: String,
    /// The segments it was started for.
    pub segments: Vec<String>,
    /// The settings that shape its messages, as frozen (JSON).
    pub settings: String,
    /// When it started (unix milliseconds).
    pub started_at: i64,
    /// When every recipient reached a final state, if that happened.
    pub finished_at: Option<i64>,
}

/// One entry of a recipient's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// When (unix milliseconds).
    pub at: i64,
    /// The state it led to.
    pub state: State,
    /// The reply, or what happened instead.
    pub reply: Option<Reply>,
}

/// An open ledger file.
#[derive(Debug)]
pub(crate) struct Ledger {
    conn: Connection,
    /// Its schema version: an older ledger opened read-only lacks the newer tables.
    version: i64,
}

/// A read transaction on a [`Ledger`], from [`Ledger::snapshot`] until it is dropped.
#[derive(Debug)]
pub(crate) struct Snapshot<'a> {
    _read: rusqlite::Transaction<'a>,
}

const ROW: &str = "SELECT id, dispatch, address, name, greeting, variant, message_id, state,
    attempts, next_attempt_at, reply_code, reply_status, reply_text, updated_at FROM recipients";

impl Ledger {
    /// Opens (creating it 0600 if needed) the ledger at `path`.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = crate::private::open_sqlite(path, BUSY).context("cannot open the ledger")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::set_up(&mut conn)
            .with_context(|| format!("cannot set up the ledger {}", path.display()))?;
        Ok(Self {
            conn,
            version: schema::VERSION,
        })
    }

    /// Opens the ledger at `path` for reading only, if it exists and holds anything (a
    /// file without a table, as one whose write-ahead log is lost may be, holds nothing):
    /// works on a read-only `state/` and never changes the file.
    pub(crate) fn open_read_only(path: &Path) -> anyhow::Result<Option<Self>> {
        let Some(conn) = crate::private::open_sqlite_read_only(path, "the ledger")? else {
            return Ok(None);
        };
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if version == 0 && tables == 0 {
            return Ok(None);
        }
        anyhow::ensure!(
            version <= schema::VERSION,
            "the ledger {} was written by a newer broadsheet (schema {version}); upgrade broadsheet",
            path.display()
        );
        anyhow::ensure!(
            version >= schema::READABLE,
            "the ledger {} needs upgrading: run `broadsheet dispatch` once with write access",
            path.display()
        );
        Ok(Some(Self { conn, version }))
    }

    /// Every dispatch of `volume`, oldest first.
    pub(crate) fn dispatches(&self, volume: u32) -> anyhow::Result<Vec<Dispatch>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, volume, content_hash, segments, settings, started_at, finished_at
             FROM dispatches WHERE volume = ?1 ORDER BY id",
        )?;
        let found = stmt
            .query_map([volume], read_dispatch)?
            .collect::<Result<_, _>>()?;
        Ok(found)
    }

    /// Freezes a dispatch of `volume`: its facts and every recipient, all `pending`, in one
    /// transaction (all or nothing). Returns the dispatch's id and how many were frozen.
    pub(crate) fn start(
        &mut self,
        dispatch: &Dispatch,
        entries: impl IntoIterator<Item = anyhow::Result<Entry>>,
    ) -> anyhow::Result<(i64, u64)> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO dispatches (volume, content_hash, segments, settings, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                dispatch.volume,
                dispatch.content_hash,
                dispatch.segments.join(","),
                dispatch.settings,
                dispatch.started_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut count = 0;
        {
            let mut insert = tx.prepare(
                "INSERT INTO recipients (dispatch, volume, address, name, greeting, variant,
                 message_id, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)",
            )?;
            for e in entries {
                let e = e?;
                insert
                    .execute(params![
                        id,
                        dispatch.volume,
                        e.address.as_str(),
                        e.name,
                        e.greeting,
                        e.variant,
                        e.message_id,
                        dispatch.started_at
                    ])
                    .context("a recipient is already in another dispatch of this volume")?;
                count += 1;
            }
        }
        tx.commit()?;
        Ok((id, count))
    }

    /// After a crash, rows left `in_flight` may have been delivered: they become `ambiguous`.
    /// Returns how many.
    pub(crate) fn settle_interrupted(&mut self, dispatch: i64, now: i64) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO attempts (recipient, at, state, reply_text)
             SELECT id, ?2, 'ambiguous', 'interrupted while in flight' FROM recipients
             WHERE dispatch = ?1 AND state = 'in_flight'",
            params![dispatch, now],
        )?;
        let n = tx.execute(
            "UPDATE recipients SET state = 'ambiguous', reply_code = NULL, reply_status = NULL,
             reply_text = 'interrupted while in flight', updated_at = ?2
             WHERE dispatch = ?1 AND state = 'in_flight'",
            params![dispatch, now],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Puts rows in `from` back to `pending` (deferred ones each run; `--retry-failed`,
    /// `--resend-ambiguous`), and the dispatch back to unfinished when there were any. With
    /// `since`, only rows that reached `from` at or after it (the failures of a run stopped
    /// because the relay, not the recipients, refused).
    pub(crate) fn requeue(
        &mut self,
        dispatch: i64,
        from: State,
        since: Option<i64>,
        now: i64,
    ) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE recipients SET state = 'pending', next_attempt_at = NULL, updated_at = ?4
             WHERE dispatch = ?1 AND state = ?2 AND updated_at >= ?3",
            params![dispatch, from.as_str(), since.unwrap_or(i64::MIN), now],
        )?;
        // A finished dispatch with work again is unfinished, so that it is resumed.
        if n > 0 {
            tx.execute(
                "UPDATE dispatches SET finished_at = NULL WHERE id = ?1",
                [dispatch],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Up to `limit` rows in `states` with id above `after`, in sending order: a page of
    /// work, so that memory stays flat however long the list.
    pub(crate) fn page(
        &self,
        dispatch: i64,
        states: &[State],
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Row>> {
        let mut rows = Vec::new();
        self.each_row(dispatch, states, after, limit, |row| rows.push(row))?;
        Ok(rows)
    }

    /// Rows in `state` (for reports: the ambiguous list; a run: what to retry).
    pub(crate) fn in_state(&self, dispatch: i64, state: State) -> anyhow::Result<Vec<Row>> {
        self.page(dispatch, &[state], 0, i64::MAX)
    }

    /// Calls `visit` with each row in `state`, in sending order, holding one at a time: a
    /// report reads every failure of a dispatch however many there are.
    pub(crate) fn each_in_state(
        &self,
        dispatch: i64,
        state: State,
        visit: impl FnMut(Row),
    ) -> anyhow::Result<()> {
        self.each_row(dispatch, &[state], 0, i64::MAX, visit)
    }

    fn each_row(
        &self,
        dispatch: i64,
        states: &[State],
        after: i64,
        limit: i64,
        mut visit: impl FnMut(Row),
    ) -> anyhow::Result<()> {
        let wanted: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ROW} WHERE dispatch = ?1 AND id > ?2
             AND state IN (SELECT value FROM json_each(?3)) ORDER BY id LIMIT ?4"
        ))?;
        let rows = stmt.query_and_then(
            params![dispatch, after, serde_json::to_string(&wanted)?, limit],
            read_row,
        )?;
        for row in rows {
            visit(row?);
        }
        Ok(())
    }

    /// How many of a dispatch's messages the relay accepted in each hour (unix hours, in
    /// order), counted by SQLite: a report of a million messages holds none of their rows.
    pub(crate) fn sent_per_hour(&self, dispatch: i64) -> anyhow::Result<Vec<(i64, u64)>> {
        // Floor division, as `div_euclid`, whatever the sign of the timestamp.
        let mut stmt = self.conn.prepare_cached(
            "SELECT (updated_at - ((updated_at % 3600000) + 3600000) % 3600000) / 3600000 AS hour,
                    count(*)
             FROM recipients WHERE dispatch = ?1 AND state = 'sent' GROUP BY hour ORDER BY hour",
        )?;
        let hours = stmt
            .query_map([dispatch], |r| {
                let n: i64 = r.get(1)?;
                Ok((r.get(0)?, n.unsigned_abs()))
            })?
            .collect::<Result<_, _>>()?;
        Ok(hours)
    }

    /// Counts by state of one dispatch.
    pub(crate) fn counts(&self, dispatch: i64) -> anyhow::Result<Vec<(State, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, count(*) FROM recipients WHERE dispatch = ?1 GROUP BY state",
        )?;
        let mut counts: Vec<(State, u64)> = stmt
            .query_map([dispatch], |r| {
                let n: i64 = r.get(1)?;
                Ok((State::parse(&r.get::<_, String>(0)?)?, n.unsigned_abs()))
            })?
            .collect::<Result<_, _>>()?;
        counts.sort();
        Ok(counts)
    }

    /// How many of a dispatch's rows are in one of `states`.
    pub(crate) fn count(&self, dispatch: i64, states: &[State]) -> anyhow::Result<u64> {
        let counts = self.counts(dispatch)?;
        Ok(counts
            .iter()
            .filter(|(s, _)| states.contains(s))
            .map(|(_, n)| n)
            .sum())
    }

    /// The distinct content variants of a dispatch's recipients.
    pub(crate) fn variants(&self, dispatch: i64) -> anyhow::Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT variant FROM recipients WHERE dispatch = ?1 ORDER BY variant",
        )?;
        let variants = stmt
            .query_map([dispatch], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(variants)
    }

    /// Starts a read transaction that lasts as long as the returned guard: the queries made
    /// meanwhile see one state of the ledger and share its locks. Without one, every query
    /// takes and releases the locks itself (three system calls), which a lookup per reader
    /// turns into most of an audit's time.
    pub(crate) fn snapshot(&self) -> anyhow::Result<Snapshot<'_>> {
        let read = self
            .conn
            .unchecked_transaction()
            .context("cannot start reading the ledger")?;
        Ok(Snapshot { _read: read })
    }

    /// The dispatch that holds `address` for `volume` and the state of its message, if any
    /// dispatch of the volume froze it.
    pub(crate) fn holder(
        &self,
        volume: u32,
        address: &str,
    ) -> anyhow::Result<Option<(i64, State)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT dispatch, state FROM recipients WHERE volume = ?1 AND address = ?2",
        )?;
        let found = stmt
            .query_row(params![volume, address], |r| {
                Ok((r.get(0)?, State::parse(&r.get::<_, String>(1)?)?))
            })
            .optional()?;
        Ok(found)
    }

    /// One address's row for `volume` and its attempts.
    pub(crate) fn history(
        &self,
        volume: u32,
        address: &str,
    ) -> anyhow::Result<Option<(Row, Vec<Attempt>)>> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "{ROW} WHERE volume = ?1 AND address = ?2 COLLATE NOCASE"
            ))?
            .query_and_then(params![volume, address], read_row)?
            .next()
            .transpose()?;
        let Some(row) = row else { return Ok(None) };
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, reply_code, reply_status, reply_text FROM attempts
             WHERE recipient = ?1 ORDER BY rowid",
        )?;
        let attempts = stmt
            .query_map([row.id], |r| {
                Ok(Attempt {
                    at: r.get(0)?,
                    state: State::parse(&r.get::<_, String>(1)?)?,
                    reply: schema::reply(r.get(2)?, r.get(3)?, r.get(4)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some((row, attempts)))
    }

    /// Records that every recipient of the dispatch reached a final state.
    pub(crate) fn finish(&mut self, dispatch: i64, now: i64) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE dispatches SET finished_at = ?2 WHERE id = ?1",
            params![dispatch, now],
        )?;
        Ok(())
    }

    /// The number of `volume`'s last heartbeat (see `dispatch::marker`), 0 before any.
    pub(crate) fn heartbeat(&self, volume: u32) -> anyhow::Result<u64> {
        let seq = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [heartbeat_key(volume)],
                |r| r.get::<_, i64>(0),
            )
            .optional()?;
        Ok(seq.map_or(0, i64::unsigned_abs))
    }

    /// Copies the write-ahead log into the database file, so that the file alone holds
    /// everything recorded so far. With `wait`, waits for readers and empties the log (the
    /// end of a run); without, copies what it can at once (during a run).
    pub(crate) fn checkpoint(&self, wait: bool) -> anyhow::Result<()> {
        let mode = if wait { "TRUNCATE" } else { "PASSIVE" };
        self.conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
            .context("cannot checkpoint the ledger")
    }
}

/// The `meta` key of a volume's heartbeat.
fn heartbeat_key(volume: u32) -> String {
    format!("heartbeat:{volume}")
}

fn read_dispatch(r: &rusqlite::Row<'_>) -> rusqlite::Result<Dispatch> {
    let segments: String = r.get(3)?;
    Ok(Dispatch {
        id: r.get(0)?,
        volume: r.get(1)?,
        content_hash: r.get(2)?,
        segments: segments.split(',').map(str::to_owned).collect(),
        settings: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
    })
}

fn read_row(r: &rusqlite::Row<'_>) -> anyhow::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        dispatch: r.get(1)?,
        entry: Entry {
            address: stored_address(r, 2)?,
            name: r.get(3)?,
            greeting: r.get(4)?,
            variant: r.get(5)?,
            message_id: r.get(6)?,
        },
        state: State::parse(&r.get::<_, String>(7)?)?,
        attempts: r.get(8)?,
        next_attempt_at: r.get(9)?,
        reply: schema::reply(r.get(10)?, r.get(11)?, r.get(12)?),
        updated_at: r.get(13)?,
    })
}

/// The address in column `i` of `r`, typed; one that no longer parses (written by hand,
/// or by an older and laxer broadsheet) is an error that names the ledger.
pub(super) fn stored_address(r: &rusqlite::Row<'_>, i: usize) -> anyhow::Result<Address> {
    let text: String = r.get(i)?;
    Address::parse(&text)
        .map_err(|why| anyhow::anyhow!("the address `{text}` in {LEDGER_FILE} {why}"))
}

#[cfg(test)]
mod tests;
