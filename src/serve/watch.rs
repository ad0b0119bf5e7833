//! When the service reloads what it knows of its readers: when the files they come from
//! change (`recipients.toml`, the files its `[[imports]]` name, and for reports the
//! dispatch ledger), seen by their modification time and length. Never because a request
//! names somebody unknown: anyone can make a token that does, and each one would make the
//! service load the whole audience again.
//!
//! The audience store is not watched: the service writes it all day (and applies its own
//! sign-ups as it confirms them), so its changes say nothing about the files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::audience::RECIPIENTS_FILE;
use crate::ledger::LEDGER_FILE;

/// How often the page routes' recipient files are looked at.
pub(super) const EVERY: Duration = Duration::from_secs(2);

/// Each watched file's modification time and length, or `None` while it is absent.
type Stamps = Vec<Option<(SystemTime, u64)>>;

/// The files one part of the service loads its readers from, as they were when it last
/// loaded them.
#[derive(Debug)]
pub(super) struct Watched {
    root: PathBuf,
    ledger: bool,
    paths: Vec<PathBuf>,
    stamps: Stamps,
}

impl Watched {
    /// The recipient files of the project in `root` (and its ledger, with `ledger`) as they
    /// are now. Taken before loading, so that a change made during the load is seen next.
    pub(super) fn new(root: &Path, ledger: bool) -> Self {
        let paths = sources(root, ledger);
        Self {
            root: root.to_path_buf(),
            ledger,
            stamps: stamps(&paths),
            paths,
        }
    }

    /// The project's root.
    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a file changed since they were last noted; if so, notes them as they are
    /// now (`recipients.toml` may name other imports now), and the caller reloads.
    pub(super) fn changed(&mut self) -> bool {
        if stamps(&self.paths) == self.stamps {
            return false;
        }
        *self = Self::new(&self.root, self.ledger);
        true
    }
}

/// Looks at the page routes' recipient files every [`EVERY`] and reloads the readers their
/// tokens may name when one changed (`refresh` looks and reloads), for as long as the
/// service runs.
pub(super) fn spawn(refresh: impl Fn() + Send + Sync + 'static) {
    let refresh = Arc::new(refresh);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let refresh = refresh.clone();
            // A few `stat`s, and now and then a whole load: off the request workers.
            let refreshed = tokio::task::spawn_blocking(move || refresh()).await;
            // Only a panic in the load ends up here; the next tick tries again.
            if let Err(e) = refreshed {
                tracing::error!("the recipient files could not be looked at: {e}");
            }
        }
    });
}

/// `recipients.toml`, the files its `[[imports]]` name (none while it does not parse: its
/// own change will show), and the ledger with its write-ahead log when `ledger`.
fn sources(root: &Path, ledger: bool) -> Vec<PathBuf> {
    #[derive(Deserialize)]
    struct Listed {
        #[serde(default)]
        imports: Vec<Import>,
    }
    #[derive(Deserialize)]
    struct Import {
        path: Option<String>,
    }
    let recipients = root.join(RECIPIENTS_FILE);
    let listed = std::fs::read_to_string(&recipients)
        .ok()
        .and_then(|text| toml::from_str::<Listed>(&text).ok());
    let imports = listed.into_iter().flat_map(|l| l.imports);
    let mut paths: Vec<PathBuf> = std::iter::once(recipients)
        .chain(imports.filter_map(|i| i.path).map(|p| root.join(p)))
        .collect();
    if ledger {
        paths.push(root.join(LEDGER_FILE));
        paths.push(root.join(format!("{LEDGER_FILE}-wal")));
    }
    paths
}

fn stamps(paths: &[PathBuf]) -> Stamps {
    paths
        .iter()
        .map(|path| {
            let metadata = std::fs::metadata(path).ok()?;
            Some((metadata.modified().ok()?, metadata.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_to_any_recipient_file_is_seen_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |name: &str, text: &str| std::fs::write(root.join(name), text).unwrap();
        write(
            RECIPIENTS_FILE,
            "[[imports]]\npath = \"a.csv\"\n\n[[imports]]\npath = \"b.csv\"\n",
        );
        write("a.csv", "email\n");
        let mut watched = Watched::new(root, false);
        assert!(!watched.changed(), "nothing changed yet");
        write("a.csv", "email\nana@example.org\n");
        assert!(watched.changed());
        assert!(!watched.changed(), "a change is seen once");
        write("b.csv", "email\n");
        assert!(watched.changed(), "an import that appears");
        write(RECIPIENTS_FILE, "[[imports]]\npath = \"c.csv\"\n");
        assert!(watched.changed());
        write("a.csv", "email\nwei@example.org\n");
        assert!(!watched.changed(), "a file no longer imported");
        write("c.csv", "email\n");
        assert!(watched.changed(), "the newly imported file");
        std::fs::create_dir(root.join("state")).unwrap();
        let mut reports = Watched::new(root, true);
        write(LEDGER_FILE, "a dispatch");
        assert!(reports.changed(), "the ledger, for reports");
        assert!(!watched.changed(), "but not for the pages");
    }
}
