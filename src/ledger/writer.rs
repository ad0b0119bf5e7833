//! Group commit: one thread owns a connection and writes every state change the senders
//! ask for, many per transaction, so the disk's sync rate does not cap the send rate.
//! An in-flight mark is acknowledged only once its transaction is durable; outcomes are
//! queued without waiting, and since the queue is first in, first out, a sender's next
//! in-flight mark is never durable before its previous outcome.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use rusqlite::params;
use tokio::sync::oneshot;

use super::{Ledger, State};

/// The most changes written in one transaction.
const BATCH: usize = 512;

/// What became of one try of a message.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// The state it leads to.
    pub state: State,
    /// The relay's reply or the error.
    pub reply: &'a str,
    /// For deferred messages, when to try again (unix milliseconds).
    pub next_attempt_at: Option<i64>,
    /// Tries so far, this one included.
    pub attempts: u32,
}

enum Change {
    InFlight {
        id: i64,
        at: i64,
        done: oneshot::Sender<anyhow::Result<()>>,
    },
    Outcome {
        id: i64,
        at: i64,
        state: State,
        reply: String,
        next_attempt_at: Option<i64>,
        attempts: u32,
    },
    Flush(oneshot::Sender<anyhow::Result<()>>),
}

/// The writer thread; dropping every [`WriterHandle`] and then calling [`Writer::finish`]
/// drains it.
#[derive(Debug)]
pub struct Writer {
    thread: JoinHandle<anyhow::Result<()>>,
}

/// A cheap, cloneable way for senders to reach the writer.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    changes: mpsc::Sender<Change>,
}

impl Writer {
    /// Starts the writer on its own connection to the ledger at `path`.
    pub fn start(path: &Path) -> anyhow::Result<(Self, WriterHandle)> {
        let mut ledger = Ledger::open(path)?;
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(&mut ledger, &receiver))
            .context("cannot start the ledger writer")?;
        Ok((Self { thread }, WriterHandle { changes: sender }))
    }

    /// Waits for every queued change to be written.
    pub fn finish(self) -> anyhow::Result<()> {
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the ledger writer panicked"))?
    }
}

impl WriterHandle {
    /// Marks a message in flight and returns once that is durable.
    pub async fn in_flight(&self, id: i64, at: i64) -> anyhow::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(Change::InFlight { id, at, done })?;
        wait.await.context("the ledger writer stopped")?
    }

    /// Queues a message's outcome (written with the next batch). `attempts` is how many
    /// tries the message has had, counting ones that failed before its in-flight mark.
    pub fn outcome(&self, id: i64, at: i64, outcome: Outcome<'_>) -> anyhow::Result<()> {
        self.send(Change::Outcome {
            id,
            at,
            state: outcome.state,
            reply: outcome.reply.to_owned(),
            next_attempt_at: outcome.next_attempt_at,
            attempts: outcome.attempts,
        })
    }

    /// Returns once everything queued so far is durable.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(Change::Flush(done))?;
        wait.await.context("the ledger writer stopped")?
    }

    fn send(&self, change: Change) -> anyhow::Result<()> {
        self.changes
            .send(change)
            .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))
    }
}

fn run(ledger: &mut Ledger, changes: &mpsc::Receiver<Change>) -> anyhow::Result<()> {
    while let Ok(first) = changes.recv() {
        let mut batch = vec![first];
        batch.extend(changes.try_iter().take(BATCH - 1));
        let written = write(ledger, &batch);
        let shared = written.as_ref().map(|_| ()).map_err(|e| format!("{e:#}"));
        for change in batch {
            let ack = |done: oneshot::Sender<anyhow::Result<()>>| {
                let _ = done.send(shared.clone().map_err(anyhow::Error::msg));
            };
            match change {
                Change::InFlight { done, .. } | Change::Flush(done) => ack(done),
                Change::Outcome { .. } => {}
            }
        }
        written?;
    }
    Ok(())
}

fn write(ledger: &mut Ledger, batch: &[Change]) -> anyhow::Result<()> {
    let tx = ledger.conn.transaction()?;
    {
        let mut mark = tx.prepare_cached(
            "UPDATE recipients SET state = 'in_flight', attempts = attempts + 1, updated_at = ?2
             WHERE id = ?1",
        )?;
        let mut settle = tx.prepare_cached(
            "UPDATE recipients SET state = ?2, last_reply = ?3, next_attempt_at = ?4, updated_at = ?5,
             attempts = max(attempts, ?6) WHERE id = ?1",
        )?;
        let mut log = tx.prepare_cached(
            "INSERT INTO attempts (recipient, at, state, reply) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for change in batch {
            match change {
                Change::InFlight { id, at, .. } => {
                    mark.execute(params![id, at])?;
                }
                Change::Outcome {
                    id,
                    at,
                    state,
                    reply,
                    next_attempt_at,
                    attempts,
                } => {
                    settle.execute(params![
                        id,
                        state.as_str(),
                        reply,
                        next_attempt_at,
                        at,
                        attempts
                    ])?;
                    log.execute(params![id, at, state.as_str(), reply])?;
                }
                Change::Flush(_) => {}
            }
        }
    }
    tx.commit().context("cannot commit to the ledger")
}
