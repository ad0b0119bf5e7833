//! The key of a topic variant: which picks a message shows, as a set of topics (sorted,
//! each once) or every pick. Readers get the same variant exactly when their keys are
//! equal, whatever order their topics were written or loaded in. The ledger stores the key
//! as text (`all`, `topics:ai,chips`), which reads back to the same key.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::topic;

/// Which picks a variant shows: every pick, or those tagged with one of a set of topics
/// (the expert view stays in both).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariantKey(Option<BTreeSet<Box<str>>>);

impl VariantKey {
    /// The variant with every pick.
    pub fn all() -> Self {
        Self(None)
    }

    /// The variant of the picks tagged with one of `topics`. Each value is read as a list
    /// by the rule of [`topic::split`] (`"ai,chips"` is `ai` and `chips`), so the key never
    /// holds a separator and its text reads back to it.
    pub fn topics<S: AsRef<str>>(topics: impl IntoIterator<Item = S>) -> Self {
        let mut set = BTreeSet::new();
        for value in topics {
            set.extend(topic::split(value.as_ref()).map(Box::from));
        }
        Self(Some(set))
    }

    /// The topics, sorted; `None` for every pick.
    pub fn topic_set(&self) -> Option<BTreeSet<&str>> {
        self.0.as_ref().map(|t| t.iter().map(|s| &**s).collect())
    }

    /// True for the variant with every pick.
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Display for VariantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match &self.0 {
            None => "all".to_owned(),
            Some(topics) => {
                let names: Vec<&str> = topics.iter().map(|t| &**t).collect();
                format!("topics:{}", names.join(","))
            }
        };
        // `pad`, so that widths in a format string line up tables of keys.
        f.pad(&text)
    }
}

/// The ledger's text of a key is not `all` or `topics:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant(pub String);

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a variant (`all` or `topics:a,b`)",
            self.0.escape_debug()
        )
    }
}

impl std::error::Error for UnknownVariant {}

impl FromStr for VariantKey {
    type Err = UnknownVariant;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("topics:") {
            Some(list) => Ok(Self::topics([list])),
            None if text == "all" => Ok(Self::all()),
            None => Err(UnknownVariant(text.to_owned())),
        }
    }
}

impl serde::Serialize for VariantKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_set_whatever_the_order_or_the_writing() {
        let chose_two = VariantKey::topics(["chips", "ai", "chips"]);
        assert_eq!(chose_two, VariantKey::topics(["ai", "chips"]));
        assert_eq!(chose_two, VariantKey::topics(["ai,chips"]));
        assert_eq!(chose_two, VariantKey::topics([" chips ; ai "]));
        assert_eq!(chose_two.to_string(), "topics:ai,chips");
        assert_eq!(chose_two.topic_set(), Some(BTreeSet::from(["ai", "chips"])));
        assert_ne!(chose_two, VariantKey::topics(["ai"]));
        assert_ne!(VariantKey::all(), VariantKey::topics(Vec::<&str>::new()));
        assert!(VariantKey::all().is_all());
    }

    #[test]
    fn the_ledger_text_reads_back_to_the_same_key() {
        let keys = [
            VariantKey::all(),
            VariantKey::topics(Vec::<&str>::new()),
            VariantKey::topics(["ai"]),
            VariantKey::topics(["robotics", "ai", "chips-and-trade"]),
            VariantKey::topics(["machine learning"]),
        ];
        for key in keys {
            assert_eq!(
                key.to_string().parse::<VariantKey>(),
                Ok(key.clone()),
                "{key}"
            );
        }
        assert_eq!(
            "topics:chips,ai".parse(),
            Ok(VariantKey::topics(["ai", "chips"]))
        );
        let unknown = "every".parse::<VariantKey>().unwrap_err();
        assert!(unknown.to_string().contains("`every` is not a variant"));
    }

    #[test]
    fn keys_sort_every_pick_first_and_pad_in_tables() {
        let mut keys = [
            VariantKey::topics(["chips"]),
            VariantKey::all(),
            VariantKey::topics(["ai", "chips"]),
            VariantKey::topics(["ai"]),
        ];
        keys.sort();
        let text: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["all", "topics:ai", "topics:ai,chips", "topics:chips"]
        );
        assert_eq!(format!("{:<10}|", VariantKey::all()), "all       |");
        let json = serde_json::to_string(&VariantKey::topics(["ai"])).unwrap();
        assert_eq!(json, "\"topics:ai\"");
    }
}
