//! One run of `dispatch`, start to end: checks, lock, freeze or resume, send, settle.

use std::collections::BTreeMap;

use anyhow::bail;

use super::engine::{End, now_ms};
use super::lock::DispatchLock;
use super::marker::Marker;
use super::messages::{self, Messages};
use super::prepare::{self, Prepared};
use super::{Briefing, Dropped, Ending, Listing, Operator, Outcome, Request, Stop, report};
use crate::audience::store::{Suppressed, Temporary};
use crate::audience::{Reason, Source, Store};
use crate::clock::Timestamp;
use crate::ledger::{self, Dispatch, Ledger, State};
use crate::message::dkim::Signer as DkimSigner;
use crate::message::variant::Variants;
use crate::project::Project;
use crate::settings::FROZEN_RELAY;
use crate::transport::Configured;
use crate::unsubscribe::Signer;

mod send;

/// Dispatches `request.volume` to `request.segments` (see the module documentation).
pub(crate) fn run(
    project: &Project,
    request: &Request<'_>,
    operator: &dyn Operator,
    now: Timestamp,
) -> anyhow::Result<Outcome> {
    let prepared = composed(project, request, operator, "nothing sent")?;
    let sending = &prepared.sending;
    // Everything that can be wrong with the settings stops us before `state/` is touched.
    let signer = Signer::from_env(&sending.unsubscribe, &sending.identity.list_id)?;
    let dkim = DkimSigner::from_settings(project.settings.dkim.as_ref(), &project.root)?;
    Configured::new(&project.root, sending)?;
    let (prepared, now) = match &request.at {
        Some(schedule) => {
            let early = (&prepared, &signer, now);
            at_the_hour(project, request, operator, early, schedule)?
        }
        None => (prepared, now),
    };
    let sending = &prepared.sending;
    let number = prepared.ready.number();
    let content = content_hash(project, request, &prepared)?;
    let mut frozen = sending.frozen(&signer.fingerprint());
    frozen.insert(FILES, content.files.clone());
    // Counted links change every message's HTML: a resume keeps what the dispatch began with.
    if project.settings.counts_clicks() {
        frozen.insert("click counts", "on".to_owned());
    }
    let frozen = serde_json::to_string(&frozen)?;
    let state = project.root.join("state");
    // Before the links are placed, so that no other dispatch records places meanwhile.
    let _lock = DispatchLock::acquire(&state, number)?;
    let (mut variants, counter) = variants(project, &prepared, &signer, now)?;
    if let Some(counter) = &counter {
        // Before any message leaves, so that `serve` knows where every counted link leads.
        let links = counter.links().iter();
        let links = links.map(|(place, l)| (*place, l.target.as_str(), l.label.as_str()));
        Store::open(&project.root)?.write(|tx| tx.add_links(number, links))?;
    }
    let ledger_path = project.root.join(ledger::LEDGER_FILE);
    // Before the ledger is opened, which creates a missing one.
    let mut marker = Marker::load(&state, number)?;
    let mut ledger = Ledger::open(&ledger_path)?;
    if request.ledger_lost {
        marker.reset(&ledger)?;
    } else {
        marker.check(&ledger)?;
    }
    let mut job = Job {
        project,
        request,
        operator,
        prepared: &prepared,
        ledger: &mut ledger,
        number,
    };
    let dispatches = job.ledger.dispatches(number)?;
    // Failed or ambiguous messages asked for again belong to the last dispatch of these
    // segments, finished or not.
    let again = request.retry_failed || request.resend_ambiguous;
    let latest = dispatches
        .iter()
        .rev()
        .find(|d| d.segments == request.segments);
    let resumed = prepare::unfinished(&dispatches).or(latest.filter(|_| again));
    let dispatch = match resumed {
        Some(d) => job.resume(d, &content, &frozen)?,
        None => match job.freeze(&mut variants, &mut marker, &signer, &content.hash, &frozen)? {
            Some(id) => id,
            None => return job.outcome(Ending::NothingToSend, Dropped::default()),
        },
    };
    job.reopen(dispatch)?;
    let open = job.ledger.count(dispatch, &[State::Pending])?;
    if open == 0 {
        operator.note(&format!(
            "nothing to send: every recipient of dispatch #{dispatch} is settled"
        ));
        return job.settle(dispatch, End::Finished, now_ms());
    }
    let messages = Messages {
        variants: messages::rendered(job.ledger, dispatch, &mut variants)?,
        signer,
        unsubscribe: sending.unsubscribe.clone(),
        from: sending.identity.from.clone(),
        volume: number,
        bounce: (project.settings.sender.as_ref())
            .and_then(|s| s.bounce.as_ref())
            .map(|b| b.get_ref().clone()),
        mailto: sending.unsubscribe.mailto.is_some(),
        dkim,
    };
    let started = now_ms();
    let first_beat = job.ledger.heartbeat(number)?.max(marker.last_beat()) + 1;
    let end = job.send(dispatch, &ledger_path, messages, open, (marker, first_beat))?;
    job.settle(dispatch, end, started)
}

