//! The sending engine: a fixed set of workers, each owning one transport (one connection),
//! fed recipients from the ledger in order. Just before a message's transaction starts, the
//! worker checks the suppression list as it stands on disk; then the message is marked in
//! flight while its envelope commands are on the wire, and its body leaves only once that
//! mark is durable. Deferred messages come back after their backoff. A stop request, the
//! breaker, a relay that refuses everyone or a ledger that cannot be written ends the run
//! between messages; none of them leaves a worker or the feeder waiting.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::gate::Gate;
use super::guard::RelayGuard;
use super::limits::{Breaker, RateLimiter, retry_delay};
use super::verdict::{Verdict, judge};
use crate::ledger::{Ledger, Marked, Outcome, Row, State, WriterHandle};
use crate::transport::{Mark, Reply, Transport};

mod build;
pub(crate) use build::{Builder, Building};

/// Makes a transport for one worker (each owns its connection).
pub(crate) type MakeTransport<T> = dyn Fn() -> anyhow::Result<T> + Send + Sync;

/// How many rows the feeder reads from the ledger at a time.
const PAGE: i64 = 1000;

/// Tunables of a run.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// Connections (and workers) at once.
    pub(crate) connections: usize,
    /// Attempts per message before a deferred message waits for the next run.
    pub(crate) max_attempts: u32,
    /// First retry delay; doubled per attempt.
    pub(crate) retry_base: Duration,
    /// Longest retry delay.
    pub(crate) retry_cap: Duration,
}

/// Live counts for progress display.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Messages the relay accepted.
    pub(crate) sent: AtomicU64,
    /// Messages refused for good.
    pub(crate) failed: AtomicU64,
    /// Transient failures (each retry counts).
    pub(crate) deferred: AtomicU64,
    /// Messages whose fate is unknown.
    pub(crate) ambiguous: AtomicU64,
    /// Recipients found on the suppression list when their turn came.
    pub(crate) suppressed: AtomicU64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Nothing is left to try in this run.
    Finished,
    /// Stopped on request (Ctrl-C, SIGTERM); resumable.
    Interrupted,
    /// The circuit breaker stopped it (transient failures, a refused login or certificate).
    Tripped(String),
    /// The relay refuses every recipient; the run's failures are the relay's, not theirs.
    RelayRefusing(String),
    /// The ledger could not be written.
    Ledger(String),
}

/// A dispatch run over the rows of one dispatch in the ledger.
pub(crate) struct Engine<T: Transport> {
    /// Makes each worker's transport.
    pub(crate) transports: Arc<MakeTransport<T>>,
    /// The ledger file (the feeder reads it on its own connection).
    pub(crate) ledger: PathBuf,
    /// The dispatch.
    pub(crate) dispatch: i64,
    /// Makes each recipient's message.
    pub(crate) builder: Builder,
    /// The suppression list, read just before each message.
    pub(crate) gate: Gate,
    /// Tunables.
    pub(crate) tuning: Tuning,
    /// Shared rate limit.
    pub(crate) limiter: Arc<RateLimiter>,
    /// Shared circuit breaker.
    pub(crate) breaker: Arc<Breaker>,
    /// Watches permanent refusals for a relay that refuses everyone.
    pub(crate) guard: Arc<RelayGuard>,
    /// Becomes true when the operator asks the run to stop.
    pub(crate) stop: watch::Receiver<bool>,
    /// Progress counts.
    pub(crate) counters: Arc<Counters>,
    /// Where state changes go.
    pub(crate) writer: WriterHandle,
}

/// What workers share.
struct Shared<T: Transport> {
    engine: Engine<T>,
    /// Rows handed to a worker and not settled yet.
    busy: Mutex<HashSet<i64>>,
    /// Why the run must end now, when something other than the operator or the breaker
    /// says so; `halted` wakes whoever waits.
    halt: Mutex<Option<End>>,
    halted: watch::Sender<bool>,
}

pub(crate) use crate::clock::now_ms;

impl<T: Transport + Send + 'static> Engine<T> {
    /// Sends until nothing is left, a stop is requested, or something stops the run.
    pub(crate) async fn run(self) -> End {
        let workers = self.tuning.connections.max(1);
        let (jobs, queue) = mpsc::channel::<Row>(workers * 2);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let shared = Arc::new(Shared {
            engine: self,
            busy: Mutex::new(HashSet::new()),
            halt: Mutex::new(None),
            halted: watch::channel(false).0,
        });
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            tasks.spawn(worker(shared.clone(), queue.clone()));
        }
        drop(queue);
        tracing::info!(dispatch = shared.engine.dispatch, workers, "run started");
        if let Err(e) = feed(&shared, &jobs).await {
            shared.fail(e);
        }
        drop(jobs);
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                shared.fail(anyhow::anyhow!("a sender stopped: {e}"));
            }
        }
        if let Err(e) = shared.engine.writer.flush().await {
            shared.fail(e);
        }
        shared.end()
    }
}

