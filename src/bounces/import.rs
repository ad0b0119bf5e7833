//! `bounces import` as a library call: a project and paths in, one [`Record`] per finding
//! out, every effect committed to the audience store (one transaction per message, read and
//! applied one at a time). A message that cannot be read is a record with an `error`, one
//! too large to read a record with `skipped`; the others go on.

use serde::Serialize;

use super::classify::{self, Context};
use super::effects::{self, Effect, Targets};
use super::mapping::{Doubt, MappedBy, Mapping, Recipients, Sources};
use super::source::{self, Content, Item, Skip};
use super::status::Action;
use super::{Finding, Kind, Report};
use crate::audience::store::Tx;
use crate::audience::{Address, Audience, RECIPIENTS_FILE, Store};
use crate::clock::Timestamp;
use crate::ledger::{LEDGER_FILE, Ledger};
use crate::project::Project;
use crate::settings::Sending;
use crate::status::{Class, Reason};
use crate::unsubscribe::Signer;

/// What one finding (or one message without findings) came to.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Record {
    /// The report's Message-ID (or hash); none when it could not be read.
    pub message_id: Option<String>,
    /// Where it was read.
    pub file: String,
    /// What it is; none when it could not be read.
    pub kind: Option<Kind>,
    /// The recipient it was mapped to, else the address it reports.
    pub address: Option<String>,
    /// The enhanced status code.
    pub status: Option<String>,
    /// Failed, delayed or delivered (bounces only).
    pub action: Option<Action>,
    /// Why; none when the message could not be read or says nothing of anyone.
    pub reason: Option<Reason>,
    /// What it means for the reader; none likewise.
    pub class: Option<Class>,
    /// Whether the address is gone for good: `class` is hard (kept for scripts written
    /// before `class`).
    pub permanent: bool,
    /// How the recipient was found.
    pub mapped_by: Option<MappedBy>,
    /// The volume the report concerns, when the token or the Message-ID says.
    pub volume: Option<u32>,
    /// What changed.
    pub effect: Effect,
    /// Why an unverified finding was not acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unverified: Option<Doubt>,
    /// Why the message could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the message was left unread (it is larger than `[bounces] max_message_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skip>,
}

impl Record {
    /// Whether the record is of a message that was applied (not unreadable, not skipped).
    pub(crate) fn applied(&self) -> bool {
        self.error.is_none() && self.skipped.is_none()
    }
}

/// Reads every message under `paths` and applies it, one message at a time: `out` gets
/// each record once its message is committed, and may stop the import with an error.
pub(crate) fn run(
    project: &Project,
    paths: &[std::path::PathBuf],
    now: Timestamp,
    out: impl FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let limit = project.settings.bounces.max_message_size();
    apply(project, source::read(paths, limit), now, out)
}

/// Applies every message of `items` as the iterator gives it, so that only one message is
/// held at a time: one record per finding, in order, each handed to `out`.
pub(crate) fn apply(
    project: &Project,
    items: impl IntoIterator<Item = Item>,
    now: Timestamp,
    mut out: impl FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut importer = Importer::open(project, now)?;
    for item in items {
        importer.import(item)?.into_iter().try_for_each(&mut out)?;
    }
    Ok(())
}

/// Classifies and applies messages one at a time, each in its own transaction.
pub(crate) struct Importer {
    context: Context,
    applier: Applier,
    store: Store,
    now: Timestamp,
}

impl Importer {
    /// The importer for `project`: its audience store, ledger and recipients.
    pub(crate) fn open(project: &Project, now: Timestamp) -> anyhow::Result<Self> {
        let mailto = project
            .settings
            .unsubscribe
            .as_ref()
            .and_then(|u| u.mailto.as_ref())
            .map(|m| m.get_ref().clone());
        Ok(Self {
            context: Context { mailto },
            applier: Applier::open(project)?,
            store: Store::open(&project.root)?,
            now,
        })
    }

    /// The records of one message, its effects committed: one record per finding, or one
    /// saying why it was not applied (unreadable, not a mail message, skipped).
    pub(crate) fn import(&mut self, item: Item) -> anyhow::Result<Vec<Record>> {
        let bytes = match item.content {
            Content::Bytes(bytes) => bytes,
            Content::Skipped(skip) => return Ok(vec![unread(item.label, None, Some(skip))]),
            Content::Unreadable(error) => return Ok(vec![unread(item.label, Some(error), None)]),
        };
        let Some(report) = classify::classify(&bytes, &self.context) else {
            let error = "not a mail message".to_owned();
            return Ok(vec![unread(item.label, Some(error), None)]);
        };
        let (applier, now) = (&mut self.applier, self.now);
        self.store
            .write(|tx| applier.apply(tx, &report, &item.label, now))
    }
}

