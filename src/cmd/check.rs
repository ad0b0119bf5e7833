//! `broadsheet check VOLUME [--strict]`: everything `build` does, without writing, and the
//! files the settings name (the SNS certificate, the DKIM keys); every problem at once. A draft's
//! placeholders and missing picks are warnings unless `--strict`.

use super::{Reported, say_err};
use crate::cli::CheckArgs;
use crate::diag::display_path;
use crate::pipeline::{self, GENERATED_MJML};
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &CheckArgs) -> anyhow::Result<()> {
    let composition = pipeline::compose_with(
        project,
        &args.volume,
        args.strict,
        pipeline::Weighing::Largest,
    )?;
    let mut diags = project.settings.warnings.clone();
    diags.extend(composition.diags.iter().cloned());
    if let Err(problems) = crate::bounces::webhooks::ses_verifier(project) {
        diags.extend(problems);
    }
    diags.extend(crate::message::dkim::check_keys(project));
    if diags.iter().next().is_some() {
        say_err(format_args!("{diags}"))?;
    }
    let path = display_path(&args.volume);
    if diags.iter().any(|d| {
        d.location
            .as_ref()
            .is_some_and(|l| l.path == GENERATED_MJML)
    }) {
        say_err(format_args!(
            "note: {GENERATED_MJML} is the MJML the layout's templates wrote, which check keeps \
             in memory (the lines above are from it); `broadsheet build {path}` writes it, to \
             `email.failed.mjml` when the build fails"
        ))?;
    }
    let draft = composition.volume.as_ref().is_some_and(|v| v.is_draft());
    if draft && !args.strict {
        say_err(format_args!(
            "note: {path} is a draft: its placeholders and missing picks are warnings until \
             `draft = true` is removed (`--strict` makes them errors now)"
        ))?;
    }
    if diags.has_errors() {
        say_err(format_args!("error: {path}: {}", diags.summary()))?;
        return Err(Reported.into());
    }
    say_err(format_args!("{path}: {}", diags.summary()))?;
    Ok(())
}
