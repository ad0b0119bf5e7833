//! What came back about messages the relay accepted: bounces reported later, complaints and
//! unsubscribe mails, each kept beside the recipient's row with the report it came from
//! (a report recorded twice is kept once), with its reason and class. `status` counts them;
//! the soft-bounce rule reads an address's recent volumes from them.

use rusqlite::params;
use serde::Serialize;

use super::Ledger;
use crate::audience::Address;
use crate::clock::Timestamp;
use crate::status::{Class, Reason, Status, classify};

/// An address's rows sent or refused, newest volume first, each with its refusal and any
/// soft bounce reported of it. The rows are found volume by volume through the index of
/// `(volume, address)`: a search per volume sent, never a scan of every row.
pub(super) const SOFT_RUN: &str = "SELECT r.id, r.state = 'failed', r.reply_code,
        r.reply_status, r.reply_text, t.recipient IS NOT NULL, t.reason, t.status,
        r.updated_at
    FROM recipients r LEFT JOIN returns t
        ON t.recipient = r.id AND t.kind = 'bounce' AND t.class = 'soft'
    WHERE r.volume IN (SELECT DISTINCT volume FROM dispatches) AND r.address = ?1
        AND r.state IN ('sent', 'failed')
    ORDER BY r.volume DESC, r.id";

/// What a report said of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Returned {
    /// A delivery failure, permanent or temporary.
    Bounce,
    /// The reader marked it as spam.
    Complaint,
    /// The reader mailed the `mailto:` unsubscribe address.
    Unsubscribe,
}

impl Returned {
    const ALL: [Self; 3] = [Self::Bounce, Self::Complaint, Self::Unsubscribe];

    /// The name stored in the ledger and shown to users.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
            Self::Unsubscribe => "unsubscribe",
        }
    }

    pub(super) fn parse(text: &str) -> rusqlite::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("unknown return {text}")))
    }
}

/// One report about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Return {
    /// What it said.
    pub kind: Returned,
    /// The report's Message-ID (or hash): what makes recording it twice a no-op.
    pub report: String,
    /// The enhanced status code, when it gave one.
    pub status: Option<String>,
    /// Whether the address is gone for good (bounces only): `class` is hard.
    pub permanent: bool,
    /// The remote server's words, if given.
    pub diagnostic: Option<String>,
    /// When it was recorded (unix milliseconds).
    pub at: i64,
    /// Why.
    pub reason: Reason,
    /// What it means for the reader.
    pub class: Class,
}

impl Return {
    /// The reason and class of a return recorded before the ledger kept them (schema 3),
    /// read again from what it kept: its kind, status, words and permanence.
    pub(super) fn derived(
        kind: Returned,
        status: Option<&str>,
        diagnostic: Option<&str>,
        permanent: bool,
    ) -> (Reason, Class) {
        match kind {
            Returned::Complaint => (Reason::Complaint, Class::Complaint),
            Returned::Unsubscribe => (Reason::Unsubscribe, Class::Unsubscribe),
            Returned::Bounce => {
                let found = classify(
                    None,
                    status.and_then(Status::parse),
                    diagnostic.unwrap_or_default(),
                );
                // What was decided then stands: a suppression was made on `permanent`.
                let class = match found.class() {
                    _ if permanent => Class::Hard,
                    Class::Hard => Class::Soft,
                    class => class,
                };
                (found.reason, class)
            }
        }
    }
}

