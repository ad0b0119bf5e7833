//! Setting the store up: the schema, and the one-time move of the old
//! `state/suppressions.csv` into it (the CSV is renamed afterwards and never read again).

use std::path::Path;

use rusqlite::{OptionalExtension as _, params};

use super::{SCHEMA, STORE_FILE, Source, Tx};
use crate::audience::Suppressions;
use crate::audience::suppress::SUPPRESSIONS_FILE;
use crate::clock::Timestamp;
use crate::date::Date;

const MIGRATED: &str = "suppressions_csv_migrated";

impl Tx<'_> {
    /// Creates the tables and moves the CSV's rows in, once; returns how many it moved, if
    /// it did so now.
    pub(super) fn set_up(&mut self, root: &Path) -> anyhow::Result<Option<usize>> {
        self.conn().execute_batch(SCHEMA)?;
        if !super::read::has_detail(self.conn())? {
            // Stores made before suppressions kept the reason of the report behind them.
            self.conn()
                .execute_batch("ALTER TABLE suppressions ADD COLUMN detail TEXT")?;
        }
        let done: Option<String> = self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [MIGRATED], |r| {
                r.get(0)
            })
            .optional()?;
        if done.is_some() {
            return Ok(None);
        }
        let list = Suppressions::load_csv(root)?;
        let epoch = Date::from_unix_days(0);
        for s in list.iter() {
            let at = Timestamp(epoch.days_until(s.since) * 86_400);
            self.suppress(&s.address, s.reason, Source::Migration, None, at)?;
        }
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![MIGRATED, Timestamp::now().0.to_string()],
        )?;
        Ok(Some(list.iter().count()))
    }
}

/// Renames the migrated CSV so that nobody edits it expecting an effect.
pub(super) fn retire_csv(root: &Path, moved: usize) -> anyhow::Result<()> {
    let csv = root.join(SUPPRESSIONS_FILE);
    if !csv.exists() {
        return Ok(());
    }
    let mut retired = csv.clone().into_os_string();
    retired.push(".migrated");
    std::fs::rename(&csv, &retired)?;
    // The renamed file is the lasting notice; the log says when it happened.
    tracing::warn!(
        "moved {moved} suppressions from {SUPPRESSIONS_FILE} into {STORE_FILE}; the CSV is kept as {SUPPRESSIONS_FILE}.migrated and no longer read"
    );
    Ok(())
}
