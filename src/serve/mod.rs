//! `broadsheet serve`: the readers' side of the list, beside the project and behind a TLS
//! reverse proxy. One-click unsubscribe (RFC 8058), unsubscribe and preference pages,
//! sign-up with confirmation, and the webhooks relays report bounces and complaints to, all
//! writing to the audience store; hardened by the guard it shares with `preview`.

mod app;
mod clicks;
mod client;
mod commit;
mod form;
mod hooks;
mod logged;
mod mail;
mod pages;
mod reader;
mod respond;
mod routes;
mod seen;
mod signup;
mod watch;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::Method;

use crate::http_guard::{self, Guard};
use crate::project::Project;

/// Where `serve` listens unless told otherwise.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:4080";

/// The largest request body: forms are small.
const BODY_LIMIT: usize = 16 * 1024;

/// The largest webhook body: SES includes the original's headers, Postmark the whole bounce.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// Pages with no script sources at all; forms post only to this service.
const CSP: &str = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Serves the project's readers on `listen` until Ctrl-C or SIGTERM.
pub(crate) async fn run(project: &Project, listen: SocketAddr) -> anyhow::Result<()> {
    let app = Arc::new(app::App::new(project)?);
    let readers = app.clone();
    watch::spawn(move || readers.candidates.refresh(&readers.signer));
    mail::spawn_reminders(app.clone());
    let listener = http_guard::bind(listen, "choose another with --listen").await?;
    let hosts = vec![http_guard::normal_host(app.serve.public_host())];
    let pages = Guard {
        hosts: hosts.clone(),
        methods: &[Method::GET, Method::HEAD, Method::POST],
        body_limit: BODY_LIMIT,
        csp: CSP,
    };
    // The webhooks get a guard of their own: larger bodies, for those routes only.
    let hooks = Guard {
        hosts,
        methods: &[Method::POST],
        body_limit: WEBHOOK_BODY_LIMIT,
        csp: CSP,
    };
    let router = pages
        .around(routes::router(app.clone()))
        .merge(hooks.around(webhooks::router(app.clone())));
    println!(
        "serving readers of {} at http://{}/ (Ctrl-C to stop)",
        app.serve.public_url.get_ref(),
        listener.local_addr()?
    );
    http_guard::serve(listener, router, http_guard::shutdown_signal()).await?;
    eprintln!("serve stopped");
    Ok(())
}
