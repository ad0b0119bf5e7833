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

use crate::ledger::{LEDGER_FILE, Ledger};

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
    /// What `state/` held of the ledger when the marker was read, before anything opened
    /// (and so created) the ledger: the file, and its write-ahead log.
    found: Found,
}

/// The ledger's files found in `state/`.
#[derive(Debug, Clone, Copy)]
struct Found {
    /// The ledger file.
    ledger: bool,
    /// Its write-ahead log, with writes in it.
    wal: bool,
}

impl Found {
    /// What is missing, for a ledger that is not the one the marker knows.
    fn missing(self) -> Option<String> {
        if !self.ledger {
            Some(format!("{LEDGER_FILE} is missing"))
        } else if !self.wal {
            Some(format!(
                "{LEDGER_FILE}-wal is missing or empty: the ledger's latest writes were in it \
                 (a copy of {LEDGER_FILE} alone, or an older copy)"
            ))
        } else {
            None
        }
    }
}

/// What the refusals of a ledger that is not the one the marker knows end with.
const RESTORE: &str = "Restore the whole state/ folder from a backup, or, if it is lost for good, \
     run `broadsheet dispatch` again with --ledger-lost";

impl Marker {
    /// Reads the marker of `volume` in `state_dir` (none yet: empty), and notes which of
    /// the ledger's files are there: call it before opening the ledger.
    pub(crate) fn load(state_dir: &Path, volume: u32) -> anyhow::Result<Self> {
        let path = state_dir.join(format!("dispatch-{volume:03}.marker"));
        let file = Path::new(LEDGER_FILE)
            .file_name()
            .expect("the ledger's path names a file");
        let ledger = state_dir.join(file);
        let mut wal = ledger.clone().into_os_string();
        wal.push("-wal");
        let found = Found {
            ledger: ledger.exists(),
            // A reader of a ledger without its log leaves an empty one behind.
            wal: std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        };
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
            found,
        })
    }

    /// The ledger `opened` for reading (see [`Ledger::open_read_only`]), checked as
    /// [`Marker::check`] does: when the marker lists dispatches, a ledger that is missing or
    /// empty is an error saying what is missing, never a volume not dispatched.
    pub(crate) fn check_read(
        &self,
        opened: anyhow::Result<Option<Ledger>>,
    ) -> anyhow::Result<Option<Ledger>> {
        match opened? {
            Some(ledger) => {
                self.check(&ledger)?;
                Ok(Some(ledger))
            }
            None if !self.contents.dispatches.is_empty() => {
                Err(self.lost(&self.contents.dispatches))
            }
            None => Ok(None),
        }
    }

    /// Refuses a ledger that is older than the marker, or lacks a dispatch the marker
    /// lists; the error says what to do.
    pub(crate) fn check(&self, ledger: &Ledger) -> anyhow::Result<()> {
        let volume = self.volume;
        let known: BTreeSet<i64> = ledger.dispatches(volume)?.iter().map(|d| d.id).collect();
        let lost: Vec<i64> = self
            .contents
            .dispatches
            .iter()
            .filter(|id| !known.contains(id))
            .copied()
            .collect();
        if !lost.is_empty() {
            return Err(self.lost(&lost));
        }
        let beat = ledger.heartbeat(volume)?;
        let missing = self.found.missing().unwrap_or_else(|| {
            format!("it is missing its latest writes, as when the file is restored without {LEDGER_FILE}-wal")
        });
        anyhow::ensure!(
            beat >= self.contents.heartbeat,
            "{LEDGER_FILE} is older than its last run (heartbeat {beat} < {}): {missing}. \
             {RESTORE} (readers sent to since may get the volume twice)",
            self.contents.heartbeat
        );
        Ok(())
    }

    /// The refusal of a ledger without the dispatches `lost`.
    fn lost<T: std::fmt::Display>(&self, lost: impl IntoIterator<Item = T>) -> anyhow::Error {
        let ids: Vec<String> = lost.into_iter().map(|id| format!("#{id}")).collect();
        let why = match self.found.missing() {
            Some(missing) if !self.found.ledger => missing,
            Some(missing) => format!("{LEDGER_FILE} does not have it: {missing}"),
            None => format!("{LEDGER_FILE} does not have it: the ledger was deleted or replaced"),
        };
        anyhow::anyhow!(
            "volume {} was dispatched before (dispatch {}), but {why}. {RESTORE} (readers who \
             got the volume may get it twice)",
            self.volume,
            ids.join(", ")
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Dispatch, Writer};

    fn started(dir: &Path) -> (Ledger, i64) {
        let mut ledger = Ledger::open(&dir.join("ledger.sqlite")).unwrap();
        let dispatch = Dispatch {
            id: 0,
            volume: 11,
            content_hash: "h".into(),
            segments: vec!["s".into()],
            settings: "{}".into(),
            started_at: 1,
            finished_at: None,
        };
        let (id, _) = ledger.start(&dispatch, std::iter::empty()).unwrap();
        (ledger, id)
    }

    #[tokio::test]
    async fn a_ledger_behind_its_marker_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, id) = started(dir.path());
        let mut marker = Marker::load(dir.path(), 11).unwrap();
        marker.started(id).unwrap();
        let (writer, handle) = Writer::start(&dir.path().join("ledger.sqlite")).unwrap();
        handle.heartbeat(11, 1).await.unwrap();
        marker.beat(1).unwrap();
        Marker::load(dir.path(), 11)
            .unwrap()
            .check(&ledger)
            .unwrap();
        // The marker moved on, the ledger did not (its last writes were lost).
        marker.beat(2).unwrap();
        let error = Marker::load(dir.path(), 11)
            .unwrap()
            .check(&ledger)
            .unwrap_err();
        assert!(
            error.to_string().contains("missing its latest writes"),
            "{error}"
        );
        assert!(
            Marker::load(dir.path(), 12).unwrap().check(&ledger).is_ok(),
            "per volume"
        );
        drop(handle);
        writer.finish().unwrap();
    }

    #[test]
    fn a_ledger_without_a_dispatch_the_marker_lists_is_refused_until_reset() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, id) = started(dir.path());
        let mut marker = Marker::load(dir.path(), 11).unwrap();
        marker.started(id + 1).unwrap();
        let error = marker.check(&ledger).unwrap_err();
        assert!(error.to_string().contains("dispatch #2"), "{error}");
        marker.reset(&ledger).unwrap();
        Marker::load(dir.path(), 11)
            .unwrap()
            .check(&ledger)
            .unwrap();
    }
}
