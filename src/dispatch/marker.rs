//! A small file per volume beside the ledger (`state/dispatch-011.marker`) that tells when
//! the ledger is not the one the volume's dispatches wrote: deleted, or restored without its
//! write-ahead log (`-wal`), the file that holds its latest changes. It lists every dispatch
//! of the volume and the last heartbeat: every second of a run the ledger records the
//! volume's next heartbeat number, and once that is durable the marker is rewritten with it
//! (fsynced). Only the run holding the volume's lock writes either. A ledger whose heartbeat
//! is behind the marker's is missing writes; one that lacks a dispatch the marker lists
//! was replaced. Either would send some readers the volume twice, so dispatch refuses until
//! the operator says otherwise.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::ledger::Ledger;

/// What the marker remembers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    /// The last heartbeat that was durable in the ledger.
    heartbeat: u64,
    /// The ids of every dispatch of the volume started.
    dispatches: BTreeSet<i64>,
}

/// The marker of one volume.
#[derive(Debug)]
pub(crate) struct Marker {
    volume: u32,
    path: PathBuf,
    contents: Contents,
}

impl Marker {
    /// Reads the marker of `volume` in `state_dir` (none yet: empty).
    pub(crate) fn load(state_dir: &Path, volume: u32) -> anyhow::Result<Self> {
        let path = state_dir.join(format!("dispatch-{volume:03}.marker"));
        let contents = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("cannot read {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Self {
            volume,
            path,
            contents,
        })
    }

    /// Refuses a ledger that is older than the marker, or lacks a dispatch the marker
    /// lists; the error says what to do.
    pub(crate) fn check(&self, ledger: &Ledger) -> anyhow::Result<()> {
        let volume = self.volume;
        let beat = ledger.heartbeat(volume)?;
        anyhow::ensure!(
            beat >= self.contents.heartbeat,
            "state/ledger.sqlite is older than its last run (heartbeat {beat} < {}): it is missing \
             its latest writes, as when the file is restored without state/ledger.sqlite-wal. \
             Restore the whole state/ folder from the same backup, or, if it is lost for good, \
             run again with --ledger-lost (readers sent to since may get the volume twice)",
            self.contents.heartbeat
        );
        let known: BTreeSet<i64> = ledger.dispatches(volume)?.iter().map(|d| d.id).collect();
        let lost: Vec<String> = self
            .contents
            .dispatches
            .iter()
            .filter(|id| !known.contains(id))
            .map(|id| format!("#{id}"))
            .collect();
        anyhow::ensure!(
            lost.is_empty(),
            "volume {volume} was dispatched before (dispatch {}), but state/ledger.sqlite does not \
             have it: the ledger was deleted or replaced. Restore the whole state/ folder from a \
             backup, or, if it is lost for good, run again with --ledger-lost (readers who got \
             the volume may get it twice)",
            lost.join(", ")
        );
        Ok(())
    }

    /// Forgets what the marker knew: the operator accepted a lost ledger.
    pub(crate) fn reset(&mut self, ledger: &Ledger) -> anyhow::Result<()> {
        self.contents = Contents {
            heartbeat: ledger.heartbeat(self.volume)?,
            dispatches: BTreeSet::new(),
        };
        self.save()
    }

    /// Records a started dispatch.
    pub(crate) fn started(&mut self, dispatch: i64) -> anyhow::Result<()> {
        self.contents.dispatches.insert(dispatch);
        self.save()
    }

    /// Records a heartbeat that is durable in the ledger.
    pub(crate) fn beat(&mut self, seq: u64) -> anyhow::Result<()> {
        self.contents.heartbeat = seq;
        self.save()
    }

    /// The last heartbeat the marker knows of.
    pub(crate) fn last_beat(&self) -> u64 {
        self.contents.heartbeat
    }

    fn save(&self) -> anyhow::Result<()> {
        let text = serde_json::to_string(&self.contents)?;
        crate::private::write(&self.path, text.as_bytes())
    }
}
