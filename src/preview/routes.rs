//! The preview's HTTP routes. GET only, Host checked against DNS rebinding (the shared
//! [`crate::http_guard`]), and files served only from inside `layouts/`.
//!
//! Routes: `/` the page; `/email.html`, `/email.txt`, `/email.mjml` the last good render,
//! byte for byte what `build` writes; `/web.html` the volume's web archive page;
//! `/api/state` diagnostics and sizes as JSON; `/events`
//! server-sent events, one per rebuild; `/layouts/{path}` layout assets. Per-recipient or
//! per-topic views will take query parameters on the `/email.*` routes.

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::{RwLock, broadcast, watch};

use super::state::{Parts, Snapshot};
use crate::http_guard::Guard;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The volume's path as shown to the user.
    pub(crate) volume: String,
    /// Where `/layouts/...` files come from.
    pub(crate) layouts: PathBuf,
    pub(crate) snapshot: RwLock<Snapshot>,
    /// Carries the version of every rebuild to the open pages.
    pub(crate) changes: broadcast::Sender<u64>,
    /// Becomes true when the server is stopping, to end the event streams.
    pub(crate) stopping: watch::Receiver<bool>,
}

const PAGE: &str = include_str!("page.html");

/// What the preview accepts: loopback Host names only, GET and HEAD, and pages that only
/// the preview itself may frame.
fn guard() -> Guard {
    Guard {
        hosts: Vec::new(),
        methods: &[Method::GET, Method::HEAD],
        body_limit: 0,
        csp: "frame-ancestors 'self'",
    }
}

/// The router with every route and the safety checks.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let routes = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/email.html", get(email_html))
        .route("/email.txt", get(email_text))
        .route("/email.mjml", get(email_mjml))
        .route("/web.html", get(web_page))
        .route("/api/state", get(api_state))
        .route("/events", get(events))
        .route("/layouts/{*path}", get(layout_file))
        .with_state(state);
    guard().around(routes)
}

async fn good_part(state: &AppState, part: fn(&Parts) -> &str, mime: &'static str) -> Response {
    let good = state.snapshot.read().await.good.clone();
    match good {
        Some(parts) => ([(header::CONTENT_TYPE, mime)], part(&parts).to_owned()).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the volume has not rendered without errors yet; see the diagnostics\n",
        )
            .into_response(),
    }
}

async fn email_html(State(state): State<Arc<AppState>>) -> Response {
    good_part(&state, |p| &p.html, "text/html; charset=utf-8").await
}

async fn email_text(State(state): State<Arc<AppState>>) -> Response {
    good_part(&state, |p| &p.text, "text/plain; charset=utf-8").await
}

async fn email_mjml(State(state): State<Arc<AppState>>) -> Response {
    good_part(&state, |p| &p.mjml, "text/plain; charset=utf-8").await
}

async fn web_page(State(state): State<Arc<AppState>>) -> Response {
    let good = state.snapshot.read().await.good.clone();
    match good.as_ref().and_then(|parts| parts.web.clone()) {
        Some(page) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no web page: the layout has no web.html.hbs, or the volume has errors\n",
        )
            .into_response(),
    }
}

async fn api_state(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.snapshot.read().await;
    axum::Json(snapshot.view(&state.volume)).into_response()
}

/// One event per rebuild, carrying its version; the stream ends when the server stops.
async fn events(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.changes.subscribe();
    let current = state.snapshot.read().await.version;
    let stopping = state.stopping.clone();
    let stream = futures_util::stream::unfold(
        (receiver, stopping, Some(current)),
        |(mut receiver, mut stopping, first)| async move {
            if let Some(version) = first {
                return Some((version, (receiver, stopping, None)));
            }
            loop {
                let next = tokio::select! {
                    changed = receiver.recv() => changed,
                    _ = stopping.wait_for(|stop| *stop) => return None,
                };
                match next {
                    Ok(version) => return Some((version, (receiver, stopping, None))),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    let events = futures_util::StreamExt::map(stream, |version| {
        Ok(Event::default().event("rebuilt").data(version.to_string()))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

async fn layout_file(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    let Some(file) = resolve_inside(&state.layouts, &path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, mime_type(&file))], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// The file that `requested` (already percent-decoded) names inside `root`, if it is a
/// regular file that is really inside: no `..`, no absolute paths, no symlink out of `root`.
pub(crate) fn resolve_inside(root: &Path, requested: &str) -> Option<PathBuf> {
    let relative = Path::new(requested);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || requested.contains(['\\', '\0']) {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let file = root.join(relative).canonicalize().ok()?;
    (file.starts_with(&root) && file.is_file()).then_some(file)
}

fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("css") => "text/css; charset=utf-8",
        Some("hbs" | "toml" | "txt" | "mjml") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layouts");
        std::fs::create_dir_all(root.join("scout")).unwrap();
        std::fs::write(root.join("scout/logo.png"), "png").unwrap();
        std::fs::write(dir.path().join("secret.toml"), "secret").unwrap();
        assert!(resolve_inside(&root, "scout/logo.png").is_some());
        for bad in [
            "../secret.toml",
            "scout/../../secret.toml",
            "/etc/passwd",
            "scout",
            "scout\\..\\x",
            "",
        ] {
            assert!(resolve_inside(&root, bad).is_none(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.toml"), root.join("scout/link"))
                .unwrap();
            assert!(resolve_inside(&root, "scout/link").is_none());
        }
    }
}
