//! The checks of a volume's topics: against `[topics]` in broadsheet.toml when the project
//! declares them (readers choose from that table, so a topic outside it is one nobody can
//! ask for), else against each other (a topic one slip from the others is probably one).

use std::collections::BTreeMap;

use toml::Spanned;

use super::Validator;
use crate::diag::{Diagnostic, closest};
use crate::volume::Volume;

impl Validator<'_> {
    /// Warns about each topic that is not declared, or, when none are, that only one pick
    /// uses and that is one slip away from another.
    pub(super) fn check_topics(&mut self, volume: &Volume) {
        // In order of first use, so that what is reported does not depend on hashing.
        let mut uses: Vec<(&str, Vec<&Spanned<String>>)> = Vec::new();
        for topic in volume.picks.iter().flat_map(|p| &p.topics) {
            let name = topic.get_ref().as_str();
            match uses.iter_mut().find(|(n, _)| *n == name) {
                Some((_, spans)) => spans.push(topic),
                None => uses.push((name, vec![topic])),
            }
        }
        match self.checks.topics.filter(|t| !t.is_empty()) {
            Some(declared) => self.undeclared(&uses, declared),
            None => self.slips(&uses),
        }
    }

    fn undeclared(
        &mut self,
        uses: &[(&str, Vec<&Spanned<String>>)],
        declared: &BTreeMap<String, String>,
    ) {
        let known: Vec<&str> = declared.keys().map(String::as_str).collect();
        for (name, spans) in uses.iter().filter(|(n, _)| !declared.contains_key(*n)) {
            let notes = match closest(name, &known) {
                Some(meant) => vec![
                    format!("did you mean `{meant}`?"),
                    format!("or add `{name}` to [topics] so that readers can choose it"),
                ],
                None => vec![
                    "readers choose topics from [topics]; add it there so they can ask for it"
                        .to_owned(),
                ],
            };
            for span in spans {
                let mut d = Diagnostic::warning(format!(
                    "topic `{name}` is not declared in broadsheet.toml's [topics]"
                ));
                for note in &notes {
                    d = d.note(note.clone());
                }
                self.push(d, span.span());
            }
        }
    }

    fn slips(&mut self, uses: &[(&str, Vec<&Spanned<String>>)]) {
        let mut known: Vec<&str> = uses.iter().map(|(n, _)| *n).collect();
        known.sort_unstable();
        for (name, spans) in uses {
            let others: Vec<&str> = known.iter().copied().filter(|k| k != name).collect();
            if let ([once], Some(meant)) = (spans.as_slice(), closest(name, &others)) {
                self.push(
                    Diagnostic::warning(format!(
                        "topic `{name}` is used by no other pick; did you mean `{meant}`?"
                    ))
                    .note(format!(
                        "readers who chose `{meant}` will not get this pick"
                    )),
                    once.span(),
                );
            }
        }
    }
}
