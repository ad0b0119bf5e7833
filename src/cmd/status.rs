//! `broadsheet status VOLUME [--json] [--recipient ADDRESS]`: where the volume's dispatches
//! stand, read from the ledger without changing it (a read-only `state/` is fine).

use crate::audience::Store;
use crate::cli::StatusArgs;
use crate::clock::Timestamp;
use crate::dispatch::prepare;
use crate::dispatch::report::{self, Report, Returns};
use std::path::Path;

use super::{Reported, say, say_json};
use crate::ledger::{Dispatch, Ledger, State};
use crate::project::Project;
use crate::volume;

/// A dispatched volume's number, the ledger and the volume's dispatches, oldest first.
pub(crate) struct Dispatched {
    pub(crate) number: u32,
    pub(crate) ledger: Ledger,
    pub(crate) dispatches: Vec<Dispatch>,
}

impl Dispatched {
    /// The number of the volume in `path`, and its dispatches; `None` when it has none.
    pub(crate) fn load(project: &Project, path: &Path) -> anyhow::Result<(u32, Option<Self>)> {
        let volume = volume::load(path)?;
        let number = *volume.meta.number.get_ref();
        let ledger = prepare::read_ledger_of(project, number)?;
        let dispatches = match &ledger {
            Some(l) => l.dispatches(number)?,
            None => Vec::new(),
        };
        let dispatched = ledger
            .filter(|_| !dispatches.is_empty())
            .map(|ledger| Self {
                number,
                ledger,
                dispatches,
            });
        Ok((number, dispatched))
    }

    /// The report of every dispatch, with the reports tied to no message that came since
    /// the first one, from `store` when there is one.
    pub(crate) fn report(&self, store: Option<&Store>) -> anyhow::Result<Report> {
        // One state of the ledger for the whole report, and its locks taken once rather than
        // for each unsubscribe looked up in it.
        let _snapshot = self.ledger.snapshot()?;
        let mut report = report::report(&self.ledger, self.number, &self.dispatches)?;
        if let (Some(store), Some(first)) = (store, self.dispatches.first()) {
            let since = Timestamp(first.started_at / 1000);
            report.returns.unverified = store.unverified_since(since)?;
            report.returns.unsubscribed = store.unsubscribes(self.number, &|address| {
                self.ledger.received(self.number, address)
            })?;
        }
        Ok(report)
    }
}

/// Says that volume `number` has not been dispatched: on stderr with `json`, where stdout
/// keeps what a script reads (a report with every figure zero).
pub(crate) fn not_dispatched(number: u32, json: bool) -> anyhow::Result<()> {
    let words = format_args!("volume {number} has not been dispatched");
    match json {
        true => super::say_err(words)?,
        false => say(words)?,
    }
    Ok(())
}

pub(crate) fn run(project: &Project, args: &StatusArgs) -> anyhow::Result<()> {
    let (number, dispatched) = Dispatched::load(project, &args.volume)?;
    let Some(dispatched) = dispatched else {
        if let Some(address) = &args.recipient {
            super::say_err(format_args!(
                "error: {address} was left out of volume {number}: it has not been dispatched"
            ))?;
            return Err(Reported.into());
        }
        not_dispatched(number, args.json)?;
        if args.json {
            say_json(&Report::empty(number))?;
        }
        return Ok(());
    };
    let (number, ledger) = (dispatched.number, &dispatched.ledger);
    if let Some(address) = &args.recipient {
        let Some(history) = report::history(ledger, number, address)? else {
            let why = super::left_out::reason(project, &dispatched.dispatches, address)
                .unwrap_or_else(|e| format!("the recipient files cannot tell why: {e:#}"));
            super::say_err(format_args!(
                "error: {address} was left out of volume {number}: {why}"
            ))?;
            return Err(Reported.into());
        };
        if args.json {
            return say_json(&history).map_err(Into::into);
        }
        let reply = history
            .reply
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let state = match history.reason {
            Some(reason) => format!("{} ({reason})", history.state),
            None => history.state.to_owned(),
        };
        say(format_args!(
            "{}: {state} (dispatch #{}, {}){reply}; {} attempt(s), Message-ID {}, variant {}",
            history.address,
            history.dispatch,
            history.updated_at,
            history.attempts,
            history.message_id,
            history.variant
        ))?;
        for a in &history.attempts_log {
            let reply = a
                .reply
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            say(format_args!("  {}  {:<10}  {reply}", a.at, a.state))?;
        }
        for r in &history.returns {
            let status = r.status.as_deref().unwrap_or("-");
            let words = r.diagnostic.as_deref().unwrap_or_default();
            let kind = format!("{} ({})", r.kind, r.reason);
            say(format_args!(
                "  {}  {kind:<30}  {status} {words} (report {})",
                r.at, r.report
            ))?;
        }
        return Ok(());
    }
    let report = dispatched.report(Store::open_read_only(&project.root)?.as_ref())?;
    if args.json {
        return say_json(&report).map_err(Into::into);
    }
    print_report(&report, &args.volume)?;
    print_unfinished(project, &report, &args.volume)
}

