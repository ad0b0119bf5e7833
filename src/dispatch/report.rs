//! Where a volume's dispatches stand, read from the ledger: for each dispatch and in total,
//! counts by state, failures by domain, reply code and reason, the ambiguous list with
//! Message-IDs, and what came back after sending (bounces, complaints, unsubscribe mails,
//! with their rates and top reasons by domain), with warnings for refusals on our side
//! (`sender.rs`); or one address's whole history. `status` prints it, and so does
//! `dispatch` at its end.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sender::Refusals;
use crate::audience::Address;
use crate::clock::utc;
use crate::ledger::{Dispatch, Ledger, Return, Returned, Row, State};
use crate::status::{Class, Reason};
use crate::transport::Reply;

/// Every dispatch of a volume, and the totals.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The volume.
    pub volume: u32,
    /// Counts by state over every dispatch.
    pub counts: BTreeMap<&'static str, u64>,
    /// Failures and deferrals over every dispatch, by domain, reply code and reason.
    pub failures: Vec<FailureGroup>,
    /// Every ambiguous message.
    pub ambiguous: Vec<Listed>,
    /// Each dispatch, oldest first.
    pub dispatches: Vec<DispatchReport>,
    /// What came back after sending.
    pub returns: Returns,
    /// What an editor should act on (a complaint or bounce rate past its line, refusals
    /// that are our side's problem).
    pub warnings: Vec<String>,
}

impl Report {
    /// The report of volume `number` before any dispatch: every figure zero.
    pub(crate) fn empty(number: u32) -> Self {
        Self {
            volume: number,
            counts: BTreeMap::new(),
            failures: Vec::new(),
            ambiguous: Vec::new(),
            dispatches: Vec::new(),
            returns: Returns::default(),
            warnings: Vec::new(),
        }
    }
}

/// The complaint rate past which `status` warns: Gmail and Yahoo ask bulk senders to stay
/// below 0.1% and act at 0.3%.
pub(crate) const COMPLAINT_LINE: f64 = 0.001;

/// The bounce rate past which `status` warns: relays such as Amazon SES review an account
/// at 5%, and ask for less than 2%.
pub(crate) const BOUNCE_LINE: f64 = 0.02;

/// How many reasons the report lists.
const TOP_REASONS: usize = 10;

/// Bounces, complaints and unsubscribe mails reported about a volume's messages, counted
/// by message (a message that first soft-bounced and then bounced for good counts once, as
/// bounced).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Returns {
    /// Messages the relay took or refused for good: `sent` plus `failed`, the rates' base.
    pub attempted: u64,
    /// Refused for good during the SMTP transaction (the `failed` rows).
    pub refused: u64,
    /// Of `refused`, those refused for reasons on our side (class `sender`): not the
    /// readers' bounces, so not in the bounce rate.
    pub refused_on_our_side: u64,
    /// Accepted, then reported as failed for good (the address is gone).
    pub bounced: u64,
    /// Accepted, then reported as failed for now only (mailbox full, expired retries).
    pub soft_bounced: u64,
    /// Accepted, then reported as refused for a reason on our side (a blocklist, failed
    /// authentication, content judged as spam): never counted against the readers.
    pub sender_refused: u64,
    /// Marked as spam by their readers.
    pub complaints: u64,
    /// Answered with a mail to the `mailto:` unsubscribe address.
    pub unsubscribes: u64,
    /// Unsubscribes through the volume's links by channel (the `mailto:` ones among them),
    /// from the audience store.
    pub unsubscribed: crate::audience::store::Unsubscribes,
    /// Reports received since the volume's first dispatch that were tied to no message we
    /// sent (forged, or from a stranger): kept and shown, never acted on.
    pub unverified: u64,
    /// `(refused - refused_on_our_side + bounced) / attempted`: the readers' bounces.
    pub bounce_rate: f64,
    /// `complaints / attempted`.
    pub complaint_rate: f64,
    /// The most frequent reasons, by domain, most frequent first.
    pub reasons: Vec<ReasonGroup>,
}

impl Returns {
    /// The readers' bounces: refused during sending for their reasons, or bounced later.
    pub(crate) fn readers_bounces(&self) -> u64 {
        self.refused - self.refused_on_our_side + self.bounced
    }
}

/// Returns of one kind, domain, reason and status.
#[derive(Debug, Serialize)]
pub(crate) struct ReasonGroup {
    /// `bounce`, `soft-bounce`, `sender`, `complaint`, `feedback` or `unsubscribe`.
    pub kind: &'static str,
    /// The recipients' domain.
    pub domain: String,
    /// Why.
    pub reason: Reason,
    /// The enhanced status code, when the report gave one.
    pub status: Option<String>,
    /// How many.
    pub count: usize,
}

