//! Where a volume's dispatches stand, read from the ledger: for each dispatch and in total,
//! counts by state, failures by domain and reply code, the ambiguous list with Message-IDs;
//! or one address's whole history. `status` prints it, and so does `dispatch` at its end.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::utc;
use crate::ledger::{Dispatch, Ledger, Row, State};
use crate::transport::Reply;

/// Every dispatch of a volume, and the totals.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The volume.
    pub volume: u32,
    /// Counts by state over every dispatch.
    pub counts: BTreeMap<&'static str, u64>,
    /// Failures and deferrals over every dispatch, by domain and reply code.
    pub failures: Vec<FailureGroup>,
    /// Every ambiguous message.
    pub ambiguous: Vec<Listed>,
    /// Each dispatch, oldest first.
    pub dispatches: Vec<DispatchReport>,
}

/// One dispatch.
#[derive(Debug, Serialize)]
pub struct DispatchReport {
    /// Its id.
    pub id: i64,
    /// The segments it was started for.
    pub segments: Vec<String>,
    /// When it started.
    pub started_at: String,
    /// When every recipient was settled, if that happened.
    pub finished_at: Option<String>,
    /// Counts by state.
    pub counts: BTreeMap<&'static str, u64>,
}

/// Messages of one state, domain and reply code.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FailureGroup {
    /// `failed` or `deferred`.
    pub state: &'static str,
    /// The recipients' domain.
    pub domain: String,
    /// The reply code, when a reply came.
    pub code: Option<u16>,
    /// The enhanced status code, when the reply had one.
    pub status: Option<String>,
    /// How many.
    pub count: usize,
}

/// One message listed by address.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The address.
    pub address: String,
    /// Its Message-ID.
    pub message_id: String,
    /// The last reply, or what happened.
    pub reply: Option<Reply>,
}

/// One address's history of a volume.
#[derive(Debug, Serialize)]
pub struct History {
    /// The address.
    pub address: String,
    /// The dispatch that holds it.
    pub dispatch: i64,
    /// Where its message stands.
    pub state: &'static str,
    /// Transactions tried.
    pub attempts: u32,
    /// The Message-ID.
    pub message_id: String,
    /// The content variant.
    pub variant: String,
    /// When it last changed.
    pub updated_at: String,
    /// The last reply, or why (for `suppressed`, the reason and since when).
    pub reply: Option<Reply>,
    /// Every try, in order.
    pub attempts_log: Vec<Attempted>,
}

/// One try.
#[derive(Debug, Serialize)]
pub struct Attempted {
    /// When.
    pub at: String,
    /// The state it led to.
    pub state: &'static str,
    /// The reply, or what happened.
    pub reply: Option<Reply>,
}

/// State, domain, reply code and enhanced status: what a failure group shares.
type GroupKey = (&'static str, String, Option<u16>, Option<String>);

/// The report of volume `number` over `dispatches` (none: no dispatch yet).
pub(crate) fn report(
    ledger: &Ledger,
    number: u32,
    dispatches: &[Dispatch],
) -> anyhow::Result<Report> {
    let mut report = Report {
        volume: number,
        counts: BTreeMap::new(),
        failures: Vec::new(),
        ambiguous: Vec::new(),
        dispatches: Vec::new(),
    };
    let mut groups: BTreeMap<GroupKey, usize> = BTreeMap::new();
    for d in dispatches {
        let counts: BTreeMap<&'static str, u64> = ledger
            .counts(d.id)?
            .into_iter()
            .map(|(state, n)| (state.as_str(), n))
            .collect();
        for (state, n) in &counts {
            *report.counts.entry(state).or_default() += n;
        }
        for state in [State::Failed, State::Deferred] {
            for row in ledger.in_state(d.id, state)? {
                let domain = row.entry.address.rsplit_once('@').map_or("", |(_, d)| d);
                let reply = row.reply.as_ref();
                let key = (
                    state.as_str(),
                    domain.to_owned(),
                    reply.and_then(|r| r.code),
                    reply.and_then(|r| r.enhanced).map(|s| s.to_string()),
                );
                *groups.entry(key).or_default() += 1;
            }
        }
        report.ambiguous.extend(
            ledger
                .in_state(d.id, State::Ambiguous)?
                .into_iter()
                .map(listed),
        );
        report.dispatches.push(DispatchReport {
            id: d.id,
            segments: d.segments.clone(),
            started_at: utc(d.started_at),
            finished_at: d.finished_at.map(utc),
            counts,
        });
    }
    report.failures = groups
        .into_iter()
        .map(|((state, domain, code, status), count)| FailureGroup {
            state,
            domain,
            code,
            status,
            count,
        })
        .collect();
    Ok(report)
}

fn listed(row: Row) -> Listed {
    Listed {
        address: row.entry.address,
        message_id: row.entry.message_id,
        reply: row.reply,
    }
}

/// `address`'s history of volume `number`, if a dispatch of it froze the address.
pub(crate) fn history(
    ledger: &Ledger,
    number: u32,
    address: &str,
) -> anyhow::Result<Option<History>> {
    let Some((row, attempts)) = ledger.history(number, address)? else {
        return Ok(None);
    };
    Ok(Some(History {
        address: row.entry.address,
        dispatch: row.dispatch,
        state: row.state.as_str(),
        attempts: row.attempts,
        message_id: row.entry.message_id,
        variant: row.entry.variant,
        updated_at: utc(row.updated_at),
        reply: row.reply,
        attempts_log: attempts
            .into_iter()
            .map(|a| Attempted {
                at: utc(a.at),
                state: a.state.as_str(),
                reply: a.reply,
            })
            .collect(),
    }))
}
