//! Who a returned message was sent to: the ledger's rows looked up by address, volume or
//! Message-ID, for mapping reports to the readers they concern. Addresses come back typed;
//! a row whose address no longer parses (written by an older, laxer version) is skipped.

use rusqlite::OptionalExtension as _;

use super::Ledger;
use crate::audience::Address;

/// The recipient and volume of a Message-ID, found through its index, when its message left
/// (or may have: ambiguous). A row still pending or deferred, or refused, or suppressed,
/// sent nothing a report could return.
pub(super) const SENT_AS: &str = "SELECT address, volume FROM recipients
     WHERE message_id = ?1 AND state IN ('sent', 'ambiguous')";

impl Ledger {
    /// Calls `visit` with every address any dispatch has frozen, once each, holding one at
    /// a time (a ledger holds every volume ever sent).
    pub(crate) fn each_address(&self, visit: impl FnMut(Address)) -> anyhow::Result<()> {
        self.each_distinct("SELECT DISTINCT address FROM recipients", visit)
    }

    /// Calls `visit` with every address a message of ours may have reached (sent, ambiguous
    /// or in flight: its unsubscribe token is in their mailbox), once each, holding one at
    /// a time.
    pub(crate) fn each_reached(&self, visit: impl FnMut(Address)) -> anyhow::Result<()> {
        self.each_distinct(
            "SELECT DISTINCT address FROM recipients
             WHERE state IN ('sent', 'ambiguous', 'in_flight')",
            visit,
        )
    }

    fn each_distinct(&self, query: &str, mut visit: impl FnMut(Address)) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare_cached(query)?;
        each_parsed(stmt.query_map([], |r| r.get::<_, String>(0))?, &mut visit)
    }

    /// The addresses the dispatches of `volume` froze.
    pub(crate) fn addresses_of(&self, volume: u32) -> anyhow::Result<Vec<Address>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address FROM recipients WHERE volume = ?1")?;
        let rows = stmt.query_map([volume], |r| r.get::<_, String>(0))?;
        parsed(rows)
    }

    /// Whether a message of `volume` went (or may have gone: ambiguous) to `address`.
    pub(crate) fn received(&self, volume: u32, address: &str) -> anyhow::Result<bool> {
        let found = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM recipients WHERE volume = ?1 AND address = ?2
                 AND state IN ('sent', 'ambiguous')",
            )?
            .exists(rusqlite::params![volume, address])?;
        Ok(found)
    }

    /// The recipient and volume of the message whose Message-ID is `id` (with its angle
    /// brackets), if we sent it (its row is `sent` or `ambiguous`).
    pub(crate) fn sent_as(&self, id: &str) -> anyhow::Result<Option<(Address, u32)>> {
        let row: Option<(String, u32)> = self
            .conn
            .prepare_cached(SENT_AS)?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.and_then(|(a, v)| Address::parse(&a).ok().map(|a| (a, v))))
    }
}

fn parsed(rows: impl Iterator<Item = rusqlite::Result<String>>) -> anyhow::Result<Vec<Address>> {
    let mut addresses = Vec::new();
    each_parsed(rows, &mut |address| addresses.push(address))?;
    Ok(addresses)
}

/// Calls `visit` with the address of each row that still parses.
fn each_parsed(
    rows: impl Iterator<Item = rusqlite::Result<String>>,
    visit: &mut impl FnMut(Address),
) -> anyhow::Result<()> {
    for row in rows {
        if let Ok(address) = Address::parse(&row?) {
            visit(address);
        }
    }
    Ok(())
}
