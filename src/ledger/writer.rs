//! Group commit: one thread owns a connection and writes every state change the senders
//! ask for, many per transaction, so neither the disk's sync rate nor the cost of a commit
//! caps the send rate. A sender asks for its message's in-flight mark as the transaction
//! starts and waits for it to be durable only when the relay waits for the body: a commit
//! is made when somebody waits (or [`LINGER`] has passed), and takes every mark and
//! outcome queued by then. Outcomes are queued without waiting, and since the queue is first
//! in, first out, a sender's next in-flight mark is never durable before its previous
//! outcome. The first error stops the writer: every later request fails at once, so the
//! senders stop too.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rusqlite::params;
use tokio::sync::oneshot;

use super::{Ledger, State, schema};
use crate::transport::Reply;

/// The most changes written in one transaction.
const BATCH: usize = 512;

/// The longest changes nobody waits for yet (outcomes, marks whose relay has not asked for
/// the body) wait for a change somebody waits for before they are committed anyway.
const LINGER: Duration = Duration::from_millis(5);

/// What became of one try of a message.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The state it leads to.
    pub(crate) state: State,
    /// The reply, or what happened instead.
    pub(crate) reply: Reply,
    /// For deferred messages, when to try again (unix milliseconds).
    pub(crate) next_attempt_at: Option<i64>,
    /// Tries so far, this one included.
    pub(crate) attempts: u32,
}

type Done = oneshot::Sender<anyhow::Result<()>>;

enum Change {
    InFlight { id: i64, at: i64, done: Done },
    Outcome { id: i64, at: i64, outcome: Outcome },
    Heartbeat { volume: u32, seq: u64, done: Done },
    Checkpoint(Done),
    Flush(Done),
}

/// The writer thread; dropping every [`WriterHandle`] and then calling [`Writer::finish`]
/// drains it.
#[derive(Debug)]
pub(crate) struct Writer {
    thread: JoinHandle<anyhow::Result<()>>,
}

/// A cheap, cloneable way for senders to reach the writer.
#[derive(Debug, Clone)]
pub(crate) struct WriterHandle {
    changes: mpsc::Sender<Change>,
    waker: Arc<Waker>,
}

/// Wakes the writer when somebody waits for a commit. Changes nobody waits for yet are
/// queued without waking it: a commit costs a wake-up, not one for each change.
#[derive(Debug)]
struct Waker {
    urged: Arc<AtomicBool>,
    writer: Thread,
}

impl Waker {
    fn urge(&self) {
        self.urged.store(true, Ordering::SeqCst);
        self.writer.unpark();
    }
}

impl Writer {
    /// Starts the writer on its own connection to the ledger at `path`.
    pub(crate) fn start(path: &Path) -> anyhow::Result<(Self, WriterHandle)> {
        let mut ledger = Ledger::open(path)?;
        let (sender, receiver) = mpsc::channel();
        let urged = Arc::new(AtomicBool::new(false));
        let seen = urged.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(&mut ledger, &receiver, &seen))
            .context("cannot start the ledger writer")?;
        let waker = Arc::new(Waker {
            urged,
            writer: thread.thread().clone(),
        });
        let handle = WriterHandle {
            changes: sender,
            waker,
        };
        Ok((Self { thread }, handle))
    }

    /// Waits for every queued change to be written; the first write error, if any.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the ledger writer panicked"))?
    }
}

/// An in-flight mark asked for and not yet known to be durable.
#[derive(Debug)]
pub(crate) struct Marked {
    done: oneshot::Receiver<anyhow::Result<()>>,
    waker: Arc<Waker>,
}

