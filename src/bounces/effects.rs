//! What a mapped finding does to the audience store, inside the caller's transaction:
//! a permanent failure, a complaint or an unsubscribe mail suppresses the address at once;
//! a temporary failure is recorded and counted, and suppresses once it happened in
//! `[bounces] soft_limit` distinct volumes; a delay changes nothing. Every change carries
//! the report's id, so importing a report again changes nothing.

use serde::Serialize;

use super::mapping::Mapped;
use super::status::Action;
use super::{Finding, Kind, Report};
use crate::audience::Reason;
use crate::audience::store::{Source, Suppressed, Tx};
use crate::clock::Timestamp;

/// The words that start a temporary failure's event, followed by its volume.
const TEMPORARY: &str = "temporary failure";

/// What applying a finding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The address is suppressed now.
    Suppressed,
    /// A temporary failure, recorded toward the soft limit.
    Counted,
    /// Nothing changed (a delay, an auto-reply, an address already suppressed, or nobody
    /// of ours).
    None,
    /// This report was imported before.
    AlreadyImported,
}

/// Applies `finding` of `report`, which concerns `mapped`.
pub fn apply(
    tx: &mut Tx<'_>,
    report: &Report,
    finding: &Finding,
    mapped: &Mapped,
    soft_limit: u32,
    now: Timestamp,
) -> anyhow::Result<Effect> {
    let address = &mapped.address;
    if tx.has_reference(address, &report.id)? {
        return Ok(Effect::AlreadyImported);
    }
    let (reason, source) = match report.kind {
        Kind::Bounce if finding.action != Action::Failed => return Ok(Effect::None),
        Kind::Bounce if !finding.permanent => {
            let volume = mapped.volume.map_or_else(
                || format!("report {}", report.id),
                |v| format!("volume {v}"),
            );
            let earlier = tx.changes(address, TEMPORARY)?;
            let mut volumes: Vec<&str> = earlier
                .iter()
                .filter_map(|c| {
                    c.strip_prefix(TEMPORARY)?
                        .strip_prefix(" in ")?
                        .rsplit_once(" (")
                        .map(|(v, _)| v)
                })
                .collect();
            volumes.push(&volume);
            volumes.sort_unstable();
            volumes.dedup();
            if volumes.len() < soft_limit as usize {
                let status = finding.status.as_deref().unwrap_or("no status");
                let change = format!("{TEMPORARY} in {volume} ({status})");
                tx.note(address, &change, Source::Bounce, &report.id, now)?;
                return Ok(Effect::Counted);
            }
            (Reason::Bounced, Source::Bounce)
        }
        Kind::Bounce => (Reason::Bounced, Source::Bounce),
        Kind::Complaint => (Reason::Complained, Source::Complaint),
        Kind::Unsubscribe => (Reason::Unsubscribed, Source::Mailto),
        Kind::AutoReply | Kind::Unknown => return Ok(Effect::None),
    };
    Ok(
        match tx.suppress(address, reason, source, Some(&report.id), now)? {
            Suppressed::Added | Suppressed::Replaced(_) => Effect::Suppressed,
            Suppressed::Kept(_) => Effect::None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::{Address, Store};
    use crate::bounces::mapping::MappedBy;

    fn report(id: &str, status: &str, permanent: bool) -> Report {
        let finding = Finding {
            address: Some("ana@example.org".to_owned()),
            status: Some(status.to_owned()),
            action: Action::Failed,
            permanent,
            diagnostic: None,
        };
        Report {
            id: id.to_owned(),
            kind: Kind::Bounce,
            findings: vec![finding],
            return_paths: Vec::new(),
            returned_ids: Vec::new(),
        }
    }

    #[test]
    fn temporary_failures_suppress_once_seen_in_enough_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let ana = Address::parse("ana@example.org").unwrap();
        let mut apply_one = |id: &str, volume: u32| {
            let report = report(id, "4.2.2", false);
            let mapped = Mapped {
                address: ana.clone(),
                by: MappedBy::Verp,
                volume: Some(volume),
            };
            store
                .write(|tx| apply(tx, &report, &report.findings[0], &mapped, 3, Timestamp(1)))
                .unwrap()
        };
        assert_eq!(apply_one("<1@x>", 11), Effect::Counted);
        assert_eq!(
            apply_one("<2@x>", 11),
            Effect::Counted,
            "the same volume again"
        );
        assert_eq!(apply_one("<2@x>", 12), Effect::AlreadyImported);
        assert_eq!(apply_one("<3@x>", 12), Effect::Counted);
        assert_eq!(apply_one("<4@x>", 13), Effect::Suppressed, "a third volume");
        let suppression = store.suppression(&ana).unwrap().expect("suppressed");
        assert_eq!(suppression.reason, Reason::Bounced);
    }
}
