//! `broadsheet bounces import PATH... [--json]` and `bounces fetch [--json]`: read every
//! message under the paths or in the `[bounces]` IMAP folder and apply it (see
//! [`crate::bounces::import`]); print one line, or one JSON record, per finding as soon as
//! its message is applied. Exit status 1 when some message could not be read or was too
//! large to read (the others are applied all the same), or when the IMAP connection was
//! lost (what was applied before is printed first).

use super::{Reported, print, say, say_err};
use crate::bounces::Kind;
use crate::bounces::effects::Effect;
use crate::bounces::fetch;
use crate::bounces::import::{self, Record};
use crate::bounces::source::human_size;
use crate::cli::{BouncesAction, BouncesArgs};
use crate::clock::Timestamp;
use crate::project::Project;
use crate::settings::{FORGEABLE, Sending, VERP_HINT};
use crate::unsubscribe::Signer;

pub(crate) fn run(project: &Project, args: &BouncesArgs, now: Timestamp) -> anyhow::Result<()> {
    let sender = project.settings.sender.as_ref();
    if sender.is_none_or(|s| s.bounce.is_none()) {
        say_err(format_args!("warning: {FORGEABLE}\n  = help: {VERP_HINT}"))?;
    }
    let secret = Sending::new(&project.settings)
        .and_then(|sending| Signer::from_env(&sending.unsubscribe, &sending.identity.list_id));
    if let Err(why) = secret {
        say_err(format_args!(
            "warning: {why}; the tokens and Message-IDs of reports cannot be checked"
        ))?;
    }
    let json = match &args.action {
        BouncesAction::Import { json, .. } | BouncesAction::Fetch { json } => *json,
    };
    let mut printer = Printer::new(json);
    let out = |record: Record| printer.record(&record);
    let outcome = match &args.action {
        BouncesAction::Import { paths, .. } => import::run(project, paths, now, out),
        BouncesAction::Fetch { .. } => fetch::run(project, now, out),
    };
    // What was applied is shown even when the run stopped half-way (and the error that
    // stopped it wins over one finishing the output), unless standard output failed.
    let finished = if printer.stdout_failed {
        Ok(())
    } else {
        printer.finish()
    };
    outcome?;
    finished?;
    let tally = &printer.tally;
    if tally.unreadable > 0 {
        say_err(format_args!(
            "error: {} message(s) could not be read",
            tally.unreadable
        ))?;
    }
    if tally.skipped > 0 {
        let limit = human_size(project.settings.bounces.max_message_size());
        say_err(format_args!(
            "error: {} message(s) larger than {limit} (`[bounces] max_message_size`) were skipped",
            tally.skipped
        ))?;
    }
    if tally.unreadable + tally.skipped > 0 {
        return Err(Reported.into());
    }
    Ok(())
}

/// Prints records as they come: lines and a summary, or one JSON array.
struct Printer {
    json: bool,
    tally: Tally,
    /// A write to standard output failed: nothing more can be printed.
    stdout_failed: bool,
}

/// What the records so far came to.
#[derive(Default)]
struct Tally {
    messages: usize,
    last_file: Option<String>,
    findings: usize,
    suppressed: usize,
    counted: usize,
    no_change: usize,
    already_imported: usize,
    unverified: usize,
    unreadable: usize,
    skipped: usize,
}

impl Printer {
    fn new(json: bool) -> Self {
        Self {
            json,
            tally: Tally::default(),
            stdout_failed: false,
        }
    }

    /// Prints `record` and counts it.
    fn record(&mut self, record: &Record) -> anyhow::Result<()> {
        let first = self.tally.findings == 0;
        self.tally.count(record);
        let printed = if self.json {
            // Piece by piece, the array `serde_json::to_string_pretty` prints.
            let pretty = serde_json::to_string_pretty(record)?.replace('\n', "\n  ");
            let open = if first { "[" } else { "," };
            print(format_args!("{open}\n  {pretty}"))
        } else {
            say(format_args!("{}", line(record)))
        };
        self.stdout_failed = printed.is_err();
        Ok(printed?)
    }

    /// Closes the JSON array, or prints the summary line.
    fn finish(&self) -> std::io::Result<()> {
        match (self.json, self.tally.findings) {
            (true, 0) => say(format_args!("[]")),
            (true, _) => say(format_args!("\n]")),
            (false, _) => say(format_args!("{}", self.tally.summary())),
        }
    }
}

impl Tally {
    fn count(&mut self, record: &Record) {
        if self.last_file.as_deref() != Some(record.file.as_str()) {
            self.messages += 1;
            self.last_file = Some(record.file.clone());
        }
        self.findings += 1;
        let counter = match (&record.error, &record.skipped, record.effect) {
            (Some(_), _, _) => &mut self.unreadable,
            (None, Some(_), _) => &mut self.skipped,
            (None, None, Effect::Suppressed) => &mut self.suppressed,
            (None, None, Effect::Counted) => &mut self.counted,
            (None, None, Effect::None) => &mut self.no_change,
            (None, None, Effect::AlreadyImported) => &mut self.already_imported,
            (None, None, Effect::Unverified) => &mut self.unverified,
        };
        *counter += 1;
    }

    /// `N message(s), M finding(s): A suppressed, B counted, C no change, D already
    /// imported, E unverified, F unreadable`, and `, G skipped` when some were.
    fn summary(&self) -> String {
        let skipped = if self.skipped > 0 {
            format!(", {} skipped", self.skipped)
        } else {
            String::new()
        };
        format!(
            "{} message(s), {} finding(s): {} suppressed, {} counted, {} no change, {} already \
             imported, {} unverified, {} unreadable{skipped}",
            self.messages,
            self.findings,
            self.suppressed,
            self.counted,
            self.no_change,
            self.already_imported,
            self.unverified,
            self.unreadable,
        )
    }
}

/// `FILE: KIND ADDRESS STATUS (by HOW): EFFECT`, the reading error, or why it was skipped.
fn line(r: &Record) -> String {
    if let Some(skip) = &r.skipped {
        return format!("{}: skipped: {skip}", r.file);
    }
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
