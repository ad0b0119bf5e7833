//! What one volume did, for `broadsheet report`: the send's figures from the ledger (through
//! [`super::report`], the code `status` uses), bounces by class, complaints, the sender-side
//! refusals that are the newsroom's problem, and unsubscribes by the channel of the
//! volume's link that brought them, from the audience store.

use serde::Serialize;

use super::report::{FailureGroup, ReasonGroup, Report};
use crate::audience::store::{Click, Unsubscribes};
use crate::ledger::State;

/// One volume's report. Its JSON keys are documented in the README ("What the issue did").
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// The volume.
    pub volume: u32,
    /// Messages the relay accepted.
    pub sent: u64,
    /// Of `sent`, those no report later said failed (bounced for good, for now, or refused
    /// for a reason on our side).
    pub delivered: u64,
    /// Messages still waiting for another try.
    pub deferred: u64,
    /// Messages refused for good while sending.
    pub failed: u64,
    /// Bounces by class, counted by message.
    pub bounced: Bounced,
    /// Readers who marked the volume as spam.
    pub complaints: u64,
    /// Readers who left through the volume's links, by channel.
    pub unsubscribed: Unsubscribes,
    /// Clicks per link, in the email's order (empty unless `[clicks]` is on).
    pub clicks: Vec<Click>,
    /// Messages sent and clicks made in each of the first 72 hours after the first
    /// dispatch started.
    pub hours: Vec<Hourly>,
    /// Bounces and complaints by kind, domain and reason, most frequent first.
    pub reasons: Vec<ReasonGroup>,
    /// Refusals while sending, by domain, reply code and reason.
    pub failures: Vec<FailureGroup>,
    /// What the newsroom should act on: rates past their line, refusals on our side.
    pub warnings: Vec<String>,
}

/// Bounces by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Bounced {
    /// The address is gone: refused while sending for the reader's reasons, or reported
    /// failed for good after.
    pub hard: u64,
    /// Reported failed for now (a full mailbox, retries expired).
    pub soft: u64,
    /// Refused for a reason on our side (a blocklist, failed authentication, content judged
    /// as spam), while sending or after: the newsroom's problem, not the readers'.
    pub sender: u64,
}

/// One hour after the volume's first dispatch started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Hourly {
    /// Hours since the first dispatch started (0 is the first hour).
    pub hour: u32,
    /// Messages the relay accepted in that hour.
    pub sent: u64,
    /// Clicks made in that hour (scanners not counted).
    pub clicks: u64,
}

/// How many hours [`Summary::hours`] covers.
pub(crate) const HOURS: u32 = 72;

/// The first [`HOURS`] hours of `dispatches` in `ledger`: the messages sent in each, and
/// the clicks of `clicks_by_hour` (unix hours).
pub(crate) fn hourly(
    ledger: &crate::ledger::Ledger,
    dispatches: &[crate::ledger::Dispatch],
    clicks_by_hour: &[(i64, u64)],
) -> anyhow::Result<Vec<Hourly>> {
    let mut hours = quiet_hours();
    let Some(first) = dispatches.first() else {
        return Ok(hours);
    };
    let start = first.started_at.div_euclid(3_600_000);
    let slot = |hour: i64| {
        usize::try_from(hour - start)
            .ok()
            .filter(|i| *i < hours.len())
    };
    let mut sent = vec![0; hours.len()];
    for d in dispatches {
        for (hour, n) in ledger.sent_per_hour(d.id)? {
            if let Some(i) = slot(hour) {
                sent[i] += n;
            }
        }
    }
    let mut clicks = vec![0; hours.len()];
    for (hour, n) in clicks_by_hour {
        if let Some(i) = slot(*hour) {
            clicks[i] += n;
        }
    }
    for (i, h) in hours.iter_mut().enumerate() {
        (h.sent, h.clicks) = (sent[i], clicks[i]);
    }
    Ok(hours)
}

/// [`HOURS`] hours with nothing sent and nothing clicked.
fn quiet_hours() -> Vec<Hourly> {
    (0..HOURS)
        .map(|hour| Hourly {
            hour,
            ..Hourly::default()
        })
        .collect()
}

impl Summary {
    /// The summary of volume `number` before any dispatch: every figure zero, and
    /// [`HOURS`] quiet hours.
    pub(crate) fn empty(number: u32) -> Self {
        Self::new(Report::empty(number), Vec::new(), quiet_hours())
    }

    /// The summary of `report` (from [`super::report::report`], with the store's
    /// unsubscribes) and the volume's `clicks`.
    pub(crate) fn new(report: Report, clicks: Vec<Click>, hours: Vec<Hourly>) -> Self {
        let count = |state: State| report.counts.get(state.as_str()).copied().unwrap_or(0);
        let r = &report.returns;
        let bounced = Bounced {
            hard: r.readers_bounces(),
            soft: r.soft_bounced,
            sender: r.sender_refused + r.refused_on_our_side,
        };
        let sent = count(State::Sent);
        Self {
            volume: report.volume,
            sent,
            delivered: sent.saturating_sub(r.bounced + r.soft_bounced + r.sender_refused),
            deferred: count(State::Deferred),
            failed: count(State::Failed),
            bounced,
            complaints: r.complaints,
            unsubscribed: r.unsubscribed,
            clicks,
            hours,
            reasons: report.returns.reasons,
            failures: report.failures,
            warnings: report.warnings,
        }
    }
}
