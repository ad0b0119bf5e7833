//! `broadsheet suppress add|remove|list|import|export`: the suppression list in the
//! audience store by hand, for mailto unsubscribes, bounces and complaints that reach
//! people rather than the tool, and for lists kept elsewhere.

use super::say;
use crate::audience::store::{Snapshot, Suppressed};
use crate::audience::{Address, Reason, Source, Store, address_list};
use crate::cli::{SuppressAction, SuppressArgs};
use crate::clock::Timestamp;
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &SuppressArgs, now: Timestamp) -> anyhow::Result<()> {
    let root = &project.root;
    match &args.action {
        SuppressAction::Add { addresses, reason } => {
            let listed: Vec<_> = parse_all(addresses)?
                .into_iter()
                .map(|a| (a, None))
                .collect();
            let done = add(project, &listed, *reason, Source::Suppress, now)?;
            for ((address, _), outcome) in listed.iter().zip(done) {
                match outcome {
                    Suppressed::Added => say(format_args!("{address}: suppressed ({reason})"))?,
                    Suppressed::Replaced(old) => {
                        say(format_args!("{address}: was {old}, now {reason}"))?;
                    }
                    Suppressed::Kept(old) => {
                        say(format_args!("{address}: already suppressed ({old})"))?;
                    }
                }
            }
            Ok(())
        }
        SuppressAction::Import { file, reason } => {
            let done = add(
                project,
                &address_list::read(file)?,
                *reason,
                Source::Import,
                now,
            )?;
            let count = |f: fn(&Suppressed) -> bool| done.iter().filter(|d| f(d)).count();
            say(format_args!(
                "{}: {} addresses suppressed, {} changed reason, {} already suppressed",
                file.display(),
                count(|d| *d == Suppressed::Added),
                count(|d| matches!(d, Suppressed::Replaced(_))),
                count(|d| matches!(d, Suppressed::Kept(_))),
            ))?;
            Ok(())
        }
        SuppressAction::Remove { addresses } => remove(project, &parse_all(addresses)?, now),
        SuppressAction::List => {
            for s in Snapshot::load(root)?.suppressions.iter() {
                // `bounced (user-unknown)`: the reason of the report behind a suppression.
                let reason = match s.detail {
                    Some(detail) if s.reason == Reason::Bounced => {
                        format!("{} ({detail})", s.reason)
                    }
                    _ => s.reason.to_string(),
                };
                say(format_args!(
                    "{}  {reason}  {}  {}",
                    s.address, s.source, s.since
                ))?;
            }
            Ok(())
        }
        SuppressAction::Export => {
            say(format_args!("email,reason,since,source"))?;
            for s in Snapshot::load(root)?.suppressions.iter() {
                let email = crate::audience::csv::quote(s.address.as_str());
                say(format_args!(
                    "{email},{},{},{}",
                    s.reason, s.since, s.source
                ))?;
            }
            Ok(())
        }
    }
}

/// Lifts the suppression of every address in one transaction; an address that was not
/// suppressed is an error, after the others are lifted.
fn remove(project: &Project, addresses: &[Address], now: Timestamp) -> anyhow::Result<()> {
    let lifted = Store::open(&project.root)?.write(|tx| {
        addresses
            .iter()
            .map(|a| tx.unsuppress(a, None, Source::Suppress, now))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut missing = Vec::new();
    for (address, old) in addresses.iter().zip(lifted) {
        match old {
            Some(old) => say(format_args!(
                "{address}: no longer suppressed (was {})",
                old.reason
            ))?,
            None => missing.push(address.as_str()),
        }
    }
    anyhow::ensure!(
        missing.is_empty(),
        "not on the suppression list: {}",
        missing.join(", ")
    );
    Ok(())
}

fn parse_all(addresses: &[String]) -> anyhow::Result<Vec<Address>> {
    addresses
        .iter()
        .map(|a| Address::parse(a).map_err(|why| anyhow::anyhow!("`{a}` {why}")))
        .collect()
}

/// Suppresses every listed address in one transaction (all or nothing); a row's own
/// reason wins over `reason`.
fn add(
    project: &Project,
    listed: &[address_list::Listed],
    reason: Reason,
    source: Source,
    now: Timestamp,
) -> anyhow::Result<Vec<Suppressed>> {
    Store::open(&project.root)?.write(|tx| {
        listed
            .iter()
            .map(|(a, r)| tx.suppress(a, r.unwrap_or(reason), source, None, now))
            .collect()
    })
}
