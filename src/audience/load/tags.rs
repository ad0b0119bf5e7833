//! Tags of another tool's export, brought over through an import's table: `tags = { "AI
//! readers" = "ai", "Staff" = { segment = "staff" } }` gives each tag the topics and segments
//! it stands for. A cell holds several tags as the tool writes them (`"AI readers","Chips"`
//! in Mailchimp's, `ai,chips` in others'); tags no entry names are counted and reported
//! once per file, with how many rows carry each.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// What one tag gives a row.
#[derive(Debug, Default, Clone)]
pub(super) struct Target {
    /// Topic names.
    pub(super) topics: Vec<String>,
    /// Segment names, each defined in recipients.toml.
    pub(super) segments: Vec<String>,
}

/// An import's `tags` table, keyed by the tag in lowercase (tools compare tags so).
#[derive(Debug, Default)]
pub(super) struct TagTable {
    targets: HashMap<String, Target>,
}

/// The entries of a `tags` table as written.
pub(super) type TagEntries = BTreeMap<String, Spanned<toml::Value>>;

impl TagTable {
    /// Reads the table, reporting values that are not a topic, a list of topics or a table
    /// of `segment(s)` and `topic(s)`, topics that are not one word, and segments
    /// recipients.toml does not define (`unknown_segment` says why); `None` after a problem.
    pub(super) fn new(
        source: &SourceFile,
        entries: &TagEntries,
        unknown_segment: &dyn Fn(&str) -> Option<String>,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let before = diags.counts().0;
        let mut targets = HashMap::new();
        for (tag, value) in entries {
            let mut error = |message: String| {
                diags.push(Diagnostic::error(message).at_span(source, value.span()));
            };
            let Some(target) = target(value.get_ref()) else {
                error(format!(
                    "the tag `{tag}` must map to a topic (\"ai\"), a list of topics, or a table such as {{ segment = \"staff\" }}"
                ));
                continue;
            };
            for topic in target.topics.iter().filter(|t| !is_word(t)) {
                error(format!("topic `{topic}` must be one word, e.g. `chips`"));
            }
            for message in target.segments.iter().filter_map(|s| unknown_segment(s)) {
                error(message);
            }
            if targets.insert(tag.to_lowercase(), target).is_some() {
                error(format!(
                    "the tag `{tag}` is mapped twice (tags are compared without regard to case)"
                ));
            }
        }
        (diags.counts().0 == before).then_some(Self { targets })
    }

    /// What `tag` gives, if the table names it.
    pub(super) fn get(&self, tag: &str) -> Option<&Target> {
        self.targets.get(&tag.to_lowercase())
    }
}

/// A topic name: one word, no separators.
fn is_word(topic: &str) -> bool {
    !topic.is_empty()
        && !topic
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';'))
}

/// The target a value names: a string (a topic), a list of strings (topics), or a table of
/// `segment`, `segments`, `topic` and `topics`.
fn target(value: &toml::Value) -> Option<Target> {
    let strings = |v: &toml::Value| -> Option<Vec<String>> {
        match v {
            toml::Value::String(s) => Some(vec![s.clone()]),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        }
    };
    match value {
        toml::Value::Table(table) => {
            let mut target = Target::default();
            for (key, v) in table {
                let list = strings(v)?;
                match key.as_str() {
                    "segment" | "segments" => target.segments.extend(list),
                    "topic" | "topics" => target.topics.extend(list),
                    _ => return None,
                }
            }
            Some(target)
        }
        other => strings(other).map(|topics| Target {
            topics,
            segments: Vec::new(),
        }),
    }
}

/// The tags in one cell: separated by `,` or `;`, each optionally in double quotes (so a
/// quoted tag may hold a comma), trimmed, empty ones left out.
pub(super) fn split(cell: &str) -> Vec<Cow<'_, str>> {
    let mut tags = Vec::new();
    let mut rest = cell.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            tags.push(Cow::Borrowed(quoted[..end].trim()));
            rest = quoted.get(end + 1..).unwrap_or("");
            rest = rest.trim_start().trim_start_matches([',', ';']);
        } else {
            let end = rest.find([',', ';']).unwrap_or(rest.len());
            tags.push(Cow::Borrowed(rest[..end].trim()));
            rest = rest.get(end + 1..).unwrap_or("");
        }
        rest = rest.trim_start();
    }
    tags.retain(|t| !t.is_empty());
    tags
}