/// What applying a classified report needs: the recipients it may concern and the soft
/// limit. One per import, or per webhook batch in `serve`; every source of reports (files,
/// IMAP, webhooks) goes through [`Applier::apply`], so they all have the same effects.
pub(crate) struct Applier {
    recipients: Recipients,
    soft_limit: u32,
}

impl Applier {
    /// The applier for `project`: its ledger, token signer and known recipients.
    pub(crate) fn open(project: &Project) -> anyhow::Result<Self> {
        let path = project.root.join(LEDGER_FILE);
        let settings = &project.settings;
        let sources = Sources {
            ledger: path.exists().then(|| Ledger::open(&path)).transpose()?,
            signer: signer(project),
            unsubscribe: Sending::new(settings).ok().map(|s| s.unsubscribe),
            bounce: settings
                .sender
                .as_ref()
                .and_then(|s| s.bounce.as_ref())
                .map(|b| b.get_ref().clone()),
            known: known(project)?,
        };
        Ok(Self {
            recipients: Recipients::new(sources)?,
            soft_limit: *settings.bounces.soft_limit.get_ref(),
        })
    }

    /// Whether every finding of `report` maps to a recipient we know; changes nothing. A
    /// long-running caller reloads its applier when one does not (readers added, or a
    /// dispatch made, since it was opened).
    pub(crate) fn maps_all(&mut self, report: &Report) -> anyhow::Result<bool> {
        for finding in &report.findings {
            if matches!(
                self.recipients.map(report, finding)?,
                Mapping::Unverified(_)
            ) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Maps every finding of `report` (read from `label`) and applies it inside `tx`: one
    /// record per finding, or one for a report without findings.
    pub(crate) fn apply(
        &mut self,
        tx: &mut Tx<'_>,
        report: &Report,
        label: &str,
        now: Timestamp,
    ) -> anyhow::Result<Vec<Record>> {
        let mut found = Vec::new();
        for finding in &report.findings {
            let mapping = self.recipients.map(report, finding)?;
            let mut targets = Targets {
                tx,
                ledger: self.recipients.ledger(),
            };
            let mut record = record(report, label, finding);
            match mapping {
                Mapping::Mapped(m) => {
                    record.effect =
                        effects::apply(&mut targets, report, finding, &m, self.soft_limit, now)?;
                    (record.address, record.mapped_by, record.volume) =
                        (Some(m.address.to_string()), Some(m.by), m.volume);
                }
                Mapping::Elsewhere => {}
                Mapping::Unverified(doubt) => {
                    record.effect = effects::unverified(targets.tx, report, finding, doubt, now)?;
                    record.unverified = Some(doubt);
                }
            }
            found.push(record);
        }
        if found.is_empty() {
            found.push(without_findings(report, label));
        }
        Ok(found)
    }
}

/// The record of `finding`, not yet mapped nor applied.
fn record(report: &Report, file: &str, finding: &Finding) -> Record {
    Record {
        message_id: Some(report.id.clone()),
        file: file.to_owned(),
        kind: Some(report.kind),
        address: finding.address.clone(),
        status: finding.status.clone(),
        action: (report.kind == Kind::Bounce).then_some(finding.action),
        reason: Some(finding.reason),
        class: Some(finding.class),
        permanent: finding.permanent(),
        mapped_by: None,
        volume: None,
        effect: Effect::None,
        unverified: None,
        error: None,
        skipped: None,
    }
}

/// The record of a report about nobody: an auto-reply (its class says so) or a message we
/// do not recognise.
fn without_findings(report: &Report, file: &str) -> Record {
    let mut record = record(report, file, &Finding::named(None, Reason::AutoReply));
    record.action = None;
    if report.kind != Kind::AutoReply {
        (record.reason, record.class) = (None, None);
    }
    record
}

/// The record of a message that was not applied: the reading error, or why it was skipped.
fn unread(file: String, error: Option<String>, skipped: Option<Skip>) -> Record {
    Record {
        message_id: None,
        file,
        kind: None,
        address: None,
        status: None,
        action: None,
        reason: None,
        class: None,
        permanent: false,
        mapped_by: None,
        volume: None,
        effect: Effect::None,
        unverified: None,
        error,
        skipped,
    }
}

/// The unsubscribe secret's signer, which every token is made with (VERP, mailto and
/// unsubscribe links) and our Message-IDs keyed; without the secret neither tokens nor
/// Message-IDs can be checked (`bounces import` warns), and no report is tied to a message.
fn signer(project: &Project) -> Option<Signer> {
    Sending::new(&project.settings)
        .and_then(|sending| Signer::from_env(&sending.unsubscribe, &sending.identity.list_id))
        .ok()
}

/// The recipients of the files and the store (none when the project has no recipient file).
fn known(project: &Project) -> anyhow::Result<Vec<Address>> {
    if !project.root.join(RECIPIENTS_FILE).exists() {
        return Ok(Vec::new());
    }
    let audience = Audience::load(&project.root, None)?;
    Ok(audience.recipients().iter().map(|r| r.address()).collect())
}
