//! The mails `serve` sends a reader once (the welcome after a confirmation, the reminder of a
//! pending sign-up): each claimed in the store before it is sent, in the transaction that
//! made it due, so that no restart or second process sends it twice.

use rusqlite::params;

use super::read::signup_row;
use super::{Pending, Store, Tx};
use crate::audience::Address;
use crate::clock::Timestamp;

impl Tx<'_> {
    /// Claims the mail `kind` for `address`: true the first time, false ever after.
    pub fn claim_mail(
        &mut self,
        address: &Address,
        kind: &str,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let added = self
            .conn()
            .prepare_cached("INSERT OR IGNORE INTO mails (key, kind, at) VALUES (?1, ?2, ?3)")?
            .execute(params![&*address.key(), kind, now.0])?;
        Ok(added == 1)
    }
}

impl Store {
    /// The sign-ups whose confirmation went out at or before `before`, still pending, and
    /// not yet claimed for a `kind` mail: (id, request).
    pub fn pending_since(
        &self,
        before: Timestamp,
        kind: &str,
    ) -> anyhow::Result<Vec<(String, Pending)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, address, name, topics, segment, requested_at FROM signups
             WHERE mailed_at IS NOT NULL AND requested_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM mails WHERE mails.key = signups.key AND mails.kind = ?2)
             ORDER BY requested_at",
        )?;
        let rows = stmt.query_map(params![before.0, kind], |r| {
            Ok((r.get(0)?, signup_row(r, 1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
