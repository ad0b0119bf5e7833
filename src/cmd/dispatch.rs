//! `broadsheet dispatch VOLUME --segment S ...`: shows the plan, asks the operator to
//! confirm by typing the number of recipients (or `--yes --expect N`), freezes the audience
//! and the content hash in the ledger, and sends; run again, it resumes from the ledger.
//! One dispatch of a volume at a time. Ctrl-C or SIGTERM stops it between messages with
//! exit status 75 and the command that resumes it.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::{Ready, plan_inputs};
use crate::audience::Audience;
use crate::cli::DispatchArgs;
use crate::clock::Timestamp;
use crate::diag::display_path;
use crate::dispatch::engine::{Counters, End, Engine, Tuning, now_ms};
use crate::dispatch::limits::{Breaker, RateLimiter};
use crate::dispatch::lock::DispatchLock;
use crate::dispatch::messages::{self, Messages};
use crate::dispatch::plan::Audit;
use crate::dispatch::progress::{self, Progress};
use crate::dispatch::{self, finish};
use crate::ledger::{self, Dispatch, Ledger, State, Writer};
use crate::message::dkim::Signer as DkimSigner;
use crate::message::variant::Variants;
use crate::project::Project;
use crate::transport::Configured;
use crate::unsubscribe::Signer;
use crate::{Resumable, say, say_err};

pub(crate) fn run(project: &Project, args: &DispatchArgs, now: Timestamp) -> anyhow::Result<()> {
    let ready = Ready::compose(project, &args.volume, "nothing sent")?;
    let (volume, number) = (ready.parts().0, ready.number());
    let _lock = DispatchLock::acquire(&project.root.join("state"), number)?;
    let ledger_path = project.root.join(ledger::LEDGER_FILE);
    let mut ledger = Ledger::open(&ledger_path)?;
    let hash = dispatch::content_hash(&args.volume, &crate::pipeline::layout_dir(project, volume))?;
    let settings = &project.settings;
    let (sender, unsub) = (settings.needs_sender()?, settings.needs_unsubscribe()?);
    let signer = Signer::from_env(unsub, sender.list_id.get_ref())?;
    let dkim = DkimSigner::from_settings(settings.dkim.as_ref(), &project.root)?;
    // A transport that cannot be set up (its password variable unset, say) stops us before
    // anything is frozen.
    Configured::from_project(project)?;
    let mut variants = ready.variants(settings, ready.parts().0.subject(), now)?;
    match ledger.dispatch(number)? {
        None => freeze(project, args, &mut ledger, &mut variants, number, &hash)?,
        Some(started) => confirm_resume(args, &ledger, number, &started, &hash)?,
    }
    reopen(&mut ledger, number, args)?;
    let open = count(&ledger, number, &[State::Pending])?;
    if open == 0 {
        say(format_args!(
            "nothing to send: every recipient of volume {number} is settled"
        ))?;
        return report(project, &mut ledger, number, &End::Finished, args);
    }
    let messages = Messages {
        variants: messages::rendered(&ledger, number, &mut variants)?,
        signer,
        unsubscribe: unsub.clone(),
        from: sender.from.get_ref().clone(),
        return_path: sender
            .bounce
            .as_ref()
            .map(|b| (b.get_ref().clone(), number)),
        dkim,
    };
    let end = send(project, number, &ledger_path, messages, open)?;
    report(project, &mut ledger, number, &end, args)
}

/// First run: plans, confirms, and freezes the audience and the content hash.
fn freeze(
    project: &Project,
    args: &DispatchArgs,
    ledger: &mut Ledger,
    variants: &mut Variants<'_>,
    number: u32,
    hash: &str,
) -> anyhow::Result<()> {
    let audience = Audience::load(&project.root, None)?;
    let selection = audience.select(&args.segment).map_err(anyhow::Error::msg)?;
    let inputs = plan_inputs(
        &project.settings,
        &audience,
        selection,
        &args.segment,
        number,
    )?;
    let audit = Audit::new(&inputs, variants)?;
    let plan = audit.plan(None)?;
    super::plan::print(&plan)?;
    confirm(args, plan.recipients)?;
    let dispatch = Dispatch {
        content_hash: hash.to_owned(),
        segments: args.segment.join(","),
        started_at: now_ms(),
        finished_at: None,
    };
    let frozen = ledger.start(number, &dispatch, audit.entries())?;
    say(format_args!(
        "froze {frozen} recipients of volume {number} in the ledger"
    ))?;
    Ok(())
}

/// Later runs: the content and segments must be those frozen at the start.
fn confirm_resume(
    args: &DispatchArgs,
    ledger: &Ledger,
    number: u32,
    started: &Dispatch,
    hash: &str,
) -> anyhow::Result<()> {
    if started.content_hash != hash {
        bail!(
            "the volume or its layout changed since this dispatch started; a resumed dispatch \
             sends exactly what it started with. Put the files back as they were (git), or \
             send the changes as a new volume"
        );
    }
    let segments = args.segment.join(",");
    if started.segments != segments {
        bail!(
            "this dispatch was started for --segment {}; resume it with the same segments",
            started.segments.replace(',', " --segment ")
        );
    }
    let counts = ledger.counts(number)?;
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let summary: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    say(format_args!(
        "resuming volume {number}: {}",
        summary.join(", ")
    ))?;
    confirm(args, usize::try_from(total).unwrap_or(0))
}

