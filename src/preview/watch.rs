//! Watches the volume, `broadsheet.toml` and `layouts/`, and rebuilds after each burst of
//! changes (editors often write a file in several steps: a short quiet period debounces).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::routes::AppState;
use super::state::{self, Watched};
use crate::diag::display_path;

/// How long the files must stay quiet before a rebuild.
const QUIET: Duration = Duration::from_millis(40);

/// Starts watching. The watcher lives in the rebuild task, which re-arms it when a watched
/// folder is replaced as a whole (moved away and copied back, `rm -rf` and a checkout):
/// inotify watches the folder, not its name, so the new folder would go unseen.
pub(crate) fn start(root: &Path, watched: Watched, state: Arc<AppState>) -> anyhow::Result<()> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let filter = watched.clone();
    let volume_dir = watched.volume.parent().unwrap_or(root).to_path_buf();
    let folders = vec![
        (volume_dir, RecursiveMode::NonRecursive),
        (root.to_path_buf(), RecursiveMode::NonRecursive),
        (watched.layouts.clone(), RecursiveMode::Recursive),
    ];
    let named = folders.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let seen = match event {
            Err(_) => Some(Seen::Change),
            Ok(e) if !changes_content(&e.kind) => None,
            Ok(e) if e.paths.iter().any(|p| named.iter().any(|(f, _)| f == p)) => {
                Some(Seen::Folder)
            }
            Ok(e) if e.paths.iter().any(|p| filter.affects(p)) => Some(Seen::Change),
            Ok(_) => None,
        };
        if let Some(seen) = seen {
            // The receiver only goes away when the server stops.
            let _ = sender.send(seen);
        }
    })
    .context("cannot watch files for changes")?;
    for (path, mode) in &folders {
        watcher
            .watch(path, *mode)
            .with_context(|| format!("cannot watch {}", path.display()))?;
    }
    let watching = Watching {
        watcher,
        folders: folders
            .into_iter()
            .map(|(path, mode)| Folder {
                path,
                mode,
                missing: false,
            })
            .collect(),
    };
    tokio::spawn(rebuild_loop(
        receiver,
        watching,
        root.to_path_buf(),
        watched,
        state,
    ));
    Ok(())
}

/// What the watcher saw.
enum Seen {
    /// A watched file changed.
    Change,
    /// A watched folder itself was created, moved or removed.
    Folder,
}

/// The watcher and the folders it watches, kept together so they can be watched again.
struct Watching {
    watcher: notify::RecommendedWatcher,
    folders: Vec<Folder>,
}

/// A watched folder.
struct Folder {
    path: PathBuf,
    mode: RecursiveMode,
    /// Whether it could not be watched at the last re-arm.
    missing: bool,
}

impl Watching {
    /// Watches every folder afresh: the one now at each path, not the one that was there.
    /// A folder that is missing for now is said once, until it is back; the project root's
    /// watch sees it come back, which re-arms again.
    fn rearm(&mut self) {
        for Folder {
            path,
            mode,
            missing,
        } in &mut self.folders
        {
            // The old watch is gone already when notify saw the folder go.
            let _ = self.watcher.unwatch(path);
            match self.watcher.watch(path, *mode) {
                Ok(()) => *missing = false,
                Err(_) if *missing => {}
                Err(e) => {
                    *missing = true;
                    eprintln!(
                        "cannot watch {} ({e}); changes are seen again once it is back",
                        display_path(path)
                    );
                }
            }
        }
    }
}

/// Whether an event can change a file's contents. Reads are events too (inotify reports
/// opens), and the rebuild reads every watched file: counting them would loop forever.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(modify) => !matches!(modify, ModifyKind::Metadata(_)),
        EventKind::Access(_) | EventKind::Other => false,
    }
}

async fn rebuild_loop(
    mut changes: mpsc::UnboundedReceiver<Seen>,
    mut watching: Watching,
    root: PathBuf,
    watched: Watched,
    state: Arc<AppState>,
) {
    while let Some(first) = changes.recv().await {
        tracing::debug!("change seen; rebuilding after a quiet moment");
        let mut replaced = matches!(first, Seen::Folder);
        // Wait for a quiet moment so a burst of writes gives one rebuild.
        while let Ok(Some(seen)) = tokio::time::timeout(QUIET, changes.recv()).await {
            replaced |= matches!(seen, Seen::Folder);
        }
        // Before the rebuild: what changes after it is seen, what changed before it is read.
        if replaced {
            watching.rearm();
        }
        let (root, volume) = (root.clone(), watched.volume.clone());
        let Ok(outcome) = tokio::task::spawn_blocking(move || state::rebuild(&root, &volume)).await
        else {
            continue;
        };
        report(&state.volume, &outcome);
        let version = {
            let mut snapshot = state.snapshot.write().await;
            snapshot.record(outcome);
            snapshot.version
        };
        // No open page is not an error.
        let _ = state.changes.send(version);
    }
}

/// One line on the terminal per rebuild.
pub(crate) fn report(volume: &str, outcome: &state::Outcome) {
    let summary = outcome.diagnostics.summary();
    if outcome.parts.is_some() {
        eprintln!("rebuilt {volume} in {} ms: {summary}", outcome.elapsed_ms);
    } else {
        eprintln!("{volume}: {summary}; the page keeps the last good render");
    }
}
