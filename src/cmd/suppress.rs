//! `broadsheet suppress add|remove|list`: the suppression list by hand, for mailto
//! unsubscribes, bounces and complaints that reach people rather than the tool.

use crate::audience::{Address, Suppression, Suppressions};
use crate::cli::{SuppressAction, SuppressArgs};
use crate::clock::Timestamp;
use crate::project::Project;
use crate::say;

pub(crate) fn run(project: &Project, args: &SuppressArgs, now: Timestamp) -> anyhow::Result<()> {
    let mut list = Suppressions::load(&project.root)?;
    let parse = |a: &str| Address::parse(a).map_err(|why| anyhow::anyhow!("`{a}` {why}"));
    match &args.action {
        SuppressAction::Add { address, reason } => {
            let address = parse(address)?;
            let replaced = list.insert(Suppression {
                address: address.clone(),
                reason: *reason,
                since: now.date(),
            });
            list.save()?;
            match replaced {
                Some(old) => say(format_args!("{address}: was {}, now {reason}", old.reason))?,
                None => say(format_args!("{address}: suppressed ({reason})"))?,
            }
        }
        SuppressAction::Remove { address } => {
            let address = parse(address)?;
            let Some(old) = list.remove(&address) else {
                anyhow::bail!("{address} is not on the suppression list");
            };
            list.save()?;
            say(format_args!(
                "{address}: no longer suppressed (was {})",
                old.reason
            ))?;
        }
        SuppressAction::List => {
            say(format_args!("email,reason,since"))?;
            for s in list.iter() {
                say(format_args!("{},{},{}", s.address, s.reason, s.since))?;
            }
        }
    }
    Ok(())
}