/// The operator confirms by typing the number of recipients, or with `--yes --expect N`.
fn confirm(args: &DispatchArgs, recipients: usize) -> anyhow::Result<()> {
    if args.yes {
        return match args.expect {
            Some(n) if n == recipients => Ok(()),
            Some(n) => {
                bail!("--expect {n} but this dispatch covers {recipients} recipients; nothing sent")
            }
            None => bail!("--yes needs --expect N"),
        };
    }
    if !std::io::stdin().is_terminal() {
        bail!("confirmation needs a terminal; to run unattended pass --yes --expect {recipients}");
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

/// Puts back to work what this run should try: interrupted messages become ambiguous; the
/// deferred are tried again, and the failed and ambiguous when the operator asks.
fn reopen(ledger: &mut Ledger, number: u32, args: &DispatchArgs) -> anyhow::Result<()> {
    let now = now_ms();
    let interrupted = ledger.settle_interrupted(number, now)?;
    if interrupted > 0 {
        say_err(format_args!(
            "{interrupted} messages were in flight when the last run stopped: they are ambiguous now (see `broadsheet status`)"
        ))?;
    }
    ledger.requeue(number, State::Deferred, now)?;
    for (asked, state) in [
        (args.retry_failed, State::Failed),
        (args.resend_ambiguous, State::Ambiguous),
    ] {
        if asked {
            let n = ledger.requeue(number, state, now)?;
            say(format_args!(
                "{n} {} messages will be sent again",
                state.as_str()
            ))?;
        }
    }
    Ok(())
}

fn count(ledger: &Ledger, number: u32, states: &[State]) -> anyhow::Result<usize> {
    let counts = ledger.counts(number)?;
    let n: i64 = counts
        .iter()
        .filter(|(s, _)| states.contains(s))
        .map(|(_, n)| n)
        .sum();
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Runs the engine until it ends or a signal stops it.
fn send(
    project: &Project,
    number: u32,
    ledger_path: &Path,
    messages: Messages,
    open: usize,
) -> anyhow::Result<End> {
    let limits = &project.settings.limits;
    let timeout = Duration::from_secs(*project.settings.transport.timeout_secs.get_ref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (writer, handle) = Writer::start(ledger_path)?;
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let counters = Arc::new(Counters::default());
        let messages = Arc::new(messages);
        let project = project.clone();
        let engine = Engine {
            transports: Arc::new(move || Configured::from_project(&project)),
            ledger: ledger_path.to_path_buf(),
            volume: number,
            build: Arc::new(move |entry| messages.build(entry)),
            tuning: Tuning {
                connections: *limits.connections.get_ref(),
                max_attempts: *limits.max_attempts.get_ref(),
                retry_base: Duration::from_secs(*limits.retry_after_secs.get_ref()),
                retry_cap: Duration::from_secs(3600),
            },
            limiter: Arc::new(RateLimiter::new(
                limits.per_second.as_ref().map(|r| *r.get_ref()),
                limits.per_hour.as_ref().map(|r| *r.get_ref()),
            )),
            breaker: Arc::new(Breaker::new(*limits.breaker.get_ref())),
            stop,
            counters: counters.clone(),
            writer: handle,
        };
        let progress = Progress::start(
            counters.clone(),
            open as u64,
            std::io::stderr().is_terminal(),
        );
        let end = finish::until_stopped(engine, stop_sender, timeout * 3).await;
        progress.finish();
        say_err(format_args!("{}", progress::summary(&counters)))?;
        writer.finish()?;
        end
    })
}

/// After a run: hard bounces join the suppression list, a dispatch with nothing left open
/// is marked finished, and the report is printed; an interrupted run says how to resume.
fn report(
    project: &Project,
    ledger: &mut Ledger,
    number: u32,
    end: &End,
    args: &DispatchArgs,
) -> anyhow::Result<()> {
    let added = dispatch::suppress_hard_bounces(&project.root, ledger, number)?;
    if added > 0 {
        say(format_args!(
            "{added} hard-bounced addresses added to the suppression list"
        ))?;
    }
    if count(
        ledger,
        number,
        &[State::Pending, State::Deferred, State::InFlight],
    )? == 0
    {
        ledger.finish(number, now_ms())?;
    }
    super::status::print_report(&super::status::report(ledger, number)?)?;
    match end {
        End::Finished => Ok(()),
        End::Interrupted => resumable(args, "interrupted"),
        End::Tripped(why) => resumable(args, why),
    }
}

/// Exits with the "resumable" status after saying how to resume.
fn resumable(args: &DispatchArgs, why: &str) -> anyhow::Result<()> {
    let segments: String = args
        .segment
        .iter()
        .map(|s| format!(" --segment {s}"))
        .collect();
    say_err(format_args!(
        "dispatch stopped: {why}\nresume with: broadsheet dispatch {}{segments}",
        display_path(&args.volume)
    ))?;
    Err(Resumable.into())
}
