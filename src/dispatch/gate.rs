//! The suppression list as the last word: each worker looks the address up in the audience
//! store just before a message's transaction starts, so an address suppressed a second ago
//! (by `broadsheet suppress` or `serve`, while this dispatch runs) gets nothing. A lookup
//! is one prepared point query on the worker's own connection, which sees every commit.

use std::path::PathBuf;

use crate::audience::{Address, Store};

/// Where the audience store lives; each worker opens its own [`Reader`].
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    root: PathBuf,
}

/// One worker's connection to the store.
#[derive(Debug)]
pub(crate) struct Reader {
    store: Store,
}

impl Gate {
    /// The gate of the project in `root`.
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// A reader for one worker (creating the store if there is none yet, so that an
    /// address suppressed during the run is seen).
    pub(crate) fn open(&self) -> anyhow::Result<Reader> {
        Ok(Reader {
            store: Store::open(&self.root)?,
        })
    }
}

impl Reader {
    /// Why `address` must not get the volume now, if it is suppressed.
    pub(crate) fn check(&mut self, address: &Address) -> anyhow::Result<Option<String>> {
        Ok(self
            .store
            .suppression(address)?
            .map(|s| format!("suppressed: {} since {} ({})", s.reason, s.since, s.source)))
    }
}
