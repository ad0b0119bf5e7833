//! Group commit: every change the service makes goes to one writer thread, which applies
//! all the changes waiting at that moment in one transaction and answers each once it is
//! durable. A burst costs one sync per batch instead of one per request. Reports the
//! webhooks received are applied there too, through the same [`Applier`] as an import.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::watch::Watched;
use crate::audience::store::{Pending, Requested, Suppressed, Tx};
use crate::audience::{Address, Reason, Source, Store};
use crate::bounces::Report;
use crate::bounces::import::{Applier, Record};
use crate::clock::Timestamp;
use crate::project::Project;

/// The kind of the welcome mail among the mails claimed once per reader.
const WELCOME: &str = "welcome";

/// The most changes one transaction takes.
const BATCH: usize = 1024;

/// A change to the audience store.
#[derive(Debug)]
pub(super) enum Change {
    /// An unsubscribe through `Source`, from the links of a volume when known.
    Unsubscribe(Address, Source, Option<u32>),
    /// A reader's own unsubscribe lifted on their preferences page.
    Resubscribe(Address, Option<u32>),
    /// A reader's choice of topics on their preferences page.
    Topics(Address, Vec<String>, Option<u32>),
    Signup(Pending),
    MailFailed(String),
    /// Confirms sign-up `id`; with `welcome`, claims the reader's welcome mail with it.
    Confirm {
        id: String,
        welcome: bool,
    },
    /// Claims a mail sent once per reader (see [`Tx::claim_mail`]).
    Claim(Address, &'static str),
    /// A report a webhook received, and the route it came by.
    Report(Box<Report>, &'static str),
    /// A request for a counted link (see `serve::clicks`).
    Click {
        volume: u32,
        hour: i64,
        judged: super::seen::Judged,
    },
}

/// What a change did.
#[derive(Debug)]
pub(super) enum Done {
    Suppressed(Suppressed),
    Lifted(bool),
    Saved,
    Requested(Requested),
    /// The request confirmed, if it was pending, and whether its welcome mail is due.
    Confirmed(Option<Pending>, bool),
    /// Whether the mail was claimed now (false: claimed before).
    Claimed(bool),
    Applied(Vec<Record>),
}

type Job = (Change, oneshot::Sender<Result<Done, String>>);

/// The way to the writer thread.
#[derive(Debug, Clone)]
pub(super) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer on `store`, applying reports with `reports` when webhooks are on.
    pub(super) fn start(store: Store, reports: Option<Reports>) -> Self {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("audience-writer".to_owned())
            .spawn(move || write_loop(store, reports, &queue))
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

/// What applying reports needs in a server that runs for weeks: the project and its
/// applier, opened again when a report names somebody the applier does not know and the
/// recipient files or the ledger changed since it was opened (readers added, or a dispatch
/// made). A report about strangers alone never reopens it.
pub(super) struct Reports {
    project: Project,
    applier: Applier,
    watched: Watched,
}

impl Reports {
    /// The applier of `project`, as its files, store and ledger are now.
    pub(super) fn open(project: &Project) -> anyhow::Result<Self> {
        let watched = Watched::new(&project.root, true);
        Ok(Self {
            project: project.clone(),
            applier: Applier::open(project)?,
            watched,
        })
    }

    fn apply(
        &mut self,
        tx: &mut Tx<'_>,
        report: &Report,
        label: &str,
        now: Timestamp,
    ) -> anyhow::Result<Vec<Record>> {
        if !self.applier.maps_all(report)? && self.watched.changed() {
            // A recipient file caught mid-edit must not stop the reports: keep the old one.
            match Applier::open(&self.project) {
                Ok(applier) => self.applier = applier,
                Err(e) => tracing::warn!("cannot reload the recipients for reports: {e:#}"),
            }
        }
        self.applier.apply(tx, report, label, now)
    }
}

fn write_loop(mut store: Store, mut reports: Option<Reports>, queue: &mpsc::Receiver<Job>) {
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
                .map(|(change, _)| apply(tx, change, reports.as_mut(), now))
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

fn apply(
    tx: &mut Tx<'_>,
    change: &Change,
    reports: Option<&mut Reports>,
    now: Timestamp,
) -> anyhow::Result<Done> {
    Ok(match change {
        Change::Unsubscribe(address, source, volume) => {
            Done::Suppressed(tx.from_volume(*volume, |tx| {
                tx.suppress(address, Reason::Unsubscribed, *source, None, now)
            })?)
        }
        Change::Resubscribe(address, volume) => {
            let lifted = tx.from_volume(*volume, |tx| {
                tx.unsuppress(
                    address,
                    Some(Reason::Unsubscribed),
                    Source::Preferences,
                    now,
                )
            })?;
            Done::Lifted(lifted.is_some())
        }
        Change::Topics(address, topics, volume) => {
            tx.from_volume(*volume, |tx| {
                tx.set_topics(address, topics, Source::Preferences, now)
            })?;
            Done::Saved
        }
        Change::Signup(pending) => Done::Requested(tx.request_signup(pending, now)?),
        Change::MailFailed(id) => {
            tx.mail_failed(id)?;
            Done::Saved
        }
        Change::Confirm { id, welcome } => match tx.confirm(id, now)? {
            Some(pending) => {
                let welcome = *welcome && tx.claim_mail(&pending.address, WELCOME, now)?;
                Done::Confirmed(Some(pending), welcome)
            }
            None => Done::Confirmed(None, false),
        },
        Change::Claim(address, kind) => Done::Claimed(tx.claim_mail(address, kind, now)?),
        Change::Click {
            volume,
            hour,
            judged,
        } => {
            if let Some((link, scanner)) = judged.counted {
                tx.count_click(*volume, link, *hour, scanner)?;
            }
            for link in &judged.moved {
                tx.count_as_scanner(*volume, *link, *hour)?;
            }
            Done::Saved
        }
        Change::Report(report, label) => {
            let reports = reports.ok_or_else(|| anyhow::anyhow!("no webhook is configured"))?;
            Done::Applied(reports.apply(tx, report, label, now)?)
        }
    })
}
