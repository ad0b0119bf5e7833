//! Each recipient's message on its way to a worker. Splicing a message is cheap and happens
//! on the worker's own thread; signing it is not (an RSA signature costs a few hundred
//! microseconds, which would hold up every connection that runtime thread serves), so a
//! run signing with RSA builds its messages on a pool of threads, one per core, and each
//! worker asks for its next message before it sends the current one: the signature is made
//! while the connection waits on the relay. Ed25519 signs inline: its signature costs about
//! what the hand-off to a pool thread and back does.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::ledger::Entry;
use crate::transport::Envelope;

/// One recipient's envelope and message, or why they could not be built.
pub(crate) type Built = anyhow::Result<(Envelope, String)>;

/// Builds one recipient's envelope and message.
pub(crate) type BuildMessage = dyn Fn(&Entry) -> Built + Send + Sync;

/// A message asked of the pool.
struct Job {
    entry: Entry,
    done: oneshot::Sender<Built>,
}

/// Where workers get their messages built.
pub(crate) struct Builder {
    build: Arc<BuildMessage>,
    /// The pool's queue, when messages are costly to build; its threads end when it is
    /// dropped.
    pool: Option<mpsc::Sender<Job>>,
}

/// A message being built.
pub(crate) enum Building {
    /// Built already, on the worker's thread.
    Built(Built),
    /// On the pool.
    Pooled(oneshot::Receiver<Built>),
}

impl Builder {
    /// Builds with `build`; on a pool of one thread per core when each message is `costly`.
    pub(crate) fn new(build: Arc<BuildMessage>, costly: bool) -> anyhow::Result<Self> {
        let pool = costly.then(|| pool(&build)).transpose()?;
        Ok(Self { build, pool })
    }

    /// Whether a worker gains by asking for its next message early.
    pub(crate) fn pooled(&self) -> bool {
        self.pool.is_some()
    }

    /// Starts building `entry`'s message.
    pub(crate) fn start(&self, entry: &Entry) -> Building {
        let Some(pool) = &self.pool else {
            return Building::Built(self.build.as_ref()(entry));
        };
        let (done, built) = oneshot::channel();
        let job = Job {
            entry: entry.clone(),
            done,
        };
        match pool.send(job) {
            Ok(()) => Building::Pooled(built),
            // Every pool thread is gone (none could start, or one panicked): build here.
            Err(mpsc::SendError(job)) => Building::Built(self.build.as_ref()(&job.entry)),
        }
    }
}

impl Building {
    /// The message, once built.
    pub(crate) async fn finish(self) -> Built {
        match self {
            Self::Built(built) => built,
            Self::Pooled(built) => built
                .await
                .map_err(|_| anyhow::anyhow!("a message builder stopped"))?,
        }
    }
}

/// Starts one thread per core taking jobs from one queue.
fn pool(build: &Arc<BuildMessage>) -> anyhow::Result<mpsc::Sender<Job>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..threads {
        let (build, queue) = (build.clone(), queue.clone());
        std::thread::Builder::new()
            .name(format!("builder-{n}"))
            .spawn(move || {
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    // The worker may have stopped waiting (the run was halted).
                    let _ = job.done.send(build.as_ref()(&job.entry));
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot start a message builder: {e}"))?;
    }
    Ok(jobs)
}
