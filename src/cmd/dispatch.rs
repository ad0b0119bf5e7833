//! `broadsheet dispatch VOLUME --segment S ...`: the operator's side of [`dispatch::run`]:
//! shows the plan, asks for the number of recipients to be typed (or takes `--yes` with
//! `--expect N` or `--at-most N`), and prints the report and how to resume. Exit status
//! 75 when the run stopped with work left.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{Context as _, bail};

use crate::cli::DispatchArgs;
use crate::clock::Timestamp;
use crate::dispatch::{self, Briefing, Ending, Operator, Request, Stop};
use crate::project::Project;
use crate::{Resumable, say, say_err};

pub(crate) fn run(project: &Project, args: &DispatchArgs, now: Timestamp) -> anyhow::Result<()> {
    let request = Request {
        volume: &args.volume,
        segments: &args.segment,
        retry_failed: args.retry_failed,
        resend_ambiguous: args.resend_ambiguous,
        ledger_lost: args.ledger_lost,
        terminal: std::io::stderr().is_terminal(),
    };
    let outcome = dispatch::run(project, &request, &Console(args), now)?;
    if outcome.suppressed > 0 {
        say(format_args!(
            "{} hard-bounced addresses added to the suppression list",
            outcome.suppressed
        ))?;
    }
    if outcome.ending != Ending::NothingToSend {
        super::status::print_report(&outcome.report)?;
    }
    let why = match &outcome.ending {
        Ending::Finished | Ending::NothingToSend => return Ok(()),
        Ending::Incomplete { open, next_retry } => {
            let when = next_retry.map_or_else(
                || "now".to_owned(),
                |t| format!("at {}", crate::clock::utc(t)),
            );
            format!("{open} messages are not settled yet; the next retry is due {when}")
        }
        Ending::Stopped(Stop::Interrupted) => "interrupted".to_owned(),
        Ending::Stopped(Stop::Breaker(why)) => why.clone(),
        Ending::Stopped(Stop::Ledger(why)) => format!(
            "the ledger could not be written ({why}); what it recorded is kept. Check the disk \
             that holds state/ (full? another process holding it?)"
        ),
        Ending::Stopped(Stop::RelayRefusing { why, requeued }) => format!(
            "{why}.\nThis looks like the relay refusing us, not the recipients: check that the \
             relay accepts mail from this sender ([sender] from, [transport]) and its logs. \
             Nobody was added to the suppression list; the {requeued} refused recipients are \
             pending again and will be sent to when you resume"
        ),
    };
    say_err(format_args!(
        "dispatch stopped: {why}\nresume with: {}",
        dispatch::resume_command(&args.volume, &args.segment)
    ))?;
    Err(Resumable.into())
}

/// The operator at a terminal, or a scheduled job with `--yes`.
struct Console<'a>(&'a DispatchArgs);

impl Operator for Console<'_> {
    fn show(&self, briefing: &Briefing<'_>) {
        let shown = match briefing {
            Briefing::New(plan) => super::plan::print(plan),
            Briefing::Resume {
                dispatch,
                counts,
                to_send,
            } => {
                let summary: Vec<String> = counts
                    .iter()
                    .map(|(s, n)| format!("{n} {}", s.as_str()))
                    .collect();
                say(format_args!(
                    "resuming dispatch #{dispatch} of {} recipients ({}): {to_send} to send now",
                    briefing.planned(),
                    summary.join(", ")
                ))
                .map_err(Into::into)
            }
        };
        if let Err(e) = shown {
            tracing::warn!("{e:#}");
        }
    }

    fn confirm(&self, briefing: &Briefing<'_>) -> anyhow::Result<()> {
        let args = self.0;
        let recipients = briefing.recipients();
        if args.yes {
            // A resumed dispatch takes the number it started with, or this run's.
            let planned = briefing.planned();
            return match (args.expect, args.at_most) {
                (Some(n), _) if n == recipients || n == planned => Ok(()),
                (Some(n), _) => bail!(
                    "--expect {n} but this dispatch covers {recipients} recipients; nothing sent"
                ),
                (None, Some(max)) if recipients <= max => Ok(()),
                (None, Some(max)) => bail!(
                    "this dispatch covers {recipients} recipients, more than --at-most {max}; nothing sent"
                ),
                (None, None) => bail!("--yes needs --expect N or --at-most N"),
            };
        }
        if !std::io::stdin().is_terminal() {
            bail!(
                "confirmation needs a terminal; to run unattended pass --yes --expect {recipients}"
            );
        }
        say_err(format_args!(
            "type {recipients} to send to {recipients} recipients, anything else to stop: "
        ))?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the confirmation")?;
        if answer.trim() != recipients.to_string() {
            bail!("not confirmed; nothing sent");
        }
        Ok(())
    }

    fn note(&self, line: &str) {
        if say(format_args!("{line}")).is_err() {
            tracing::warn!("cannot write to standard output");
        }
    }
}
