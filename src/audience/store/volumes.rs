//! Changes tied to the volume whose link brought them: an unsubscribe through a volume's
//! one-click header, page, preferences page or `mailto:` address records the volume beside
//! its event (table `event_volumes`), so that `report` can say what each issue cost.

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use super::{Source, Store, Tx, bad_value};
use crate::audience::Reason;

/// Unsubscribes that came through one volume's links, by channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Unsubscribes {
    /// RFC 8058 one-click POSTs from mail clients.
    #[serde(rename = "one-click")]
    pub one_click: u64,
    /// The unsubscribe page's button.
    pub page: u64,
    /// The preferences page's unsubscribe.
    pub preferences: u64,
    /// Mails to the `mailto:` address.
    pub mailto: u64,
}

impl Unsubscribes {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.one_click + self.page + self.preferences + self.mailto
    }
}

/// Whether the store has table `name` (a read-only store made by an older version may not).
pub(super) fn has_table(conn: &rusqlite::Connection, name: &str) -> anyhow::Result<bool> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found.is_some())
}

impl Tx<'_> {
    /// Runs `change` with every event it records tied to `volume` (when known).
    pub fn from_volume<R>(
        &mut self,
        volume: Option<u32>,
        change: impl FnOnce(&mut Self) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        let outer = std::mem::replace(&mut self.volume, volume);
        let result = change(self);
        self.volume = outer;
        result
    }

    /// Ties the event just recorded to the volume of the change, if any.
    pub(super) fn tie_to_volume(&self) -> anyhow::Result<()> {
        if let Some(volume) = self.volume {
            self.conn()
                .prepare_cached(
                    "INSERT INTO event_volumes (event, volume) VALUES (last_insert_rowid(), ?1)",
                )?
                .execute([volume])?;
        }
        Ok(())
    }
}

impl Store {
    /// The unsubscribes that came through `volume`'s links, by channel (none in a store
    /// made before volumes were recorded). A link names its volume in the clear, so one
    /// counts only for an address `received` says the volume went to: a reader who edits
    /// the number is heard all the same, and counted under no volume.
    pub fn unsubscribes(
        &self,
        volume: u32,
        received: &dyn Fn(&str) -> anyhow::Result<bool>,
    ) -> anyhow::Result<Unsubscribes> {
        let mut found = Unsubscribes::default();
        if !has_table(&self.conn, "event_volumes")? {
            return Ok(found);
        }
        let prefix = format!("suppressed ({}", Reason::Unsubscribed);
        let mut stmt = self.conn.prepare(
            "SELECT e.source, e.address FROM events e JOIN event_volumes v ON v.event = e.id
             WHERE v.volume = ?1 AND substr(e.change, 1, length(?2)) = ?2",
        )?;
        let rows = stmt.query_map(params![volume, prefix], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (source, address) = row?;
            if !received(&address)? {
                continue;
            }
            let slot =
                match Source::from_word(&source).ok_or_else(|| bad_value("source", &source))? {
                    Source::OneClick => &mut found.one_click,
                    Source::Page => &mut found.page,
                    Source::Preferences => &mut found.preferences,
                    Source::Mailto => &mut found.mailto,
                    _ => continue,
                };
            *slot += 1;
        }
        Ok(found)
    }
}
