//! Telling a relay that refuses everyone from recipients who do not exist. A permanent
//! refusal normally settles one recipient (and a hard one puts the address on the suppression
//! list), but when the relay itself is refusing (it does not let this sender relay, it is
//! misconfigured, it blocks our IP) every recipient gets the same answer, and taking those
//! at their word would wipe the list. Three signs, each set in `[limits]`:
//!
//! - `relay_same_reply` permanent refusals in a row with the same reply code and enhanced
//!   code, from at least two domains (the text names each recipient, so it differs);
//! - `relay_policy_refusals` permanent 5.7.x (security or policy) refusals in a row;
//! - a share of permanent failures of at least `relay_failure_percent` among the run's first
//!   [`EARLY_WINDOW`] outcomes, once there are [`EARLY_MINIMUM`] of them.
//!
//! A success ends both runs of refusals. The first sign stops the run (resumable); the
//! caller puts the run's failures back to pending and suppresses nobody.

use std::collections::BTreeSet;
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
    state: Mutex<Watch>,
}

#[derive(Debug, Default)]
struct Watch {
    /// The reply of the current run of identical refusals, its length and domains.
    same: Option<Reply>,
    same_count: u32,
    same_domains: BTreeSet<String>,
    policy_count: u32,
    outcomes: u32,
    failures: u32,
}

impl RelayGuard {
    /// A guard with these thresholds.
    pub(crate) fn new(limits: RelayLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(Watch::default()),
        }
    }

    /// A message went through.
    pub(crate) fn success(&self) {
        let mut w = self.lock();
        w.same = None;
        w.same_count = 0;
        w.same_domains.clear();
        w.policy_count = 0;
        w.outcomes += 1;
    }

    /// The relay refused the message to `domain` for good; returns why the run must stop
    /// when this refusal shows that the relay, not the recipients, is refusing.
    pub(crate) fn refusal(&self, reply: &Reply, domain: &str) -> Option<String> {
        let limits = self.limits;
        let mut w = self.lock();
        w.outcomes += 1;
        w.failures += 1;
        if w.same.as_ref().is_some_and(|r| r.same_kind(reply)) {
            w.same_count += 1;
        } else {
            w.same = Some(reply.clone());
            w.same_count = 1;
            w.same_domains.clear();
        }
        w.same_domains.insert(domain.to_ascii_lowercase());
        w.policy_count = if reply.is_policy() {
            w.policy_count + 1
        } else {
            0
        };
        let code = reply_code(reply);
        if w.same_count >= limits.same_reply && w.same_domains.len() >= 2 {
            return Some(format!(
                "the relay refused {} recipients in a row, at {} domains, with the same reply \
                 `{code}` (the last: {})",
                w.same_count,
                w.same_domains.len(),
                reply.masked()
            ));
        }
        if reply.is_policy() && w.policy_count >= limits.policy_refusals {
            return Some(format!(
                "the relay refused {} recipients in a row on grounds of policy (`{code}`; the \
                 last: {})",
                w.policy_count,
                reply.masked()
            ));
        }
        let early = w.outcomes <= EARLY_WINDOW && w.outcomes >= EARLY_MINIMUM;
        if early && w.failures * 100 >= limits.failure_percent * w.outcomes {
            return Some(format!(
                "the relay refused {} of the first {} recipients for good (the last: {})",
                w.failures,
                w.outcomes,
                reply.masked()
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

    fn refuse(guard: &RelayGuard, code: u16, text: &str, domain: &str) -> Option<String> {
        guard.refusal(&Reply::with_code(code, text), domain)
    }

    #[test]
    fn the_same_refusal_across_domains_stops_the_run() {
        let guard = RelayGuard::new(LIMITS);
        for _ in 0..EARLY_WINDOW {
            guard.success();
        }
        for i in 0..20 {
            guard.success();
            let domain = if i % 2 == 0 { "a.example" } else { "b.example" };
            assert_eq!(refuse(&guard, 550, "5.1.1 no", domain), None, "{i}");
        }
        guard.success();
        for i in 0..4 {
            let domain = if i % 2 == 0 { "a.example" } else { "b.example" };
            assert_eq!(
                refuse(&guard, 550, &format!("5.1.1 <u{i}@x> no"), domain),
                None
            );
        }
        let why = refuse(&guard, 550, "5.1.1 <u@x> no", "c.example").expect("stops");
        assert!(why.contains("5 recipients in a row, at 3 domains"), "{why}");
        assert!(why.contains("`550 5.1.1`"), "{why}");
        assert!(why.contains("u…@x"), "addresses masked: {why}");
    }

    #[test]
    fn one_domain_refusing_is_that_domains_business() {
        let guard = RelayGuard::new(LIMITS);
        for _ in 0..30 {
            guard.success();
        }
        for _ in 0..8 {
            assert_eq!(refuse(&guard, 550, "5.1.1 no", "gone.example"), None);
        }
    }

    #[test]
    fn policy_refusals_in_a_row_stop_the_run() {
        let guard = RelayGuard::new(LIMITS);
        for _ in 0..30 {
            guard.success();
        }
        assert_eq!(refuse(&guard, 554, "5.7.1 relay denied", "a.example"), None);
        assert_eq!(refuse(&guard, 550, "5.7.1 blocked", "b.example"), None);
        let why = refuse(&guard, 553, "5.7.0 no", "c.example").expect("stops");
        assert!(why.contains("policy"), "{why}");
    }

    #[test]
    fn a_high_failure_share_at_the_start_stops_the_run() {
        let guard = RelayGuard::new(LIMITS);
        for _ in 0..5 {
            guard.success();
        }
        for i in 0..4 {
            let text = format!("5.1.{} no", i % 3);
            assert_eq!(refuse(&guard, 550, &text, "a.example"), None, "{i}");
        }
        let why = refuse(&guard, 550, "5.1.3 no", "a.example").expect("5 of the first 10");
        assert!(why.contains("5 of the first 10"), "{why}");
        let late = RelayGuard::new(LIMITS);
        for _ in 0..EARLY_WINDOW {
            late.success();
        }
        for i in 0..4 {
            assert_eq!(
                refuse(&late, 550, &format!("5.1.{i} no"), "a.example"),
                None
            );
        }
    }
}
