//! `broadsheet status VOLUME [--json] [--recipient ADDRESS]`: where a dispatch stands, read
//! from the ledger: counts by state, failures by domain and reply code, the ambiguous list
//! with Message-IDs, or one address's whole history.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::date::Date;
use crate::ledger::{self, Ledger, Row, State};
use crate::project::Project;
use crate::volume;
use crate::{Reported, say};

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    volume: u32,
    started_at: String,
    finished_at: Option<String>,
    counts: BTreeMap<&'static str, i64>,
    failures: Vec<FailureGroup>,
    ambiguous: Vec<Listed>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct FailureGroup {
    state: &'static str,
    domain: String,
    code: String,
    count: usize,
}

#[derive(Debug, Serialize)]
struct Listed {
    address: String,
    message_id: String,
    reply: Option<String>,
}

#[derive(Debug, Serialize)]
struct History {
    address: String,
    state: &'static str,
    attempts: u32,
    message_id: String,
    variant: String,
    attempts_log: Vec<Attempted>,
}

#[derive(Debug, Serialize)]
struct Attempted {
    at: String,
    state: &'static str,
    reply: Option<String>,
}

pub(crate) fn run(project: &Project, args: &StatusArgs) -> anyhow::Result<()> {
    let volume = volume::load(&args.volume)?;
    let number = *volume.meta.number.get_ref();
    let path = project.root.join(ledger::LEDGER_FILE);
    if !path.exists() {
        say(format_args!(
            "volume {number} has not been dispatched (no ledger yet)"
        ))?;
        return Ok(());
    }
    let ledger = Ledger::open(&path)?;
    let Some(dispatch) = ledger.dispatch(number)? else {
        say(format_args!("volume {number} has not been dispatched"))?;
        return Ok(());
    };
    if let Some(address) = &args.recipient {
        return history(&ledger, number, address, args.json);
    }
    let _ = dispatch;
    let report = report(&ledger, number)?;
    if args.json {
        return say(format_args!("{}", serde_json::to_string_pretty(&report)?)).map_err(Into::into);
    }
    print_report(&report)
}

/// The report of volume `number`'s dispatch, which must exist.
pub(crate) fn report(ledger: &Ledger, number: u32) -> anyhow::Result<Report> {
    let dispatch = ledger
        .dispatch(number)?
        .with_context(|| format!("volume {number} has not been dispatched"))?;
    let counts: BTreeMap<&'static str, i64> = ledger
        .counts(number)?
        .into_iter()
        .map(|(state, n)| (state.as_str(), n))
        .collect();
    Ok(Report {
        volume: number,
        started_at: utc(dispatch.started_at),
        finished_at: dispatch.finished_at.map(utc),
        counts,
        failures: failures(ledger, number)?,
        ambiguous: ledger
            .in_state(number, State::Ambiguous)?
            .into_iter()
            .map(|r| Listed {
                address: r.entry.address,
                message_id: r.entry.message_id,
                reply: r.last_reply,
            })
            .collect(),
    })
}

fn failures(ledger: &Ledger, number: u32) -> anyhow::Result<Vec<FailureGroup>> {
    let mut groups: BTreeMap<(&'static str, String, String), usize> = BTreeMap::new();
    for state in [State::Failed, State::Deferred] {
        for row in ledger.in_state(number, state)? {
            let domain = row
                .entry
                .address
                .rsplit_once('@')
                .map_or("", |(_, d)| d)
                .to_owned();
            let code = reply_code(&row);
            *groups.entry((state.as_str(), domain, code)).or_default() += 1;
        }
    }
    Ok(groups
        .into_iter()
        .map(|((state, domain, code), count)| FailureGroup {
            state,
            domain,
            code,
            count,
        })
        .collect())
}

/// The reply's three-digit code, or `-` when the failure was not a reply (a timeout).
fn reply_code(row: &Row) -> String {
    let reply = row.last_reply.as_deref().unwrap_or_default();
    let code = reply
        .get(..3)
        .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
    code.unwrap_or("-").to_owned()
}

pub(crate) fn print_report(report: &Report) -> anyhow::Result<()> {
    let counts = State::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                report.counts.get(s.as_str()).copied().unwrap_or(0),
                s.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let finished = report
        .finished_at
        .as_ref()
        .map_or_else(|| "not finished".to_owned(), |f| format!("finished {f}"));
    say(format_args!(
        "volume {}: started {}, {finished}",
        report.volume, report.started_at
    ))?;
    say(format_args!("  {counts}"))?;
    if !report.failures.is_empty() {
        say(format_args!("failures by domain and reply code:"))?;
        for g in &report.failures {
            say(format_args!(
                "  {:<9} {:<30} {:>3}  {}",
                g.state, g.domain, g.code, g.count
            ))?;
        }
    }
    if !report.ambiguous.is_empty() {
        say(format_args!(
            "ambiguous (the relay may have them; resend with `broadsheet dispatch VOLUME --resend-ambiguous`):"
        ))?;
        for a in &report.ambiguous {
            let reply = a.reply.as_deref().unwrap_or_default();
            say(format_args!("  {}  {}  {reply}", a.address, a.message_id))?;
        }
    }
    Ok(())
}

fn history(ledger: &Ledger, number: u32, address: &str, json: bool) -> anyhow::Result<()> {
    let found = ledger
        .history(number, address)
        .with_context(|| format!("cannot read the history of {address}"))?;
    let Some((row, attempts)) = found else {
        crate::say_err(format_args!(
            "error: {address} is not among the recipients of volume {number}"
        ))?;
        return Err(Reported.into());
    };
    let history = History {
        address: row.entry.address,
        state: row.state.as_str(),
        attempts: row.attempts,
        message_id: row.entry.message_id,
        variant: row.entry.variant,
        attempts_log: attempts
            .into_iter()
            .map(|a| Attempted {
                at: utc(a.at),
                state: a.state.as_str(),
                reply: a.reply,
            })
            .collect(),
    };
    if json {
        return say(format_args!("{}", serde_json::to_string_pretty(&history)?))
            .map_err(Into::into);
    }
    say(format_args!(
        "{}: {} after {} attempt(s), Message-ID {}, variant {}",
        history.address, history.state, history.attempts, history.message_id, history.variant
    ))?;
    for a in &history.attempts_log {
        say(format_args!(
            "  {}  {:<9}  {}",
            a.at,
            a.state,
            a.reply.as_deref().unwrap_or_default()
        ))?;
    }
    Ok(())
}

/// Unix milliseconds as `2026-11-28 20:59:07 UTC`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let epoch = Date::new(1970, 1, 1).expect("the epoch is a date");
    let day = epoch.add_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{day} {:02}:{:02}:{:02} UTC",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}
