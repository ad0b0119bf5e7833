//! The sending engine: a fixed set of workers, each owning one transport (one connection), fed recipients
//! from the ledger in order. Every message is marked in flight (durably) before its
//! transaction starts, and its outcome is recorded when the reply arrives. Deferred messages
//! come back after their backoff; a stop request ends the run between messages.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};

use super::limits::{Breaker, RateLimiter, retry_delay};
use super::verdict::{Verdict, judge};
use crate::ledger::{Entry, Ledger, Outcome, Row, State, WriterHandle};
use crate::transport::{Envelope, Transport};

/// Builds one recipient's envelope and message bytes.
pub type BuildMessage = dyn Fn(&Entry) -> anyhow::Result<(Envelope, Vec<u8>)> + Send + Sync;

/// Makes a transport for one worker (each owns its connection).
pub type MakeTransport<T> = dyn Fn() -> anyhow::Result<T> + Send + Sync;

/// How many rows the feeder reads from the ledger at a time.
const PAGE: i64 = 1000;

/// Tunables of a run.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Connections (and workers) at once.
    pub connections: usize,
    /// Attempts per message before a deferred message waits for the next run.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
}

/// Live counts for progress display.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages the relay accepted.
    pub sent: AtomicU64,
    /// Messages refused for good.
    pub failed: AtomicU64,
    /// Transient failures (each retry counts).
    pub deferred: AtomicU64,
    /// Messages whose fate is unknown.
    pub ambiguous: AtomicU64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Nothing is left to try in this run.
    Finished,
    /// Stopped on request (Ctrl-C, SIGTERM); resumable.
    Interrupted,
    /// The circuit breaker stopped it; resumable.
    Tripped(String),
}

/// A dispatch run over the rows of one volume in the ledger.
pub struct Engine<T: Transport> {
    /// Makes each worker's transport.
    pub transports: Arc<MakeTransport<T>>,
    /// The ledger file (the feeder reads it on its own connection).
    pub ledger: PathBuf,
    /// The volume.
    pub volume: u32,
    /// Makes each recipient's message.
    pub build: Arc<BuildMessage>,
    /// Tunables.
    pub tuning: Tuning,
    /// Shared rate limit.
    pub limiter: Arc<RateLimiter>,
    /// Shared circuit breaker.
    pub breaker: Arc<Breaker>,
    /// Becomes true when the run should stop.
    pub stop: watch::Receiver<bool>,
    /// Progress counts.
    pub counters: Arc<Counters>,
    /// Where state changes go.
    pub writer: WriterHandle,
}

/// What workers share.
struct Shared<T: Transport> {
    engine: Engine<T>,
    /// Rows handed to a worker and not settled yet.
    busy: Mutex<HashSet<i64>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl<T: Transport + Send + 'static> Engine<T> {
    /// Sends until nothing is left, a stop is requested, or the breaker trips.
    pub async fn run(self) -> anyhow::Result<End> {
        let workers = self.tuning.connections.max(1);
        let (jobs, queue) = mpsc::channel::<Row>(workers * 2);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let shared = Arc::new(Shared {
            engine: self,
            busy: Mutex::new(HashSet::new()),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            tasks.spawn(worker(shared.clone(), queue.clone()));
        }
        tracing::info!(
            volume = shared.engine.volume,
            workers,
            "dispatch run started"
        );
        let fed = feed(&shared, &jobs).await;
        drop(jobs);
        while let Some(joined) = tasks.join_next().await {
            joined??;
        }
        fed?;
        shared.engine.writer.flush().await?;
        let engine = &shared.engine;
        let c = &engine.counters;
        tracing::info!(
            sent = c.sent.load(Ordering::Relaxed),
            failed = c.failed.load(Ordering::Relaxed),
            deferred = c.deferred.load(Ordering::Relaxed),
            ambiguous = c.ambiguous.load(Ordering::Relaxed),
            "dispatch run ended"
        );
        Ok(if let Some(why) = engine.breaker.tripped() {
            tracing::warn!("circuit breaker tripped: {why}");
            End::Tripped(why)
        } else if *engine.stop.borrow() {
            End::Interrupted
        } else {
            End::Finished
        })
    }

    fn halted(&self) -> bool {
        *self.stop.borrow() || self.breaker.tripped().is_some()
    }
}

/// Feeds pending rows in order, then deferred rows as their backoff ends.
async fn feed<T: Transport + Send + 'static>(
    shared: &Shared<T>,
    jobs: &mpsc::Sender<Row>,
) -> anyhow::Result<()> {
    let engine = &shared.engine;
    let ledger = Ledger::open(&engine.ledger)?;
    let mut after = 0;
    loop {
        let rows = ledger.page(engine.volume, &[State::Pending], after, PAGE)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            if !hand_over(shared, jobs, row).await {
                return Ok(());
            }
        }
    }
    retry_deferred(shared, ledger, jobs).await
}

