//! What `plan`, `dispatch` and `proof` share before anything is sent: the volume composed
//! without errors, the sending settings checked once, and, for a plan, the audience and
//! the ledger's earlier dispatches of the volume. Nothing here writes to `state/`.

use std::path::Path;

use crate::audience::Audience;
use crate::clock::Timestamp;
use crate::diag::Refused;
use crate::diag::{Diagnostic, display_path};
use crate::layout::Layout;
use crate::ledger::{self, Dispatch, Ledger};
use crate::message::Common;
use crate::message::variant::Variants;
use crate::pipeline::{self, Composition, Weighing};
use crate::project::Project;
use crate::render::MjmlOrigin;
use crate::settings::Sending;
use crate::volume::Volume;

use super::plan::{Audit, Inputs};

/// A volume composed without errors, for the commands that send it.
pub(crate) struct Ready {
    composition: Composition,
    /// The volume's page in the web archive, if the project has one.
    web_url: Option<String>,
}

impl Ready {
    /// Composes `path` (a draft's placeholders are errors when `strict`); on any error prints
    /// the diagnostics and `error: PATH: ...; {refusal}`.
    pub(crate) fn compose(
        project: &Project,
        path: &Path,
        refusal: &str,
        strict: bool,
    ) -> anyhow::Result<Self> {
        let composition = pipeline::compose_with(project, path, strict, Weighing::Largest)?;
        let ready = composition.parts().is_some()
            && composition.layout.is_some()
            && composition.origin.is_some();
        if !ready {
            let last = format!(
                "{}: {}; {refusal}",
                display_path(path),
                composition.diags.summary()
            );
            return Err(Refused::new(&composition.diags, last).into());
        }
        let number = composition
            .volume
            .as_ref()
            .map(|v| *v.meta.number.get_ref());
        let web_url = number.and_then(|n| project.settings.page_url(n));
        Ok(Self {
            composition,
            web_url,
        })
    }

    /// Refuses a draft (`draft = true`) with an error at that line and `error: PATH: a
    /// draft; {refusal}`: drafts may be planned and proofed, never dispatched.
    pub(crate) fn refuse_draft(&self, refusal: &str) -> anyhow::Result<()> {
        let volume = self.parts().0;
        let Some(draft) = volume.meta.draft.as_ref().filter(|d| *d.get_ref()) else {
            return Ok(());
        };
        let error = Diagnostic::error("this volume is a draft")
            .at_span(&volume.source, draft.span())
            .note("delete `draft = true` when the volume is ready to send");
        let last = format!("{}: a draft; {refusal}", volume.source.path);
        Err(Refused::new(error, last).into())
    }

    /// The volume's number.
    pub(crate) fn number(&self) -> u32 {
        *self.parts().0.meta.number.get_ref()
    }

    /// The volume's variants for a send on `now` under `subject`, none rendered yet.
    pub(crate) fn variants<'a>(
        &'a self,
        sending: &'a Sending,
        subject: &'a str,
        now: Timestamp,
    ) -> Variants<'a> {
        let (volume, layout, origin) = self.parts();
        let common = Common {
            identity: &sending.identity,
            mailto: sending.unsubscribe.mailto.as_deref(),
            list_name: volume.meta.title.get_ref(),
            subject,
            date: now,
        };
        Variants::new(volume, layout, origin, common, self.web_url.as_deref())
    }

    /// The volume, its layout and where its MJML is reported.
    pub(crate) fn parts(&self) -> (&Volume, &Layout, &MjmlOrigin) {
        let c = &self.composition;
        match (&c.volume, &c.layout, &c.origin) {
            (Some(v), Some(l), Some(o)) => (v, l, o),
            _ => unreachable!("checked in Ready::compose"),
        }
    }
}

/// A volume ready to go to its audience: what `plan` shows and `dispatch` freezes.
pub(crate) struct Prepared {
    /// The composed volume.
    pub(crate) ready: Ready,
    /// The checked sending settings.
    pub(crate) sending: Sending,
}