impl<T: Transport> Shared<T> {
    /// The ledger (or another essential part) failed: the run ends now.
    fn fail(&self, error: anyhow::Error) {
        tracing::error!("{error:#}");
        self.halt_with(End::Ledger(format!("{error:#}")));
    }

    fn halt_with(&self, end: End) {
        self.halt.lock().expect("halt").get_or_insert(end);
        self.halted.send_replace(true);
    }

    fn halted(&self) -> bool {
        *self.engine.stop.borrow()
            || self.engine.breaker.tripped().is_some()
            || *self.halted.borrow()
    }

    /// Waits until the operator or something else stops the run.
    async fn stopping(&self) {
        let mut stop = self.engine.stop.clone();
        let mut halted = self.halted.subscribe();
        tokio::select! {
            _ = stop.wait_for(|s| *s) => {}
            _ = halted.wait_for(|h| *h) => {}
        }
    }

    fn end(&self) -> End {
        let c = &self.engine.counters;
        tracing::info!(
            sent = c.sent.load(Ordering::Relaxed),
            failed = c.failed.load(Ordering::Relaxed),
            deferred = c.deferred.load(Ordering::Relaxed),
            ambiguous = c.ambiguous.load(Ordering::Relaxed),
            suppressed = c.suppressed.load(Ordering::Relaxed),
            "run ended"
        );
        if let Some(end) = self.halt.lock().expect("halt").clone() {
            return end;
        }
        if let Some(why) = self.engine.breaker.tripped() {
            tracing::warn!("circuit breaker tripped: {why}");
            End::Tripped(why)
        } else if *self.engine.stop.borrow() {
            End::Interrupted
        } else {
            End::Finished
        }
    }
}

/// Feeds pending rows in order, those the relay refused before last (so that whether the
/// relay accepts others is known by their turn: see `guard`), then deferred rows as their
/// backoff ends.
async fn feed<T: Transport + Send + 'static>(
    shared: &Shared<T>,
    jobs: &mpsc::Sender<Row>,
) -> anyhow::Result<()> {
    let engine = &shared.engine;
    let ledger = Ledger::open(&engine.ledger)?;
    for refused in [false, true] {
        let mut after = 0;
        loop {
            let rows = ledger.page(engine.dispatch, &[State::Pending], after, PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in rows
                .into_iter()
                .filter(|r| refused_before(r).is_some() == refused)
            {
                if !hand_over(shared, jobs, row).await {
                    return Ok(());
                }
            }
        }
    }
    retry_deferred(shared, ledger, jobs).await
}

/// The relay's refusal for good of `row`'s message in an earlier run, if it refused it (a
/// pending row keeps its last reply when a stopped run or `--retry-failed` puts it back).
fn refused_before(row: &Row) -> Option<&Reply> {
    row.reply.as_ref().filter(|r| r.is_permanent())
}

/// Hands a row to the workers; false when the run is stopping.
async fn hand_over<T: Transport + Send + 'static>(
    shared: &Shared<T>,
    jobs: &mpsc::Sender<Row>,
    row: Row,
) -> bool {
    if shared.halted() {
        return false;
    }
    shared.busy.lock().expect("busy set").insert(row.id);
    tokio::select! {
        sent = jobs.send(row) => sent.is_ok(),
        () = shared.stopping() => false,
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
            .in_state(engine.dispatch, State::Deferred)?
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
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(pause.unsigned_abs())) => {}
            () = shared.stopping() => return Ok(()),
        }
        if shared.halted() {
            return Ok(());
        }
    }
}

async fn worker<T: Transport + Send + 'static>(
    shared: Arc<Shared<T>>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Row>>>,
) {
    let engine = &shared.engine;
    let setup = engine.transports.as_ref()().and_then(|t| Ok((t, engine.gate.open()?)));
    let (mut transport, mut gate) = match setup {
        Ok(parts) => parts,
        Err(e) => return shared.fail(e),
    };
    let builder = &engine.builder;
    let mut ahead = None;
    loop {
        let (row, message) = match ahead.take() {
            Some(next) => next,
            None => {
                let row = { queue.lock().await.recv().await };
                let Some(row) = row else { break };
                let message = builder.start(&row.entry);
                (row, message)
            }
        };
        // A message built on the pool is asked for one row early, when one is waiting. A
        // queue locked by another worker is one that worker is waiting on: empty. (Waiting
        // for the lock would hold this row, and the feeder waits for it to settle.)
        if builder.pooled()
            && let Ok(mut waiting) = queue.try_lock()
            && let Ok(next) = waiting.try_recv()
        {
            let message = builder.start(&next.entry);
            ahead = Some((next, message));
        }
        // Once halted, rows are left as they are in the ledger: the next run takes them.
        if !shared.halted()
            && let Err(e) = deliver(&shared, &mut transport, &mut gate, &row, message).await
        {
            shared.fail(e);
        }
        shared.busy.lock().expect("busy set").remove(&row.id);
    }
    transport.close().await;
}

