//! `broadsheet bounces import PATH... [--json]` and `bounces fetch [--json]`: read every
//! message under the paths or in the `[bounces]` IMAP folder and apply it (see
//! [`crate::bounces::import`]); print one line, or one JSON record, per finding. Exit status 1 when some message could not be read; the others are applied all
//! the same.

use crate::bounces::Kind;
use crate::bounces::effects::Effect;
use crate::bounces::fetch;
use crate::bounces::import::{self, Record};
use crate::cli::{BouncesAction, BouncesArgs};
use crate::clock::Timestamp;
use crate::project::Project;
use crate::settings::{FORGEABLE, VERP_HINT};
use crate::{Reported, say, say_err};

pub(crate) fn run(project: &Project, args: &BouncesArgs, now: Timestamp) -> anyhow::Result<()> {
    let sender = project.settings.sender.as_ref();
    if sender.is_none_or(|s| s.bounce.is_none()) {
        say_err(format_args!("warning: {FORGEABLE}\n  = help: {VERP_HINT}"))?;
    }
    let (records, json) = match &args.action {
        BouncesAction::Import { paths, json } => (import::run(project, paths, now)?, json),
        BouncesAction::Fetch { json } => (fetch::run(project, now)?, json),
    };
    if *json {
        say(format_args!("{}", serde_json::to_string_pretty(&records)?))?;
    } else {
        for record in &records {
            say(format_args!("{}", line(record)))?;
        }
        say(format_args!("{}", summary(&records)))?;
    }
    let unreadable = records.iter().filter(|r| r.error.is_some()).count();
    if unreadable > 0 {
        say_err(format_args!(
            "error: {unreadable} message(s) could not be read"
        ))?;
        return Err(Reported.into());
    }
    Ok(())
}

/// `N message(s), M finding(s): A suppressed, B counted, C no change, D already imported,
/// E unreadable`.
fn summary(records: &[Record]) -> String {
    let mut messages: Vec<&str> = records.iter().map(|r| r.file.as_str()).collect();
    messages.dedup();
    let count = |effect: Effect| {
        records
            .iter()
            .filter(|r| r.error.is_none() && r.effect == effect)
            .count()
    };
    format!(
        "{} message(s), {} finding(s): {} suppressed, {} counted, {} no change, {} already \
         imported, {} unverified, {} unreadable",
        messages.len(),
        records.len(),
        count(Effect::Suppressed),
        count(Effect::Counted),
        count(Effect::None),
        count(Effect::AlreadyImported),
        count(Effect::Unverified),
        records.iter().filter(|r| r.error.is_some()).count()
    )
}

/// `FILE: KIND ADDRESS STATUS (by HOW): EFFECT`, or the reading error.
fn line(r: &Record) -> String {
    let kind = r.kind.map_or("unreadable", Kind::as_str);
    let by = match r.mapped_by {
        Some(by) => format!(
            " (by {})",
            serde_json::to_value(by)
                .unwrap_or_default()
                .as_str()
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    let unverified;
    let outcome = match (&r.error, r.effect) {
        (Some(error), _) => error.as_str(),
        (None, Effect::Suppressed) => "suppressed",
        (None, Effect::Counted) => "counted",
        (None, Effect::None) => "no change",
        (None, Effect::AlreadyImported) => "already imported",
        (None, Effect::Unverified) => {
            let why = r
                .unverified
                .map_or("tied to no message we sent", |d| d.as_str());
            unverified = format!("unverified ({why}), nobody changed");
            &unverified
        }
    };
    format!(
        "{}: {kind} {} {}{by}: {outcome}",
        r.file,
        r.address.as_deref().unwrap_or("-"),
        r.status.as_deref().unwrap_or("-")
    )
}
