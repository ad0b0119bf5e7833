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
use crate::date::Date;
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

/// The period `steps` periods after `start..=end`, in the cadence the period shows: whole
/// calendar months move by as many months (January gives February, a quarter the next
/// quarter); a period shorter than a week keeps its weekdays (Monday to Friday gives the
/// next Monday to Friday); any other moves on by its own length (a week, four weeks).
fn next_period(start: Date, end: Date, steps: i64) -> (Date, Date) {
    if start <= end && start.day() == 1 && end == end.month_end() {
        let months = (i64::from(end.year()) - i64::from(start.year())) * 12
            + i64::from(end.month())
            - i64::from(start.month())
            + 1;
        let next = start.month_start(steps.saturating_mul(months));
        return (next, next.month_start(months - 1).month_end());
    }
    let length = start.days_until(end);
    let next_start = start.add_days(steps.saturating_mul((length + 1).max(7)));
    (next_start, next_start.add_days(length))
}

fn scaffold(previous: &Volume, number: u32, from: &str) -> String {
    let meta = &previous.meta;
    let period = meta.period.get_ref();
    let (start, end) = (*period.from.get_ref(), *period.to.get_ref());
    // Numbers skipped (drafts between) move the period on once each.
    let steps = i64::from(number.saturating_sub(*meta.number.get_ref()).max(1));
    let (next_start, next_end) = next_period(start, end, steps);
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

#[cfg(test)]
mod tests {
    use super::next_period;
    use crate::date::Date;

    fn period(from: &str, to: &str, steps: i64) -> String {
        let day = |text| Date::parse_iso(text).expect("a date");
        let (start, end) = next_period(day(from), day(to), steps);
        format!("{start}..{end}")
    }

    #[test]
    fn whole_months_move_by_calendar_months() {
        assert_eq!(
            period("2027-01-01", "2027-01-31", 1),
            "2027-02-01..2027-02-28"
        );
        assert_eq!(
            period("2027-01-01", "2027-01-31", 2),
            "2027-03-01..2027-03-31"
        );
        assert_eq!(
            period("2027-12-01", "2027-12-31", 1),
            "2028-01-01..2028-01-31"
        );
        assert_eq!(
            period("2027-01-01", "2027-03-31", 1),
            "2027-04-01..2027-06-30"
        );
        assert_eq!(
            period("2027-11-01", "2028-02-29", 1),
            "2028-03-01..2028-06-30"
        );
    }

    #[test]
    fn a_period_shorter_than_a_week_keeps_its_weekdays() {
        // Monday to Friday.
        assert_eq!(
            period("2027-01-04", "2027-01-08", 1),
            "2027-01-11..2027-01-15"
        );
        assert_eq!(
            period("2027-01-04", "2027-01-08", 2),
            "2027-01-18..2027-01-22"
        );
        assert_eq!(
            period("2027-01-06", "2027-01-06", 1),
            "2027-01-13..2027-01-13"
        );
    }

    #[test]
    fn weeks_and_other_lengths_move_by_their_length() {
        assert_eq!(
            period("2026-12-28", "2027-01-03", 1),
            "2027-01-04..2027-01-10"
        );
        assert_eq!(
            period("2024-04-12", "2024-05-09", 1),
            "2024-05-10..2024-06-06"
        );
        assert_eq!(
            period("2024-04-12", "2024-05-09", 2),
            "2024-06-07..2024-07-04"
        );
        // Not a whole month: from the 2nd.
        assert_eq!(
            period("2027-01-02", "2027-01-31", 1),
            "2027-02-01..2027-03-02"
        );
    }
}
