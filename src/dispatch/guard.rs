//! Telling a relay that refuses everyone from recipients who do not exist. A permanent
//! refusal normally settles one recipient (and a hard one puts the address on the suppression
//! list), but when the relay itself is refusing (it does not let this sender relay, it is
//! misconfigured, its recipient directory broke mid-run, it blocks our IP) every recipient
//! gets the same answer, and taking those at their word would wipe the list. Three signs,
//! each set in `[limits]`:
//!
//! - `relay_same_reply` permanent refusals in a row with the same reply code and enhanced
//!   code (the text names each recipient, so it differs), however many domains they are at:
//!   a list at one domain is as easily wiped as one at many;
//! - `relay_policy_refusals` permanent 5.7.x (security or policy) refusals in a row;
//! - a share of permanent failures of at least `relay_failure_percent` among the run's first
//!   [`EARLY_WINDOW`] outcomes, once there are [`EARLY_MINIMUM`] of them.
//!
//! A success ends both runs of refusals. The first sign stops the run (resumable); the
//! caller puts the run's failures back to pending and suppresses nobody, and the next run
//! sends to them after the others.
//!
//! A recipient refused before (put back by such a stop, or retried by `--retry-failed`) and
//! refused again with the same reply is no evidence once the relay has accepted a message
//! in this run: the relay works, so its refusal is the recipient's own and settles the row.
//! Neither is one retried by `--retry-failed`, whose refusal repeats the one that already
//! settled it. Without that, a resume would judge the same recipients as the relay's first
//! outcomes for ever. A refusal unlike the one before is evidence like any other: a relay
//! that answers a retry of policy refusals with `5.1.1` for everyone is itself refusing.

use std::sync::Mutex;

use crate::settings::RelayLimits;
use crate::transport::Reply;

/// The outcomes at the start of a run within which the failure share is watched.
pub(crate) const EARLY_WINDOW: u32 = 100;
/// The outcomes needed before the failure share means anything.
pub(crate) const EARLY_MINIMUM: u32 = 10;

/// Watches a run's permanent refusals for the signs of a relay that refuses everyone.
#[derive(Debug)]
pub(crate) struct RelayGuard {
    limits: RelayLimits,
    /// The run retries failed recipients (`--retry-failed`): their refusals repeat.
    retrying_failed: bool,
    state: Mutex<Watch>,
}

#[derive(Debug, Default)]
struct Watch {
    /// The reply of the current run of identical refusals, and its length.
    same: Option<Reply>,
    same_count: u32,
    policy_count: u32,
    /// The relay accepted a message in this run.
    accepted: bool,
    outcomes: u32,
    failures: u32,
}

impl RelayGuard {
    /// A guard with these thresholds, for a run that retries failed recipients or not.
    pub(crate) fn new(limits: RelayLimits, retrying_failed: bool) -> Self {
        Self {
            limits,
            retrying_failed,
            state: Mutex::new(Watch::default()),
        }
    }

    /// A message went through.
    pub(crate) fn success(&self) {
        let mut w = self.lock();
        w.same = None;
        w.same_count = 0;
        w.policy_count = 0;
        w.outcomes += 1;
        w.accepted = true;
    }