/// The volume at `request.volume` composed without errors, not a draft, with the sending
/// settings checked; `refusal` ends the error line when it is not. Warns when the page
/// "View in browser" links to was not archived.
fn composed(
    project: &Project,
    request: &Request<'_>,
    operator: &dyn Operator,
    refusal: &str,
) -> anyhow::Result<Prepared> {
    let prepared = Prepared::new(project, request.volume, refusal, false)?;
    prepared.ready.refuse_draft(refusal)?;
    let number = prepared.ready.number();
    if let Some(url) = project.settings.page_url(number) {
        let page = project
            .archive_dir()
            .join(crate::settings::page_name(number));
        if !page.exists() {
            operator.note(&format!(
                "warning: every message links \"View in browser\" to {url}, but the last \
                 `broadsheet archive` did not write {}: run it and publish its output before \
                 readers open the email (the week's order: check, proof, archive, dispatch)",
                crate::diag::display_path(&page)
            ));
        }
    }
    Ok(prepared)
}

/// A dispatch at a set hour. The checks and the plan run at once on `early` (with its
/// unsubscribe signer and the time it was composed), so that a mistake shows when the job is scheduled; at the hour,
/// the volume is read, checked and composed again, and what goes is the file as it is then,
/// or nothing if it no longer checks. Returns that volume and the time its messages are
/// composed, their `Date`.
fn at_the_hour(
    project: &Project,
    request: &Request<'_>,
    operator: &dyn Operator,
    (early, signer, now): (&Prepared, &Signer, Timestamp),
    schedule: &super::Schedule,
) -> anyhow::Result<(Prepared, Timestamp)> {
    let scheduled = content_hash(project, request, early)?;
    let (mut plan_variants, _) = variants(project, early, signer, now)?;
    let now = super::schedule::wait(
        project,
        request,
        early,
        &mut plan_variants,
        operator,
        schedule,
    )?;
    let prepared = composed(
        project,
        request,
        operator,
        "nothing sent (the volume is checked again at the hour)",
    )?;
    if content_hash(project, request, &prepared)? != scheduled {
        operator.note(&format!(
            "{} or its layout changed while waiting: it goes as it is now",
            crate::diag::display_path(request.volume)
        ));
    }
    Ok((prepared, now))
}

/// The volume file and its layout's files, as a dispatch freezes them.
fn content_hash(
    project: &Project,
    request: &Request<'_>,
    prepared: &Prepared,
) -> anyhow::Result<super::Content> {
    let layout = crate::pipeline::layout_dir(project, prepared.ready.parts().0);
    super::content_hash(request.volume, &layout)
}

/// The variants of `prepared` whose messages are dated `now`, with their links counted
/// when the project counts clicks (and the counter that does it), each link at the place
/// an earlier dispatch of the volume recorded for its target.
fn variants<'a>(
    project: &Project,
    prepared: &'a Prepared,
    signer: &Signer,
    now: Timestamp,
) -> anyhow::Result<(Variants<'a>, Option<crate::clicks::Counter>)> {
    let subject = prepared.ready.parts().0.subject();
    let mut variants = prepared.ready.variants(&prepared.sending, subject, now);
    let number = prepared.ready.number();
    let recorded = match project.settings.counts_clicks() {
        true => (Store::open_read_only(&project.root)?)
            .map(|store| store.recorded_links(number))
            .transpose()?
            .unwrap_or_default(),
        false => Vec::new(),
    };
    let counter = variants.click_counter(&project.settings, signer, (number, &recorded))?;
    if let Some(counter) = &counter {
        variants.count_clicks(counter.clone());
    }
    Ok((variants, counter))
}

