//! The content of a new project: the first volume (a draft covering the current week that
//! builds, checks and proofs as it is, and teaches the format by example), the recipients
//! file with its `staff` segment, and the `.gitignore` that keeps state, output and personal
//! data out of git.

use super::Newsroom;
use super::settings::quoted;
use crate::date::Date;

/// What git leaves out: state and output, personal data, and secret files.
pub(super) const GITIGNORE_TEXT: &str = "\
# Written by `broadsheet init`. Send state, output and personal data never go into git.
/state/
/out/
/outbox/
/recipients.toml
/recipients/
*.sqlite
*.sqlite-wal
*.sqlite-shm
# Secrets: DKIM keys, certificates' private keys, environment files.
*.pem
*.key
.env
*.env
";

/// The Monday of the week holding `day` (1970-01-01 was a Thursday).
fn monday_of(day: Date) -> Date {
    let epoch = Date::from_unix_days(0);
    let weekday = (epoch.days_until(day) + 3).rem_euclid(7);
    day.add_days(-weekday)
}

/// `volumes/001.toml`: a draft for the week of `today`.
pub(super) fn first_volume(n: &Newsroom) -> String {
    let from = monday_of(n.today);
    let day = |i: i64| from.add_days(i).to_string();
    FIRST_VOLUME
        .replace("{title}", &quoted(&n.title))
        .replace("{welcome}", &quoted(&format!("Welcome to {}", n.title)))
        .replace("{from}", &from.to_string())
        .replace("{to}", &day(6))
        .replace("{day1}", &day(0))
        .replace("{day2}", &day(1))
        .replace("{day3}", &day(2))
        .replace("{role}", &quoted(&n.title))
}

const FIRST_VOLUME: &str = r#"# Volume 1, written by `broadsheet init` as a sample to write over. Keep
# `broadsheet preview volumes/001.toml` open while you do: it shows the email as readers get
# it and rebuilds on every save. `broadsheet check volumes/001.toml` lists every problem.
# Delete `draft = true` when the volume is ready: `archive` leaves drafts out, `dispatch`
# refuses them. `broadsheet new` then starts volume 2 from this one.

number = 1
draft = true
title = {title}                                # the newsletter's name, the same every week
headline = {welcome}
preheader = "What to expect every week, and three picks to start with."  # the inbox preview
period = { from = {from}, to = {to} }          # the week it covers, both days included
# subject = "..."                              # the email's subject; defaults to the headline
# lang = "en"                                  # the language, a BCP 47 tag such as `fr` or `zh-Hans`
# The intro stays from week to week (`broadsheet new` keeps it): say what the newsletter is.
intro = "Every week we pick a few stories worth your time and say in a sentence or two why."

# An image under the masthead (optional; an https URL and a description for readers who
# cannot see it):
# [hero]
# src = "https://example.org/hero.jpg"
# alt = "What the image shows"

# The picks, in editorial order: one [[picks]] table each.
[[picks]]
summary = "A pick is one paragraph of inline Markdown: *emphasis*, **bold** and [links](https://example.org/) work; raw HTML is shown as text, never run."
source = "Example Daily"
date = {day1}
url = "https://example.org/first-story"
id = "format"                                  # optional: lets other text cite it as (pick:format)

[[picks]]
summary = "Tag a pick with topics, and readers who chose topics get only the picks tagged with one of theirs (plus the expert view)."
source = "Example Weekly"
date = {day2}
url = "https://example.org/second-story"
topics = ["newsroom"]

# An expert view (optional): a longer voice, shown after `after` picks.
[expert_view]
heading = "From the editors"
author = "The editors"
role = {role}
intro = "A few words from the people who choose the picks."
body = """Body text is Markdown paragraphs. It may cite a pick by its id: [the first one](pick:format) explains how a pick is written."""
after = 2

[[picks]]
summary = "Each pick names its source and date, and links to the story itself."
source = "Example Review"
date = {day3}
url = "https://example.org/third-story"
"#;

/// `recipients.toml`: the segments, and the newsroom's own address in `staff`, which
/// `[proof] segment` sends test copies to.
pub(super) fn recipients(n: &Newsroom) -> String {
    RECIPIENTS
        .replace("{from}", &quoted(&n.from))
        .replace("{title}", &n.title)
}

const RECIPIENTS: &str = r#"# The readers of {title}. This file holds personal data, so .gitignore keeps it out of
# git. `broadsheet recipients` counts them per segment; `--explain ADDRESS` tells one story.
# Every problem is reported at once with its line, and nothing is loaded until all are fixed.

# Segments: named groups that `--segment NAME` selects.
[segments.subscribers]
description = "Readers who signed up"

[segments.staff]
description = "The newsroom: [proof] in broadsheet.toml sends test copies here"

# One [[recipients]] table per person: `email` and `segments`, and optionally `name` (the
# display name in the To header), `greeting` ("Hi Ana,"; without it the email greets nobody)
# and `topics` (only the picks tagged with one of them).
[[recipients]]
email = {from}
segments = ["staff"]

# Large lists live in CSV files (header email,name,greeting,segments,topics; lists inside a
# field separated by `;`), one [[imports]] table each:
# [[imports]]
# path = "recipients/subscribers.csv"
# segments = ["subscribers"]
#
# The export of the tool you leave imports as it comes, its unsubscribed and bounced readers
# suppressed: `from` is "mailchimp", "substack", "buttondown", "ghost", "beehiiv" or
# "convertkit", and `tags` maps its tags to topics (a name) or segments ({ segment = "..." }).
# [[imports]]
# path = "recipients/mailchimp.csv"
# from = "mailchimp"
# segments = ["subscribers"]
# tags = { "AI readers" = "ai", "Staff" = { segment = "staff" } }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let wednesday = Date::new(2026, 5, 6).unwrap();
        assert_eq!(monday_of(wednesday), Date::new(2026, 5, 4).unwrap());
        let sunday = Date::new(2026, 5, 10).unwrap();
        assert_eq!(monday_of(sunday), Date::new(2026, 5, 4).unwrap());
        assert_eq!(
            monday_of(Date::new(2026, 5, 4).unwrap()),
            Date::new(2026, 5, 4).unwrap()
        );
    }
}
