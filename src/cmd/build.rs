//! `broadsheet build VOLUME [--out DIR]`: writes `email.mjml`, `email.html` and `email.txt`,
//! all three once everything checked, or none: a failed build leaves the last good one as
//! it was and writes the MJML it generated to `email.failed.mjml`, where its errors point.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Reported, say, say_err};
use crate::cli::BuildArgs;
use crate::diag::display_path;
use crate::message::size::kilobytes;
use crate::pipeline::{self, Composition};
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &BuildArgs) -> anyhow::Result<()> {
    let composition = pipeline::compose_with(
        project,
        &args.volume,
        args.strict,
        pipeline::Weighing::Shown,
    )?;
    let volume_path = display_path(&args.volume);
    let Some((volume, mjml, html, text)) = composition.parts() else {
        return fail(project, args, composition, &volume_path);
    };
    let dir = pipeline::out_dir(project, volume, args.out.as_deref());
    let outputs = [
        ("email.mjml", &mjml.0),
        ("email.html", &html.0),
        ("email.txt", &text.0),
    ];
    write(&dir, &outputs)?;
    // An inspection copy from an earlier failure would only mislead now.
    if let Err(e) = std::fs::remove_file(dir.join(FAILED_MJML))
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(e)
            .with_context(|| format!("cannot remove {}", dir.join(FAILED_MJML).display()));
    }
    let (_, warnings) = composition.diags.counts();
    let warned = match warnings {
        0 => String::new(),
        n => format!(
            "; {n} warning{} (see `broadsheet check {volume_path}`)",
            if n == 1 { "" } else { "s" }
        ),
    };
    say(format_args!(
        "built volume {} into {}: email.html {} ({} as sent), email.txt {}, email.mjml{warned}",
        volume.meta.number.get_ref(),
        display_path(&dir),
        kilobytes(html.0.len()),
        kilobytes(composition.html_sent_size),
        kilobytes(text.0.len()),
    ))?;
    Ok(())
}

/// Where a failed build writes the MJML it generated, beside the last good build's.
const FAILED_MJML: &str = "email.failed.mjml";

/// Reports the problems and leaves the outputs as they were; writes the generated MJML, when
/// there is some, to [`FAILED_MJML`] so that it can be inspected, and points its
/// diagnostics there.
fn fail(
    project: &Project,
    args: &BuildArgs,
    mut composition: Composition,
    volume_path: &str,
) -> anyhow::Result<()> {
    let mut kept = None;
    if let (Some(volume), Some(mjml), Some(origin)) =
        (&composition.volume, &composition.mjml, &composition.origin)
    {
        let dir = pipeline::out_dir(project, volume, args.out.as_deref());
        write(&dir, &[(FAILED_MJML, &mjml.0)])?;
        let failed = display_path(&dir.join(FAILED_MJML));
        let generated = origin.path.clone();
        for location in composition.diags.locations_mut() {
            if location.path == generated {
                location.path.clone_from(&failed);
            }
        }
        kept = Some(failed);
    }
    say_err(format_args!("{}", composition.diags))?;
    if let Some(failed) = kept {
        say_err(format_args!(
            "note: the generated MJML is in {failed}; email.mjml, email.html and email.txt \
             are left as the last good build wrote them"
        ))?;
    }
    say_err(format_args!(
        "error: could not build {volume_path}: {}",
        composition.diags.summary()
    ))?;
    Err(Reported.into())
}

/// Writes each of `files` (name, contents) into `dir` through a temporary file beside it,
/// and renames them into place only once all are written: a crash or a full disk never
/// leaves a half-written output, nor one output newer than the others. They are not synced:
/// they are made again from the volume by the next build.
fn write(dir: &Path, files: &[(&str, &String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let written = files.iter().try_for_each(|(name, contents)| {
        let path = dir.join(name);
        let temp = dir.join(format!(".{name}.tmp"));
        staged.push((temp.clone(), path));
        std::fs::write(&temp, contents).with_context(|| format!("cannot write {}", temp.display()))
    });
    if let Err(e) = written {
        for (temp, _) in &staged {
            let _ = std::fs::remove_file(temp);
        }
        return Err(e);
    }
    for (temp, path) in &staged {
        std::fs::rename(temp, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}