/// Tags a file carries that its table does not name, with the rows that carry each.
#[derive(Debug, Default)]
pub(super) struct Unmapped {
    counts: HashMap<String, usize>,
    order: Vec<String>,
}

impl Unmapped {
    /// Counts one row carrying `tag`.
    pub(super) fn add(&mut self, tag: &str) {
        match self.counts.get_mut(tag) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(tag.to_owned(), 1);
                self.order.push(tag.to_owned());
            }
        }
    }

    /// One warning naming the unmapped tags, the most frequent first, or none.
    pub(super) fn warning(&self, path: &str) -> Option<Diagnostic> {
        let mut tags: Vec<(&String, usize)> =
            self.order.iter().map(|t| (t, self.counts[t])).collect();
        if tags.is_empty() {
            return None;
        }
        tags.sort_by_key(|t| std::cmp::Reverse(t.1));
        const SHOWN: usize = 20;
        let mut listed: Vec<String> = tags
            .iter()
            .take(SHOWN)
            .map(|(t, n)| format!("`{t}` ({n} row{})", if *n == 1 { "" } else { "s" }))
            .collect();
        if tags.len() > SHOWN {
            listed.push(format!("and {} more", tags.len() - SHOWN));
        }
        Some(
            Diagnostic::warning(format!(
                "{path}: {} with no entry in the import's `tags` {} no topic or segment: {}",
                if tags.len() == 1 { "1 tag".to_owned() } else { format!("{} tags", tags.len()) },
                if tags.len() == 1 { "gives" } else { "give" },
                listed.join(", ")
            ))
            .note("map each in the import: `tags = { \"AI readers\" = \"ai\", \"Staff\" = { segment = \"staff\" } }`; `\"Old list\" = []` leaves one out quietly"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_split_as_each_tool_writes_them() {
        assert_eq!(split(r#""AI readers","Chips""#), ["AI readers", "Chips"]);
        assert_eq!(split("ai,chips"), ["ai", "chips"]);
        assert_eq!(split(" ai ; chips ,"), ["ai", "chips"]);
        assert_eq!(split(r#""Lima, Ana","x""#), ["Lima, Ana", "x"]);
        assert!(split("  ").is_empty());
    }

    #[test]
    fn tables_map_tags_to_topics_and_segments() {
        let text = "ai = \"ai\"\nstaff = { segment = \"staff\", topics = [\"chips\"] }\nold = []\n";
        let table: toml::Table = text.parse().unwrap();
        let mut entries = TagEntries::new();
        for (k, v) in table {
            entries.insert(k, Spanned::new(0..1, v));
        }
        let source = SourceFile::new(std::path::Path::new("recipients.toml"), text.to_owned());
        let mut diags = Diagnostics::default();
        let known = |s: &str| (s != "staff").then(|| format!("unknown segment `{s}`"));
        let table = TagTable::new(&source, &entries, &known, &mut diags).unwrap();
        assert_eq!(table.get("AI").unwrap().topics, ["ai"]);
        let staff = table.get("staff").unwrap();
        assert_eq!(
            (staff.segments.as_slice(), staff.topics.as_slice()),
            (&["staff".to_owned()][..], &["chips".to_owned()][..])
        );
        assert!(table.get("old").unwrap().topics.is_empty());
        entries.insert(
            "bad".to_owned(),
            Spanned::new(0..1, toml::Value::from("AI readers")),
        );
        assert!(TagTable::new(&source, &entries, &known, &mut diags).is_none());
        assert!(diags.iter().any(|d| d.message.contains("must be one word")));
    }

    #[test]
    fn unmapped_tags_are_one_warning_most_frequent_first() {
        let mut unmapped = Unmapped::default();
        for tag in ["VIP", "Old list", "Old list"] {
            unmapped.add(tag);
        }
        let warning = unmapped.warning("list.csv").unwrap();
        assert!(warning.message.contains("2 tags"), "{}", warning.message);
        assert!(
            warning
                .message
                .ends_with("`Old list` (2 rows), `VIP` (1 row)"),
            "{}",
            warning.message
        );
    }
}
