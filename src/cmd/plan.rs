//! `broadsheet plan VOLUME --segment S ... [--readers] [--json]`: who would get the volume,
//! in which variant, who would not and why, the message sizes, and the time at the
//! configured rate; with `--readers`, each reader's variant.

use super::{say, say_json};
use crate::cli::PlanArgs;
use crate::clock::Timestamp;
use crate::dispatch::plan::EXCLUDED_SHOWN;
use crate::dispatch::prepare::Prepared;
use crate::dispatch::{Listing, Plan};
use crate::message::size::kilobytes;
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &PlanArgs, now: Timestamp) -> anyhow::Result<()> {
    let prepared = Prepared::new(project, &args.volume, "nothing planned", false)?;
    let audience = super::audience(project, None)?;
    let subject = prepared.ready.parts().0.subject();
    let mut variants = prepared.ready.variants(&prepared.sending, subject, now);
    let plan = prepared.audit_with(project, &audience, &args.segment, &mut variants, |audit| {
        audit.plan(Listing {
            readers: args.readers,
            everyone: args.json,
        })
    })?;
    if args.json {
        return say_json(&plan).map_err(Into::into);
    }
    print(&plan)
}

/// The plan as a person reads it.
pub(crate) fn print(plan: &Plan) -> anyhow::Result<()> {
    say(format_args!(
        "volume {} to segments: {}",
        plan.volume,
        plan.segments.join(", ")
    ))?;
    say(format_args!(
        "  {:<20} {:>9} {:>11} {:>11} {:>10}",
        "segment", "listed", "suppressed", "unsendable", "receiving"
    ))?;
    for row in &plan.per_segment {
        let name = if row.name == "total" {
            "total (each once)"
        } else {
            &row.name
        };
        say(format_args!(
            "  {name:<20} {:>9} {:>11} {:>11} {:>10}",
            row.listed, row.suppressed, row.unsendable, row.receiving
        ))?;
    }
    if plan.variants.is_empty() {
        say(format_args!(
            "variants: none, nobody selected gets the volume"
        ))?;
    } else {
        say(format_args!("variants:"))?;
    }
    for v in &plan.variants {
        say(format_args!(
            "  {:<24} {:>3} picks  {:>9} recipients  {} a message",
            v.variant,
            v.picks,
            v.recipients,
            kilobytes(v.message_bytes)
        ))?;
    }
    if !plan.variants.is_empty() {
        say(format_args!(
            "  the HTML part: at most {} as a reader gets it (Gmail clips at about 102 kB)",
            kilobytes(plan.html_part_bytes)
        ))?;
    }
    print_people(plan)?;
    if let Some(dispatch) = plan.resumes {
        say(format_args!(
            "dispatch #{dispatch} of these segments is unfinished: `broadsheet dispatch` resumes it"
        ))?;
    }
    let duration = plan.duration_secs.map_or_else(
        || "as fast as the relay takes them (no rate limit set)".to_owned(),
        |s| format!("about {} at the configured rate", human_duration(s)),
    );
    say(format_args!(
        "{} recipients; {} already settled; {} to send, {duration}",
        plan.recipients, plan.already_sent, plan.to_send
    ))?;
    Ok(())
}

/// Who gets nothing and why, each reader's variant (with `--readers`), and who already has
/// the volume from another dispatch.
fn print_people(plan: &Plan) -> anyhow::Result<()> {
    if !plan.excluded.is_empty() {
        say(format_args!("excluded ({}):", plan.excluded_total))?;
        for e in plan.excluded.iter().take(EXCLUDED_SHOWN) {
            say(format_args!("  {}: {}", e.address, e.reason))?;
        }
        if plan.excluded_total > EXCLUDED_SHOWN {
            say(format_args!(
                "  ... and {} more (`--json` lists everyone)",
                plan.excluded_total - EXCLUDED_SHOWN
            ))?;
        }
    }
    if let Some(readers) = &plan.readers {
        say(format_args!("readers ({}):", readers.len()))?;
        for r in readers {
            say(format_args!("  {}  {}  {}", r.address, r.variant, r.source))?;
        }
    }
    if !plan.held.is_empty() {
        let received: usize = plan.held.iter().map(|h| h.readers).sum();
        say(format_args!("already received ({received}):"))?;
        for held in &plan.held {
            say(format_args!(
                "  {} in dispatch #{} (--segment {}); nobody gets a volume twice",
                held.readers,
                held.dispatch,
                held.segments.join(" --segment ")
            ))?;
        }
    }
    Ok(())
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{:.1} h", secs as f64 / 3600.0),
    }
}
