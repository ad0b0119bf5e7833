//! `broadsheet preview`: a local web page showing the volume as readers will see it, rebuilt
//! on every save, with the diagnostics of `check` beside it. Serves 127.0.0.1 only.

mod routes;
mod state;
mod watch;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::sync::{RwLock, broadcast, watch as stop};

use crate::diag::display_path;
use crate::project::{Project, SETTINGS_FILE};
use routes::AppState;
use state::{Snapshot, Watched};

/// The port tried first when none is given.
pub(crate) const DEFAULT_PORT: u16 = 4000;

/// How many ports after the default are tried when it is taken.
const PORT_TRIES: u16 = 20;

/// Serves the preview of `volume` until Ctrl-C or SIGTERM. `port` is the user's explicit
/// choice, if any; `open` starts a browser on the page.
pub(crate) async fn serve(
    project: &Project,
    volume: &Path,
    port: Option<u16>,
    open: bool,
) -> anyhow::Result<()> {
    let volume = volume
        .canonicalize()
        .with_context(|| format!("cannot open volume {}", volume.display()))?;
    let root = project
        .root
        .canonicalize()
        .context("cannot resolve the project folder")?;
    let listener = bind(port).await?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}/");

    let first = state::rebuild(&root, &volume);
    let shown = display_path(&volume);
    watch::report(&shown, &first);
    let mut snapshot = Snapshot::default();
    snapshot.record(first);
    let (stop_sender, stopping) = stop::channel(false);
    let app = Arc::new(AppState {
        volume: shown.clone(),
        layouts: root.join("layouts"),
        snapshot: RwLock::new(snapshot),
        changes: broadcast::channel(16).0,
        stopping,
    });
    let watched = Watched {
        volume,
        settings: root.join(SETTINGS_FILE),
        layouts: root.join("layouts"),
    };
    watch::start(&root, watched, app.clone())?;

    println!("previewing {shown} at {url} (Ctrl-C to stop)");
    if open {
        open_browser(&url);
    }
    let stop = async move {
        crate::http_guard::shutdown_signal().await;
        let _ = stop_sender.send(true);
    };
    crate::http_guard::serve(listener, routes::router(app), stop)
        .await
        .context("the preview server failed")?;
    eprintln!("preview stopped");
    Ok(())
}

/// Binds 127.0.0.1: the given port, or the default and the next few when they are taken.
async fn bind(port: Option<u16>) -> anyhow::Result<TcpListener> {
    if let Some(port) = port {
        return TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| {
                format!("cannot listen on 127.0.0.1:{port} (in use?); choose another with --port")
            });
    }
    for candidate in DEFAULT_PORT..DEFAULT_PORT + PORT_TRIES {
        match TcpListener::bind(("127.0.0.1", candidate)).await {
            Ok(listener) => {
                if candidate != DEFAULT_PORT {
                    eprintln!("port {DEFAULT_PORT} is in use; using {candidate}");
                }
                return Ok(listener);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
            Err(e) => return Err(e).context("cannot listen on 127.0.0.1"),
        }
    }
    bail!(
        "ports {DEFAULT_PORT} to {} on 127.0.0.1 are all in use; choose one with --port",
        DEFAULT_PORT + PORT_TRIES - 1
    )
}

/// Opens the page in the desktop's browser; failing to do so is only worth a note.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("could not open a browser ({opener}: {e}); open {url} yourself");
    }
}