impl Marked {
    /// Returns once the mark is durable, asking for a commit unless one has made it so.
    pub(crate) async fn durable(mut self) -> anyhow::Result<()> {
        match self.done.try_recv() {
            Ok(written) => return written,
            Err(oneshot::error::TryRecvError::Closed) => return Err(stopped()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        self.waker.urge();
        self.done.await.map_err(|_| stopped())?
    }
}

impl WriterHandle {
    /// Queues a message's in-flight mark, written with the next commit; [`Marked::durable`]
    /// waits for it.
    pub(crate) fn in_flight(&self, id: i64, at: i64) -> anyhow::Result<Marked> {
        let (done, wait) = oneshot::channel();
        self.send(Change::InFlight { id, at, done })?;
        Ok(Marked {
            done: wait,
            waker: self.waker.clone(),
        })
    }

    /// Queues a message's outcome (written with the next batch). `attempts` is how many
    /// tries the message has had, counting ones that failed before its in-flight mark.
    pub(crate) fn outcome(&self, id: i64, at: i64, outcome: Outcome) -> anyhow::Result<()> {
        self.send(Change::Outcome { id, at, outcome })
    }

    /// Records `volume`'s heartbeat `seq` and returns once it is durable.
    pub(crate) async fn heartbeat(&self, volume: u32, seq: u64) -> anyhow::Result<()> {
        self.wait(|done| Change::Heartbeat { volume, seq, done })
            .await
    }

    /// Copies the write-ahead log into the database file once everything queued so far is
    /// written.
    pub(crate) async fn checkpoint(&self) -> anyhow::Result<()> {
        self.wait(Change::Checkpoint).await
    }

    /// Returns once everything queued so far is durable.
    pub(crate) async fn flush(&self) -> anyhow::Result<()> {
        self.wait(Change::Flush).await
    }

    async fn wait(&self, change: impl FnOnce(Done) -> Change) -> anyhow::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(change(done))?;
        self.waker.urge();
        wait.await.map_err(|_| stopped())?
    }

    fn send(&self, change: Change) -> anyhow::Result<()> {
        self.changes.send(change).map_err(|_| stopped())
    }
}

fn stopped() -> anyhow::Error {
    anyhow::anyhow!("the ledger writer stopped after an error")
}

fn run(
    ledger: &mut Ledger,
    changes: &mpsc::Receiver<Change>,
    urged: &AtomicBool,
) -> anyhow::Result<()> {
    while let Ok(first) = changes.recv() {
        let batch = gather(first, changes, urged);
        let written = write(ledger, &batch);
        let shared = written.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"));
        let ack = |done: Done, result: Result<(), String>| {
            let _ = done.send(result.map_err(anyhow::Error::msg));
        };
        for change in batch {
            match change {
                Change::InFlight { done, .. }
                | Change::Heartbeat { done, .. }
                | Change::Flush(done) => ack(done, shared.clone()),
                // A checkpoint that cannot finish now (a reader in the way) is no reason to
                // stop sending: the log is copied at the next one.
                Change::Checkpoint(done) => ack(
                    done,
                    shared
                        .clone()
                        .and_then(|()| ledger.checkpoint(false).map_err(|e| format!("{e:#}"))),
                ),
                Change::Outcome { .. } => {}
            }
        }
        written?;
    }
    Ok(())
}

/// `first` and the changes queued behind it until somebody waits for a commit (every sender
/// that waits urges one, after queueing its change) or [`LINGER`] has passed.
fn gather(first: Change, changes: &mpsc::Receiver<Change>, urged: &AtomicBool) -> Vec<Change> {
    let mut batch = vec![first];
    let deadline = Instant::now() + LINGER;
    loop {
        // Read before the queue: whatever the urging sender queued first is in it.
        let urgent = urged.swap(false, Ordering::SeqCst);
        batch.extend(changes.try_iter().take(BATCH - batch.len()));
        let left = deadline.saturating_duration_since(Instant::now());
        if urgent || batch.len() >= BATCH || left.is_zero() {
            return batch;
        }
        std::thread::park_timeout(left);
    }
}

fn write(ledger: &mut Ledger, batch: &[Change]) -> anyhow::Result<()> {
    let tx = ledger
        .conn
        .transaction()
        .context("cannot start a write to the ledger")?;
    {
        let mut mark = tx.prepare_cached(
            "UPDATE recipients SET state = 'in_flight', attempts = attempts + 1, updated_at = ?2
             WHERE id = ?1",
        )?;
        let mut settle = tx.prepare_cached(
            "UPDATE recipients SET state = ?2, reply_code = ?3, reply_status = ?4,
             reply_text = ?5, next_attempt_at = ?6, updated_at = ?7,
             attempts = max(attempts, ?8) WHERE id = ?1",
        )?;
        let mut log = tx.prepare_cached(
            "INSERT INTO attempts (recipient, at, state, reply_code, reply_status, reply_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut beat = tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?;
        for change in batch {
            match change {
                Change::InFlight { id, at, .. } => {
                    mark.execute(params![id, at])
                        .context("cannot mark a message in flight")?;
                }
                Change::Outcome { id, at, outcome } => {
                    let state = outcome.state.as_str();
                    let (code, status, text) = schema::columns(Some(&outcome.reply));
                    settle
                        .execute(params![
                            id,
                            state,
                            code,
                            status,
                            text,
                            outcome.next_attempt_at,
                            at,
                            outcome.attempts
                        ])
                        .context("cannot record a message's outcome")?;
                    log.execute(params![id, at, state, code, status, text])?;
                }
                Change::Heartbeat { volume, seq, .. } => {
                    beat.execute(params![super::heartbeat_key(*volume), i64::try_from(*seq)?])
                        .context("cannot record the heartbeat")?;
                }
                Change::Checkpoint(_) | Change::Flush(_) => {}
            }
        }
    }
    tx.commit().context("cannot commit to the ledger")
}
