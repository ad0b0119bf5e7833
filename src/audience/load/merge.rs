//! Merging a checked row into the audience: a new recipient, or one more row of a person
//! already listed in another file (the union of their segments and topics), with a warning
//! when the two rows disagree on the name or the topics.

use super::{Field, Loader, Problem, Row};
use crate::audience::{Place, Recipient, Sighting};

impl Loader<'_> {
    /// Adds a row as a new recipient or merges it into the one with its address; the same
    /// address twice in one file is an error, and a name or topics that differ from the
    /// earlier row's are warnings naming both places.
    pub(super) fn merge(&mut self, row: Row, place: Place) -> Result<Vec<Problem>, String> {
        let key = row.address.key();
        if let Some((traced, _)) = &self.trace
            && *traced == key
        {
            let names = self
                .segments
                .iter()
                .enumerate()
                .filter(|(i, _)| row.segments & (1 << i) != 0)
                .map(|(_, s)| s.name.clone())
                .collect();
            let at = format!("{}:{}", self.files[usize::from(place.file)], place.line);
            self.sightings.push(Sighting {
                place: at,
                origin: self.origin.take(),
                segments: names,
            });
        }
        let Some(i) = self.index.find(&self.recipients, &key) else {
            let i = u32::try_from(self.recipients.len())
                .map_err(|_| "too many recipients".to_owned())?;
            let topics = row.topics.map_or(0, |t| self.topic_sets.intern(t));
            self.recipients.push(Recipient::new(
                &row.address,
                [row.name.as_deref(), row.greeting.as_deref()],
                row.segments,
                topics,
                place,
            ));
            self.index.insert(&self.recipients, &key, i);
            return Ok(Vec::new());
        };
        let i = usize::try_from(i).expect("u32 fits usize");
        let last = self.recipients[i].last;
        if last.file == place.file {
            return Err(format!(
                "`{}` is listed twice in this file (already on line {})",
                row.address, last.line
            ));
        }
        let warnings = self.conflicts(&self.recipients[i], &row);
        let r = &mut self.recipients[i];
        self.merged += 1;
        r.segments |= row.segments;
        r.fill([row.name.as_deref(), row.greeting.as_deref()]);
        if let Some(mut more) = row.topics {
            more.extend(self.topic_sets.get(r.topics).unwrap_or_default());
            r.topics = self.topic_sets.intern(more);
        }
        r.last = place;
        Ok(warnings)
    }

    /// How `row` disagrees with the earlier row of the same person: another name, or
    /// other topics.
    fn conflicts(&self, earlier: &Recipient, row: &Row) -> Vec<Problem> {
        let at = format!(
            "{}:{}",
            self.files[usize::from(earlier.last.file)],
            earlier.last.line
        );
        let mut found = Vec::new();
        if let (Some(old), Some(new)) = (earlier.name(), row.name.as_deref())
            && old != new
        {
            found.push((
                Field::Name,
                format!(
                    "`{}` is named `{old}` in {at} and `{new}` here; the name in {at} is kept",
                    earlier.email()
                ),
            ));
        }
        let names = |ids: &[u16]| -> Vec<&str> {
            let mut names: Vec<&str> = ids.iter().map(|&t| &*self.topics[usize::from(t)]).collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        if let (Some(old), Some(new)) = (self.topic_sets.get(earlier.topics), &row.topics)
            && names(old) != names(new)
        {
            found.push((
                Field::Topic(0),
                format!(
                    "`{}` chose the topics {} in {at} and {} here; both are kept",
                    earlier.email(),
                    names(old).join(";"),
                    names(new).join(";")
                ),
            ));
        }
        found
    }
}
