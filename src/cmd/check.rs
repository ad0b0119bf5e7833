//! `broadsheet check VOLUME`: everything `build` does, without writing, and the files the
//! settings name (the SNS certificate); every problem at once.

use crate::cli::CheckArgs;
use crate::diag::display_path;
use crate::pipeline;
use crate::project::Project;
use crate::{Reported, say_err};

pub(crate) fn run(project: &Project, args: &CheckArgs) -> anyhow::Result<()> {
    let composition = pipeline::compose(project, &args.volume, None)?;
    let mut diags = project.settings.warnings.clone();
    diags.extend(composition.diags.iter().cloned());
    if let Err(problems) = crate::bounces::webhooks::ses_verifier(project) {
        diags.extend(problems);
    }
    say_err(format_args!("{diags}"))?;
    let path = display_path(&args.volume);
    if diags.has_errors() {
        say_err(format_args!("error: {path}: {}", diags.summary()))?;
        return Err(Reported.into());
    }
    say_err(format_args!("{path}: {}", diags.summary()))?;
    Ok(())
}
