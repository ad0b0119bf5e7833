//! Changes to the audience store, each inside a [`Tx`] and each recorded in the event
//! history with its source, so that a store's state can always be explained.

use rusqlite::{OptionalExtension as _, Transaction, params};

use super::{Pending, Source, read};
use crate::audience::{Address, Reason, Suppression};
use crate::clock::Timestamp;

/// A write transaction on the store; see [`super::Store::write`].
pub struct Tx<'c> {
    tx: Transaction<'c>,
    /// The volume whose link the changes being made came through (see [`Tx::from_volume`]).
    pub(super) volume: Option<u32>,
}

/// What [`Tx::suppress`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// The address was not suppressed; now it is.
    Added,
    /// It was suppressed for another, weaker reason (an unsubscribe, now a bounce).
    Replaced(Reason),
    /// Nothing changed: already suppressed (for this reason or a stronger one), or this
    /// reference was already applied to the address (a report imported twice).
    Kept(Reason),
}

/// What [`Tx::request_signup`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    /// The sign-up's id, which its confirmation token carries.
    pub id: String,
    /// True when a confirmation message may go out now (at most one an hour per address).
    pub mail: bool,
}

/// A temporary failure counted toward `[bounces] soft_limit`, as a reader's history says
/// it: `temporary failure in volume 12 (mailbox-full, 4.2.2)`.
pub struct Temporary<'a> {
    /// The message's volume (`volume 12`) or, for a report tied to none, the report
    /// (`report <id>`).
    pub occasion: &'a str,
    /// Why it failed.
    pub reason: crate::status::Reason,
    /// The enhanced status code, when the failure gave one.
    pub status: Option<&'a str>,
}

/// The words that start the event of a suppression lifted.
const LIFTED: &str = "no longer suppressed";

/// The words that start a temporary failure's event in a reader's history.
const TEMPORARY: &str = "temporary failure";

/// One confirmation message an hour per address, so the form cannot flood a mailbox.
const MAIL_INTERVAL_SECS: i64 = 3600;

/// How long a sign-up request waits for its confirmation: the life of the link it mails.
pub const SIGNUP_HOURS: i64 = 72;

impl<'c> Tx<'c> {
    pub(super) fn new(tx: Transaction<'c>) -> Self {
        Self { tx, volume: None }
    }

    pub(super) fn commit(self) -> rusqlite::Result<()> {
        self.tx.commit()
    }

    pub(super) fn conn(&self) -> &rusqlite::Connection {
        &self.tx
    }

