//! `broadsheet archive [--out DIR]`: writes the web archive (a page per volume, an index and
//! an Atom feed) into `out/archive/`, or writes nothing when any volume has an error. Drafts
//! are left out and named on one line.

use super::{Reported, say, say_err};
use crate::archive;
use crate::cli::ArchiveArgs;
use crate::diag::display_path;
use crate::project::Project;

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
    let warned = warned(&site.warnings);
    say(format_args!(
        "archived {} volume{} into {}: index.html, feed.xml and a page per volume{warned}",
        site.volumes,
        if site.volumes == 1 { "" } else { "s" },
        display_path(&dest),
    ))?;
    Ok(())
}

/// The end of the summary line naming the volumes with warnings: `; 2 warnings in
/// volumes/011.toml (see ...)`, or each volume's count when there are several.
fn warned(volumes: &[(String, usize)]) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match volumes {
        [] => String::new(),
        [(path, n)] => format!(
            "; {n} warning{} in {path} (see `broadsheet check {path}`)",
            plural(*n)
        ),
        _ => {
            let total: usize = volumes.iter().map(|(_, n)| n).sum();
            let each: Vec<String> = volumes
                .iter()
                .map(|(path, n)| format!("{n} in {path}"))
                .collect();
            format!(
                "; {total} warning{}: {} (see `broadsheet check` on each)",
                plural(total),
                each.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::warned;

    #[test]
    fn warnings_name_their_volumes() {
        assert_eq!(warned(&[]), "");
        let one = [("volumes/011.toml".to_owned(), 1)];
        assert_eq!(
            warned(&one),
            "; 1 warning in volumes/011.toml (see `broadsheet check volumes/011.toml`)"
        );
        let two = [("v/011.toml".to_owned(), 2), ("v/012.toml".to_owned(), 1)];
        assert_eq!(
            warned(&two),
            "; 3 warnings: 2 in v/011.toml, 1 in v/012.toml (see `broadsheet check` on each)"
        );
    }
}
