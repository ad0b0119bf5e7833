//! Group commit: every change the service makes goes to one writer thread, which applies
//! all the changes waiting at that moment in one transaction and answers each once it is
//! durable. A burst costs one sync per batch instead of one per request.

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::audience::store::{Pending, Requested, Suppressed, Tx};
use crate::audience::{Address, Reason, Source, Store};
use crate::clock::Timestamp;

/// The most changes one transaction takes.
const BATCH: usize = 1024;

/// A change to the audience store.
#[derive(Debug)]
pub(super) enum Change {
    Unsubscribe(Address, Source),
    Resubscribe(Address),
    Topics(Address, Vec<String>),
    Signup(Pending),
    MailFailed(String),
    Confirm(String),
}

/// What a change did.
#[derive(Debug)]
pub(super) enum Done {
    Suppressed(Suppressed),
    Lifted(bool),
    Saved,
    Requested(Requested),
    Confirmed(Option<Pending>),
}

type Job = (Change, oneshot::Sender<Result<Done, String>>);

/// The way to the writer thread.
#[derive(Debug, Clone)]
pub(super) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer on `store`.
    pub(super) fn start(store: Store) -> Self {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("audience-writer".to_owned())
            .spawn(move || write_loop(store, &queue))
            .expect("spawning a thread only fails when the system is out of resources");
        Self { jobs }
    }

    /// Applies `change` and waits until it is durable.
    pub(super) async fn apply(&self, change: Change) -> anyhow::Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((change, reply))
            .map_err(|_| anyhow::anyhow!("the audience store's writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the audience store's writer has stopped"))?
            .map_err(anyhow::Error::msg)
    }
}

fn write_loop(mut store: Store, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let now = Timestamp::now();
        let done = store.write(|tx| {
            batch
                .iter()
                .map(|(change, _)| apply(tx, change, now))
                .collect::<anyhow::Result<Vec<_>>>()
        });
        match done {
            Ok(done) => {
                for ((_, reply), done) in batch.into_iter().zip(done) {
                    let _ = reply.send(Ok(done));
                }
            }
            Err(e) => {
                tracing::error!("cannot write to the audience store: {e:#}");
                for (_, reply) in batch {
                    let _ = reply.send(Err(format!("{e:#}")));
                }
            }
        }
    }
}

fn apply(tx: &mut Tx<'_>, change: &Change, now: Timestamp) -> anyhow::Result<Done> {
    Ok(match change {
        Change::Unsubscribe(address, source) => {
            Done::Suppressed(tx.suppress(address, Reason::Unsubscribed, *source, None, now)?)
        }
        Change::Resubscribe(address) => {
            let lifted = tx.unsuppress(address, Some(Reason::Unsubscribed), Source::Page, now)?;
            Done::Lifted(lifted.is_some())
        }
        Change::Topics(address, topics) => {
            tx.set_topics(address, topics, Source::Page, now)?;
            Done::Saved
        }
        Change::Signup(pending) => Done::Requested(tx.request_signup(pending, now)?),
        Change::MailFailed(id) => {
            tx.mail_failed(id)?;
            Done::Saved
        }
        Change::Confirm(id) => Done::Confirmed(tx.confirm(id, now)?),
    })
}
