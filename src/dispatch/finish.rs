//! Running the engine under the operator's control: Ctrl-C or SIGTERM asks it to stop
//! taking new recipients; the messages in flight get a bounded time to finish, after which
//! they are abandoned (the next run counts them as ambiguous).

use std::time::Duration;

use tokio::sync::watch;

use super::engine::{End, Engine};
use crate::transport::Transport;

/// Runs `engine` until it ends, or until a signal stops it and the in-flight messages have
/// had `drain` to finish.
pub(crate) async fn until_stopped<T: Transport + Send + 'static>(
    engine: Engine<T>,
    stop: watch::Sender<bool>,
    drain: Duration,
    lines: &super::Lines,
) -> End {
    let mut run = tokio::spawn(engine.run());
    tokio::select! {
        ended = &mut run => return joined(ended),
        () = signal() => {}
    }
    lines(&format!(
        "stopping: no new messages; waiting up to {} s for those in flight",
        drain.as_secs()
    ));
    let _ = stop.send(true);
    match tokio::time::timeout(drain, &mut run).await {
        Ok(ended) => joined(ended),
        Err(_) => {
            run.abort();
            End::Interrupted
        }
    }
}

fn joined(ended: Result<End, tokio::task::JoinError>) -> End {
    ended.unwrap_or_else(|e| End::Ledger(format!("the dispatch stopped: {e}")))
}

async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler only fails outside a runtime");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
