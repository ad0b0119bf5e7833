//! The send phase of a run: the async runtime, the ledger's writer, the heartbeat, the
//! engine and its progress line, until the engine ends or the operator stops it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Job;
use crate::dispatch::engine::{Builder, Counters, End, Engine, Tuning};
use crate::dispatch::finish;
use crate::dispatch::gate::Gate;
use crate::dispatch::guard::RelayGuard;
use crate::dispatch::limits::{Breaker, RateLimiter};
use crate::dispatch::marker::Marker;
use crate::dispatch::messages::Messages;
use crate::dispatch::progress::{self, Progress};
use crate::ledger::Writer;
use crate::message::dkim::Signer as DkimSigner;
use crate::transport::Configured;

/// How often a run records a heartbeat (see `marker`), and every how many heartbeats it
/// copies the write-ahead log into the ledger file.
const HEARTBEAT: Duration = Duration::from_secs(1);
const CHECKPOINT_EVERY: u64 = 30;

impl Job<'_> {
    /// Runs the engine until it ends or a signal stops it, with the heartbeat beside it.
    pub(super) fn send(
        &mut self,
        dispatch: i64,
        ledger_path: &Path,
        messages: Messages,
        open: u64,
        (mut marker, first_beat): (Marker, u64),
    ) -> anyhow::Result<End> {
        let sending = &self.prepared.sending;
        let pace = &sending.pace;
        let drain = match &sending.route {
            crate::settings::Route::Smtp(s) => s.timeout * 3,
            crate::settings::Route::Outbox(_) => Duration::from_secs(10),
        };
        // One thread drives every connection: a message costs it a splice and a few writes,
        // so one core keeps up with any relay, and no wake-up crosses threads. What costs
        // CPU has threads of its own: the ledger's writer and, when signing with RSA, the
        // builders.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let project_root = self.project.root.clone();
        let number = self.number;
        let terminal = self.request.terminal;
        let retry_failed = self.request.retry_failed;
        let lines = self.operator.lines();
        let transports_sending = sending.clone();
        runtime.block_on(async move {
            let (writer, handle) = Writer::start(ledger_path)?;
            let (stop_sender, stop) = tokio::sync::watch::channel(false);
            let counters = Arc::new(Counters::default());
            // An RSA signature costs far more than a splice: those messages are built on a
            // pool. Ed25519 costs about as much as the hand-off to a pool thread and back, and
            // is signed inline.
            let costly = messages.dkim.as_ref().is_some_and(DkimSigner::is_costly);
            let builder = Builder::new(Arc::new(move |entry| messages.build(entry)), costly)?;
            let beats = handle.clone();
            let heartbeat = tokio::spawn(async move {
                let mut seq = first_beat;
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    if seq % CHECKPOINT_EVERY == 0 && beats.checkpoint().await.is_err() {
                        break;
                    }
                    if beats.heartbeat(number, seq).await.is_err() {
                        break;
                    }
                    // The marker is synced to disk off this thread, which drives every
                    // connection: a sync here would hold them all up once a second.
                    let beaten = tokio::task::spawn_blocking(move || {
                        let written = marker.beat(seq);
                        (marker, written)
                    });
                    let Ok((back, Ok(()))) = beaten.await else {
                        break;
                    };
                    marker = back;
                    seq += 1;
                }
            });
            let root = project_root.clone();
            let engine = Engine {
                transports: Arc::new(move || Configured::new(&root, &transports_sending)),
                ledger: PathBuf::from(ledger_path),
                dispatch,
                builder,
                gate: Gate::new(project_root),
                tuning: Tuning {
                    connections: pace.connections,
                    max_attempts: pace.max_attempts,
                    retry_base: pace.retry_after,
                    retry_cap: Duration::from_secs(3600),
                },
                limiter: Arc::new(RateLimiter::new(pace.per_second, pace.per_hour)),
                breaker: Arc::new(Breaker::new(pace.breaker)),
                guard: Arc::new(RelayGuard::new(pace.relay, retry_failed)),
                stop,
                counters: counters.clone(),
                writer: handle,
            };
            let progress = Progress::start(
                counters.clone(),
                open,
                pace.per_second,
                terminal,
                lines.clone(),
            );
            let end = finish::until_stopped(engine, stop_sender, drain, &lines).await;
            heartbeat.abort();
            // Its ledger handle must be gone before the writer can finish.
            let _ = heartbeat.await;
            progress.finish();
            lines(&progress::summary(&counters));
            Ok(match writer.finish() {
                Err(e) if !matches!(end, End::Ledger(_)) => End::Ledger(format!("{e:#}")),
                _ => end,
            })
        })
    }
}
