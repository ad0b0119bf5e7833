//! Reading the audience store: point lookups cheap enough to make before every message
//! (prepared once, cached), and the whole snapshot that the loader merges with the files.

use rusqlite::{Connection, OptionalExtension as _};

use super::{Pending, Source, Store, bad_value};
use crate::audience::{Address, Reason, Suppression, Suppressions};
use crate::clock::Timestamp;

/// A reader who signed up and confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Their address.
    pub address: Address,
    /// The name they gave, if any.
    pub name: Option<String>,
    /// The segment they joined (`[serve] signup_segment` when they confirmed).
    pub segment: String,
    /// When they asked.
    pub signed_up_at: Timestamp,
    /// When they confirmed.
    pub confirmed_at: Timestamp,
}

/// A reader's own choice of topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicChoice {
    /// Whose.
    pub address: Address,
    /// The topics; empty means every pick.
    pub topics: Vec<String>,
    /// Where it was made.
    pub source: Source,
    /// When.
    pub at: Timestamp,
}

/// One entry of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// What changed, in words.
    pub change: String,
    /// Where from.
    pub source: Source,
    /// The report or message it came from, if any.
    pub reference: Option<String>,
}

/// Everything the loader needs from the store at once.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Confirmed readers, in the order they confirmed.
    pub readers: Vec<Reader>,
    /// Topic choices, ordered by address.
    pub topics: Vec<TopicChoice>,
    /// The suppression list.
    pub suppressions: Suppressions,
}

impl Snapshot {
    /// The snapshot of the project in `root`, read without writing anything: from the
    /// store, or (before the store exists) from the old `state/suppressions.csv`.
    pub fn load(root: &std::path::Path) -> anyhow::Result<Self> {
        match Store::open_read_only(root)? {
            Some(store) => store.snapshot(),
            None => Ok(Self {
                suppressions: Suppressions::load_csv(root)?,
                ..Self::default()
            }),
        }
    }
}

impl Store {
    /// The suppression of `address` as committed now, by any process.
    pub fn suppression(&self, address: &Address) -> anyhow::Result<Option<Suppression>> {
        Ok(suppression(&self.conn, self.columns, address)?)
    }

    /// The unconfirmed sign-up `id`, if there is one.
    pub fn signup(&self, id: &str) -> anyhow::Result<Option<Pending>> {
        Ok(signup(&self.conn, id)?)
    }

