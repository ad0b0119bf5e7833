//! Watches the volume, `broadsheet.toml` and `layouts/`, and rebuilds after each burst of
//! changes (editors often write a file in several steps: a short quiet period debounces).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::routes::AppState;
use super::state::{self, Watched};

/// How long the files must stay quiet before a rebuild.
const QUIET: Duration = Duration::from_millis(40);

/// Starts watching; the returned watcher must be kept alive for as long as events are wanted.
pub(crate) fn start(
    root: &Path,
    watched: Watched,
    state: Arc<AppState>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let filter = watched.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let relevant = event.map_or(true, |e| {
            changes_content(&e.kind) && e.paths.iter().any(|p| filter.affects(p))
        });
        if relevant {
            // The receiver only goes away when the server stops.
            let _ = sender.send(());
        }
    })
    .context("cannot watch files for changes")?;
    let volume_dir = watched.volume.parent().unwrap_or(root);
    for (path, mode) in [
        (volume_dir, RecursiveMode::NonRecursive),
        (root, RecursiveMode::NonRecursive),
        (watched.layouts.as_path(), RecursiveMode::Recursive),
    ] {
        watcher
            .watch(path, mode)
            .with_context(|| format!("cannot watch {}", path.display()))?;
    }
    tokio::spawn(rebuild_loop(receiver, root.to_path_buf(), watched, state));
    Ok(watcher)
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
    mut changes: mpsc::UnboundedReceiver<()>,
    root: std::path::PathBuf,
    watched: Watched,
    state: Arc<AppState>,
) {
    while changes.recv().await.is_some() {
        tracing::debug!("change seen; rebuilding after a quiet moment");
        // Wait for a quiet moment so a burst of writes gives one rebuild.
        while let Ok(Some(())) = tokio::time::timeout(QUIET, changes.recv()).await {}
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
