//! `broadsheet report VOLUME [--json] [--html FILE]`: what a volume did, for the newsroom: the send's
//! figures, bounces by class with their top reasons, complaints, unsubscribes by the
//! channel of the volume's link that brought them, and the refusals on our side as
//! warnings. Read-only, like `status`, whose loading it shares.

use anyhow::Context as _;

use super::status::Dispatched;
use super::{say, say_json};
use crate::audience::Store;
use crate::cli::ReportArgs;
use crate::dispatch::summary::{self, Summary};
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &ReportArgs) -> anyhow::Result<()> {
    let (number, dispatched) = Dispatched::load(project, &args.volume)?;
    let summary = match &dispatched {
        Some(dispatched) => summarise(project, dispatched)?,
        None => {
            super::status::not_dispatched(number, args.json)?;
            Summary::empty(number)
        }
    };
    if let Some(file) = &args.html {
        std::fs::write(file, crate::dispatch::page::render(&summary))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    if args.json {
        return say_json(&summary).map_err(Into::into);
    }
    match dispatched {
        Some(_) => print(&summary),
        // Said so already: a table of zeros would say nothing more.
        None => Ok(()),
    }
}

/// The summary of what `dispatched` did, from the ledger and the audience store.
fn summarise(project: &Project, dispatched: &Dispatched) -> anyhow::Result<Summary> {
    let store = Store::open_read_only(&project.root)?;
    let report = dispatched.report(store.as_ref())?;
    let (clicks, by_hour) = match &store {
        Some(store) => (
            store.clicks(dispatched.number)?,
            store.clicks_by_hour(dispatched.number)?,
        ),
        None => Default::default(),
    };
    let hours = summary::hourly(&dispatched.ledger, &dispatched.dispatches, &by_hour)?;
    Ok(Summary::new(report, clicks, hours))
}

/// The summary as an editor reads it.
fn print(s: &Summary) -> anyhow::Result<()> {
    say(format_args!("volume {}", s.volume))?;
    say(format_args!(
        "  sent {}, delivered {}, deferred {}, failed {}",
        s.sent, s.delivered, s.deferred, s.failed
    ))?;
    let b = &s.bounced;
    say(format_args!(
        "  bounced: {} hard, {} soft, {} on our side; {} complaint(s)",
        b.hard, b.soft, b.sender, s.complaints
    ))?;
    let u = &s.unsubscribed;
    say(format_args!(
        "  unsubscribed: {} ({} one-click, {} page, {} preferences, {} mailto)",
        u.total(),
        u.one_click,
        u.page,
        u.preferences,
        u.mailto
    ))?;
    if !s.reasons.is_empty() {
        say(format_args!("  top reasons by domain:"))?;
        for group in &s.reasons {
            say(format_args!("    {group}"))?;
        }
    }
    if !s.clicks.is_empty() {
        say(format_args!(
            "  clicks per link (once per client and hour; scanners apart):"
        ))?;
        for c in &s.clicks {
            // A rate over delivered messages: clicks are not tied to readers, so it is an
            // upper bound of the share of readers who clicked.
            let rate = c.clicks as f64 * 100.0 / s.delivered.max(1) as f64;
            say(format_args!(
                "    {:>3}  {:>6} clicks ({rate:.1}% of delivered)  {:>5} scanner  {}",
                c.link, c.clicks, c.scanner, c.label
            ))?;
            say(format_args!("         {}", c.target))?;
        }
    }
    for warning in &s.warnings {
        super::say_err(format_args!("warning: {warning}"))?;
    }
    Ok(())
}