impl Prepared {
    /// Composes the volume at `path` and checks the sending settings; `refusal` ends the
    /// error line when the volume has errors. `strict` makes a draft's placeholders and
    /// missing picks errors (for copies that go to people whatever the draft mark says).
    pub(crate) fn new(
        project: &Project,
        path: &Path,
        refusal: &str,
        strict: bool,
    ) -> anyhow::Result<Self> {
        let ready = Ready::compose(project, path, refusal, strict)?;
        let sending = Sending::new(&project.settings)?;
        Ok(Self { ready, sending })
    }

    /// Runs `then` on the audit of sending this volume to `segments` now: the audience as
    /// the files and the store have it, less whoever the ledger (read on a connection of its
    /// own) says has the volume already. Reads only; `then` may plan, or freeze the audit.
    pub(crate) fn audit<R>(
        &self,
        project: &Project,
        segments: &[String],
        variants: &mut Variants<'_>,
        then: impl FnOnce(&Audit<'_>) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        let audience = Audience::load(&project.root, None)?;
        self.audit_with(project, &audience, segments, variants, then)
    }

    /// [`Prepared::audit`] of an `audience` loaded already (`plan` loads it with the
    /// warnings about undeclared topics shown).
    pub(crate) fn audit_with<R>(
        &self,
        project: &Project,
        audience: &Audience,
        segments: &[String],
        variants: &mut Variants<'_>,
        then: impl FnOnce(&Audit<'_>) -> anyhow::Result<R>,
    ) -> anyhow::Result<R> {
        let reader = read_ledger(project)?;
        // The audit looks each reader up in the ledger: in one read transaction, not one each.
        let _snapshot = reader.as_ref().map(Ledger::snapshot).transpose()?;
        let inputs = self.inputs(audience, segments, reader.as_ref())?;
        then(&Audit::new(&inputs, variants)?)
    }

    /// What a plan of `segments` needs, from the loaded `audience` and the `ledger` (when
    /// there is one): who already has the volume from another dispatch, and which
    /// unfinished dispatch of these segments a dispatch would resume.
    fn inputs<'a>(
        &'a self,
        audience: &'a Audience,
        segments: &'a [String],
        ledger: Option<&'a Ledger>,
    ) -> anyhow::Result<Inputs<'a>> {
        let selection = audience.select(segments).map_err(anyhow::Error::msg)?;
        let volume = self.ready.number();
        let ledger = match ledger {
            Some(l) => Some((l, l.dispatches(volume)?)),
            None => None,
        };
        let resumes = ledger
            .as_ref()
            .and_then(|(_, d)| unfinished(d))
            .filter(|d| d.segments == segments)
            .map(|d| d.id);
        let ledger = ledger.filter(|(_, d)| !d.is_empty());
        Ok(Inputs {
            audience,
            selection,
            segments,
            volume,
            identity: &self.sending.identity,
            unsubscribe_url: &self.sending.unsubscribe.url,
            html_part_bytes: self.ready.composition.html_sent_size,
            pace: &self.sending.pace,
            ledger,
            resumes,
        })
    }
}

/// The dispatch among `dispatches` that has not finished, if any (at most one can exist).
pub(crate) fn unfinished(dispatches: &[Dispatch]) -> Option<&Dispatch> {
    dispatches.iter().find(|d| d.finished_at.is_none())
}

/// The project's ledger for reading, if it exists.
pub(crate) fn read_ledger(project: &Project) -> anyhow::Result<Option<Ledger>> {
    Ledger::open_read_only(&project.root.join(ledger::LEDGER_FILE))
}

/// The ledger for reading, as [`read_ledger`], checked against volume `number`'s marker:
/// one deleted, restored without its write-ahead log or replaced since the volume's
/// dispatches is an error saying what is missing.
pub(crate) fn read_ledger_of(project: &Project, number: u32) -> anyhow::Result<Option<Ledger>> {
    // A read-only open creates no ledger; the marker is read before the ledger's heartbeat
    // is, so that a running dispatch cannot have moved it on in between.
    let opened = read_ledger(project);
    match super::marker::Marker::load(&project.root.join("state"), number) {
        Ok(marker) => marker.check_read(opened),
        // A ledger that cannot be read is the error to name first.
        Err(e) => opened.and(Err(e)),
    }
}

/// Whether a run of volume `number`'s dispatch is alive now: it holds the volume's lock.
pub(crate) fn running(project: &Project, number: u32) -> anyhow::Result<bool> {
    super::lock::DispatchLock::held(&project.root.join("state"), number)
}
