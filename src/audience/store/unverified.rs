//! Reports tied to no message we sent (a forged bounce, a complaint from an unknown feedback
//! loop, a mail to the unsubscribe address without its token): kept once each, with the
//! address they name as written, to be counted and shown; they change no reader.

use rusqlite::{OptionalExtension as _, params};

use super::{Store, Tx};
use crate::clock::Timestamp;

/// One unverified report's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified<'a> {
    /// The report's Message-ID (or hash).
    pub reference: &'a str,
    /// The address it names, as written; empty when it names none.
    pub named: &'a str,
    /// What it is (`bounce`, `complaint`, `unsubscribe`).
    pub kind: &'a str,
    /// Why it is not acted on.
    pub doubt: &'a str,
}

impl Tx<'_> {
    /// Keeps `report` (once: importing it again changes nothing); true when it is new.
    pub fn keep_unverified(
        &mut self,
        report: &Unverified<'_>,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let added = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO unverified (reference, named, kind, doubt, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                report.reference,
                report.named,
                report.kind,
                report.doubt,
                now.0
            ])?;
        Ok(added == 1)
    }
}

impl Store {
    /// How many unverified findings were kept at or after `since`; 0 in a store written
    /// before they were kept (opened read-only, it has no such table).
    pub fn unverified_since(&self, since: Timestamp) -> anyhow::Result<u64> {
        let table: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'unverified'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if table.is_none() {
            return Ok(0);
        }
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM unverified WHERE at >= ?1",
            [since.0],
            |r| r.get(0),
        )?;
        Ok(count.unsigned_abs())
    }
}
