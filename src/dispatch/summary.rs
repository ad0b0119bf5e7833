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
pub struct Summary {
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
    /// Bounces and complaints by kind, domain and reason, most frequent first.
    pub reasons: Vec<ReasonGroup>,
    /// Refusals while sending, by domain, reply code and reason.
    pub failures: Vec<FailureGroup>,
    /// What the newsroom should act on: rates past their line, refusals on our side.
    pub warnings: Vec<String>,
}

/// Bounces by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bounced {
    /// The address is gone: refused while sending for the reader's reasons, or reported
    /// failed for good after.
    pub hard: u64,
    /// Reported failed for now (a full mailbox, retries expired).
    pub soft: u64,
    /// Refused for a reason on our side (a blocklist, failed authentication, content judged
    /// as spam), while sending or after: the newsroom's problem, not the readers'.
    pub sender: u64,
}

impl Summary {
    /// The summary of `report` (from [`super::report::report`], with the store's
    /// unsubscribes) and the volume's `clicks`.
    pub fn new(report: Report, clicks: Vec<Click>) -> Self {
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
            reasons: report.returns.reasons,
            failures: report.failures,
            warnings: report.warnings,
        }
    }
}