/// Hands a row to the workers; false when the run is stopping.
async fn hand_over<T: Transport + Send + 'static>(
    shared: &Shared<T>,
    jobs: &mpsc::Sender<Row>,
    row: Row,
) -> bool {
    if shared.engine.halted() {
        return false;
    }
    shared.busy.lock().expect("busy set").insert(row.id);
    let mut stop = shared.engine.stop.clone();
    tokio::select! {
        sent = jobs.send(row) => sent.is_ok(),
        _ = stop.wait_for(|s| *s) => false,
    }
}

async fn retry_deferred<T: Transport + Send + 'static>(
    shared: &Shared<T>,
    ledger: Ledger,
    jobs: &mpsc::Sender<Row>,
) -> anyhow::Result<()> {
    let engine = &shared.engine;
    loop {
        // Outcomes are written in batches: make them visible before deciding anything.
        engine.writer.flush().await?;
        let now = now_ms();
        let waiting: Vec<Row> = ledger
            .in_state(engine.volume, State::Deferred)?
            .into_iter()
            .filter(|r| r.attempts < engine.tuning.max_attempts && r.next_attempt_at.is_some())
            .filter(|r| !shared.busy.lock().expect("busy set").contains(&r.id))
            .collect();
        let busy = !shared.busy.lock().expect("busy set").is_empty();
        if waiting.is_empty() && !busy {
            return Ok(());
        }
        let (due, later): (Vec<Row>, Vec<Row>) = waiting
            .into_iter()
            .partition(|r| r.next_attempt_at.is_some_and(|t| t <= now));
        for row in due {
            if !hand_over(shared, jobs, row).await {
                return Ok(());
            }
        }
        let next = later.iter().filter_map(|r| r.next_attempt_at).min();
        let pause = next.map_or(200, |t| (t - now).clamp(10, 200));
        let mut stop = engine.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(pause.unsigned_abs())) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        if engine.halted() {
            return Ok(());
        }
    }
}

async fn worker<T: Transport + Send + 'static>(
    shared: Arc<Shared<T>>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Row>>>,
) -> anyhow::Result<()> {
    let engine = &shared.engine;
    let mut transport = engine.transports.as_ref()()?;
    let result = async {
        loop {
            let row = { queue.lock().await.recv().await };
            let Some(row) = row else { return Ok(()) };
            let result = if engine.halted() {
                // Left as it is in the ledger: the next run takes it.
                Ok(())
            } else {
                deliver(engine, &mut transport, &row).await
            };
            shared.busy.lock().expect("busy set").remove(&row.id);
            result?;
        }
    }
    .await;
    transport.close().await;
    result
}

/// Sends one row's message and records what happened.
async fn deliver<T: Transport>(
    engine: &Engine<T>,
    transport: &mut T,
    row: &Row,
) -> anyhow::Result<()> {
    engine.limiter.acquire().await;
    let (envelope, message) = engine.build.as_ref()(&row.entry)?;
    engine.writer.in_flight(row.id, now_ms()).await?;
    let verdict = judge(transport.send(&envelope, &message).await);
    settle(engine, row, row.attempts + 1, &verdict)
}

/// Records an outcome and feeds it to the breaker, the limiter and the counters.
fn settle<T: Transport>(
    engine: &Engine<T>,
    row: &Row,
    attempts: u32,
    verdict: &Verdict,
) -> anyhow::Result<()> {
    let now = now_ms();
    let counters = &engine.counters;
    let (state, reply, next) = match verdict {
        Verdict::Sent(reply) => {
            engine.breaker.success();
            counters.sent.fetch_add(1, Ordering::Relaxed);
            (State::Sent, reply, None)
        }
        Verdict::Deferred { reply, slow_down } => {
            engine.breaker.transient(reply);
            if *slow_down {
                tracing::info!("the relay asked to slow down: {reply}");
                engine.limiter.slow_down(engine.tuning.retry_base);
            }
            counters.deferred.fetch_add(1, Ordering::Relaxed);
            let tuning = &engine.tuning;
            let next = (attempts < tuning.max_attempts).then(|| {
                let delay = retry_delay(attempts, tuning.retry_base, tuning.retry_cap);
                now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)
            });
            (State::Deferred, reply, next)
        }
        Verdict::Refused(reply) => {
            // Nothing was queued; the message waits for the resumed run.
            engine.breaker.trip(reply);
            (State::Pending, reply, None)
        }
        Verdict::Failed(reply) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            (State::Failed, reply, None)
        }
        Verdict::Ambiguous(reply) => {
            counters.ambiguous.fetch_add(1, Ordering::Relaxed);
            (State::Ambiguous, reply, None)
        }
    };
    let outcome = Outcome {
        state,
        reply,
        next_attempt_at: next,
        attempts,
    };
    engine.writer.outcome(row.id, now, outcome)
}

#[cfg(test)]
mod tests;
