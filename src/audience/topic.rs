//! What one recipient topic is, and how a written list of them is read. A topic value in
//! `recipients.toml`, a CSV cell or a stored choice is a list: `,` and `;` separate topics
//! (`"ai,chips"` and `"ai; chips"` are both `ai` and `chips`), spaces around each are
//! trimmed and empty pieces left out. A space inside a topic is refused rather than read
//! as a separator: `machine learning` may be one topic or two, and a guess would send
//! readers the wrong picks.

/// The characters that separate topics in one written value.
pub const SEPARATORS: [char; 2] = [',', ';'];

/// The topic names in one written value, in the order written: split at [`SEPARATORS`],
/// trimmed, empty pieces left out. The names still have to pass [`flaw`].
pub fn split(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(SEPARATORS)
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// Why a piece of text is not a topic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// Nothing but spaces, or nothing at all.
    Empty,
    /// A space (or other whitespace) inside: a list or a topic of two words cannot be told
    /// apart.
    Space,
    /// A separator inside a name given whole, such as a key of `[topics]`.
    Separator(char),
    /// A control character.
    Control(char),
}

/// What is wrong with `name` as one topic, if anything. Split values (see [`split`]) have
/// no separators left; a name given whole, such as a `[topics]` key, may.
pub fn flaw(name: &str) -> Option<Flaw> {
    if name.trim().is_empty() {
        return Some(Flaw::Empty);
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(Flaw::Control(c));
    }
    if let Some(c) = name.chars().find(|c| SEPARATORS.contains(c)) {
        return Some(Flaw::Separator(c));
    }
    name.contains(char::is_whitespace).then_some(Flaw::Space)
}

impl Flaw {
    /// The one-line message for topic `name` with this flaw.
    pub fn message(self, name: &str) -> String {
        let name = name.escape_debug();
        match self {
            Self::Empty => "a topic is empty".to_owned(),
            Self::Space => {
                format!("topic `{name}` has a space inside, and a space does not separate topics")
            }
            Self::Separator(c) => {
                format!("topic `{name}` holds `{c}`, which separates topics in recipient lists")
            }
            Self::Control(c) => format!("topic `{name}` contains the control character {c:?}"),
        }
    }

    /// Notes that help to fix `name`, given the topics `[topics]` declares (empty when the
    /// project declares none).
    pub fn notes(self, name: &str, declared: &[&str]) -> Vec<String> {
        match self {
            Self::Space => space_notes(name, declared),
            Self::Separator(_) => vec![
                "a topic is one word such as `chips`; write several words with `-`, as in `machine-learning`"
                    .to_owned(),
            ],
            Self::Empty | Self::Control(_) => Vec::new(),
        }
    }
}

/// How to write `name` (which has a space inside) so that it means what was meant: two
/// declared topics separated with `,`, or the declared topic its words make with `-` or
/// `_`, else the rule.
fn space_notes(name: &str, declared: &[&str]) -> Vec<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let joined = ["-", "_", ""].map(|glue| words.join(glue));
    if let Some(key) = joined.iter().find(|j| declared.contains(&j.as_str())) {
        return vec![format!(
            "`{key}` is a topic in broadsheet.toml's [topics]: did you mean it?"
        )];
    }
    let list = words.join(", ");
    if !declared.is_empty() && words.iter().all(|w| declared.contains(w)) {
        return vec![format!(
            "each word is a topic: to choose them all, separate them with `,` as in `{list}`"
        )];
    }
    vec![format!(
        "separate topics with `,` or `;` (as in `{list}`), and write a topic of several words with `-` (as in `{}`)",
        joined[0]
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_semicolons_separate_and_spaces_around_are_trimmed() {
        let names = |v| split(v).collect::<Vec<_>>();
        assert_eq!(names("ai,chips"), ["ai", "chips"]);
        assert_eq!(names(" ai ; chips,,policy ;"), ["ai", "chips", "policy"]);
        assert_eq!(names("chips"), ["chips"]);
        assert!(names(" , ;").is_empty());
        assert_eq!(names("machine learning"), ["machine learning"]);
    }

    #[test]
    fn a_topic_is_one_word_without_separators() {
        assert_eq!(flaw("chips"), None);
        assert_eq!(flaw("machine-learning"), None);
        assert_eq!(flaw("machine learning"), Some(Flaw::Space));
        assert_eq!(flaw("ai\u{a0}chips"), Some(Flaw::Space));
        assert_eq!(flaw("ai,chips"), Some(Flaw::Separator(',')));
        assert_eq!(flaw("ai\tchips"), Some(Flaw::Control('\t')));
        assert_eq!(flaw(" "), Some(Flaw::Empty));
    }

    #[test]
    fn a_space_is_explained_with_what_was_likely_meant() {
        let declared = ["ai", "chips", "machine-learning"];
        let notes = |name| Flaw::Space.notes(name, &declared).join("\n");
        assert!(
            notes("ai chips").contains("as in `ai, chips`"),
            "{}",
            notes("ai chips")
        );
        assert!(notes("machine learning").contains("`machine-learning` is a topic"));
        let undeclared = Flaw::Space.notes("deep tech", &[]).join("\n");
        assert!(
            undeclared.contains("`deep, tech`") && undeclared.contains("`deep-tech`"),
            "{undeclared}"
        );
        assert!(
            Flaw::Space
                .message("ai chips")
                .contains("`ai chips` has a space")
        );
    }
}
