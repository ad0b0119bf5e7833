//! `broadsheet new`: scaffolds the next volume as a draft: numbered after the highest file in
//! `volumes/`, started from the latest volume that is not a draft (a TK-filled draft is no
//! model), its period advanced once per number skipped, placeholders where the copy goes
//! (the hero image too: last week's is only named), and a commented example pick. Never
//! overwrites a file. The draft previews at once, with stand-ins for what is missing.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use std::fmt::Write as _;
use std::io::Write as _;

use super::say;
use crate::cli::NewArgs;
use crate::diag::display_path;
use crate::project::Project;
use crate::volume::{self, Volume};

pub(crate) fn run(project: &Project, _args: &NewArgs) -> anyhow::Result<()> {
    let files = volume::files(&project.volumes_dir())?;
    let (highest, _) = *files
        .last()
        .expect("`volume::files` finds at least one file");
    let latest = latest_published(&files)?;
    let previous = volume::load(&latest)?;
    let number = highest.max(*previous.meta.number.get_ref()) + 1;
    let path = project.volumes_dir().join(format!("{number:03}.toml"));
    let text = scaffold(&previous, number, &display_path(&latest));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot create {} (it is never overwritten)",
                display_path(&path)
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    say(format_args!(
        "created {} (volume {number}) from {}; fill in the TKs, watching `broadsheet preview {}`",
        display_path(&path),
        display_path(&latest),
        display_path(&path),
    ))?;
    Ok(())
}

/// The newest volume file that is not a draft.
fn latest_published(files: &[(u32, PathBuf)]) -> anyhow::Result<PathBuf> {
    for (_, path) in files.iter().rev() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read volume {}", path.display()))?;
        if !volume::is_draft_text(&text) {
            return Ok(path.clone());
        }
    }
    let dir = files
        .first()
        .and_then(|(_, p)| p.parent())
        .unwrap_or(Path::new("."));
    bail!(
        "every volume in {} is a draft: `new` starts from the latest one that is not",
        display_path(dir)
    )
}

/// The `[hero]` and `[expert_view]` tables of the next volume, placeholders where the copy
/// goes, each after an empty line.
fn tables(previous: &Volume) -> String {
    let mut out = String::from("\n[hero]\n");
    if let Some(hero) = &previous.hero {
        // Readers saw last week's image: `check` refuses it unmarked, so it is only named.
        let _ = writeln!(
            out,
            "# volume {}'s image was {}: to show it again, put it here with `reuse = true`",
            previous.meta.number.get_ref(),
            hero.src.get_ref()
        );
    }
    out.push_str("src = \"TK\"\nalt = \"TK\"");
    if let Some(ev) = &previous.expert_view {
        let _ = write!(
            out,
            "\n\n[expert_view]\nheading = {}",
            quoted(ev.heading.get_ref())
        );
        for key in ["author", "role", "intro", "body"] {
            let _ = write!(out, "\n{key} = \"TK\"");
        }
        if let Some(after) = &ev.after {
            let _ = write!(out, "\nafter = {}", after.get_ref());
        }
    }
    out
}

/// A TOML string literal for `value`.
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn scaffold(previous: &Volume, number: u32, from: &str) -> String {
    let meta = &previous.meta;
    let period = meta.period.get_ref();
    let (start, end) = (*period.from.get_ref(), *period.to.get_ref());
    // Numbers skipped (drafts between) move the period on once each.
    let steps = i64::from(number.saturating_sub(*meta.number.get_ref()).max(1));
    let length = start.days_until(end);
    let next_start = end.add_days(1 + (steps - 1) * (length + 1));
    let next_end = next_start.add_days(length);
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "# Volume {number}, started by `broadsheet new` from {from}.\n\
         # Replace every TK and add the picks, watching `broadsheet preview` on this file.\n\
         # Delete `draft = true` when it is ready: `archive` leaves drafts out, `dispatch` refuses them,\n\
         # and `check` counts a TK or missing picks as errors from then on."
    ));
    line(String::new());
    line(format!("number = {number}"));
    line("draft = true".to_owned());
    line(format!("title = {}", quoted(meta.title.get_ref())));
    line("headline = \"TK\"".to_owned());
    line("preheader = \"TK\"".to_owned());
    line(format!(
        "period = {{ from = {next_start}, to = {next_end} }}"
    ));
    for (key, value) in [("lang", &meta.lang), ("layout", &meta.layout)] {
        if let Some(value) = value {
            line(format!("{key} = {}", quoted(value.get_ref())));
        }
    }
    if let Some(intro) = &meta.intro {
        line(format!("intro = {}", quoted(intro.get_ref())));
    }
    line(tables(previous));
    let mut example = String::new();
    let _ = write!(
        example,
        "\n# Picks in editorial order. Copy this example once per pick and uncomment it.\n\
         # [[picks]]\n\
         # summary = \"One paragraph of inline Markdown: *emphasis*, [links](https://example.org/).\"\n\
         # source = \"Outlet\"\n\
         # date = {next_start}\n\
         # url = \"https://example.org/article\"\n\
         # topics = [\"chips\"]   # optional: for readers who chose topics\n\
         # id = \"short-slug\"    # optional: lets other text link here as (pick:short-slug)\n\
         # older = true         # optional: an item deliberately older than the period (or the reason)"
    );
    line(example);
    out
}