/// For the unfinished dispatch, if any: whether a run of it is alive (it holds the volume's
/// lock), and when none is, what the messages it left in flight become and the command
/// that resumes it.
fn print_unfinished(project: &Project, report: &Report, volume: &Path) -> anyhow::Result<()> {
    let Some(d) = report.dispatches.iter().find(|d| d.finished_at.is_none()) else {
        return Ok(());
    };
    if prepare::running(project, report.volume)? {
        return say(format_args!("dispatch #{} is running", d.id)).map_err(Into::into);
    }
    let in_flight = d.counts.get(State::InFlight.as_str()).copied().unwrap_or(0);
    let left = if in_flight > 0 {
        format!(
            "; the {in_flight} message(s) in flight when it stopped will count as ambiguous \
             (the relay may have them)"
        )
    } else {
        String::new()
    };
    say(format_args!(
        "no run of dispatch #{} is alive{left}\nresume with: {}",
        d.id,
        crate::dispatch::resume_command(volume, &d.segments)
    ))
    .map_err(Into::into)
}

/// `12 pending, 0 in_flight, 3 sent, ...` for every state.
fn counts_line(counts: &std::collections::BTreeMap<&'static str, u64>) -> String {
    State::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                counts.get(s.as_str()).copied().unwrap_or(0),
                s.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as a person reads it; commands it suggests name `volume`.
pub(crate) fn print_report(report: &Report, volume: &Path) -> anyhow::Result<()> {
    for d in &report.dispatches {
        let finished = d
            .finished_at
            .as_ref()
            .map_or_else(|| "not finished".to_owned(), |f| format!("finished {f}"));
        say(format_args!(
            "volume {} dispatch #{} (--segment {}): started {}, {finished}",
            report.volume,
            d.id,
            d.segments.join(" --segment "),
            d.started_at
        ))?;
        say(format_args!("  {}", counts_line(&d.counts)))?;
    }
    if report.dispatches.len() > 1 {
        say(format_args!("total: {}", counts_line(&report.counts)))?;
    }
    if !report.failures.is_empty() {
        say(format_args!("failures by domain, reply code and reason:"))?;
        for g in &report.failures {
            let code = g.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
            let status = g.status.as_deref().unwrap_or("");
            say(format_args!(
                "  {:<9} {:<30} {code:>3} {status:<7} {:<17} {}",
                g.state,
                g.domain,
                g.reason.as_str(),
                g.count
            ))?;
        }
    }
    if !report.ambiguous.is_empty() {
        let resend: Vec<String> = report
            .dispatches
            .iter()
            .filter(|d| {
                d.counts
                    .get(State::Ambiguous.as_str())
                    .is_some_and(|&n| n > 0)
            })
            .map(|d| {
                let resume = crate::dispatch::resume_command(volume, &d.segments);
                format!("`{resume} --resend-ambiguous`")
            })
            .collect();
        say(format_args!(
            "ambiguous (the relay may have them; resend with {}):",
            resend.join(" and ")
        ))?;
        for a in &report.ambiguous {
            let reply = a
                .reply
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            say(format_args!("  {}  {}  {reply}", a.address, a.message_id))?;
        }
    }
    print_returns(&report.returns)?;
    for warning in &report.warnings {
        super::say_err(format_args!("warning: {warning}"))?;
    }
    Ok(())
}

/// Bounces, complaints and unsubscribe mails, their rates and top reasons; nothing when
/// nothing came back and nothing was refused.
fn print_returns(r: &Returns) -> anyhow::Result<()> {
    if r.unverified > 0 {
        say(format_args!(
            "{} report(s) tied to no message we sent since the first dispatch: listed by \
             `bounces import`, never acted on",
            r.unverified
        ))?;
    }
    let u = &r.unsubscribed;
    if u.total() > 0 {
        say(format_args!(
            "unsubscribed through the volume's links: {} ({} one-click, {} page, {} preferences, {} mailto)",
            u.total(),
            u.one_click,
            u.page,
            u.preferences,
            u.mailto
        ))?;
    }
    if r.refused + r.bounced + r.soft_bounced + r.sender_refused + r.complaints + r.unsubscribes
        == 0
    {
        return Ok(());
    }
    say(format_args!(
        "returned: {} bounced, {} soft-bounced, {} refused on our side, {} complaint(s), \
         {} unsubscribe mail(s); {} refused while sending ({} on our side)",
        r.bounced,
        r.soft_bounced,
        r.sender_refused,
        r.complaints,
        r.unsubscribes,
        r.refused,
        r.refused_on_our_side
    ))?;
    say(format_args!(
        "  bounce rate {:.2}% ({} of {} attempted), complaint rate {:.2}%",
        r.bounce_rate * 100.0,
        r.readers_bounces(),
        r.attempted,
        r.complaint_rate * 100.0
    ))?;
    if !r.reasons.is_empty() {
        say(format_args!("top reasons by domain:"))?;
        for group in &r.reasons {
            say(format_args!("  {group}"))?;
        }
    }
    Ok(())
}
