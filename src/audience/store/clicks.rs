//! Click counts: the targets a dispatch recorded for each counted link of a volume (from
//! the composed volume, so that `serve` never redirects anywhere a request says), and
//! counts per volume, link and hour. Nothing here names a reader or a client.

use rusqlite::{OptionalExtension as _, params};
use serde::Serialize;

use super::{Store, Tx};

/// The clicks on one link of a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Click {
    /// The link's place in the email (1 is its first counted link).
    pub link: u32,
    /// Where it leads.
    pub target: String,
    /// What the email shows for it: a pick's headline, or an image's `alt`.
    pub label: String,
    /// Clicks, once per client per link per hour.
    pub clicks: u64,
    /// Requests from link scanners, prefetchers and clients that followed the canary.
    pub scanner: u64,
}

impl Tx<'_> {
    /// Records `links`, (place, target, label), as counted links of `volume`. A place
    /// already recorded keeps its target and label: messages already sent carry it (see
    /// [`crate::clicks::places`]).
    pub fn add_links<'a>(
        &mut self,
        volume: u32,
        links: impl IntoIterator<Item = (u32, &'a str, &'a str)>,
    ) -> anyhow::Result<()> {
        let mut insert = self.conn().prepare_cached(
            "INSERT INTO click_links (volume, link, target, label) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (volume, link) DO NOTHING",
        )?;
        for (place, target, label) in links {
            insert.execute(params![volume, place, target, label])?;
        }
        Ok(())
    }

    /// Counts one request for link `link` of `volume` in `hour` (unix hours), as a click or
    /// as a scanner's.
    pub fn count_click(
        &mut self,
        volume: u32,
        link: u32,
        hour: i64,
        scanner: bool,
    ) -> anyhow::Result<()> {
        let (clicks, scans) = if scanner { (0, 1) } else { (1, 0) };
        self.conn()
            .prepare_cached(
                "INSERT INTO clicks (volume, link, hour, clicks, scanner) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (volume, link, hour)
                 DO UPDATE SET clicks = clicks + ?4, scanner = scanner + ?5",
            )?
            .execute(params![volume, link, hour, clicks, scans])?;
        Ok(())
    }

    /// Moves one click on link `link` of `volume` in `hour` to the scanners: its client
    /// turned out to be a machine.
    pub fn count_as_scanner(&mut self, volume: u32, link: u32, hour: i64) -> anyhow::Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE clicks SET clicks = clicks - 1, scanner = scanner + 1
                 WHERE volume = ?1 AND link = ?2 AND hour = ?3 AND clicks > 0",
            )?
            .execute(params![volume, link, hour])?;
        Ok(())
    }
}

impl Store {
    /// Where link `link` of `volume` leads, if a dispatch recorded it.
    pub fn link_target(&self, volume: u32, link: u32) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT target FROM click_links WHERE volume = ?1 AND link = ?2")?
            .query_row(params![volume, link], |r| r.get(0))
            .optional()?)
    }

    /// The (place, target) of every counted link of `volume` that a dispatch recorded.
    pub fn recorded_links(&self, volume: u32) -> anyhow::Result<Vec<(u32, String)>> {
        if !super::volumes::has_table(&self.conn, "click_links")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT link, target FROM click_links WHERE volume = ?1 ORDER BY link")?;
        let rows = stmt.query_map([volume], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every counted link of `volume` with its clicks and scanner hits, in the email's
    /// order (none in a store made before clicks were counted).
    pub fn clicks(&self, volume: u32) -> anyhow::Result<Vec<Click>> {
        if !super::volumes::has_table(&self.conn, "click_links")? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT l.link, l.target, l.label, coalesce(sum(c.clicks), 0), coalesce(sum(c.scanner), 0)
             FROM click_links l LEFT JOIN clicks c ON c.volume = l.volume AND c.link = l.link
             WHERE l.volume = ?1 GROUP BY l.link ORDER BY l.link",
        )?;
        let rows = stmt.query_map([volume], |r| {
            let count = |i| r.get::<_, i64>(i).map(|n| n.unsigned_abs());
            Ok(Click {
                link: r.get(0)?,
                target: r.get(1)?,
                label: r.get(2)?,
                clicks: count(3)?,
                scanner: count(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The clicks (not the scanners') on `volume`'s links, by hour (unix hours), oldest
    /// first.
    pub fn clicks_by_hour(&self, volume: u32) -> anyhow::Result<Vec<(i64, u64)>> {
        if !super::volumes::has_table(&self.conn, "clicks")? {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT hour, sum(clicks) FROM clicks WHERE volume = ?1 AND link > 0
             GROUP BY hour ORDER BY hour",
        )?;
        let rows = stmt.query_map([volume], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
