//! What a mapped finding does to the audience store, inside the caller's transaction, and
//! to the ledger, by the finding's class: a hard failure, a complaint or an unsubscribe
//! mail suppresses the address at once; a soft failure is recorded and counted, and
//! suppresses once it happened in `[bounces] soft_limit` volumes in a row with no delivery
//! in between (a permanent `unknown` refusal whose code does not speak of the recipient is
//! only reported: see [`crate::status::Reason::counts_toward_soft_limit`]); a sender-class refusal (our reputation, our authentication, our message)
//! and a delay never touch the reader. Every change carries the report's id, so importing
//! a report again changes nothing.
//!
//! A report about a volume's message (the VERP token or the Message-ID says which) is also
//! kept beside that message's ledger row, before the store's transaction commits: a crash
//! between the two leaves the report unimported in the store, and importing it again
//! completes it (the ledger keeps a report once).

use serde::Serialize;

use super::mapping::{Doubt, Mapped};
use super::status::Action;
use super::{Finding, Kind, Report};
use crate::audience::store::{Source, Suppressed, Temporary, Tx, Unverified};
use crate::audience::{Address, Reason};
use crate::clock::Timestamp;
use crate::ledger::{Ledger, Return, Returned};
use crate::status::Class;

/// What applying a finding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Effect {
    /// The address is suppressed now.
    Suppressed,
    /// A temporary failure, recorded toward the soft limit.
    Counted,
    /// Nothing changed (a delay, an auto-reply, an address already suppressed, or nobody
    /// of ours).
    None,
    /// This report was imported before.
    AlreadyImported,
    /// Tied to no message we sent: kept and shown, nobody changed.
    Unverified,
}

/// Where a finding's effects go: the store's open transaction, and the ledger when the
/// project has one.
pub(crate) struct Targets<'a, 't> {
    /// The audience store's transaction.
    pub tx: &'a mut Tx<'t>,
    /// The ledger, for the returned message's row.
    pub ledger: Option<&'a Ledger>,
}

/// Applies `finding` of `report`, which concerns `mapped`.
pub(crate) fn apply(
    targets: &mut Targets<'_, '_>,
    report: &Report,
    finding: &Finding,
    mapped: &Mapped,
    soft_limit: u32,
    now: Timestamp,
) -> anyhow::Result<Effect> {
    let (tx, ledger) = (&mut *targets.tx, targets.ledger);
    let address = &mapped.address;
    if tx.has_reference(address, &report.id)? {
        return Ok(Effect::AlreadyImported);
    }
    // Kept beside the message's row, when the report is about a volume the ledger holds.
    let in_ledger = ledger.zip(mapped.volume);
    if let Some((ledger, volume)) = in_ledger {
        keep_in_ledger(ledger, volume, report, finding, address, now)?;
    }
    let (reason, source) = match (report.kind, finding.class) {
        (Kind::Bounce, _) if finding.action != Action::Failed => return Ok(Effect::None),
        (Kind::AutoReply | Kind::Unknown, _) => return Ok(Effect::None),
        (_, Class::Sender | Class::AutoReply) => return Ok(Effect::None),
        // Kept beside the message and shown by `status`, but a refusal that may be our
        // fault never counts toward dropping the reader.
        (_, Class::Soft) if !finding.counts_toward_soft_limit() => return Ok(Effect::None),
        (_, Class::Soft) => {
            let run = soft_run(tx, in_ledger.map(|(l, _)| l), report, mapped)?;
            if run.count < soft_limit as usize {
                let failure = Temporary {
                    occasion: &run.volume,
                    reason: finding.reason,
                    status: finding.status.as_deref(),
                };
                tx.note_temporary(address, &failure, Source::Bounce, &report.id, now)?;
                return Ok(Effect::Counted);
            }
            (Reason::Bounced, Source::Bounce)
        }
        (_, Class::Hard) => (Reason::Bounced, Source::Bounce),
        (_, Class::Complaint) => (Reason::Complained, Source::Complaint),
        // A feedback loop's `opt-out` report: the reader asked their provider.
        (Kind::Complaint, Class::Unsubscribe) => (Reason::Unsubscribed, Source::Complaint),
        (_, Class::Unsubscribe) => (Reason::Unsubscribed, Source::Mailto),
    };
    let detail = Some(finding.reason);
    Ok(
        match tx.from_volume(mapped.volume, |tx| {
            tx.suppress_for(address, reason, detail, source, Some(&report.id), now)
        })? {
            Suppressed::Added | Suppressed::Replaced(_) => Effect::Suppressed,
            Suppressed::Kept(_) => Effect::None,
        },
    )
}

/// Keeps `finding` of `report`, which is tied to no message we sent, to be counted and
/// shown; it changes no reader.
pub(crate) fn unverified(
    tx: &mut Tx<'_>,
    report: &Report,
    finding: &Finding,
    doubt: Doubt,
    now: Timestamp,
) -> anyhow::Result<Effect> {
    let kept = Unverified {
        reference: &report.id,
        named: finding.address.as_deref().unwrap_or_default(),
        kind: report.kind.as_str(),
        doubt: doubt.as_str(),
    };
    tx.keep_unverified(&kept, now)?;
    Ok(Effect::Unverified)
}