impl std::fmt::Display for ReasonGroup {
    /// One row of the table `status` and `report` print: kind, domain, reason, status, count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<11} {:<30} {:<17} {:<7} {}",
            self.kind,
            self.domain,
            self.reason.as_str(),
            self.status.as_deref().unwrap_or("-"),
            self.count
        )
    }
}

/// One report about an address's message.
#[derive(Debug, Serialize)]
pub(crate) struct Came {
    /// When it was imported.
    pub at: String,
    /// `bounce`, `soft-bounce`, `sender`, `complaint`, `feedback` or `unsubscribe`.
    pub kind: &'static str,
    /// Why.
    pub reason: Reason,
    /// What it means for the reader.
    pub class: Class,
    /// The report's Message-ID (or hash).
    pub report: String,
    /// The enhanced status code, when it gave one.
    pub status: Option<String>,
    /// The remote server's words, if given.
    pub diagnostic: Option<String>,
}

/// One dispatch.
#[derive(Debug, Serialize)]
pub(crate) struct DispatchReport {
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
pub(crate) struct FailureGroup {
    /// `failed` or `deferred`.
    pub state: &'static str,
    /// The recipients' domain.
    pub domain: String,
    /// The reply code, when a reply came.
    pub code: Option<u16>,
    /// The enhanced status code, when the reply had one.
    pub status: Option<String>,
    /// Why, by the classifier that reads bounce reports too.
    pub reason: Reason,
    /// What it means for the readers: `sender` is our side's problem.
    pub class: Class,
    /// How many.
    pub count: usize,
}

/// One message listed by address.
#[derive(Debug, Serialize)]
pub(crate) struct Listed {
    /// The address.
    pub address: String,
    /// Its Message-ID.
    pub message_id: String,
    /// The last reply, or what happened.
    pub reply: Option<Reply>,
}

/// One address's history of a volume.
#[derive(Debug, Serialize)]
pub(crate) struct History {
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
    /// Why the last reply refused the message, for a `failed` or `deferred` one.
    pub reason: Option<Reason>,
    /// Every try, in order.
    pub attempts_log: Vec<Attempted>,
    /// What came back after sending, in order.
    pub returns: Vec<Came>,
}

/// One try.
#[derive(Debug, Serialize)]
pub(crate) struct Attempted {
    /// When.
    pub at: String,
    /// The state it led to.
    pub state: &'static str,
    /// The reply, or what happened.
    pub reply: Option<Reply>,
}

/// State, domain, reply code, enhanced status, reason and class: what a failure group
/// shares.
type GroupKey = (
    &'static str,
    String,
    Option<u16>,
    Option<String>,
    Reason,
    Class,
);

/// The report of volume `number` over `dispatches` (none: no dispatch yet).
pub(crate) fn report(
    ledger: &Ledger,
    number: u32,
    dispatches: &[Dispatch],
) -> anyhow::Result<Report> {
    let mut report = Report::empty(number);
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
            ledger.each_in_state(d.id, state, |row| {
                let domain = row.entry.address.domain();
                let reply = row.reply.as_ref();
                let classified = reply.map(Reply::classified);
                let key = (
                    state.as_str(),
                    domain.to_owned(),
                    reply.and_then(|r| r.code),
                    reply.and_then(|r| r.enhanced).map(|s| s.to_string()),
                    classified.map_or(Reason::Unknown, |c| c.reason),
                    classified.map_or(Class::Soft, |c| c.class()),
                );
                *groups.entry(key).or_default() += 1;
            })?;
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
        .map(
            |((state, domain, code, status, reason, class), count)| FailureGroup {
                state,
                domain,
                code,
                status,
                reason,
                class,
                count,
            },
        )
        .collect();
    let count = |state: State| report.counts.get(state.as_str()).copied().unwrap_or(0);
    let ours = report
        .failures
        .iter()
        .filter(|g| g.state == State::Failed.as_str() && g.class == Class::Sender)
        .map(|g| g.count as u64)
        .sum();
    let came = ledger.returns(number)?;
    report.returns = returns(&came, count(State::Sent), count(State::Failed), ours);
    report.warnings = warnings(&report.returns);
    let relays = relays(dispatches);
    report.warnings.extend(super::sender::warnings(
        refusals(&report.failures),
        &relays,
        &came,
    ));
    Ok(report)
}

/// The word for a return, by its class: a bounce is `bounce` only when the address is
/// gone, `soft-bounce` when temporary, `sender` when the fault is ours; a feedback report
/// that is not a complaint (not spam, an authentication failure report) is `feedback`.
pub(super) fn kind_word(r: &Return) -> &'static str {
    match (r.kind, r.class) {
        (Returned::Bounce, Class::Hard) => "bounce",
        (Returned::Bounce, Class::Sender) => "sender",
        (Returned::Bounce, _) => "soft-bounce",
        (Returned::Complaint, Class::Complaint) => "complaint",
        (Returned::Complaint, _) => "feedback",
        (Returned::Unsubscribe, _) => "unsubscribe",
    }
}

