//! The hardening that `preview` and `serve` share: requests in, either refused early (wrong
//! Host, absolute-form target, method, oversized or slow body) or passed on and answered
//! with the security headers; and the accept loop whose header-read and idle timeouts close
//! connections that idle or dribble, and whose cap on open connections keeps descriptors
//! for the server's own files, so that many of them cannot stop a server serving.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::settings::is_loopback_host;

/// How long a client may take to send a request's headers, and how long an idle
/// keep-alive connection stays open.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The port of the scheme public hosts are reached by (https): a Host that names it names
/// the host without a port (RFC 9110 §4.2.2).
const DEFAULT_PORT: &str = "443";
/// How long open connections get to finish when the server stops.
const DRAIN: Duration = Duration::from_secs(5);
/// The largest request head hyper buffers (headers included).
const MAX_HEAD: usize = 16 * 1024;
/// The open files kept for everything but connections: the store and the ledger with
/// their logs, the recipient files a reload reads, the outbox, the relay, the runtime.
const RESERVED_FILES: u64 = 64;
/// The fewest connections served at once, however low the limit on open files.
const MIN_CONNECTIONS: usize = 16;

/// What a server accepts, and the headers every answer carries.
#[derive(Debug)]
pub(crate) struct Guard {
    /// Host header values accepted besides loopback names, as [`normal_host`] gives them.
    pub(crate) hosts: Vec<String>,
    /// The methods the server answers; others get 405.
    pub(crate) methods: &'static [Method],
    /// The largest body accepted; larger gets 413.
    pub(crate) body_limit: usize,
    /// The `Content-Security-Policy` of every answer.
    pub(crate) csp: &'static str,
}

impl Guard {
    /// Wraps `router` in the checks and headers.
    pub(crate) fn around(self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(Arc::new(self), check))
    }

    fn host_ok(&self, request: &Request) -> bool {
        let mut hosts = request.headers().get_all(header::HOST).iter();
        let (Some(host), None) = (hosts.next(), hosts.next()) else {
            return false;
        };
        let Ok(host) = host.to_str() else {
            return false;
        };
        loopback_name(&host.to_ascii_lowercase()) || self.hosts.contains(&normal_host(host))
    }
}

/// `host` (a Host header's value) as hosts are compared: in lowercase, without the trailing
/// dot of a fully qualified name, and without the scheme's default port, which name the
/// same origin (RFC 9110 §4.2.2, §7.2): `Scout.Eto.Tech.:443` is `scout.eto.tech`. Any
/// other port is kept.
pub(crate) fn normal_host(host: &str) -> String {
    let lower = host.to_ascii_lowercase();
    let (name, port) = match lower.rsplit_once(':') {
        // An IPv6 literal without a port has colons of its own.
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            (name, port)
        }
        _ => (lower.as_str(), ""),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    match port {
        "" | DEFAULT_PORT => name.to_owned(),
        port => format!("{name}:{port}"),
    }
}

/// `localhost`, a loopback address, or one of those with a port.
fn loopback_name(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    !name.is_empty() && is_loopback_host(name)
}

async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let refusal = if request.uri().authority().is_some() || request.uri().scheme().is_some() {
        Some((
            StatusCode::BAD_REQUEST,
            "absolute-form request targets are not accepted\n",
        ))
    } else if !guard.host_ok(&request) {
        Some((StatusCode::MISDIRECTED_REQUEST, "unknown Host\n"))
    } else if !guard.methods.contains(request.method()) {
        Some((StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"))
    } else {
        None
    };
    let mut response = match refusal {
        Some(refusal) => refusal.into_response(),
        None => match buffered(request, guard.body_limit).await {
            Ok(request) => next.run(request).await,
            Err(refusal) => refusal.into_response(),
        },
    };
    let headers = response.headers_mut();
    // `same-origin`, not `no-referrer`: the tokens in our URLs never reach another site,
    // and a browser posting one of our forms sends our real Origin rather than `null`,
    // which is all that proves a form ours where no `Sec-Fetch-Site` comes (Safari before
    // 16.4, in-app browsers).
    let fixed = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, guard.csp),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The request with its body read into memory: at most `limit` bytes within the body
/// timeout, else the refusal to send.
async fn buffered(request: Request, limit: usize) -> Result<Request, (StatusCode, &'static str)> {
    let too_large = (
        StatusCode::PAYLOAD_TOO_LARGE,
        "the request body is too large\n",
    );
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(_)) => Err(too_large),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "the request body came too slowly\n",
        )),
    }
}

/// Serves `router` on `listener` until `stop` resolves, then gives open connections a few
/// seconds to finish. Each connection is HTTP/1.1 with the header-read (and idle) timeout;
/// handlers see the peer's address as [`ConnectInfo`]. At most [`connection_cap`]
/// connections are open at once: beyond them, new ones wait in the kernel's backlog until
/// one ends, so that clients holding connections never take the descriptors the server
/// needs for its own files.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD.max(8192));
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(connection_cap()));
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors or a connection reset before accept: keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            },
        ));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// How many connections may be open at once: the limit on open files (raised by [`bind`])
/// less what the server keeps for its own files.
fn connection_cap() -> usize {
    let files = usize::try_from(open_files().saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
    files.clamp(MIN_CONNECTIONS, Semaphore::MAX_PERMITS)
}

/// Raises the process's soft limit on open files to its hard one (a systemd service starts
/// at 1,024 though it may have far more); an unlimited hard limit, more than the kernel
/// allows, leaves it as it is.
#[cfg(unix)]
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    let _ = setrlimit(Resource::Nofile, raised);
}

/// The process's soft limit on open files.
#[cfg(unix)]
fn open_files() -> u64 {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    limit.current.unwrap_or(u64::MAX)
}

/// Elsewhere the limit is not ours to change.
#[cfg(not(unix))]
fn raise_open_files() {}

/// Elsewhere the limit is not ours to read: a thousand connections.
#[cfg(not(unix))]
fn open_files() -> u64 {
    1024
}

/// Binds `address`; an address in use is an error, never a silent move elsewhere. Raises
/// the limit on open files first: each connection takes one.
pub(crate) async fn bind(address: SocketAddr, hint: &str) -> anyhow::Result<TcpListener> {
    raise_open_files();
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (in use?); {hint}"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler only fails outside a runtime");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::{loopback_name, normal_host};

    #[test]
    fn hosts_compare_without_case_trailing_dot_or_default_port() {
        for same in [
            "scout.eto.tech",
            "Scout.ETO.tech",
            "scout.eto.tech.",
            "scout.eto.tech:443",
            "scout.eto.tech.:443",
            "scout.eto.tech:",
        ] {
            assert_eq!(normal_host(same), "scout.eto.tech", "{same}");
        }
        for (other, normal) in [
            ("scout.eto.tech:8443", "scout.eto.tech:8443"),
            ("scout.eto.tech..", "scout.eto.tech."),
            ("scout.eto.tech:443:443", "scout.eto.tech:443"),
            ("[::1]:443", "[::1]"),
            ("[::1]", "[::1]"),
        ] {
            assert_eq!(normal_host(other), normal, "{other}");
        }
    }

    #[test]
    fn loopback_names_with_and_without_ports() {
        for ok in [
            "localhost",
            "localhost:4000",
            "127.0.0.1:4000",
            "[::1]:4000",
            "[::1]",
        ] {
            assert!(loopback_name(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil:80",
            "[::1]evil",
            "10.0.0.1",
            ":80",
        ] {
            assert!(!loopback_name(bad), "{bad}");
        }
    }
}
