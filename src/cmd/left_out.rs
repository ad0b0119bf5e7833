//! Why an address has no message of a dispatched volume, for `status --recipient`: not
//! listed, suppressed since a day, in none of the segments dispatched, or listed with
//! topics that match no pick (or joined after the dispatch), read from the recipient files
//! and the audience store as they are now.

use crate::audience::{Address, Exclusion};
use crate::ledger::Dispatch;
use crate::project::Project;

/// The reason `address` is not among the recipients of `dispatches`.
pub(crate) fn reason(
    project: &Project,
    dispatches: &[Dispatch],
    address: &str,
) -> anyhow::Result<String> {
    let address = Address::parse(address).map_err(|why| anyhow::anyhow!("`{address}` {why}"))?;
    let audience = super::audience(project, None)?;
    if let Some(s) = audience.suppressions().get(&address) {
        return Ok(format!("suppressed since {} ({})", s.since, s.reason));
    }
    let Some(recipient) = audience.find(&address) else {
        return Ok("not listed in recipients.toml or its imports".to_owned());
    };
    let mut segments: Vec<String> = dispatches.iter().flat_map(|d| d.segments.clone()).collect();
    segments.sort();
    segments.dedup();
    let selection = audience.select(&segments).map_err(anyhow::Error::msg)?;
    Ok(match audience.exclusion(recipient) {
        _ if !selection.includes(recipient) => {
            format!(
                "in none of the segments dispatched ({})",
                segments.join(", ")
            )
        }
        Some(Exclusion::Suppressed(_)) => "suppressed".to_owned(),
        Some(e) => e.to_string(),
        None => match selection.reader_key(recipient).topic_set() {
            Some(topics) => format!(
                "their topics ({}) match no pick of the volume, or they joined after it was dispatched",
                topics.into_iter().collect::<Vec<_>>().join(", ")
            ),
            None => "they joined after the volume was dispatched".to_owned(),
        },
    })
}