/// Records a failure, complaint or unsubscribe mail beside `address`'s row of `volume`,
/// whatever its class (a refusal on our side is shown by `status`, never acted on).
fn keep_in_ledger(
    ledger: &Ledger,
    volume: u32,
    report: &Report,
    finding: &Finding,
    address: &Address,
    now: Timestamp,
) -> anyhow::Result<()> {
    let kind = match report.kind {
        Kind::Bounce if finding.action == Action::Failed => Returned::Bounce,
        Kind::Complaint => Returned::Complaint,
        Kind::Unsubscribe => Returned::Unsubscribe,
        Kind::Bounce | Kind::AutoReply | Kind::Unknown => return Ok(()),
    };
    let r = Return {
        kind,
        report: report.id.clone(),
        status: finding.status.clone(),
        permanent: finding.permanent(),
        diagnostic: finding.diagnostic.clone(),
        at: now.0.saturating_mul(1000),
        reason: finding.reason,
        class: finding.class,
    };
    ledger.record_return(volume, address.as_str(), &r)?;
    Ok(())
}

/// A run of soft failures: how many volumes in a row, and the words for this one.
struct SoftRun {
    count: usize,
    volume: String,
}

/// The run of soft failures that `report` extends for `mapped`: the ledger's run of soft
/// bounces when the report is about a volume of the ledger, else the store's count.
fn soft_run(
    tx: &Tx<'_>,
    ledger: Option<&Ledger>,
    report: &Report,
    mapped: &Mapped,
) -> anyhow::Result<SoftRun> {
    let volume = mapped.volume.map_or_else(
        || format!("report {}", report.id),
        |v| format!("volume {v}"),
    );
    let ledger_run = match ledger {
        Some(ledger) => {
            let came_back = tx.lifted_at(&mapped.address)?;
            ledger.soft_bounce_run(mapped.address.as_str(), came_back)?
        }
        None => None,
    };
    let count = match ledger_run {
        Some(run) => run as usize,
        None => earlier_volumes(tx, &mapped.address, &volume)?,
    };
    Ok(SoftRun { count, volume })
}

