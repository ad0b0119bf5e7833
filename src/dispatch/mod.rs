//! Dispatch: sending a volume to its audience, politely and without losing anyone.
//!
//! [`run()`] does the whole job that `broadsheet dispatch` asks for: it composes the volume,
//! checks the settings before `state/` is touched, takes the volume's lock, checks that the
//! ledger is the one earlier runs wrote, then resumes the volume's unfinished dispatch or
//! plans and freezes a new one (leaving out everyone an earlier dispatch has), asks the
//! [`Operator`] to confirm, sends, and settles what the run learnt (hard bounces suppressed,
//! unless the relay turned out to refuse everyone). The command only prompts and prints.

mod engine;
mod finish;
mod gate;
mod guard;
mod limits;
mod lock;
mod marker;
mod messages;
pub(crate) mod page;
pub(crate) mod plan;
pub(crate) mod prepare;
mod progress;
pub(crate) mod report;
mod run;
pub(crate) mod schedule;
mod sender;
pub(crate) mod summary;
mod verdict;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

pub(crate) use plan::{Listing, Plan};
pub(crate) use report::Report;
pub(crate) use run::run;
pub(crate) use schedule::{Due, Schedule};

use crate::clock::Timestamp;
use crate::encoding::hex;
use crate::ledger::State;

/// The operator's side of a dispatch: what they are shown and asked.
pub(crate) trait Operator {
    /// Shows what is about to be sent: the plan of a new dispatch, or the state of the one
    /// to resume.
    fn show(&self, briefing: &Briefing<'_>);

    /// Returns once the operator agreed to what `briefing` says; an error stops the
    /// dispatch before anything is frozen or sent.
    fn confirm(&self, briefing: &Briefing<'_>) -> anyhow::Result<()>;

    /// Tells the operator something worth knowing before or after the send.
    fn note(&self, line: &str);

    /// Where the running send's progress lines go (plain progress when not on a terminal,
    /// the stop being drained, the run's last counts): any thread may write them.
    fn lines(&self) -> Lines;

    /// Returns at the hour of `schedule` with the time then (the messages' `Date`), or with
    /// an error when the operator cancels (or the hour passed by more than the grace while
    /// waiting and they do not confirm again).
    fn wait(&self, schedule: &Schedule) -> anyhow::Result<Timestamp>;

    /// The scheduled hour passed `minutes` ago: returns only if the operator asks to send
    /// now all the same.
    fn late(&self, schedule: &Schedule, minutes: u64) -> anyhow::Result<()>;
}

/// A writer of progress lines, shared with the tasks of a running send.
pub(crate) type Lines = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// What the operator confirms.
#[derive(Debug)]
pub(crate) enum Briefing<'a> {
    /// A new dispatch and its plan.
    New(&'a Plan),
    /// The resumption of an unfinished dispatch.
    Resume {
        /// The dispatch's id.
        dispatch: i64,
        /// Its recipients by state.
        counts: &'a [(State, u64)],
        /// The messages this run will send: pending and deferred ones, and the failed or
        /// ambiguous ones when asked for again.
        to_send: u64,
    },
}

impl Briefing<'_> {
    /// The number the operator confirms: the plan's recipients, or the messages a resumed
    /// run will send.
    pub(crate) fn recipients(&self) -> u64 {
        match self {
            Self::New(plan) => plan.recipients as u64,
            Self::Resume { to_send, .. } => *to_send,
        }
    }

    /// Every recipient of the dispatch: the plan's, or the frozen total of a resumed one
    /// (what `--expect` named when it started).
    pub(crate) fn planned(&self) -> u64 {
        match self {
            Self::New(plan) => plan.recipients as u64,
            Self::Resume { counts, .. } => counts.iter().map(|(_, n)| n).sum(),
        }
    }
}

/// What the operator asked for.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// The volume file.
    pub volume: &'a Path,
    /// The segments to send to.
    pub segments: &'a [String],
    /// Try the failed messages of the dispatch once more.
    pub retry_failed: bool,
    /// Send the ambiguous messages again, with the same Message-ID.
    pub resend_ambiguous: bool,
    /// The ledger was lost for good: start afresh although the marker says otherwise.
    pub ledger_lost: bool,
    /// Show a progress bar (on a terminal) rather than plain lines.
    pub terminal: bool,
    /// Start at this hour rather than now (a new dispatch only).
    pub at: Option<Schedule>,
}

