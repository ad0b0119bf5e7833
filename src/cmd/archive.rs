//! `broadsheet archive [--out DIR]`: writes the web archive (a page per volume, an index and
//! an Atom feed) into `out/archive/`, or writes nothing when any volume has an error. Drafts
//! are left out and named on one line.

use crate::archive;
use crate::cli::ArchiveArgs;
use crate::diag::display_path;
use crate::project::Project;
use crate::{Reported, say, say_err};

pub(crate) fn run(project: &Project, args: &ArchiveArgs) -> anyhow::Result<()> {
    let site = archive::build(project)?;
    if !site.drafts.is_empty() {
        say_err(format_args!(
            "note: left out {} draft{}: {}",
            site.drafts.len(),
            if site.drafts.len() == 1 { "" } else { "s" },
            site.drafts.join(", ")
        ))?;
    }
    if site.diags.has_errors() {
        say_err(format_args!("{}", site.diags))?;
        say_err(format_args!(
            "error: could not build the archive ({}); nothing was written",
            site.diags.summary()
        ))?;
        return Err(Reported.into());
    }
    let dest = args.out.clone().unwrap_or_else(|| project.archive_dir());
    archive::publish(&site.files, &dest)?;
    let warned = match site.warnings {
        0 => String::new(),
        n => format!(
            "; {n} warning{} (see `broadsheet check VOLUME`)",
            if n == 1 { "" } else { "s" }
        ),
    };
    say(format_args!(
        "archived {} volume{} into {}: index.html, feed.xml and a page per volume{warned}",
        site.volumes,
        if site.volumes == 1 { "" } else { "s" },
        display_path(&dest),
    ))?;
    Ok(())
}