    /// The relay refused a message for good; returns why the run must stop when this
    /// refusal shows that the relay, not the recipients, is refusing. A refusal that repeats
    /// the one the recipient got `before` (in an earlier run) is no evidence once the relay
    /// accepted a message in this run, nor in a run that retries failed recipients.
    pub(crate) fn refusal(&self, reply: &Reply, before: Option<&Reply>) -> Option<String> {
        let limits = self.limits;
        let mut w = self.lock();
        let repeated = before.is_some_and(|b| b.same_kind(reply));
        if repeated && (w.accepted || self.retrying_failed) {
            return None;
        }
        w.outcomes += 1;
        w.failures += 1;
        if w.same.as_ref().is_some_and(|r| r.same_kind(reply)) {
            w.same_count += 1;
        } else {
            w.same = Some(reply.clone());
            w.same_count = 1;
        }
        w.policy_count = if reply.is_policy() {
            w.policy_count + 1
        } else {
            0
        };
        let code = reply_code(reply);
        if w.same_count >= limits.same_reply {
            return Some(format!(
                "the relay refused {} recipients in a row with the same reply `{code}`, \
                 accepting none in between (the last: {}; `[limits] relay_same_reply` is {})",
                w.same_count,
                reply.masked(),
                limits.same_reply
            ));
        }
        if reply.is_policy() && w.policy_count >= limits.policy_refusals {
            return Some(format!(
                "the relay refused {} recipients in a row on grounds of policy (`{code}`; the \
                 last: {}; `[limits] relay_policy_refusals` is {})",
                w.policy_count,
                reply.masked(),
                limits.policy_refusals
            ));
        }
        let early = w.outcomes <= EARLY_WINDOW && w.outcomes >= EARLY_MINIMUM;
        if early && w.failures * 100 >= limits.failure_percent * w.outcomes {
            return Some(format!(
                "the relay refused {} of the first {} recipients for good (the last: {}; \
                 `[limits] relay_failure_percent` is {})",
                w.failures,
                w.outcomes,
                reply.masked(),
                limits.failure_percent
            ));
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `550 5.1.1`: what makes two refusals the same.
fn reply_code(reply: &Reply) -> String {
    match (reply.code, reply.enhanced) {
        (Some(code), Some(status)) => format!("{code} {status}"),
        (Some(code), None) => code.to_string(),
        _ => String::from("-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RelayLimits = RelayLimits {
        same_reply: 5,
        policy_refusals: 3,
        failure_percent: 50,
    };

    fn refuse(guard: &RelayGuard, code: u16, text: &str) -> Option<String> {
        guard.refusal(&Reply::with_code(code, text), None)
    }

    /// A refusal that repeats the recipient's refusal of an earlier run.
    fn refuse_again(guard: &RelayGuard, code: u16, text: &str) -> Option<String> {
        let reply = Reply::with_code(code, text);
        guard.refusal(&reply, Some(&reply))
    }

    #[test]
    fn the_same_refusal_in_a_row_stops_the_run() {
        let guard = RelayGuard::new(LIMITS, false);
        for _ in 0..EARLY_WINDOW {
            guard.success();
        }
        for i in 0..20 {
            guard.success();
            assert_eq!(refuse(&guard, 550, "5.1.1 no"), None, "{i}");
        }
        guard.success();
        for i in 0..4 {
            assert_eq!(refuse(&guard, 550, &format!("5.1.1 <u{i}@x> no")), None);
        }
        let why = refuse(&guard, 550, "5.1.1 <u@x> no").expect("stops");
        assert!(why.contains("5 recipients in a row"), "{why}");
        assert!(why.contains("`550 5.1.1`"), "{why}");
        assert!(why.contains("u…@x"), "addresses masked: {why}");
        assert!(why.contains("`[limits] relay_same_reply` is 5"), "{why}");
    }

    #[test]
    fn a_relay_that_breaks_after_the_first_outcomes_at_one_domain_stops_the_run() {
        let guard = RelayGuard::new(LIMITS, false);
        for _ in 0..120 {
            guard.success();
        }
        for i in 0..4 {
            let text = format!("5.1.1 <user{i}@corp.example>: User unknown");
            assert_eq!(refuse(&guard, 550, &text), None, "{i}");
        }
        let why = refuse(&guard, 550, "5.1.1 <user9@corp.example>: User unknown");
        assert!(why.is_some(), "five in a row at one domain are the relay's");
    }

    #[test]
    fn policy_refusals_in_a_row_stop_the_run() {
        let guard = RelayGuard::new(LIMITS, false);
        for _ in 0..30 {
            guard.success();
        }
        assert_eq!(refuse(&guard, 554, "5.7.1 relay denied"), None);
        assert_eq!(refuse(&guard, 550, "5.7.1 blocked"), None);
        let why = refuse(&guard, 553, "5.7.0 no").expect("stops");
        assert!(why.contains("policy"), "{why}");
        assert!(why.contains("relay_policy_refusals` is 3"), "{why}");
    }

    #[test]
    fn a_high_failure_share_at_the_start_stops_the_run() {
        let guard = RelayGuard::new(LIMITS, false);
        for _ in 0..5 {
            guard.success();
        }
        for i in 0..4 {
            let text = format!("5.1.{} no", i % 3);
            assert_eq!(refuse(&guard, 550, &text), None, "{i}");
        }
        let why = refuse(&guard, 550, "5.1.3 no").expect("5 of the first 10");
        assert!(why.contains("5 of the first 10"), "{why}");
        assert!(why.contains("relay_failure_percent` is 50"), "{why}");
        let late = RelayGuard::new(LIMITS, false);
        for _ in 0..EARLY_WINDOW {
            late.success();
        }
        for i in 0..4 {
            assert_eq!(refuse(&late, 550, &format!("5.1.{i} no")), None);
        }
    }

    #[test]
    fn a_refusal_repeated_once_the_relay_accepted_others_is_the_recipients() {
        // Before the relay accepted anything in the run, a repeated refusal is evidence.
        let before = RelayGuard::new(LIMITS, false);
        assert_eq!(refuse_again(&before, 554, "5.7.1 spam"), None);
        assert_eq!(refuse_again(&before, 554, "5.7.1 spam"), None);
        assert!(refuse_again(&before, 554, "5.7.1 spam").is_some());
        // Once it accepted a message, repeated refusals are their recipients' own, and
        // they neither count toward nor break a run of fresh refusals.
        let after = RelayGuard::new(LIMITS, false);
        after.success();
        assert_eq!(refuse(&after, 554, "5.7.1 spam"), None);
        for _ in 0..20 {
            assert_eq!(refuse_again(&after, 554, "5.7.1 spam"), None);
        }
        assert_eq!(refuse(&after, 554, "5.7.1 spam"), None);
        assert!(refuse(&after, 554, "5.7.1 spam").is_some());
    }

    #[test]
    fn a_retry_of_failed_recipients_is_no_evidence() {
        let guard = RelayGuard::new(LIMITS, true);
        for _ in 0..30 {
            assert_eq!(refuse_again(&guard, 554, "5.7.9 policy"), None);
        }
        // A recipient never refused before still counts in such a run.
        for _ in 0..2 {
            assert_eq!(refuse(&guard, 554, "5.7.1 no"), None);
        }
        assert!(refuse(&guard, 554, "5.7.1 no").is_some());
        // And so does a refusal unlike the one a retried recipient got before: a relay
        // that answers a retry of policy refusals with 5.1.1 for all is refusing itself.
        let broken = RelayGuard::new(LIMITS, true);
        let policy = Reply::with_code(554, "5.7.9 policy");
        let unknown = |i: u32| Reply::with_code(550, &format!("5.1.1 <u{i}@x> unknown"));
        for i in 0..4 {
            assert_eq!(broken.refusal(&unknown(i), Some(&policy)), None, "{i}");
        }
        assert!(broken.refusal(&unknown(9), Some(&policy)).is_some());
    }
}