/// Without the ledger's rows (a report mapped by address alone), the distinct volumes (or
/// reports) with a temporary failure the store has noted for `address`, `volume` included.
fn earlier_volumes(tx: &Tx<'_>, address: &Address, volume: &str) -> anyhow::Result<usize> {
    let earlier = tx.temporary_occasions(address)?;
    let mut volumes: Vec<&str> = earlier.iter().map(String::as_str).collect();
    volumes.push(volume);
    volumes.sort_unstable();
    volumes.dedup();
    Ok(volumes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Store;
    use crate::bounces::mapping::MappedBy;

    fn report(id: &str, status: &str, text: &str) -> Report {
        let code = crate::status::Status::parse(status);
        let finding = Finding::failure(
            Some("ana@example.org".to_owned()),
            Some(status.to_owned()),
            Action::Failed,
            crate::status::classify(None, code, text),
            Some(text.to_owned()),
        );
        Report::new(id.to_owned(), Kind::Bounce, vec![finding])
    }

    /// Applies a 4.2.2 failure to ana's message of `volume`, reported as `id`.
    fn temporary(store: &mut Store, ledger: Option<&Ledger>, id: &str, volume: u32) -> Effect {
        let report = report(id, "4.2.2", "mailbox full");
        apply_to_ana(store, ledger, &report, volume)
    }

    /// Applies `report` to ana's message of `volume`.
    fn apply_to_ana(
        store: &mut Store,
        ledger: Option<&Ledger>,
        report: &Report,
        volume: u32,
    ) -> Effect {
        let mapped = Mapped {
            address: Address::parse("ana@example.org").unwrap(),
            by: MappedBy::Verp,
            volume: Some(volume),
        };
        store
            .write(|tx| {
                let mut targets = Targets { tx, ledger };
                apply(
                    &mut targets,
                    report,
                    &report.findings[0],
                    &mapped,
                    3,
                    Timestamp(1),
                )
            })
            .unwrap()
    }

    #[test]
    fn temporary_failures_suppress_once_seen_in_enough_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let ana = Address::parse("ana@example.org").unwrap();
        let mut apply_one = |id: &str, volume: u32| temporary(&mut store, None, id, volume);
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
        // The reader comes back, a second later: the count starts again from there.
        store
            .write(|tx| tx.unsuppress(&ana, None, Source::Confirmation, Timestamp(2)))
            .unwrap();
        let report = report("<5@x>", "4.2.2", "mailbox full");
        let mapped = Mapped {
            address: ana.clone(),
            by: MappedBy::Verp,
            volume: Some(14),
        };
        let effect = store
            .write(|tx| {
                let mut targets = Targets { tx, ledger: None };
                apply(
                    &mut targets,
                    &report,
                    &report.findings[0],
                    &mapped,
                    3,
                    Timestamp(3),
                )
            })
            .unwrap();
        assert_eq!(
            effect,
            Effect::Counted,
            "one failure since the reader came back"
        );
    }

    /// A ledger in `dir` that sent volumes `volumes` to ana.
    fn sent_to_ana(dir: &std::path::Path, volumes: std::ops::RangeInclusive<u32>) -> Ledger {
        let path = dir.join(crate::ledger::LEDGER_FILE);
        let mut ledger = Ledger::open(&path).unwrap();
        for volume in volumes {
            let dispatch = crate::ledger::Dispatch {
                id: 0,
                volume,
                content_hash: "h".to_owned(),
                segments: vec!["subscribers".to_owned()],
                settings: "{}".to_owned(),
                started_at: 1,
                finished_at: None,
            };
            let entry = crate::ledger::Entry {
                address: Address::parse("ana@example.org").unwrap(),
                name: None,
                greeting: None,
                variant: "all".to_owned(),
                message_id: format!("<{volume}@x>"),
            };
            ledger.start(&dispatch, [Ok(entry)]).unwrap();
        }
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("UPDATE recipients SET state = 'sent'", [])
            .unwrap();
        ledger
    }

    #[test]
    fn a_delivery_between_soft_bounces_starts_the_count_again() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = sent_to_ana(dir.path(), 11..=14);
        let mut store = Store::open(dir.path()).unwrap();
        let mut apply_one =
            |volume: u32| temporary(&mut store, Some(&ledger), &format!("<{volume}@mx>"), volume);
        assert_eq!(apply_one(11), Effect::Counted);
        assert_eq!(apply_one(12), Effect::Counted);
        assert_eq!(
            apply_one(14),
            Effect::Counted,
            "volume 13 was delivered between 12 and 14: a run of one"
        );
        assert_eq!(
            apply_one(13),
            Effect::Suppressed,
            "13 failed too, late: four in a row"
        );
        assert_eq!(ledger.returns(13).unwrap().len(), 1, "kept beside the row");
    }

    #[test]
    fn an_unexplained_refusal_is_reported_but_never_counts_toward_dropping_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = sent_to_ana(dir.path(), 11..=15);
        let mut store = Store::open(dir.path()).unwrap();
        // T-Online refusing our IP in its own words, under a generic code, in three volumes.
        let blocklisted = |id: &str| {
            report(
                id,
                "5.0.0",
                "554 IP=203.0.113.5 - A problem occurred. (Ask your postmaster for help or \
                 to contact tosa@rx.t-online.de to clarify.) (BL)",
            )
        };
        for volume in 11..=13 {
            let report = blocklisted(&format!("<bl-{volume}@x>"));
            assert_eq!(report.findings[0].reason, crate::status::Reason::Unknown);
            let effect = apply_to_ana(&mut store, Some(&ledger), &report, volume);
            assert_eq!(effect, Effect::None, "volume {volume}");
            assert_eq!(ledger.returns(volume).unwrap().len(), 1, "reported");
        }
        let ana = Address::parse("ana@example.org").unwrap();
        assert!(store.suppression(&ana).unwrap().is_none(), "ana stays");
        // The unexplained refusals made no run: a temporary failure after them is the first.
        assert_eq!(
            temporary(&mut store, Some(&ledger), "<t-14@x>", 14),
            Effect::Counted
        );
        assert_eq!(ledger.soft_bounce_run(ana.as_str(), None).unwrap(), Some(1));
        // An unknown refusal whose code speaks of the reader's address still counts.
        let addressing = report("<a-15@x>", "5.1.0", "550 5.1.0 Address rejected");
        assert_eq!(
            addressing.findings[0].reason,
            crate::status::Reason::Unknown
        );
        assert_eq!(
            apply_to_ana(&mut store, Some(&ledger), &addressing, 15),
            Effect::Counted
        );
        assert_eq!(ledger.soft_bounce_run(ana.as_str(), None).unwrap(), Some(2));
    }

    #[test]
    fn only_the_class_decides_what_happens_to_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let ana = Address::parse("ana@example.org").unwrap();
        let ours = report(
            "<s@x>",
            "5.1.1",
            "550 5.1.1 <news@example.org>: Sender address rejected",
        );
        assert_eq!(ours.findings[0].class, Class::Sender);
        assert_eq!(apply_to_ana(&mut store, None, &ours, 11), Effect::None);
        let blocked = report(
            "<b@x>",
            "5.7.1",
            "554 5.7.1 Client host blocked using zen.spamhaus.org",
        );
        assert_eq!(apply_to_ana(&mut store, None, &blocked, 11), Effect::None);
        assert!(
            store.suppression(&ana).unwrap().is_none(),
            "never the reader's fault"
        );
        let gone = report("<g@x>", "5.0.0", "550 User unknown");
        assert_eq!(
            apply_to_ana(&mut store, None, &gone, 11),
            Effect::Suppressed
        );
        let suppression = store.suppression(&ana).unwrap().expect("suppressed");
        assert_eq!(
            (suppression.reason, suppression.detail),
            (Reason::Bounced, Some(crate::status::Reason::UserUnknown))
        );
    }
}
