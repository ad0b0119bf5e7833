//! A pick's `older` mark: `older = true`, or the reason as text (`older = "background for
//! this week's subsidy story"`), for an item deliberately older than the volume's period.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// Why a pick is older than its volume's period: marked, with or without a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Older {
    /// `older = true` (or `false`, which is as good as no mark).
    Marked(bool),
    /// `older = "the reason"`.
    Because(String),
}

impl Older {
    /// Whether the mark says the pick is deliberately older: `true` or a reason.
    pub fn is_set(&self) -> bool {
        match self {
            Self::Marked(set) => *set,
            Self::Because(_) => true,
        }
    }
}

impl<'de> Deserialize<'de> for Older {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Mark;

        impl Visitor<'_> for Mark {
            type Value = Older;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true` or the reason as text")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Older, E> {
                Ok(Older::Marked(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Older, E> {
                Ok(Older::Because(value.to_owned()))
            }
        }

        deserializer.deserialize_any(Mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Pick {
        older: Older,
    }

    fn older(toml: &str) -> Result<Older, String> {
        toml::from_str::<Pick>(toml)
            .map(|p| p.older)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_flag_or_a_reason() {
        assert_eq!(older("older = true"), Ok(Older::Marked(true)));
        assert!(!older("older = false").unwrap().is_set());
        let reason = older("older = \"background\"").unwrap();
        assert_eq!(reason, Older::Because("background".to_owned()));
        assert!(reason.is_set());
        let wrong = older("older = 2021").unwrap_err();
        assert!(wrong.contains("`true` or the reason as text"), "{wrong}");
    }
}
