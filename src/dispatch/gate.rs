//! The suppression list as the last word: each worker reads the list as it stands on disk
//! just before a message's transaction starts, so an address suppressed a second ago (by
//! `broadsheet suppress`, while this dispatch runs) gets nothing. Reading is cheap: the
//! file is parsed again only when its size or modification time changed.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context as _;

use crate::audience::suppress::SUPPRESSIONS_FILE;
use crate::audience::{Address, Suppressions};

/// Where the suppression list lives; each worker opens its own [`Reader`].
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    root: PathBuf,
}

/// One worker's view of the suppression list.
#[derive(Debug)]
pub(crate) struct Reader {
    root: PathBuf,
    seen: Option<(SystemTime, u64)>,
    list: Suppressions,
}

impl Gate {
    /// The gate of the project in `root`.
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// A reader for one worker.
    pub(crate) fn open(&self) -> anyhow::Result<Reader> {
        let mut reader = Reader {
            root: self.root.clone(),
            seen: None,
            list: Suppressions::default(),
        };
        reader.refresh()?;
        Ok(reader)
    }
}

impl Reader {
    /// Why `address` must not get the volume now, if it is suppressed.
    pub(crate) fn check(&mut self, address: &Address) -> anyhow::Result<Option<String>> {
        self.refresh()?;
        Ok(self
            .list
            .get(address)
            .map(|s| format!("suppressed: {} since {}", s.reason, s.since)))
    }

    fn refresh(&mut self) -> anyhow::Result<()> {
        let path = self.root.join(SUPPRESSIONS_FILE);
        let stamp = match std::fs::metadata(&path) {
            Ok(m) => Some((m.modified()?, m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if stamp != self.seen {
            self.list = Suppressions::load(&self.root)?;
            self.seen = stamp;
        }
        Ok(())
    }
}
