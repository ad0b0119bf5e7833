//! One module per command; each takes the project and its `Args`.

use std::path::Path;

use crate::diag::display_path;
use crate::layout::Layout;
use crate::pipeline::{self, Composition};
use crate::project::Project;
use crate::render::MjmlOrigin;
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
pub(crate) mod status;
pub(crate) mod suppress;
pub(crate) mod unsubscribe_token;

/// A volume composed without errors, for the commands that send it.
pub(crate) struct Ready {
    composition: Composition,
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
        Ok(Self { composition })
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