    fn event(
        &self,
        address: &Address,
        change: &str,
        source: Source,
        reference: Option<&str>,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO events (at, key, address, change, source, reference)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                now.0,
                &*address.key(),
                address.as_str(),
                change,
                source.as_str(),
                reference
            ])?;
        self.tie_to_volume()
    }

    /// Suppresses `address` for `reason`. An unsubscribe never replaces a bounce or a
    /// complaint; a `reference` (e.g. a report's Message-ID) already applied to this
    /// address makes the call a no-op, so importing a report twice changes nothing.
    pub fn suppress(
        &mut self,
        address: &Address,
        reason: Reason,
        source: Source,
        reference: Option<&str>,
        now: Timestamp,
    ) -> anyhow::Result<Suppressed> {
        self.suppress_for(address, reason, None, source, reference, now)
    }

    /// [`Tx::suppress`], keeping `detail`, the reason of the report or refusal behind it
    /// (`user-unknown`), for `suppress list` to show.
    pub fn suppress_for(
        &mut self,
        address: &Address,
        reason: Reason,
        detail: Option<crate::status::Reason>,
        source: Source,
        reference: Option<&str>,
        now: Timestamp,
    ) -> anyhow::Result<Suppressed> {
        let old = read::suppression(&self.tx, read::SUPPRESSION_COLUMNS, address)?;
        if let Some(reference) = reference
            && self.has_reference(address, reference)?
        {
            return Ok(Suppressed::Kept(old.map_or(reason, |s| s.reason)));
        }
        let outcome = match &old {
            None => Suppressed::Added,
            Some(s) if s.reason == reason || !reason.outranks(s.reason) => {
                return Ok(Suppressed::Kept(s.reason));
            }
            Some(s) => Suppressed::Replaced(s.reason),
        };
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO suppressions
                 (key, address, reason, source, reference, at, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                &*address.key(),
                address.as_str(),
                reason.as_str(),
                source.as_str(),
                reference,
                now.0,
                detail.map(crate::status::Reason::as_str)
            ])?;
        let why = match detail {
            Some(detail) => format!("{reason}: {detail}"),
            None => reason.to_string(),
        };
        self.event(
            address,
            &format!("suppressed ({why})"),
            source,
            reference,
            now,
        )?;
        Ok(outcome)
    }

    /// When `address`'s suppression was last lifted (it signed up again, or `suppress
    /// remove`), if ever: failures before then are not counted against it again.
    pub fn lifted_at(&self, address: &Address) -> anyhow::Result<Option<Timestamp>> {
        let at: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT max(at) FROM events WHERE key = ?1 AND substr(change, 1, length(?2)) = ?2",
            )?
            .query_row(params![&*address.key(), LIFTED], |r| r.get(0))?;
        Ok(at.map(Timestamp))
    }

    /// Whether an event about `address` already carries `reference` (a report applied).
    pub fn has_reference(&self, address: &Address, reference: &str) -> anyhow::Result<bool> {
        let seen: Option<i64> = self
            .tx
            .prepare_cached("SELECT 1 FROM events WHERE reference = ?1 AND key = ?2")?
            .query_row(params![reference, &*address.key()], |r| r.get(0))
            .optional()?;
        Ok(seen.is_some())
    }

    /// Records in `address`'s history, changing no state, a temporary failure counted
    /// toward `[bounces] soft_limit`.
    pub fn note_temporary(
        &mut self,
        address: &Address,
        failure: &Temporary<'_>,
        source: Source,
        reference: &str,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let status = failure.status.unwrap_or("no status");
        let (occasion, reason) = (failure.occasion, failure.reason);
        let change = format!("{TEMPORARY} in {occasion} ({reason}, {status})");
        self.event(address, &change, source, Some(reference), now)
    }

    /// The occasions of the temporary failures noted for `address` (see
    /// [`Tx::note_temporary`]) after the second its suppression was last lifted, oldest
    /// first.
    pub fn temporary_occasions(&self, address: &Address) -> anyhow::Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT change FROM events WHERE key = ?1 AND substr(change, 1, length(?2)) = ?2
             AND at > ?3 ORDER BY id",
        )?;
        let prefix = format!("{TEMPORARY} in ");
        let since = self.lifted_at(address)?.map_or(i64::MIN, |t| t.0);
        let changes: Vec<String> = stmt
            .query_map(params![&*address.key(), prefix, since], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(changes
            .iter()
            .filter_map(|c| {
                let (occasion, _) = c.strip_prefix(&prefix)?.rsplit_once(" (")?;
                Some(occasion.to_owned())
            })
            .collect())
    }

    /// Lifts the suppression of `address`, if it has one whose reason is `only` (any reason
    /// when `only` is `None`); returns the lifted suppression.
    pub fn unsuppress(
        &mut self,
        address: &Address,
        only: Option<Reason>,
        source: Source,
        now: Timestamp,
    ) -> anyhow::Result<Option<Suppression>> {
        let Some(old) = read::suppression(&self.tx, read::SUPPRESSION_COLUMNS, address)? else {
            return Ok(None);
        };
        if only.is_some_and(|r| r != old.reason) {
            return Ok(None);
        }
        self.tx
            .prepare_cached("DELETE FROM suppressions WHERE key = ?1")?
            .execute([&*address.key()])?;
        let change = format!("{LIFTED} (was {})", old.reason);
        self.event(address, &change, source, None, now)?;
        Ok(Some(old))
    }

    /// Records `address`'s own choice of topics (none: every pick), which overrides the
    /// topics the recipient files give.
    pub fn set_topics(
        &mut self,
        address: &Address,
        topics: &[String],
        source: Source,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO topics (key, address, topics, source, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                &*address.key(),
                address.as_str(),
                serde_json::to_string(topics)?,
                source.as_str(),
                now.0
            ])?;
        self.event(address, &read::topics_change(topics), source, None, now)
    }

    /// Records a sign-up request and says whether a confirmation message may be mailed
    /// now (if so, marks it mailed). An earlier request of the same address still pending
    /// (younger than [`SIGNUP_HOURS`]) is kept as it was asked, name, topics and time, so
    /// that whoever repeats the form cannot rewrite it; an older one is replaced.
    pub fn request_signup(
        &mut self,
        pending: &Pending,
        now: Timestamp,
    ) -> anyhow::Result<Requested> {
        let key = pending.address.key();
        let earlier: Option<(String, Option<i64>, i64)> = self
            .tx
            .prepare_cached("SELECT id, mailed_at, requested_at FROM signups WHERE key = ?1")?
            .query_row([&*key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let id = earlier.as_ref().map_or_else(
            || format!("{:016x}", fastrand::u64(..)),
            |(id, _, _)| id.clone(),
        );
        let kept = earlier
            .as_ref()
            .is_some_and(|(_, _, at)| now.0 - at < SIGNUP_HOURS * 3600);
        let mail = earlier
            .and_then(|(_, mailed, _)| mailed)
            .is_none_or(|at| now.0 - at >= MAIL_INTERVAL_SECS);
        let mailed_at: Option<i64> = mail.then_some(now.0);
        if kept {
            self.tx
                .prepare_cached(
                    "UPDATE signups SET mailed_at = coalesce(?2, mailed_at) WHERE id = ?1",
                )?
                .execute(params![id, mailed_at])?;
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO signups (id, key, address, name, topics, segment, requested_at, mailed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (key) DO UPDATE SET address = ?3, name = ?4, topics = ?5,
                     segment = ?6, requested_at = ?7, mailed_at = coalesce(?8, mailed_at)",
                )?
                .execute(params![
                    id,
                    &*key,
                    pending.address.as_str(),
                    pending.name,
                    serde_json::to_string(&pending.topics)?,
                    pending.segment,
                    pending.requested_at.0,
                    mailed_at
                ])?;
        }
        self.event(
            &pending.address,
            "sign-up requested",
            Source::Signup,
            None,
            now,
        )?;
        Ok(Requested { id, mail })
    }

    /// Forgets that sign-up `id`'s confirmation was mailed (it could not be sent), so that
    /// asking again mails it at once.
    pub fn mail_failed(&mut self, id: &str) -> anyhow::Result<()> {
        self.tx
            .prepare_cached("UPDATE signups SET mailed_at = NULL WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Confirms the sign-up `id`: the reader joins its segment with its topics, and any
    /// suppression of the address (an unsubscribe, a complaint, a bounce) is lifted, with
    /// what it was in the history: a confirmed opt-in is the owner's own request, proven
    /// by the link that reached them at that very address. `None` when there is no such
    /// sign-up (already confirmed, which [`super::Store::confirmed`] tells, or replaced).
    pub fn confirm(&mut self, id: &str, now: Timestamp) -> anyhow::Result<Option<Pending>> {
        let Some(pending) = read::signup(&self.tx, id)? else {
            return Ok(None);
        };
        let address = &pending.address;
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO readers (key, address, name, segment, signed_up_at, confirmed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                &*address.key(),
                address.as_str(),
                pending.name,
                pending.segment,
                pending.requested_at.0,
                now.0
            ])?;
        self.tx
            .prepare_cached("DELETE FROM signups WHERE id = ?1")?
            .execute([id])?;
        let change = format!("confirmed, joined {}", pending.segment);
        let reference = read::confirmation_reference(id);
        self.event(
            address,
            &change,
            Source::Confirmation,
            Some(&reference),
            now,
        )?;
        self.set_topics(address, &pending.topics, Source::Confirmation, now)?;
        self.unsuppress(address, None, Source::Confirmation, now)?;
        Ok(Some(pending))
    }
}
