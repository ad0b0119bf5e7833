//! `broadsheet dispatch VOLUME --segment S ...`: the operator's side of [`dispatch::run`]:
//! shows the plan, asks for the number of recipients to be typed (or takes `--yes` with
//! `--expect N` or `--at-most N`), and prints the report and how to resume. Exit status
//! 75 when the run stopped with work left.

use std::cell::Cell;
use std::io::{BufRead as _, IsTerminal as _};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use anyhow::{Context as _, bail};

use super::{Resumable, say, say_err};
use crate::cli::DispatchArgs;
use crate::clock::Timestamp;
use crate::dispatch::{self, Briefing, Due, Ending, Operator, Request, Schedule, Stop};
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &DispatchArgs, now: Timestamp) -> anyhow::Result<()> {
    let zone =
        args.zone
            .as_deref()
            .or(project.settings.zone.as_ref().map(|z| z.get_ref().as_str()));
    let at = args
        .at
        .as_deref()
        .map(|at| Schedule::parse(at, zone, crate::clock::instant()))
        .transpose()?;
    let request = Request {
        volume: &args.volume,
        segments: &args.segment,
        retry_failed: args.retry_failed,
        resend_ambiguous: args.resend_ambiguous,
        ledger_lost: args.ledger_lost,
        terminal: std::io::stderr().is_terminal(),
        at,
    };
    let console = Console {
        args,
        scheduled: Cell::new(None),
    };
    let outcome = dispatch::run(project, &request, &console, now)?;
    let dropped = outcome.suppressed;
    if dropped.hard > 0 {
        say(format_args!(
            "{} hard-bounced addresses added to the suppression list",
            dropped.hard
        ))?;
    }
    if dropped.soft > 0 {
        say(format_args!(
            "{} addresses added to the suppression list: refused for their mailbox in {} \
             volumes in a row ([bounces] soft_limit)",
            dropped.soft,
            project.settings.bounces.soft_limit.get_ref()
        ))?;
    }
    if outcome.ending != Ending::NothingToSend {
        super::status::print_report(&outcome.report, &args.volume)?;
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
             pending again and will be sent to when you resume, after the others (once the \
             relay accepts those, a refusal that repeats is the recipient's own). If the relay \
             does accept other mail and these refusals are the recipients' own, raise that \
             [limits] key in broadsheet.toml and resume"
        ),
    };
    say_err(format_args!(
        "dispatch stopped: {why}\nresume with: {}",
        dispatch::resume_command(&args.volume, &args.segment)
    ))?;
    Err(Resumable.into())
}

/// The operator at a terminal, or a scheduled job with `--yes`.
struct Console<'a> {
    args: &'a DispatchArgs,
    /// The recipients confirmed when a dispatch was scheduled (`--at`): at the hour the
    /// same plan goes without asking again, a changed one does not go.
    scheduled: Cell<Option<u64>>,
}

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
        let recipients = briefing.recipients();
        if let Some(confirmed) = self.scheduled.get() {
            if self.args.yes {
                // --expect or --at-most judge the plan at the hour as they did before.
                return self.ask(briefing);
            }
            anyhow::ensure!(
                confirmed == recipients,
                "the plan changed while waiting: {recipients} recipients now, {confirmed} when \
                 the dispatch was scheduled; nothing sent"
            );
            return Ok(());
        }
        self.ask(briefing)?;
        if self.args.at.is_some() {
            self.scheduled.set(Some(recipients));
        }
        Ok(())
    }

    fn note(&self, line: &str) {
        if say(format_args!("{line}")).is_err() {
            tracing::warn!("cannot write to standard output");
        }
    }

    fn lines(&self) -> dispatch::Lines {
        std::sync::Arc::new(|line: &str| {
            if say_err(format_args!("{line}")).is_err() {
                tracing::warn!("cannot write to standard error");
            }
        })
    }

    fn wait(&self, schedule: &Schedule) -> anyhow::Result<Timestamp> {
        say_err(format_args!(
            "waiting until {} to send; Ctrl-C cancels, nothing is sent before then",
            schedule.describe()
        ))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the timer")?;
        runtime.block_on(async {
            let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
            loop {
                let seconds = match schedule.due(crate::clock::instant()) {
                    Due::Now => return Ok(Timestamp::now()),
                    Due::Late(minutes) => {
                        return self.late(schedule, minutes).map(|()| Timestamp::now());
                    }
                    // The wall clock is read again every few seconds: a machine that slept
                    // through the hour finds out when it wakes.
                    Due::In(seconds) => seconds.min(5),
                };
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
                    _ = tokio::signal::ctrl_c() => bail!("cancelled while waiting; nothing sent"),
                    _ = terminate.recv() => bail!("stopped while waiting; nothing sent"),
                }
            }
        })
    }

    fn late(&self, schedule: &Schedule, minutes: u64) -> anyhow::Result<()> {
        let passed = format!(
            "the dispatch was set for {}, {minutes} minutes ago (more than the {}-minute grace)",
            schedule.describe(),
            dispatch::schedule::GRACE.as_secs() / 60
        );
        if self.args.yes || !std::io::stdin().is_terminal() {
            bail!("{passed}: nothing sent; run it again without --at to send now");
        }
        confirmed_by(
            &format!("{passed}; type `send` to send now, anything else to stop: "),
            "send",
        )
    }
}

impl Console<'_> {
    /// Has the operator agree to `briefing`: `--yes` with the count, or the count typed.
    fn ask(&self, briefing: &Briefing<'_>) -> anyhow::Result<()> {
        let args = self.args;
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
        confirmed_by(
            &format!(
                "type {recipients} to send to {recipients} recipients, anything else to stop: "
            ),
            &recipients.to_string(),
        )
    }
}

/// Asks `prompt` on the terminal; agreed when the operator types `word`.
fn confirmed_by(prompt: &str, word: &str) -> anyhow::Result<()> {
    say_err(format_args!("{prompt}"))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    anyhow::ensure!(answer.trim() == word, "not confirmed; nothing sent");
    Ok(())
}
