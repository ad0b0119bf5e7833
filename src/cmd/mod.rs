//! One module per command; each takes the project and its `Args`.

use std::path::Path;

use crate::audience::{Audience, Selection};
use crate::clock::Timestamp;
use crate::diag::display_path;
use crate::dispatch::plan::Inputs;
use crate::layout::Layout;
use crate::message::Common;
use crate::message::variant::Variants;
use crate::pipeline::{self, Composition};
use crate::project::Project;
use crate::render::MjmlOrigin;
use crate::settings::Settings;
use crate::volume::Volume;
use crate::{Reported, say_err};

pub(crate) mod archive;
pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod dispatch;
pub(crate) mod new;
pub(crate) mod plan;
pub(crate) mod preview;
pub(crate) mod proof;
pub(crate) mod recipients;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod suppress;
pub(crate) mod unsubscribe_token;

/// A volume composed without errors, for the commands that send it.
pub(crate) struct Ready {
    composition: Composition,
    /// The volume's page in the web archive, if the project has one.
    web_url: Option<String>,
}

impl Ready {
    /// Composes `path`; on any error prints the diagnostics and `error: PATH: ...; {refusal}`.
    pub(crate) fn compose(project: &Project, path: &Path, refusal: &str) -> anyhow::Result<Self> {
        let composition = pipeline::compose(project, path, None)?;
        let ready = composition.parts().is_some()
            && composition.layout.is_some()
            && composition.origin.is_some();
        if !ready {
            say_err(format_args!("{}", composition.diags))?;
            say_err(format_args!(
                "error: {}: {}; {refusal}",
                display_path(path),
                composition.diags.summary()
            ))?;
            return Err(Reported.into());
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

    /// The volume's number.
    pub(crate) fn number(&self) -> u32 {
        *self.parts().0.meta.number.get_ref()
    }

    /// The volume's variants for a send on `now` under `subject`, none rendered yet.
    pub(crate) fn variants<'a>(
        &'a self,
        settings: &'a Settings,
        subject: &'a str,
        now: Timestamp,
    ) -> anyhow::Result<Variants<'a>> {
        let (volume, layout, origin) = self.parts();
        let common = Common {
            sender: settings.needs_sender()?,
            unsubscribe: settings.needs_unsubscribe()?,
            list_name: volume.meta.title.get_ref(),
            subject,
            date: now,
        };
        Ok(Variants::new(
            volume,
            layout,
            origin,
            common,
            self.web_url.as_deref(),
        ))
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

/// What a plan of volume `number` for `segments` of `audience` needs to know.
pub(crate) fn plan_inputs<'a>(
    settings: &'a Settings,
    audience: &'a Audience,
    selection: Selection<'a>,
    segments: &'a [String],
    number: u32,
) -> anyhow::Result<Inputs<'a>> {
    Ok(Inputs {
        audience,
        selection,
        segments,
        volume: number,
        sender: settings.needs_sender()?,
        unsubscribe_url: settings.needs_unsubscribe()?.url.get_ref(),
        limits: &settings.limits,
    })
}
