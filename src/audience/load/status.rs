//! `status = ...` of an `[[imports]]` table: what the rows of a file say about their
//! readers when broadsheet does not know the file's tool, or the export has no status
//! column. Either one status for every row (`status = "unsubscribed"`, for a tool that
//! exports one file per status), or a column and what each of its values means:
//!
//! ```toml
//! status = { column = "Status", subscribed = ["SUBSCRIBED"], unsubscribed = ["UNSUBSCRIBED"],
//!            bounced = ["BOUNCED"], complained = ["COMPLAINED"], left_out = ["PENDING"] }
//! ```
//!
//! Values are compared trimmed and without regard to case; `"*"` stands for any value the
//! lists do not name. A value no list names is an error on its row, since guessing could
//! mail someone who asked not to be. The same care reads a file's header: a column whose
//! name says it might hold a status (`Status`, `Unsubscribed at`, `Opt-out`) must be read
//! through `status` before the file imports.

use std::ops::Range;

use toml::Spanned;

use super::tools::Status;
use crate::audience::Reason;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The statuses a row can have, by the name `status` gives them.
const NAMES: [&str; 5] = [
    "subscribed",
    "unsubscribed",
    "bounced",
    "complained",
    "left_out",
];

/// Stands for any value the lists do not name.
const ANY: &str = "*";

/// An import's `status`, checked.
#[derive(Debug)]
pub(super) enum StatusRule {
    /// Every row has this status.
    Every(Status),
    /// Each row's status is its value in `column`.
    Column {
        column: String,
        /// Where `status` is in recipients.toml, for a column the header lacks.
        span: Range<usize>,
        /// Each listed value, lowercased and trimmed, with its status.
        values: Vec<(String, Status)>,
    },
}

impl StatusRule {
    /// Reads `status`, reporting what is wrong at its place; `None` when it cannot be used.
    pub(super) fn new(
        source: &SourceFile,
        value: &Spanned<toml::Value>,
        diags: &mut Diagnostics,
    ) -> Option<Self> {
        let error = |message: String| {
            Diagnostic::error(message)
                .at_span(source, value.span())
                .note(
                    "`status = \"subscribed\"` (or another status) for every row, or \
                     `status = { column = \"Status\", subscribed = [\"active\"], unsubscribed = [\"unsubscribed\"] }`",
                )
        };
        let rule = match value.get_ref() {
            toml::Value::String(name) => status_named(name)
                .map(Self::Every)
                .ok_or_else(|| error(format!("`{name}` is not a status: {}", listed()))),
            toml::Value::Table(table) => column_rule(table, value.span()).map_err(error),
            _ => Err(error("`status` is a status or a table".to_owned())),
        };
        rule.map_err(|d| diags.push(d)).ok()
    }

    /// The column whose values say the rows' statuses, if the rule reads one.
    pub(super) fn column(&self) -> Option<&str> {
        match self {
            Self::Column { column, .. } => Some(column),
            Self::Every(_) => None,
        }
    }

    /// The status of the row whose cells `cell` gives (the header has the column).
    pub(super) fn status<'a>(&self, cell: impl Fn(&str) -> Option<&'a str>) -> Status {
        match self {
            Self::Every(status) => status.clone(),
            Self::Column { column, values, .. } => {
                let value = cell(column).unwrap_or("").trim();
                // The listed values are lowercased as they were read.
                let lower = value.to_lowercase();
                let found = values
                    .iter()
                    .find(|(v, _)| *v == lower)
                    .or_else(|| values.iter().find(|(v, _)| v == ANY));
                found.map_or_else(|| Status::Unknown(value.to_owned()), |(_, s)| s.clone())
            }
        }
    }
}

/// The status called `name` in `status`.
fn status_named(name: &str) -> Option<Status> {
    let suppressed = |reason, why| Status::Suppressed {
        reason,
        why,
        since: None,
    };
    Some(match name {
        "subscribed" => Status::Subscribed { paid: false },
        "unsubscribed" => suppressed(Reason::Unsubscribed, "unsubscribed"),
        "bounced" => suppressed(Reason::Bounced, "bounced"),
        "complained" => suppressed(Reason::Complained, "complained"),
        "left_out" => Status::Skipped("left out"),
        _ => return None,
    })
}

