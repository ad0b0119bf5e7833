//! The audience store's part of the audience: confirmed readers join the segment they
//! signed up for, and readers' own topic choices override the topics the files give.

use super::{Loader, Place, Row};
use crate::audience::recipient::TopicSets;
use crate::audience::store::{Reader, STORE_FILE, TopicChoice};
use crate::diag::Diagnostic;

impl Loader<'_> {
    /// Merges the store's readers and topic choices, after the files.
    pub(super) fn stored(&mut self, readers: &[Reader], choices: &[TopicChoice]) {
        let file = self.add_file(STORE_FILE.to_owned());
        for reader in readers {
            let Some(&segment) = self.segment_bits.get(&reader.segment) else {
                self.diags.push(
                    Diagnostic::error(format!(
                        "{STORE_FILE}: readers signed up for the segment `{}`, which recipients.toml does not define",
                        reader.segment
                    ))
                    .note("define the segment again in recipients.toml"),
                );
                continue;
            };
            let row = Row {
                address: reader.address.clone(),
                name: reader.name.as_deref().map(Box::from),
                greeting: None,
                segments: segment,
                topics: None,
            };
            let before = self.sightings.len();
            match self.merge(row, Place { file, line: 0 }) {
                Ok(warnings) => self.diags.extend(
                    warnings
                        .into_iter()
                        .map(|(_, w)| Diagnostic::warning(format!("{STORE_FILE}: {w}"))),
                ),
                Err(problem) => self
                    .diags
                    .push(Diagnostic::error(format!("{STORE_FILE}: {problem}"))),
            }
            // A reader's row has no line: say when they signed up instead.
            if let Some(sighting) = self.sightings.get_mut(before) {
                sighting.place = format!(
                    "{STORE_FILE} (signed up {}, confirmed {})",
                    reader.signed_up_at.date(),
                    reader.confirmed_at.date()
                );
            }
        }
        for choice in choices {
            self.choose_topics(choice, file);
        }
    }

    /// A reader's own topics replace the files' and their segments' (an empty choice means
    /// every pick).
    fn choose_topics(&mut self, choice: &TopicChoice, file: u16) {
        let Some(i) = self.index.find(&self.recipients, &choice.address.key()) else {
            return;
        };
        let topics = if choice.topics.is_empty() {
            TopicSets::EVERY
        } else {
            let values: Vec<&str> = choice.topics.iter().map(String::as_str).collect();
            let ids = self.topic_ids(&values, file, &|_| None);
            self.topic_sets.intern(ids)
        };
        self.recipients[usize::try_from(i).expect("u32 fits usize")].topics = topics;
    }
}