/// What one run works with.
struct Job<'a> {
    project: &'a Project,
    request: &'a Request<'a>,
    operator: &'a dyn Operator,
    prepared: &'a Prepared,
    ledger: &'a mut Ledger,
    number: u32,
}

impl Job<'_> {
    /// An unfinished dispatch: the same segments, content and settings, or a refusal.
    fn resume(
        &mut self,
        d: &Dispatch,
        content: &super::Content,
        frozen: &str,
    ) -> anyhow::Result<i64> {
        if d.segments != self.request.segments {
            bail!(
                "dispatch #{} of volume {} (--segment {}) is not finished; finish it first: {}",
                d.id,
                self.number,
                d.segments.join(" --segment "),
                super::resume_command(self.request.volume, &d.segments)
            );
        }
        let changes = changes(&d.settings, frozen)?;
        if d.content_hash != content.hash {
            // A dispatch started by an earlier version recorded no file by file.
            let what = match changes.files.as_deref().map(|then| content.changed(then)) {
                Some(files) if !files.is_empty() => files.join(", "),
                _ => "the volume or its layout".to_owned(),
            };
            bail!(
                "{what} changed since this dispatch started; a resumed dispatch sends exactly \
                 what it started with. Put the files back as they were (git), or send the \
                 changes as a new volume"
            );
        }
        let changed = changes.shaping;
        if !changed.is_empty() {
            bail!(
                "broadsheet.toml or the unsubscribe secret changed since dispatch #{} started ({}); \
                 a resumed dispatch sends exactly what it started with: put them back as they were",
                d.id,
                changed.join(", ")
            );
        }
        if let Some((then, now)) = changes.relay {
            self.operator.note(&format!(
                "dispatch #{} started on {then}; this run sends through {now}",
                d.id
            ));
        }
        let counts = self.ledger.counts(d.id)?;
        let count = |state: State| {
            counts
                .iter()
                .filter(|(s, _)| *s == state)
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        let again = |asked: bool, state: State| if asked { count(state) } else { 0 };
        let to_send = count(State::Pending)
            + count(State::Deferred)
            + again(self.request.retry_failed, State::Failed)
            + again(self.request.resend_ambiguous, State::Ambiguous);
        let briefing = Briefing::Resume {
            dispatch: d.id,
            counts: &counts,
            to_send,
        };
        self.operator.show(&briefing);
        self.operator.confirm(&briefing)?;
        Ok(d.id)
    }

    /// A new dispatch: plans, confirms, and freezes its audience; `None` when the plan
    /// has nobody to send to.
    fn freeze(
        &mut self,
        variants: &mut Variants<'_>,
        marker: &mut Marker,
        signer: &Signer,
        hash: &str,
        frozen: &str,
    ) -> anyhow::Result<Option<i64>> {
        let segments = self.request.segments;
        let prepared = self.prepared;
        prepared.audit(self.project, segments, variants, |audit| {
            let plan = audit.plan(Listing::default())?;
            self.operator.show(&Briefing::New(&plan));
            if plan.recipients == 0 {
                self.operator.note(&format!(
                    "nothing to send: nobody in --segment {} is left to get volume {}",
                    segments.join(" --segment "),
                    self.number
                ));
                return Ok(None);
            }
            self.operator.confirm(&Briefing::New(&plan))?;
            let dispatch = Dispatch {
                id: 0,
                volume: self.number,
                content_hash: hash.to_owned(),
                segments: segments.to_vec(),
                settings: frozen.to_owned(),
                started_at: now_ms(),
                finished_at: None,
            };
            // The audit reads the ledger on a connection of its own, while this one freezes
            // the new dispatch in a transaction.
            let (id, count) = self.ledger.start(&dispatch, audit.entries(signer))?;
            marker.started(id)?;
            self.operator.note(&format!(
                "froze {count} recipients of volume {} in the ledger (dispatch #{id})",
                self.number
            ));
            Ok(Some(id))
        })
    }

    /// Puts back to work what this run should try: interrupted messages become ambiguous;
    /// the deferred are tried again, and the failed and ambiguous when the operator asks.
    fn reopen(&mut self, dispatch: i64) -> anyhow::Result<()> {
        let now = now_ms();
        let interrupted = self.ledger.settle_interrupted(dispatch, now)?;
        if interrupted > 0 {
            self.operator.note(&format!(
                "{interrupted} messages were in flight when the last run stopped: they are \
                 ambiguous now (see `broadsheet status`)"
            ));
        }
        self.ledger.requeue(dispatch, State::Deferred, None, now)?;
        for (asked, state) in [
            (self.request.retry_failed, State::Failed),
            (self.request.resend_ambiguous, State::Ambiguous),
        ] {
            if asked {
                let n = self.ledger.requeue(dispatch, state, None, now)?;
                self.operator.note(&format!(
                    "{n} {} messages will be sent again (unless suppressed meanwhile)",
                    state.as_str()
                ));
            }
        }
        Ok(())
    }

    /// After a run: the relay's refusals go back to pending, or this run's refusals are
    /// acted on (see [`Job::act_on_refusals`]); a dispatch with nothing open is marked
    /// finished.
    fn settle(&mut self, dispatch: i64, end: End, started: i64) -> anyhow::Result<Outcome> {
        let now = now_ms();
        let mut suppressed = Dropped::default();
        let stop = match end {
            End::Finished => None,
            End::Interrupted => Some(Stop::Interrupted),
            End::Tripped(why) => Some(Stop::Breaker(why)),
            End::Ledger(why) => Some(Stop::Ledger(why)),
            End::RelayRefusing(why) => {
                let requeued = self
                    .ledger
                    .requeue(dispatch, State::Failed, Some(started), now)?;
                Some(Stop::RelayRefusing { why, requeued })
            }
        };
        if !matches!(stop, Some(Stop::RelayRefusing { .. } | Stop::Ledger(_))) {
            suppressed = self.act_on_refusals(dispatch, started)?;
        }
        let open = self.ledger.count(dispatch, &State::OPEN)?;
        if open == 0 {
            self.ledger.finish(dispatch, now)?;
        }
        // The file alone then holds everything: a copy of it is a whole backup. (Not when
        // the ledger could not be written: that would only wait for it again.)
        if !matches!(stop, Some(Stop::Ledger(_)))
            && let Err(e) = self.ledger.checkpoint(true)
        {
            tracing::warn!("{e:#}");
        }
        let ending = match stop {
            Some(stop) => Ending::Stopped(stop),
            None if open == 0 => Ending::Finished,
            None => Ending::Incomplete {
                open,
                next_retry: self.next_retry(dispatch)?,
            },
        };
        self.outcome(ending, suppressed)
    }

    fn outcome(&self, ending: Ending, suppressed: Dropped) -> anyhow::Result<Outcome> {
        let dispatches = self.ledger.dispatches(self.number)?;
        Ok(Outcome {
            ending,
            report: report::report(self.ledger, self.number, &dispatches)?,
            suppressed,
        })
    }

    /// When the earliest deferred message of `dispatch` may be tried again.
    fn next_retry(&self, dispatch: i64) -> anyhow::Result<Option<i64>> {
        let deferred = self.ledger.in_state(dispatch, State::Deferred)?;
        Ok(deferred.iter().filter_map(|r| r.next_attempt_at).min())
    }

    /// Acts on this run's refusals the way bounce reports are acted on, by the one
    /// classifier: an address refused with a reply of class hard (the mailbox or domain is
    /// gone) joins the suppression list in the audience store at once; one refused for good
    /// with a soft reply about its mailbox (see [`Reply::counts_toward_soft_limit`]: RFC
    /// 5321's bare "mailbox unavailable", a full mailbox) is noted in its history, and joins
    /// the list once the ledger counts `[bounces] soft_limit` volumes in a row failed so,
    /// bounce reports included, since the reader last came back from the list (signed up
    /// again, `suppress remove`). Each carries its message's Message-ID as the reference, so
    /// a second run adds none, and the reply's reason.
    ///
    /// [`Reply::counts_toward_soft_limit`]: crate::transport::Reply::counts_toward_soft_limit
    fn act_on_refusals(&self, dispatch: i64, since: i64) -> anyhow::Result<Dropped> {
        let soft_limit = *self.project.settings.bounces.soft_limit.get_ref();
        let refused: Vec<_> = self
            .ledger
            .in_state(dispatch, State::Failed)?
            .into_iter()
            .filter(|row| row.updated_at >= since)
            .filter_map(|row| {
                let reply = row.reply?;
                let hard = reply.is_hard_bounce();
                (hard || reply.counts_toward_soft_limit()).then_some((row.entry, reply, hard))
            })
            .collect();
        if refused.is_empty() {
            return Ok(Dropped::default());
        }
        let now = Timestamp::now();
        let occasion = format!("volume {}", self.number);
        Store::open(&self.project.root)?.write(|tx| {
            let mut dropped = Dropped::default();
            for (entry, reply, hard) in &refused {
                let (address, reference) = (&entry.address, entry.message_id.as_str());
                let why = reply.classified().reason;
                let count = if *hard {
                    &mut dropped.hard
                } else {
                    // Counted from when the reader last came back from the list, if ever.
                    let came_back = tx.lifted_at(address)?;
                    let run = self.ledger.soft_bounce_run(address.as_str(), came_back)?;
                    if run.is_some_and(|run| run >= soft_limit) {
                        &mut dropped.soft
                    } else {
                        if !tx.has_reference(address, reference)? {
                            let status = reply.enhanced.map(|s| s.to_string());
                            let failure = Temporary {
                                occasion: &occasion,
                                reason: why,
                                status: status.as_deref(),
                            };
                            tx.note_temporary(address, &failure, Source::Bounce, reference, now)?;
                        }
                        continue;
                    }
                };
                let (bounced, source) = (Reason::Bounced, Source::Bounce);
                let done =
                    tx.suppress_for(address, bounced, Some(why), source, Some(reference), now)?;
                *count += usize::from(done == Suppressed::Added);
            }
            Ok(dropped)
        })
    }
}