fn listed() -> String {
    let names: Vec<String> = NAMES.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

/// `{ column = "...", subscribed = [...], ... }`, or what is wrong with it.
fn column_rule(table: &toml::Table, span: Range<usize>) -> Result<StatusRule, String> {
    let mut column = None;
    let mut values: Vec<(String, Status)> = Vec::new();
    for (key, value) in table {
        if key == "column" {
            let name = value.as_str().filter(|n| !n.trim().is_empty());
            column = Some(name.ok_or("`column` is the header name of the status column")?);
            continue;
        }
        let status = status_named(key)
            .ok_or_else(|| format!("unknown key `{key}`: `column`, {}", listed()))?;
        let list = match value {
            toml::Value::String(one) => vec![one.as_str()],
            toml::Value::Array(items) => items
                .iter()
                .map(toml::Value::as_str)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("`{key}` is a list of the column's values"))?,
            _ => return Err(format!("`{key}` is a list of the column's values")),
        };
        for item in list {
            let item = item.trim().to_lowercase();
            if values.iter().any(|(v, _)| *v == item) {
                return Err(format!("the value `{item}` is listed twice"));
            }
            values.push((item, status.clone()));
        }
    }
    let column = column.ok_or("a status table needs `column`, the header name it reads")?;
    Ok(StatusRule::Column {
        column: column.to_owned(),
        span,
        values,
    })
}

/// The first column of `header` whose name says it might hold whether its reader left:
/// one a file without a tool must read through `status` before it imports.
pub(super) fn status_like<'h>(header: &[&'h str]) -> Option<&'h str> {
    const HOLDING: [&str; 13] = [
        "status",
        "unsub",
        "optout",
        "optedout",
        "bounce",
        "complain",
        "blacklist",
        "blocklist",
        "suppress",
        "disabled",
        "donot",
        "clean",
        "consent",
    ];
    const BEING: [&str; 8] = [
        "subscribed",
        "issubscribed",
        "subscribedtoemails",
        "emailsubscribed",
        "optin",
        "optedin",
        "active",
        "isactive",
    ];
    header.iter().copied().find(|name| {
        let word: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        HOLDING.iter().any(|h| word.contains(h)) || BEING.contains(&word.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> Result<StatusRule, String> {
        let source = SourceFile::new(
            std::path::Path::new("recipients.toml"),
            toml_text.to_owned(),
        );
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        let value = Spanned::new(0..toml_text.len(), table["status"].clone());
        let mut diags = Diagnostics::default();
        StatusRule::new(&source, &value, &mut diags).ok_or_else(|| diags.to_string())
    }

    #[test]
    fn a_column_rule_reads_each_listed_value_and_refuses_the_others() {
        let rule = rule(
            r#"status = { column = "Status", subscribed = ["SUBSCRIBED", ""], unsubscribed = "Unsubscribed ", left_out = ["pending"] }"#,
        )
        .unwrap();
        let of = |v: &'static str| rule.status(move |c| (c == "Status").then_some(v));
        assert_eq!(of(" subscribed "), Status::Subscribed { paid: false });
        assert_eq!(of(""), Status::Subscribed { paid: false });
        assert!(matches!(
            of("UNSUBSCRIBED"),
            Status::Suppressed {
                reason: Reason::Unsubscribed,
                ..
            }
        ));
        assert_eq!(of("PENDING"), Status::Skipped("left out"));
        assert_eq!(of("BOUNCED"), Status::Unknown("BOUNCED".to_owned()));
    }

    #[test]
    fn case_is_folded_beyond_ascii_too() {
        let german = rule(
            r#"status = { column = "Status", subscribed = "Äktiv", unsubscribed = "Abgemeldet" }"#,
        )
        .unwrap();
        assert_eq!(
            german.status(|_| Some("ÄKTIV")),
            Status::Subscribed { paid: false }
        );
    }

    #[test]
    fn any_other_value_takes_the_status_of_the_star() {
        let rule =
            rule(r#"status = { column = "Unsubscribed at", subscribed = "", unsubscribed = "*" }"#)
                .unwrap();
        assert_eq!(
            rule.status(|_| Some("")),
            Status::Subscribed { paid: false }
        );
        assert!(matches!(
            rule.status(|_| Some("2024-03-01")),
            Status::Suppressed { .. }
        ));
    }

    #[test]
    fn a_wrong_status_says_what_it_may_be() {
        assert!(
            rule(r#"status = "unsubscribe""#)
                .unwrap_err()
                .contains("`left_out`")
        );
        assert!(
            rule(r#"status = { subscribed = ["a"] }"#)
                .unwrap_err()
                .contains("needs `column`")
        );
        assert!(
            rule(r#"status = { column = "S", subscribed = ["a"], bounced = ["A"] }"#)
                .unwrap_err()
                .contains("listed twice")
        );
        assert!(
            rule(r#"status = { column = "S", gone = ["a"] }"#)
                .unwrap_err()
                .contains("unknown key `gone`")
        );
    }

    #[test]
    fn columns_that_may_say_who_left_are_found_by_their_words() {
        for name in [
            "Status",
            "Subscription status",
            "Unsubscribed at",
            "Opt-out",
            "blocklisted",
            "Email disabled",
            "Subscribed",
            "Marketing consent",
            "CLEAN_TIME",
        ] {
            assert_eq!(status_like(&["Email", name]), Some(name), "{name}");
        }
        for name in [
            "State",
            "Subscribed at",
            "Signup date",
            "First Name",
            "Opt-in date",
        ] {
            assert_eq!(status_like(&["Email", name]), None, "{name}");
        }
    }
}