impl Ledger {
    /// Records `r` beside `address`'s row of `volume`; false when the volume has no such
    /// row or the report was recorded before.
    pub(crate) fn record_return(
        &self,
        volume: u32,
        address: &str,
        r: &Return,
    ) -> anyhow::Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO returns (recipient, report, kind, status, permanent,
                 diagnostic, at, reason, class)
                 SELECT id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM recipients
                 WHERE volume = ?1 AND address = ?2",
            )?
            .execute(params![
                volume,
                address,
                r.report,
                r.kind.as_str(),
                r.status,
                r.permanent,
                r.diagnostic,
                r.at,
                r.reason.as_str(),
                r.class.as_str()
            ])?;
        Ok(n > 0)
    }

    /// Every return of `volume`'s messages, with the address, in the order recorded.
    pub(crate) fn returns(&self, volume: u32) -> anyhow::Result<Vec<(Address, Return)>> {
        self.returns_where("r.volume = ?1", volume)
    }

    /// The returns of the row `recipient`, in the order recorded.
    pub(crate) fn returns_of(&self, recipient: i64) -> anyhow::Result<Vec<Return>> {
        let found = self.returns_where("r.id = ?1", recipient)?;
        Ok(found.into_iter().map(|(_, r)| r).collect())
    }

    fn returns_where(
        &self,
        filter: &str,
        value: impl rusqlite::ToSql,
    ) -> anyhow::Result<Vec<(Address, Return)>> {
        if self.version < super::schema::RETURNS {
            return Ok(Vec::new());
        }
        // A version-3 ledger opened read-only has no `reason` and `class` columns.
        let classes = if self.version >= super::schema::CLASSES {
            "t.reason, t.class"
        } else {
            "NULL, NULL"
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT r.address, t.kind, t.report, t.status, t.permanent, t.diagnostic, t.at,
             {classes}
             FROM returns t JOIN recipients r ON r.id = t.recipient
             WHERE {filter} ORDER BY t.rowid"
        ))?;
        stmt.query_and_then([value], |row| {
            Ok((super::stored_address(row, 0)?, read_return(row)?))
        })?
        .collect()
    }

    /// The run of soft failures with no delivery in between that holds `address`'s latest
    /// one: walking the volumes sent to it from the newest, past those with no temporary
    /// failure reported (yet), how many in a row failed in a way that counts toward the soft
    /// limit: a row `sent` with a soft bounce reported of it (see
    /// [`Reason::counts_toward_soft_limit`]), or a row `failed` whose refusal during the
    /// send counts (see [`Reply::counts_toward_soft_limit`]). A row refused for another
    /// reason (ours, or the relay's) neither counts nor breaks the run: it says nothing of
    /// the reader's mailbox. The run ends at a row settled no later than the second
    /// `came_back` (when the address came back from the suppression list), so a reader who
    /// signs up again starts from none. `None` when no volume was sent to it.
    ///
    /// [`Reply::counts_toward_soft_limit`]: crate::transport::Reply::counts_toward_soft_limit
    pub(crate) fn soft_bounce_run(
        &self,
        address: &str,
        came_back: Option<Timestamp>,
    ) -> anyhow::Result<Option<u32>> {
        // Rows are settled in milliseconds, the store's events in seconds: a row of the
        // same second as the return is taken as before it.
        let since = came_back.map(|t| t.0.saturating_add(1).saturating_mul(1000));
        let mut stmt = self.conn.prepare_cached(SOFT_RUN)?;
        // One entry per row, true when it counts (a return kept before reasons were
        // stored counts, as it did then).
        let mut soft: Vec<(i64, bool)> = Vec::new();
        let mut rows = stmt.query([address])?;
        let mut came_back = false;
        while let Some(r) = rows.next()? {
            // Every later row is older still: the run cannot reach past the return.
            came_back = since.is_some_and(|since| r.get::<_, i64>(8).is_ok_and(|at| at < since));
            if came_back {
                break;
            }
            let id: i64 = r.get(0)?;
            if r.get::<_, bool>(1)? {
                let refusal = super::schema::reply(r.get(2)?, r.get(3)?, r.get(4)?);
                if refusal.is_some_and(|reply| reply.counts_toward_soft_limit()) {
                    soft.push((id, true));
                }
                continue;
            }
            let status = r.get::<_, Option<String>>(7)?;
            let status = status.as_deref().and_then(Status::parse);
            let counts = r.get::<_, bool>(5)?
                && r.get::<_, Option<String>>(6)?
                    .as_deref()
                    .and_then(Reason::parse)
                    .is_none_or(|r| r.counts_toward_soft_limit(status));
            match soft.last_mut() {
                Some((last, any)) if *last == id => *any |= counts,
                _ => soft.push((id, counts)),
            }
        }
        if soft.is_empty() {
            return Ok(came_back.then_some(0));
        }
        let run = soft
            .iter()
            .skip_while(|(_, s)| !s)
            .take_while(|(_, s)| *s)
            .count();
        Ok(Some(u32::try_from(run).unwrap_or(u32::MAX)))
    }
}

/// A return from the columns `kind, report, status, permanent, diagnostic, at, reason,
/// class` at 1 to 8 of `row`.
fn read_return(row: &rusqlite::Row<'_>) -> rusqlite::Result<Return> {
    let kind = Returned::parse(&row.get::<_, String>(1)?)?;
    let status: Option<String> = row.get(3)?;
    let permanent: bool = row.get(4)?;
    let diagnostic: Option<String> = row.get(5)?;
    let reason: Option<String> = row.get(7)?;
    let class: Option<String> = row.get(8)?;
    let stored = reason
        .as_deref()
        .and_then(Reason::parse)
        .zip(class.as_deref().and_then(Class::parse));
    let (reason, class) = stored.unwrap_or_else(|| {
        Return::derived(kind, status.as_deref(), diagnostic.as_deref(), permanent)
    });
    Ok(Return {
        kind,
        report: row.get(2)?,
        status,
        permanent,
        diagnostic,
        at: row.get(6)?,
        reason,
        class,
    })
}