/// Sends one row's message, unless the address was suppressed meanwhile, and records what
/// happened.
async fn deliver<T: Transport>(
    shared: &Shared<T>,
    transport: &mut T,
    gate: &mut super::gate::Reader,
    row: &Row,
    message: Building,
) -> anyhow::Result<()> {
    let engine = &shared.engine;
    engine.limiter.acquire().await;
    let address = &row.entry.address;
    if let Some(why) = gate.check(address)? {
        engine.counters.suppressed.fetch_add(1, Ordering::Relaxed);
        let outcome = Outcome {
            state: State::Suppressed,
            reply: Reply::none(why),
            next_attempt_at: None,
            attempts: row.attempts,
        };
        return engine.writer.outcome(row.id, now_ms(), outcome);
    }
    let (envelope, message) = message.finish().await?;
    let mut unrecorded = None;
    let mark = InFlight {
        writer: &engine.writer,
        id: row.id,
        marked: None,
        unrecorded: &mut unrecorded,
    };
    let result = transport.send(&envelope, &message, mark).await;
    if let Some(error) = unrecorded {
        // The body did not leave: the row is still pending in the ledger.
        return Err(error.context("cannot mark a message in flight"));
    }
    settle(shared, row, &judge(result))
}

/// A row's in-flight mark, asked of the ledger's writer when the transport starts the
/// transaction; a failure to write it is kept in `unrecorded` for the run to stop on.
struct InFlight<'a> {
    writer: &'a WriterHandle,
    id: i64,
    marked: Option<Marked>,
    unrecorded: &'a mut Option<anyhow::Error>,
}

impl Mark for InFlight<'_> {
    fn request(&mut self) {
        if self.marked.is_none() && self.unrecorded.is_none() {
            match self.writer.in_flight(self.id, now_ms()) {
                Ok(marked) => self.marked = Some(marked),
                Err(e) => *self.unrecorded = Some(e),
            }
        }
    }

    async fn durable(mut self) -> bool {
        self.request();
        let Some(marked) = self.marked.take() else {
            return false;
        };
        match marked.durable().await {
            Ok(()) => true,
            Err(e) => {
                *self.unrecorded = Some(e);
                false
            }
        }
    }
}

/// Records an outcome and feeds it to the breaker, the guard, the limiter and the counters.
fn settle<T: Transport>(shared: &Shared<T>, row: &Row, verdict: &Verdict) -> anyhow::Result<()> {
    let engine = &shared.engine;
    let attempts = row.attempts + 1;
    let counters = &engine.counters;
    let (state, reply, next) = match verdict {
        Verdict::Sent(reply) => {
            engine.breaker.success();
            engine.guard.success();
            counters.sent.fetch_add(1, Ordering::Relaxed);
            (State::Sent, reply, None)
        }
        Verdict::Deferred(reply) => {
            engine.breaker.transient(&reply.masked());
            if reply.asks_to_slow_down() {
                tracing::info!("the relay asked to slow down: {}", reply.masked());
                engine.limiter.slow_down(engine.tuning.retry_base);
            }
            counters.deferred.fetch_add(1, Ordering::Relaxed);
            let tuning = &engine.tuning;
            let next = (attempts < tuning.max_attempts).then(|| {
                let delay = retry_delay(attempts, tuning.retry_base, tuning.retry_cap);
                now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2)
            });
            (State::Deferred, reply, next)
        }
        Verdict::Refused(stage, reply) => {
            // Nothing was queued; the message waits for the resumed run.
            engine.breaker.trip(&format!("{stage}: {}", reply.masked()));
            (State::Pending, reply, None)
        }
        Verdict::Failed(reply) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            if let Some(why) = engine.guard.refusal(reply, refused_before(row)) {
                tracing::warn!("{why}");
                shared.halt_with(End::RelayRefusing(why));
            }
            (State::Failed, reply, None)
        }
        Verdict::Ambiguous(reply) => {
            counters.ambiguous.fetch_add(1, Ordering::Relaxed);
            (State::Ambiguous, reply, None)
        }
    };
    let outcome = Outcome {
        state,
        reply: reply.clone(),
        next_attempt_at: next,
        attempts,
    };
    engine.writer.outcome(row.id, now_ms(), outcome)
}

#[cfg(test)]
mod tests;
