//! `broadsheet recipients [--segment S ...] [--explain ADDRESS]`: counts per segment after
//! suppression and deduplication, or the story of one address.

use crate::audience::{Address, Audience, Exclusion, Selection};
use crate::cli::RecipientsArgs;
use crate::project::Project;
use crate::say;

pub(crate) fn run(project: &Project, args: &RecipientsArgs) -> anyhow::Result<()> {
    let traced = args
        .explain
        .as_deref()
        .map(|a| Address::parse(a).map_err(|why| anyhow::anyhow!("`{a}` {why}")))
        .transpose()?;
    let audience = super::audience(project, traced.as_ref())?;
    let selection = audience.select(&args.segment).map_err(anyhow::Error::msg)?;
    match &traced {
        Some(address) => explain(&audience, &selection, address),
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
    say(format_args!("{}", listed.map_or(address, |r| &r.address)))?;
    for sighting in audience.sightings() {
        say(format_args!(
            "  listed at {} in: {}",
            sighting.place,
            sighting.segments.join(", ")
        ))?;
    }
    let suppression = audience.suppressions().get(address);
    if let Some(s) = suppression {
        say(format_args!("  suppressed since {}: {}", s.since, s.reason))?;
    }
    let Some(recipient) = listed else {
        return say(format_args!(
            "  gets no volume: not listed in recipients.toml or its imports"
        ))
        .map_err(Into::into);
    };
    if let Some(name) = &recipient.name {
        say(format_args!("  name: {name}"))?;
    }
    match &recipient.greeting {
        Some(greeting) => say(format_args!("  greeting: {greeting}"))?,
        None => say(format_args!("  greeting: none (the email greets nobody)"))?,
    }
    say(format_args!(
        "  segments: {}",
        audience.segment_names(recipient).join(", ")
    ))?;
    let verdict = match (selection.includes(recipient), audience.exclusion(recipient)) {
        (false, _) => "gets no volume: in none of the segments asked for".to_owned(),
        (true, Some(Exclusion::Suppressed(_))) => "gets no volume: suppressed".to_owned(),
        (true, Some(e)) => format!("gets no volume: {e}"),
        (true, None) => match selection.reader_topics(recipient) {
            None => "gets a volume with every pick".to_owned(),
            Some(topics) => format!(
                "gets a volume with the picks tagged {} (and the expert view), if it has any",
                topics.into_iter().collect::<Vec<_>>().join(" or ")
            ),
        },
    };
    say(format_args!("  {verdict}")).map_err(Into::into)
}
