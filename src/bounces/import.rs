//! `bounces import` as a library call: a project and paths in, one [`Record`] per finding
//! out, every effect committed to the audience store (one transaction per message). A
//! message that cannot be read is a record with an `error`; the others go on.

use serde::Serialize;

use super::classify::{self, Context};
use super::effects::{self, Effect, Targets};
use super::mapping::{MappedBy, Recipients};
use super::source::{self, Item};
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
pub struct Record {
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
    /// Why the message could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads every message under `paths` and applies what it says.
pub fn run(
    project: &Project,
    paths: &[std::path::PathBuf],
    now: Timestamp,
) -> anyhow::Result<Vec<Record>> {
    apply(project, source::read(paths), now)
}

/// Applies every message of `items`: one record per finding, in order.
pub fn apply(project: &Project, items: Vec<Item>, now: Timestamp) -> anyhow::Result<Vec<Record>> {
    let context = Context {
        mailto: project
            .settings
            .unsubscribe
            .as_ref()
            .and_then(|u| u.mailto.as_ref())
            .map(|m| m.get_ref().clone()),
    };
    let mut applier = Applier::open(project)?;
    let mut store = Store::open(&project.root)?;
    let mut records = Vec::new();
    for item in items {
        let report = item.bytes.and_then(|bytes| {
            classify::classify(&bytes, &context).ok_or_else(|| "not a mail message".to_owned())
        });
        match report {
            Ok(report) => {
                records.extend(store.write(|tx| applier.apply(tx, &report, &item.label, now))?);
            }
            Err(error) => records.push(unreadable(item.label, error)),
        }
    }
    Ok(records)
}

/// What applying a classified report needs: the recipients it may concern and the soft
/// limit. One per import, or per webhook batch in `serve`; every source of reports (files,
/// IMAP, webhooks) goes through [`Applier::apply`], so they all have the same effects.
pub struct Applier {
    recipients: Recipients,
    ledger: Option<Ledger>,
    soft_limit: u32,
}

impl Applier {
    /// The applier for `project`: its ledger, VERP signer and known recipients.
    pub fn open(project: &Project) -> anyhow::Result<Self> {
        let path = project.root.join(LEDGER_FILE);
        Ok(Self {
            recipients: Recipients::open(&project.root, verp_signer(project)?, known(project)?)?,
            ledger: path.exists().then(|| Ledger::open(&path)).transpose()?,
            soft_limit: *project.settings.bounces.soft_limit.get_ref(),
        })
    }

    /// Whether every finding of `report` maps to a recipient we know; changes nothing. A
    /// long-running caller reloads its applier when one does not (readers added, or a
    /// dispatch made, since it was opened).
    pub fn maps_all(&mut self, report: &Report) -> anyhow::Result<bool> {
        for finding in &report.findings {
            if self.recipients.map(report, finding)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Maps every finding of `report` (read from `label`) and applies it inside `tx`: one
    /// record per finding, or one for a report without findings.
    pub fn apply(
        &mut self,
        tx: &mut Tx<'_>,
        report: &Report,
        label: &str,
        now: Timestamp,
    ) -> anyhow::Result<Vec<Record>> {
        let mut targets = Targets {
            tx,
            ledger: self.ledger.as_ref(),
        };
        let mut found = Vec::new();
        for finding in &report.findings {
            let mapped = self.recipients.map(report, finding)?;
            let effect = match &mapped {
                Some(m) => effects::apply(&mut targets, report, finding, m, self.soft_limit, now)?,
                None => Effect::None,
            };
            let mut record = record(report, label, finding);
            if let Some(m) = mapped {
                (record.address, record.mapped_by, record.volume) =
                    (Some(m.address.to_string()), Some(m.by), m.volume);
            }
            record.effect = effect;
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
        error: None,
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

fn unreadable(file: String, error: String) -> Record {
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
        error: Some(error),
    }
}

/// The unsubscribe secret's signer, which VERP tokens are made with, when `[sender]
/// bounce` is set; without the secret tokens cannot be checked (a warning says so), and
/// reports are mapped the other ways.
fn verp_signer(project: &Project) -> anyhow::Result<Option<Signer>> {
    let settings = &project.settings;
    if settings.sender.as_ref().is_none_or(|s| s.bounce.is_none()) {
        return Ok(None);
    }
    let signer = Sending::new(settings)
        .and_then(|sending| Signer::from_env(&sending.unsubscribe, &sending.identity.list_id));
    match signer {
        Ok(signer) => Ok(Some(signer)),
        Err(why) => {
            crate::say_err(format_args!(
                "warning: {why}; VERP return paths cannot be read"
            ))?;
            Ok(None)
        }
    }
}

/// The recipients of the files and the store (none when the project has no recipient file).
fn known(project: &Project) -> anyhow::Result<Vec<Address>> {
    if !project.root.join(RECIPIENTS_FILE).exists() {
        return Ok(Vec::new());
    }
    let audience = Audience::load(&project.root, None)?;
    Ok(audience.recipients().iter().map(|r| r.address()).collect())
}