/// The frozen record of the volume's and layout's files, one by one (see
/// [`super::Content::files`]): what changed in them is named from it, never compared as a
/// setting.
const FILES: &str = "content files";

/// How a dispatch's frozen settings (`then`) and this run's (`now`), JSON objects, differ.
struct Changes {
    /// The settings that shape the messages and differ: a resume refuses them.
    shaping: Vec<String>,
    /// The relay the dispatch started on and this run's, when they differ. The relay shapes
    /// no message, so a resume may change it: the fix a relay that refuses everyone asks for.
    relay: Option<(String, String)>,
    /// The files the dispatch started with, one by one, when it recorded them.
    files: Option<String>,
}

fn changes(then: &str, now: &str) -> anyhow::Result<Changes> {
    let then: BTreeMap<String, String> = serde_json::from_str(then)?;
    let now: BTreeMap<String, String> = serde_json::from_str(now)?;
    // A setting absent on one side (added by a later version, or only written when on) is
    // empty there.
    let value =
        |map: &BTreeMap<String, String>, key: &str| map.get(key).cloned().unwrap_or_default();
    let relay = (then.contains_key(FROZEN_RELAY)
        && value(&then, FROZEN_RELAY) != value(&now, FROZEN_RELAY))
    .then(|| (value(&then, FROZEN_RELAY), value(&now, FROZEN_RELAY)));
    let files = then.get(FILES).cloned();
    // A dispatch frozen before settings were recorded (`{}`) is not compared.
    if then.is_empty() {
        return Ok(Changes {
            shaping: Vec::new(),
            relay,
            files,
        });
    }
    let mut keys: Vec<&String> = then.keys().chain(now.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    let shaping = keys
        .into_iter()
        .filter(|k| {
            ![FROZEN_RELAY, FILES].contains(&k.as_str()) && value(&then, k) != value(&now, k)
        })
        .cloned()
        .collect();
    Ok(Changes {
        shaping,
        relay,
        files,
    })
}