/// The counts, rates and top reasons of `found` (address and return), over `sent` and
/// `refused` messages, `ours` of them refused for reasons on our side.
fn returns(found: &[(Address, Return)], sent: u64, refused: u64, ours: u64) -> Returns {
    let mut by_message: BTreeMap<&str, Vec<&Return>> = BTreeMap::new();
    let mut reasons: BTreeMap<(&'static str, &str, Reason, Option<&str>), usize> = BTreeMap::new();
    for (address, r) in found {
        by_message.entry(address.as_str()).or_default().push(r);
        let domain = address.domain();
        *reasons
            .entry((kind_word(r), domain, r.reason, r.status.as_deref()))
            .or_default() += 1;
    }
    let mut counted = Returns {
        attempted: sent + refused,
        refused,
        refused_on_our_side: ours,
        ..Returns::default()
    };
    for returns in by_message.values() {
        let has = |word: &str| returns.iter().any(|r| kind_word(r) == word);
        if has("bounce") {
            counted.bounced += 1;
        } else if has("soft-bounce") {
            counted.soft_bounced += 1;
        } else if has("sender") {
            counted.sender_refused += 1;
        }
        counted.complaints += u64::from(has("complaint"));
        counted.unsubscribes += u64::from(has("unsubscribe"));
    }
    let rate = |n: u64| {
        if counted.attempted == 0 {
            0.0
        } else {
            n as f64 / counted.attempted as f64
        }
    };
    counted.bounce_rate = rate(counted.readers_bounces());
    counted.complaint_rate = rate(counted.complaints);
    let mut reasons: Vec<ReasonGroup> = reasons
        .into_iter()
        .map(|((kind, domain, reason, status), count)| ReasonGroup {
            kind,
            domain: domain.to_owned(),
            reason,
            status: status.map(str::to_owned),
            count,
        })
        .collect();
    // Most frequent first; the key's order among equals.
    reasons.sort_by_key(|g| std::cmp::Reverse(g.count));
    reasons.truncate(TOP_REASONS);
    counted.reasons = reasons;
    counted
}

/// The warnings the rates call for.
fn warnings(returns: &Returns) -> Vec<String> {
    let mut warnings = Vec::new();
    if returns.complaint_rate > COMPLAINT_LINE {
        warnings.push(format!(
            "the complaint rate is {:.2}% ({} of {}), above 0.1%: Gmail and Yahoo act on bulk \
             senders at 0.3%; send only to readers who asked, and make unsubscribing easy",
            returns.complaint_rate * 100.0,
            returns.complaints,
            returns.attempted
        ));
    }
    if returns.bounce_rate > BOUNCE_LINE {
        warnings.push(format!(
            "the bounce rate is {:.2}% ({} of {}), above 2%: relays such as Amazon SES review \
             a sender at 5%; check where the list's addresses come from",
            returns.bounce_rate * 100.0,
            returns.readers_bounces(),
            returns.attempted
        ));
    }
    warnings
}

/// The report's failure groups as the warnings about our side read them.
fn refusals(groups: &[FailureGroup]) -> impl Iterator<Item = Refusals<'_>> {
    groups.iter().map(|g| Refusals {
        domain: &g.domain,
        code: g.code,
        status: g.status.as_deref(),
        reason: g.reason,
        class: g.class,
        count: g.count,
    })
}

/// The relays `dispatches` started on, as they froze them (`host:port`), each once.
fn relays(dispatches: &[Dispatch]) -> Vec<String> {
    let relays: std::collections::BTreeSet<String> = dispatches
        .iter()
        .filter_map(|d| {
            let settings: BTreeMap<String, String> = serde_json::from_str(&d.settings).ok()?;
            settings.get(crate::settings::FROZEN_RELAY).cloned()
        })
        .filter(|r| !r.is_empty())
        .collect();
    relays.into_iter().collect()
}

