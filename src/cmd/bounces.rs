//! `broadsheet bounces import PATH... [--json]`: reads every message under the paths,
//! classifies it, maps each finding to a recipient and applies it to the audience store;
//! prints one line (or JSON record) per finding. Exit status 1 when some message could not
//! be read; the others are applied all the same.

use serde::Serialize;

use crate::audience::{Address, Audience, RECIPIENTS_FILE, Store};
use crate::bounces::classify::{self, Context};
use crate::bounces::effects::{self, Effect};
use crate::bounces::mapping::{MappedBy, Recipients};
use crate::bounces::status::Action;
use crate::bounces::{Kind, Report, source};
use crate::cli::{BouncesAction, BouncesArgs};
use crate::clock::Timestamp;
use crate::project::Project;
use crate::unsubscribe::Signer;
use crate::{Reported, say, say_err};

/// One line of the summary.
#[derive(Debug, Serialize)]
struct Record {
    /// The report's Message-ID (or hash); none when it could not be read.
    message_id: Option<String>,
    file: String,
    kind: Option<Kind>,
    address: Option<String>,
    status: Option<String>,
    action: Option<Action>,
    permanent: bool,
    mapped_by: Option<MappedBy>,
    effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn run(project: &Project, args: &BouncesArgs, now: Timestamp) -> anyhow::Result<()> {
    let BouncesAction::Import { paths, json } = &args.action;
    let settings = &project.settings;
    let context = Context {
        mailto: settings
            .unsubscribe
            .as_ref()
            .and_then(|u| u.mailto.as_ref())
            .map(|m| m.get_ref().clone()),
    };
    let mut recipients = Recipients::open(&project.root, verp_signer(project)?, known(project)?)?;
    let mut store = Store::open(&project.root)?;
    let soft_limit = *settings.bounces.soft_limit.get_ref();
    let mut records = Vec::new();
    for item in source::read(paths) {
        let report = item.bytes.map_err(|e| e.to_string()).and_then(|bytes| {
            classify::classify(&bytes, &context).ok_or_else(|| "not a mail message".to_owned())
        });
        match report {
            Ok(report) => {
                let found = store.write(|tx| {
                    let mut found = Vec::new();
                    for finding in &report.findings {
                        let mapped = recipients.map(&report, finding)?;
                        let effect = match &mapped {
                            Some(m) => effects::apply(tx, &report, finding, m, soft_limit, now)?,
                            None => Effect::None,
                        };
                        let address = mapped
                            .as_ref()
                            .map(|m| m.address.to_string())
                            .or(finding.address.clone());
                        found.push(record(
                            &report,
                            &item.label,
                            address,
                            finding,
                            mapped.map(|m| m.by),
                            effect,
                        ));
                    }
                    Ok(found)
                })?;
                if found.is_empty() {
                    records.push(record_of(&report, &item.label));
                }
                records.extend(found);
            }
            Err(error) => records.push(Record {
                message_id: None,
                file: item.label,
                kind: None,
                address: None,
                status: None,
                action: None,
                permanent: false,
                mapped_by: None,
                effect: Effect::None,
                error: Some(error),
            }),
        }
    }
    print(&records, *json)?;
    let unreadable = records.iter().filter(|r| r.error.is_some()).count();
    if unreadable > 0 {
        say_err(format_args!(
            "error: {unreadable} message(s) could not be read"
        ))?;
        return Err(Reported.into());
    }
    Ok(())
}

fn record(
    report: &Report,
    file: &str,
    address: Option<String>,
    finding: &crate::bounces::Finding,
    mapped_by: Option<MappedBy>,
    effect: Effect,
) -> Record {
    Record {
        message_id: Some(report.id.clone()),
        file: file.to_owned(),
        kind: Some(report.kind),
        address,
        status: finding.status.clone(),
        action: report.findings.contains(finding).then_some(finding.action),
        permanent: finding.permanent,
        mapped_by,
        effect,
        error: None,
    }
}

/// The one record of a message without findings (an auto-reply, an unknown message).
fn record_of(report: &Report, file: &str) -> Record {
    let nobody = crate::bounces::Finding::about(None);
    record(report, file, None, &nobody, None, Effect::None)
}

/// The unsubscribe secret's signer, which VERP tokens are made with; without the secret
/// tokens cannot be checked, and reports are mapped the other ways.
fn verp_signer(project: &Project) -> anyhow::Result<Option<Signer>> {
    let (Some(sender), Some(unsubscribe)) =
        (&project.settings.sender, &project.settings.unsubscribe)
    else {
        return Ok(None);
    };
    if sender.bounce.is_none() {
        return Ok(None);
    }
    match Signer::from_env(unsubscribe, sender.list_id.get_ref()) {
        Ok(signer) => Ok(Some(signer)),
        Err(why) => {
            say_err(format_args!(
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
    Ok(audience
        .recipients()
        .iter()
        .map(|r| r.address.clone())
        .collect())
}

fn print(records: &[Record], json: bool) -> anyhow::Result<()> {
    if json {
        say(format_args!("{}", serde_json::to_string_pretty(records)?))?;
        return Ok(());
    }
    for r in records {
        let what = r.kind.map_or("unreadable", Kind::as_str);
        let mapped = r.mapped_by.map_or(String::new(), |m| {
            format!(
                " (by {})",
                serde_json::to_value(m)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or_default()
            )
        });
        say(format_args!(
            "{}: {what} {} {}{mapped}: {}",
            r.file,
            r.address.as_deref().unwrap_or("-"),
            r.status.as_deref().unwrap_or("-"),
            r.error.as_deref().unwrap_or(match r.effect {
                Effect::Suppressed => "suppressed",
                Effect::Counted => "counted",
                Effect::None => "no change",
                Effect::AlreadyImported => "already imported",
            })
        ))?;
    }
    Ok(())
}
