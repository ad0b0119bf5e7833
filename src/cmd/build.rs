//! `broadsheet build VOLUME [--out DIR]`: writes `email.mjml`, `email.html` and `email.txt`.

use std::path::Path;

use anyhow::Context as _;

use super::{Reported, say, say_err};
use crate::cli::BuildArgs;
use crate::diag::display_path;
use crate::pipeline::{self, Composition};
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &BuildArgs) -> anyhow::Result<()> {
    let composition =
        pipeline::compose_with(project, &args.volume, args.out.as_deref(), args.strict)?;
    let volume_path = display_path(&args.volume);
    let Some((volume, mjml, html, text)) = composition.parts() else {
        return fail(project, args, &composition, &volume_path);
    };
    let dir = pipeline::out_dir(project, volume, args.out.as_deref());
    write(&dir, "email.mjml", &mjml.0)?;
    write(&dir, "email.html", &html.0)?;
    write(&dir, "email.txt", &text.0)?;
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
        kb(html.0.len()),
        kb(composition.html_sent_size),
        kb(text.0.len()),
    ))?;
    Ok(())
}

/// Reports the problems; keeps the generated MJML when there is some, so it can be inspected.
fn fail(
    project: &Project,
    args: &BuildArgs,
    composition: &Composition,
    volume_path: &str,
) -> anyhow::Result<()> {
    say_err(format_args!("{}", composition.diags))?;
    if let (Some(volume), Some(mjml)) = (&composition.volume, &composition.mjml) {
        let dir = pipeline::out_dir(project, volume, args.out.as_deref());
        write(&dir, "email.mjml", &mjml.0)?;
    }
    say_err(format_args!(
        "error: could not build {volume_path}: {}",
        composition.diags.summary()
    ))?;
    Err(Reported.into())
}

fn write(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}