    /// Whether sign-up `id` was confirmed (its history's event names it).
    pub fn confirmed(&self, id: &str) -> anyhow::Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE reference = ?1")?;
        Ok(stmt.exists([confirmation_reference(id)])?)
    }

    /// The topics `address` chose, if they chose any.
    pub fn topic_choice(&self, address: &Address) -> anyhow::Result<Option<TopicChoice>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address, topics, source, at FROM topics WHERE key = ?1")?;
        Ok(stmt.query_row([&*address.key()], topic_choice).optional()?)
    }

    /// `address`'s history, oldest first.
    pub fn history(&self, address: &Address) -> anyhow::Result<Vec<Event>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, change, source, reference FROM events WHERE key = ?1 ORDER BY id",
        )?;
        let events = stmt
            .query_map([&*address.key()], |r| {
                Ok(Event {
                    at: Timestamp(r.get(0)?),
                    change: r.get(1)?,
                    source: source(r, 2)?,
                    reference: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(events)
    }

    /// Readers, topic choices and suppressions, read in one transaction.
    pub fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let tx = self.conn.unchecked_transaction()?;
        let readers = tx
            .prepare(
                "SELECT address, name, segment, signed_up_at, confirmed_at FROM readers
                 ORDER BY confirmed_at, key",
            )?
            .query_map([], |r| {
                Ok(Reader {
                    address: address(r, 0)?,
                    name: r.get(1)?,
                    segment: r.get(2)?,
                    signed_up_at: Timestamp(r.get(3)?),
                    confirmed_at: Timestamp(r.get(4)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        let topics = tx
            .prepare("SELECT address, topics, source, at FROM topics ORDER BY key")?
            .query_map([], topic_choice)?
            .collect::<Result<_, _>>()?;
        let mut suppressions = Suppressions::default();
        let mut stmt = tx.prepare(&format!("{} FROM suppressions", self.columns))?;
        for s in stmt.query_map([], read_suppression)? {
            suppressions.insert(s?);
        }
        Ok(Snapshot {
            readers,
            topics,
            suppressions,
        })
    }
}

/// The columns a [`Suppression`] is read from in a store opened for writing, which
/// [`Tx::set_up`](super::Tx) has brought up to date.
pub(super) const SUPPRESSION_COLUMNS: &str =
    "SELECT address, reason, source, reference, at, detail";

/// The columns a [`Suppression`] is read from; `detail` only where the store has it (an
/// older store opened read-only has not). Asked once per connection: a dispatch looks a
/// suppression up before every message.
pub(super) fn suppression_columns(conn: &Connection) -> rusqlite::Result<&'static str> {
    Ok(if has_detail(conn)? {
        SUPPRESSION_COLUMNS
    } else {
        "SELECT address, reason, source, reference, at, NULL"
    })
}

/// Whether the store's suppressions keep the reason of the report behind them.
pub(super) fn has_detail(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM pragma_table_info('suppressions') WHERE name = 'detail'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

pub(super) fn suppression(
    conn: &Connection,
    columns: &str,
    address: &Address,
) -> rusqlite::Result<Option<Suppression>> {
    conn.prepare_cached(&format!("{columns} FROM suppressions WHERE key = ?1"))?
        .query_row([&*address.key()], read_suppression)
        .optional()
}

pub(super) fn signup(conn: &Connection, id: &str) -> rusqlite::Result<Option<Pending>> {
    conn.prepare_cached(
        "SELECT address, name, topics, segment, requested_at FROM signups WHERE id = ?1",
    )?
    .query_row([id], |r| signup_row(r, 0))
    .optional()
}

/// The sign-up request in the columns address, name, topics, segment and requested_at,
/// starting at column `at`.
pub(super) fn signup_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Pending> {
    Ok(Pending {
        address: address(r, at)?,
        name: r.get(at + 1)?,
        topics: json_list(r, at + 2)?,
        segment: r.get(at + 3)?,
        requested_at: Timestamp(r.get(at + 4)?),
    })
}

/// The reference of the event that confirms sign-up `id`.
pub(super) fn confirmation_reference(id: &str) -> String {
    format!("sign-up {id}")
}

/// The history's words for a choice of topics.
pub(super) fn topics_change(topics: &[String]) -> String {
    if topics.is_empty() {
        "topics: every pick".to_owned()
    } else {
        format!("topics: {}", topics.join(", "))
    }
}

fn read_suppression(r: &rusqlite::Row<'_>) -> rusqlite::Result<Suppression> {
    let reason: String = r.get(1)?;
    let at = Timestamp(r.get(4)?);
    Ok(Suppression {
        address: address(r, 0)?,
        reason: Reason::parse(&reason).ok_or_else(|| bad_value("reason", &reason))?,
        since: at.date(),
        source: source(r, 2)?,
        reference: r.get(3)?,
        // A reason this version does not know (written by a newer one) is not shown.
        detail: r
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(crate::status::Reason::parse),
    })
}

fn topic_choice(r: &rusqlite::Row<'_>) -> rusqlite::Result<TopicChoice> {
    Ok(TopicChoice {
        address: address(r, 0)?,
        topics: json_list(r, 1)?,
        source: source(r, 2)?,
        at: Timestamp(r.get(3)?),
    })
}

fn address(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Address> {
    let text: String = r.get(i)?;
    Address::parse(&text).map_err(|_| bad_value("address", &text))
}

fn json_list(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|_| bad_value("topic list", &text))
}

fn source(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Source> {
    let text: String = r.get(i)?;
    Source::from_word(&text).ok_or_else(|| bad_value("source", &text))
}