fn listed(row: Row) -> Listed {
    Listed {
        address: row.entry.address.to_string(),
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
    let returns = ledger
        .returns_of(row.id)?
        .into_iter()
        .map(|r| Came {
            at: utc(r.at),
            kind: kind_word(&r),
            reason: r.reason,
            class: r.class,
            status: r.status,
            diagnostic: r.diagnostic,
            report: r.report,
        })
        .collect();
    Ok(Some(History {
        address: row.entry.address.to_string(),
        dispatch: row.dispatch,
        state: row.state.as_str(),
        attempts: row.attempts,
        message_id: row.entry.message_id,
        variant: row.entry.variant,
        updated_at: utc(row.updated_at),
        reason: matches!(row.state, State::Failed | State::Deferred)
            .then(|| row.reply.as_ref().map(|r| r.classified().reason))
            .flatten(),
        reply: row.reply,
        attempts_log: attempts
            .into_iter()
            .map(|a| Attempted {
                at: utc(a.at),
                state: a.state.as_str(),
                reply: a.reply,
            })
            .collect(),
        returns,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn came(
        address: &str,
        kind: Returned,
        status: Option<&str>,
        permanent: bool,
    ) -> (Address, Return) {
        let (reason, class) = match kind {
            Returned::Bounce => {
                let found = crate::status::classify(
                    None,
                    status.and_then(crate::status::Status::parse),
                    "",
                );
                let class = if permanent {
                    Class::Hard
                } else {
                    found.class()
                };
                (found.reason, class)
            }
            Returned::Complaint => (Reason::Complaint, Class::Complaint),
            Returned::Unsubscribe => (Reason::Unsubscribe, Class::Unsubscribe),
        };
        let r = Return {
            kind,
            report: format!("<{address}-{status:?}>"),
            status: status.map(str::to_owned),
            permanent,
            diagnostic: None,
            at: 0,
            reason,
            class,
        };
        (Address::parse(address).unwrap(), r)
    }

    #[test]
    fn returns_count_messages_once_and_rank_reasons_by_domain() {
        let found = [
            came("a@gmail.com", Returned::Bounce, Some("4.2.2"), false),
            came("a@gmail.com", Returned::Bounce, Some("5.1.1"), true),
            came("b@gmail.com", Returned::Bounce, Some("5.1.1"), true),
            came("c@yahoo.com", Returned::Bounce, Some("4.2.2"), false),
            came("d@yahoo.com", Returned::Complaint, None, false),
            came("e@example.org", Returned::Unsubscribe, None, false),
            came("f@yahoo.com", Returned::Bounce, Some("5.7.26"), false),
        ];
        let r = returns(&found, 998, 2, 0);
        assert_eq!(r.sender_refused, 1, "a DMARC refusal is ours, not a bounce");
        assert_eq!(r.attempted, 1000);
        assert_eq!(
            (r.bounced, r.soft_bounced, r.complaints, r.unsubscribes),
            (2, 1, 1, 1),
            "a soft bounce then a hard one is one bounced message"
        );
        assert!(
            (r.bounce_rate - 0.004).abs() < 1e-12,
            "2 refused + 2 bounced"
        );
        assert!((r.complaint_rate - 0.001).abs() < 1e-12);
        let top = &r.reasons[0];
        assert_eq!(
            (
                top.kind,
                top.domain.as_str(),
                top.status.as_deref(),
                top.count
            ),
            ("bounce", "gmail.com", Some("5.1.1"), 2)
        );
        assert_eq!(top.reason, Reason::UserUnknown);
        assert_eq!(r.reasons.len(), 6);
        assert!(warnings(&r).is_empty(), "0.1% is the line, not past it");
    }

    #[test]
    fn rates_past_their_lines_warn() {
        let found = [
            came("a@gmail.com", Returned::Complaint, None, false),
            came("b@gmail.com", Returned::Complaint, None, false),
        ];
        let r = returns(&found, 1000, 0, 0);
        let warned = warnings(&r);
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].starts_with("the complaint rate is 0.20% (2 of 1000)"));
        let r = returns(&[], 95, 5, 2);
        let warned = warnings(&r);
        assert!(
            warned[0].starts_with("the bounce rate is 3.00% (3 of 100)"),
            "two of five refusals were ours, not the readers': {warned:?}"
        );
        assert_eq!(
            returns(&[], 0, 0, 0).bounce_rate,
            0.0,
            "nothing sent, no rate"
        );
    }
}