/// How a dispatch ended, with the report of every dispatch of the volume.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// Where the volume's dispatches stand now.
    pub report: Report,
    /// The addresses this run's refusals put on the suppression list.
    pub suppressed: Dropped,
}

/// How many addresses a run's refusals put on the suppression list, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// Refused as gone for good (a hard bounce).
    pub hard: usize,
    /// Refused with a soft failure that ended a run of `[bounces] soft_limit` volumes.
    pub soft: usize,
}

/// How a dispatch run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Every recipient of the dispatch is settled.
    Finished,
    /// Nobody in the segments is left to send to: nothing was frozen.
    NothingToSend,
    /// Messages are still open; deferred ones are due again at `next_retry` (unix ms),
    /// or at once when `None`.
    Incomplete {
        /// Messages not settled.
        open: u64,
        /// When the earliest deferred message may be tried again.
        next_retry: Option<i64>,
    },
    /// Stopped before its end.
    Stopped(Stop),
}

/// Why a run stopped before its end; each is resumable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The breaker: transient failures in a row, a refused login, sender or certificate.
    Breaker(String),
    /// The relay refuses every recipient: the run's failures went back to pending.
    RelayRefusing {
        /// What showed it.
        why: String,
        /// Messages put back to pending.
        requeued: usize,
    },
    /// The ledger could not be written.
    Ledger(String),
}

/// The command that resumes the dispatch of `volume` to `segments`.
pub(crate) fn resume_command(volume: &Path, segments: &[String]) -> String {
    let segments: String = segments.iter().map(|s| format!(" --segment {s}")).collect();
    format!(
        "broadsheet dispatch {}{segments}",
        crate::diag::display_path(volume)
    )
}

/// What a dispatch sends, as files: their hash together, which a dispatch records when it
/// starts (a resumed one refuses to go on if it changed), and each file's own, which it
/// records to name the files that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    /// The hash of every file, names included.
    pub(crate) hash: String,
    /// One `NAME HASH` line per file: the volume's name is empty, a layout file's is its
    /// path in the layout, so that the record does not depend on where broadsheet runs.
    pub(crate) files: String,
    volume: PathBuf,
    layout_dir: PathBuf,
}

impl Content {
    /// The files, as the operator names them, that differ from those `then` recorded (as
    /// [`Content::files`] lists them), or are in only one of them.
    pub(crate) fn changed(&self, then: &str) -> Vec<String> {
        let lines = |text: &str| -> BTreeSet<String> { text.lines().map(str::to_owned).collect() };
        let (then, now) = (lines(then), lines(&self.files));
        let names: BTreeSet<&str> = then
            .symmetric_difference(&now)
            .filter_map(|line| line.rsplit_once(' ').map(|(name, _)| name))
            .collect();
        names
            .into_iter()
            .map(|name| match name {
                "" => crate::diag::display_path(&self.volume),
                _ => crate::diag::display_path(&self.layout_dir.join(name)),
            })
            .collect()
    }
}

/// The content of the volume file and every file of its layout (see [`Content`]).
pub(crate) fn content_hash(volume: &Path, layout_dir: &Path) -> anyhow::Result<Content> {
    let mut files = vec![volume.to_path_buf()];
    collect_files(layout_dir, &mut files)?;
    files[1..].sort();
    let mut hash = Sha256::new();
    let mut each = String::new();
    for (i, file) in files.iter().enumerate() {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = if i == 0 {
            Default::default()
        } else {
            file.strip_prefix(layout_dir)
                .unwrap_or(file)
                .to_string_lossy()
        };
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
        each.push_str(&format!("{name} {}\n", hex(&Sha256::digest(&bytes))));
    }
    Ok(Content {
        hash: hex(&hash.finalize()),
        files: each,
        volume: volume.to_path_buf(),
        layout_dir: layout_dir.to_path_buf(),
    })
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
