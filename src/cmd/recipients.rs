//! `broadsheet recipients [--segment S ...] [--explain ADDRESS]`: counts per segment after
//! suppression and deduplication, or the story of one address with the source of every
//! fact (a file and line, or the audience store's history).

use super::say;
use crate::audience::store::Store;
use crate::audience::{Address, Audience, Exclusion, Recipient, Selection};
use crate::cli::RecipientsArgs;
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &RecipientsArgs) -> anyhow::Result<()> {
    let traced = args
        .explain
        .as_deref()
        .map(|a| Address::parse(a).map_err(|why| anyhow::anyhow!("`{a}` {why}")))
        .transpose()?;
    let audience = super::audience(project, traced.as_ref())?;
    let selection = audience.select(&args.segment).map_err(anyhow::Error::msg)?;
    match &traced {
        Some(address) => {
            let store = Store::open_read_only(&project.root)?;
            explain(&audience, &selection, address)?;
            history(store.as_ref(), &audience, address)
        }
        None => counts(&audience, &selection),
    }
}

fn counts(audience: &Audience, selection: &Selection<'_>) -> anyhow::Result<()> {
    let (rows, total) = selection.counts();
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(7);
    say(format_args!(
        "{:width$}  {:>9}  {:>10}  {:>10}  {:>9}  description",
        "segment", "listed", "suppressed", "unsendable", "receiving"
    ))?;
    for row in rows.iter().chain([&total]) {
        let description = audience
            .segments()
            .iter()
            .find(|s| s.name == row.name)
            .map_or("each person once", |s| s.description.as_str());
        say(format_args!(
            "{:width$}  {:>9}  {:>10}  {:>10}  {:>9}  {description}",
            row.name, row.listed, row.suppressed, row.unsendable, row.receiving
        ))?;
    }
    Ok(())
}

fn explain(
    audience: &Audience,
    selection: &Selection<'_>,
    address: &Address,
) -> anyhow::Result<()> {
    let listed = audience.find(address);
    say(format_args!(
        "{}",
        listed.map_or(address.as_str(), |r| r.email())
    ))?;
    for sighting in audience.sightings() {
        let origin = sighting
            .origin
            .as_ref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        say(format_args!(
            "  listed at {}{origin} in: {}",
            sighting.place,
            sighting.segments.join(", ")
        ))?;
    }
    let suppression = audience.suppressions().get(address);
    if let Some(s) = suppression {
        let reference = s
            .reference
            .as_ref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default();
        say(format_args!(
            "  suppressed since {}: {} (source: {}{reference})",
            s.since, s.reason, s.source
        ))?;
    }
    let Some(recipient) = listed else {
        return say(format_args!(
            "  gets no volume: not listed in recipients.toml or its imports"
        ))
        .map_err(Into::into);
    };
    if let Some(name) = &recipient.name() {
        say(format_args!("  name: {name}"))?;
    }
    match &recipient.greeting() {
        Some(greeting) => say(format_args!("  greeting: {greeting}"))?,
        None => say(format_args!("  greeting: none (the email greets nobody)"))?,
    }
    say(format_args!(
        "  segments: {}",
        audience.segment_names(recipient).join(", ")
    ))?;
    say(format_args!("  topics: {}", topics(audience, recipient)))?;
    let verdict = match (selection.includes(recipient), audience.exclusion(recipient)) {
        (false, _) => "gets no volume: in none of the segments asked for".to_owned(),
        (true, Some(Exclusion::Suppressed(_))) => "gets no volume: suppressed".to_owned(),
        (true, Some(e)) => format!("gets no volume: {e}"),
        (true, None) => {
            let key = selection.reader_key(recipient);
            match key.topic_set() {
                None => format!("gets a volume with every pick (variant `{key}`)"),
                Some(topics) => format!(
                    "gets a volume with the picks tagged {} (and the expert view), if it has any (variant `{key}`)",
                    topics.into_iter().collect::<Vec<_>>().join(" or ")
                ),
            }
        }
    };
    say(format_args!("  {verdict}")).map_err(Into::into)
}

/// The reader's topics as the loader merged them (a choice in the store overrides the
/// files'); where they came from is in the history below.
fn topics(audience: &Audience, recipient: &Recipient) -> String {
    match audience.chosen_topics(recipient) {
        Some(topics) if topics.is_empty() => "every pick, by their own choice".to_owned(),
        Some(topics) => topics.into_iter().collect::<Vec<_>>().join(", "),
        None => "none chosen (the segments decide)".to_owned(),
    }
}

/// Every change the audience store recorded for `address`, oldest first.
fn history(store: Option<&Store>, audience: &Audience, address: &Address) -> anyhow::Result<()> {
    let events = store
        .map(|s| s.history(address))
        .transpose()?
        .unwrap_or_default();
    if let Some(choice) = store
        .map(|s| s.topic_choice(address))
        .transpose()?
        .flatten()
        .filter(|_| audience.find(address).is_some())
    {
        say(format_args!(
            "  topics chosen {} ({}), overriding the files'",
            choice.at.date(),
            choice.source
        ))?;
    }
    if !events.is_empty() {
        say(format_args!(
            "  history ({}):",
            crate::audience::store::STORE_FILE
        ))?;
    }
    for e in events {
        let reference = e.reference.map(|r| format!(", {r}")).unwrap_or_default();
        say(format_args!(
            "    {} {} ({}{reference})",
            e.at.date(),
            e.change,
            e.source
        ))?;
    }
    Ok(())
}
