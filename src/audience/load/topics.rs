//! Recipient topics as the loader reads them: each written value split into names by the
//! rule of [`crate::audience::topic`], each name checked against that rule and against
//! `[topics]`, and every problem tallied, so that one problem repeated on many rows of a
//! file is one diagnostic at its first place with the count of rows.

use std::collections::HashMap;

use super::Loader;
use crate::audience::store::STORE_FILE;
use crate::audience::topic::{self, Flaw};
use crate::diag::{Diagnostic, Location, unknown_name_notes};

/// What is wrong with a topic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Problem {
    /// Not one topic: an error.
    Flaw(Flaw),
    /// Not in `[topics]`: a warning.
    Undeclared,
    /// The 65,537th distinct topic: an error.
    TooMany,
}

/// One problem with one name in one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    file: u16,
    name: Box<str>,
    problem: Problem,
}

/// A problem's first place (none in the audience store) and how many rows have it.
#[derive(Debug)]
struct Count {
    key: Key,
    first: Option<Location>,
    rows: usize,
}

/// The topic problems of a load, each counted once per row, in the order first met.
#[derive(Debug, Default)]
pub(super) struct Tally {
    counts: Vec<Count>,
    index: HashMap<Key, usize>,
}

impl Tally {
    fn add(&mut self, key: Key, place: impl FnOnce() -> Option<Location>) {
        match self.index.get(&key) {
            Some(&i) => self.counts[i].rows += 1,
            None => {
                self.index.insert(key.clone(), self.counts.len());
                self.counts.push(Count {
                    key,
                    first: place(),
                    rows: 1,
                });
            }
        }
    }
}

impl Loader<'_> {
    /// The ids of the topics a row's `values` name in `file`, each once; `locate` gives the
    /// place of value `i` (none in the store). A flawed name is tallied as an error and
    /// left out; an undeclared one is tallied as a warning and kept.
    pub(super) fn topic_ids(
        &mut self,
        values: &[&str],
        file: u16,
        locate: &dyn Fn(usize) -> Option<Location>,
    ) -> Vec<u16> {
        let mut ids = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, value) in values.iter().enumerate() {
            for name in topic::split(value) {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                let place = || locate(i).map(|l| narrow(l, name));
                let problem = match topic::flaw(name) {
                    Some(flaw) => Some(Problem::Flaw(flaw)),
                    None => match self.intern_topic(name) {
                        Some(id) => {
                            ids.push(id);
                            let declared = self.declared.is_empty()
                                || self.declared.binary_search(&name).is_ok();
                            (!declared).then_some(Problem::Undeclared)
                        }
                        None => Some(Problem::TooMany),
                    },
                };
                if let Some(problem) = problem {
                    let name = name.into();
                    self.tally.add(
                        Key {
                            file,
                            name,
                            problem,
                        },
                        place,
                    );
                }
            }
        }
        ids
    }

    /// The id of topic `name`, given it when first met; `None` past the 65,536th.
    fn intern_topic(&mut self, name: &str) -> Option<u16> {
        if let Some(&id) = self.topic_ids.get(name) {
            return Some(id);
        }
        let id = u16::try_from(self.topics.len()).ok()?;
        self.topics.push(name.into());
        self.topic_ids.insert(name.into(), id);
        Some(id)
    }

    /// Turns the tally into diagnostics, one per problem and file.
    pub(super) fn report_topics(&mut self) {
        for count in std::mem::take(&mut self.tally).counts {
            let d = self.topic_diagnostic(&count);
            self.diags.push(d);
        }
    }

    fn topic_diagnostic(&self, count: &Count) -> Diagnostic {
        let name = &*count.key.name;
        let mut d = match count.key.problem {
            Problem::Flaw(flaw) => {
                let notes = flaw.notes(name, &self.declared);
                notes
                    .into_iter()
                    .fold(Diagnostic::error(flaw.message(name)), Diagnostic::note)
            }
            Problem::Undeclared => {
                let message =
                    format!("topic `{name}` is not declared in broadsheet.toml's [topics]");
                unknown_name_notes(name, &self.declared)
                    .into_iter()
                    .fold(Diagnostic::warning(message), Diagnostic::note)
                    .note("if it is meant, add it to [topics]: readers choose their topics from that table on the preferences page")
            }
            Problem::TooMany => Diagnostic::error("more than 65,536 distinct topics"),
        };
        let rows = count.rows;
        match &count.first {
            Some(first) => {
                if rows > 1 {
                    d = d.note(format!(
                        "{rows} rows of {} have it; the first is shown",
                        first.path
                    ));
                }
                d.at(first.clone())
            }
            None => {
                d.message = format!("{STORE_FILE}: {}", d.message);
                d.note(format!("in the topic choices of {rows} reader(s)"))
            }
        }
    }
}

/// `location` (a whole value) narrowed to where `piece` is written in it, when it can be
/// found there (escapes may hide it).
fn narrow(location: Location, piece: &str) -> Location {
    let line = &location.line_text;
    let start = line
        .char_indices()
        .nth(location.column.saturating_sub(1))
        .map_or(line.len(), |(at, _)| at);
    // A CSV cell's place starts at its opening quote but is as wide as its value: two
    // characters more cover the quotes.
    let end = line[start..]
        .char_indices()
        .nth(location.width + 2)
        .map_or(line.len(), |(at, _)| start + at);
    match line[start..end].find(piece) {
        Some(at) => Location {
            column: line[..start + at].chars().count() + 1,
            width: piece.chars().count(),
            ..location
        },
        None => location,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_narrows_to_the_topic_written_in_it() {
        let cell = Location {
            path: "list.csv".to_owned(),
            line: 2,
            column: 17,
            line_text: "ana@example.org,\"ai, machine learning\",xy".to_owned(),
            width: 20,
        };
        let narrowed = narrow(cell.clone(), "machine learning");
        assert_eq!((narrowed.column, narrowed.width), (22, 16));
        assert_eq!(narrow(cell.clone(), "y"), cell, "not inside the value");
        assert_eq!(narrow(cell.clone(), "robots"), cell);
    }
}
