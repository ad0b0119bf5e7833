//! The export formats of the tools newsrooms leave (`[[imports]] from = "mailchimp"`): for
//! each, the header names of its email, name and tag columns, and how a row says whether
//! the reader is subscribed, paying, unsubscribed, bounced or never confirmed. Header names
//! are those of each tool's own export (several where its versions differ); values are
//! compared without regard to case.

use crate::audience::Reason;

/// A tool whose subscriber export an import reads as it comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::audience) enum Tool {
    Mailchimp,
    Substack,
    Buttondown,
    Ghost,
    Beehiiv,
    Convertkit,
}

/// What a row of an export says about its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::audience) enum Status {
    /// A reader to send to; `paid` when the export marks a paying (or comp, gift) reader.
    Subscribed { paid: bool },
    /// Never to be sent to again: an unsubscribe, a bounce, a complaint; `why` is the
    /// export's word for it, and the date column, if any, says since when.
    Suppressed {
        reason: Reason,
        why: &'static str,
        since: Option<&'static str>,
    },
    /// Not a reader yet (never confirmed) or no longer one (deleted): left out.
    Skipped(&'static str),
    /// A status value the tool does not write: an error, since guessing could mail someone
    /// who asked not to be.
    Unknown(String),
}

/// The cells of one row, by header name (case-insensitive): `None` for a column the file
/// does not have.
pub(in crate::audience) type Cell<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

impl Tool {
    /// Every tool, for messages.
    pub(super) const ALL: [Self; 6] = [
        Self::Mailchimp,
        Self::Substack,
        Self::Buttondown,
        Self::Ghost,
        Self::Beehiiv,
        Self::Convertkit,
    ];

    /// The tool named `name` in `from = "..."`.
    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The name `from` uses.
    pub(in crate::audience) fn name(self) -> &'static str {
        match self {
            Self::Mailchimp => "mailchimp",
            Self::Substack => "substack",
            Self::Buttondown => "buttondown",
            Self::Ghost => "ghost",
            Self::Beehiiv => "beehiiv",
            Self::Convertkit => "convertkit",
        }
    }

    /// The tool's name for people.
    pub(in crate::audience) fn label(self) -> &'static str {
        match self {
            Self::Mailchimp => "Mailchimp",
            Self::Substack => "Substack",
            Self::Buttondown => "Buttondown",
            Self::Ghost => "Ghost",
            Self::Beehiiv => "beehiiv",
            Self::Convertkit => "Kit (ConvertKit)",
        }
    }

    /// The header names of the email column, in order of preference.
    pub(in crate::audience) fn email(self) -> &'static [&'static str] {
        match self {
            Self::Mailchimp => &["Email Address"],
            Self::Substack | Self::Ghost | Self::Beehiiv => &["email"],
            Self::Buttondown => &["email", "email_address"],
            Self::Convertkit => &["email_address", "email", "Email Address"],
        }
    }

    /// The columns the display name is joined from (first name, last name) or read from,
    /// in order of preference: the first whose columns the header all has. Mailchimp's are
    /// its merge fields' labels, `Name` alone in an audience that keeps one.
    pub(super) fn name_columns(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Mailchimp => &[&["First Name", "Last Name"], &["First Name"], &["Name"]],
            Self::Ghost => &[&["name"]],
            Self::Beehiiv => &[&["first_name", "last_name"]],
            Self::Convertkit => &[&["first_name", "last_name"], &["first_name"]],
            Self::Substack | Self::Buttondown => &[],
        }
    }

    /// The column a greeting ("Hi Ana,") is read from: a first name, where the export has
    /// one (a full name would greet "Hi Ana Lima,"); empty when it has none.
    pub(super) fn greeting_column(self) -> &'static [&'static str] {
        match self {
            Self::Mailchimp => &["First Name"],
            Self::Beehiiv | Self::Convertkit => &["first_name"],
            Self::Substack | Self::Buttondown | Self::Ghost => &[],
        }
    }

    /// The column of tags (Ghost calls them labels); empty when the export has none.
    pub(super) fn tags_column(self) -> &'static [&'static str] {
        match self {
            Self::Mailchimp => &["TAGS"],
            Self::Ghost => &["labels"],
            Self::Buttondown | Self::Beehiiv | Self::Convertkit => &["tags"],
            Self::Substack => &[],
        }
    }

    /// Whether the export says who pays (so that `paid_segments` means something).
    pub(super) fn knows_payment(self) -> bool {
        !matches!(self, Self::Mailchimp | Self::Convertkit)
    }

    /// The columns that say whether a row's reader left, of which the export must have
    /// one: without them every row would read as a subscriber. Mailchimp has none: it
    /// exports one file per status, and its unsubscribed and cleaned files say so in their
    /// own columns. Buttondown exports its unsubscribers apart, dated.
    pub(in crate::audience) fn status_columns(self) -> &'static [&'static str] {
        match self {
            Self::Mailchimp => &[],
            Self::Substack => &["email_disabled"],
            Self::Buttondown => &["subscriber_type", "type", "unsubscription_date"],
            Self::Ghost => &["subscribed_to_emails"],
            Self::Beehiiv => &["status"],
            Self::Convertkit => &["state", "status"],
        }
    }

    /// What every row of the export file named `file_name` is, when the tool's own name for
    /// the file says it: Mailchimp's audience export holds a file per status, and its
    /// `nonsubscribed_…` file, with the same columns as the subscribed one, lists contacts
    /// added by a purchase or a form who never agreed to email marketing. The name is read
    /// as it comes out of the zip, as tools rename it (`Nonsubscribed Email Audience
    /// Export`) and as a newsroom names it (`mailchimp-nonsubscribed.csv`, `Mailchimp
    /// non-subscribers`): wherever the word is in it.
    pub(in crate::audience) fn file_status(self, file_name: &str) -> Option<Status> {
        let letters: String = file_name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        (self == Self::Mailchimp && letters.contains("nonsubscri")).then_some(Status::Skipped(
            "non-subscribed contacts, who never opted in",
        ))
    }

    /// What the row whose cells `cell` gives says about its reader (the header has one of
    /// the [`status_columns`](Self::status_columns)).
    pub(in crate::audience) fn status(self, cell: Cell<'_>) -> Status {
        let set = |name: &str| cell(name).is_some_and(|v| !v.trim().is_empty());
        match self {
            // A cleaning is dated on its row, so a file that merges Mailchimp's files still
            // tells a cleaned address from an unsubscribed one; a file with `UNSUB_TIME` is
            // the unsubscribed export, every row of it (a row without its time too).
            Self::Mailchimp
                if set("CLEAN_TIME")
                    || (cell("CLEAN_TIME").is_some() && cell("UNSUB_TIME").is_none()) =>
            {
                suppressed(Reason::Bounced, "cleaned", Some("CLEAN_TIME"))
            }
            Self::Mailchimp if cell("UNSUB_TIME").is_some() => {
                suppressed(Reason::Unsubscribed, "unsubscribed", Some("UNSUB_TIME"))
            }
            Self::Mailchimp => Status::Subscribed { paid: false },
            Self::Substack => match flag(cell("email_disabled")) {
                // An empty cell is an address whose email was never disabled.
                Ok(Some(true)) => suppressed(Reason::Unsubscribed, "email disabled", None),
                Ok(_) => match flag(cell("active_subscription")) {
                    Ok(paid) => Status::Subscribed {
                        paid: paid.unwrap_or(false),
                    },
                    Err(value) => Status::Unknown(value),
                },
                Err(value) => Status::Unknown(value),
            },
            Self::Ghost if set("deleted_at") => Status::Skipped("deleted"),
            Self::Ghost => match flag(cell("subscribed_to_emails")) {
                Ok(Some(true)) => Status::Subscribed {
                    paid: ghost_paid(cell),
                },
                Ok(Some(false)) => {
                    suppressed(Reason::Unsubscribed, "not subscribed to emails", None)
                }
                Ok(None) => Status::Unknown(String::new()),
                Err(value) => Status::Unknown(value),
            },
            Self::Buttondown => match cell("subscriber_type").or_else(|| cell("type")) {
                Some(kind) => buttondown(kind),
                None => suppressed(
                    Reason::Unsubscribed,
                    "unsubscribed",
                    Some("unsubscription_date"),
                ),
            },
            Self::Beehiiv => beehiiv(cell("status").unwrap_or(""), cell("subscription_tier")),
            Self::Convertkit => convertkit(cell("state").or_else(|| cell("status")).unwrap_or("")),
        }
    }
}

/// A yes-or-no cell: `Ok(None)` when empty or absent, `Err` with the value when it is
/// neither.
fn flag(value: Option<&str>) -> Result<Option<bool>, String> {
    let value = value.unwrap_or("").trim();
    match value.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "yes" | "1" => Ok(Some(true)),
        "false" | "no" | "0" => Ok(Some(false)),
        _ => Err(value.to_owned()),
    }
}

/// Whether a Ghost member pays, or reads as if paying: a comp, a gift, or a tier (Ghost
/// lists a member's paid and comped tiers, `products` before 5.0). A Stripe customer id
/// stays after a paid subscription ends, so it counts only in an export too old to list
/// tiers.
fn ghost_paid(cell: Cell<'_>) -> bool {
    let set = |name: &str| cell(name).is_some_and(|v| !v.trim().is_empty());
    let tiers = ["tiers", "products"];
    flag(cell("complimentary_plan")) == Ok(Some(true))
        || set("gift_id")
        || tiers.iter().any(|c| set(c))
        || (tiers.iter().all(|c| cell(c).is_none()) && set("stripe_customer_id"))
}

fn suppressed(reason: Reason, why: &'static str, since: Option<&'static str>) -> Status {
    Status::Suppressed { reason, why, since }
}

/// Buttondown's subscriber types, as its API documents them (`SubscriberType`). A reader
/// whose paid subscription ended (`churned`), is on hold (`paused`) or has yet to start
/// (`upcoming`) still gets the newsletter, but not as a paying reader; `spammy` is the
/// older name of `blocked`.
fn buttondown(kind: &str) -> Status {
    let kind = kind.trim().to_ascii_lowercase();
    match kind.as_str() {
        "regular" | "unpaid" | "churned" | "paused" | "upcoming" => {
            Status::Subscribed { paid: false }
        }
        "premium" | "trialed" | "gifted" | "churning" | "past_due" => {
            Status::Subscribed { paid: true }
        }
        "unsubscribed" => suppressed(
            Reason::Unsubscribed,
            "unsubscribed",
            Some("unsubscription_date"),
        ),
        "undeliverable" => suppressed(
            Reason::Bounced,
            "undeliverable",
            Some("undeliverability_date"),
        ),
        "complained" => suppressed(Reason::Complained, "complained", None),
        "unactivated" => Status::Skipped("unactivated"),
        "blocked" => Status::Skipped("blocked"),
        "spammy" => Status::Skipped("spammy"),
        "removed" => Status::Skipped("removed"),
        _ => Status::Unknown(kind),
    }
}

/// beehiiv's subscription statuses and tiers.
fn beehiiv(status: &str, tier: Option<&str>) -> Status {
    let status = status.trim().to_ascii_lowercase();
    let paid = tier.is_some_and(|t| {
        let t = t.trim();
        !t.is_empty() && !t.eq_ignore_ascii_case("free")
    });
    match status.as_str() {
        "active" => Status::Subscribed { paid },
        "inactive" | "unsubscribed" => suppressed(Reason::Unsubscribed, "inactive", None),
        "invalid" => suppressed(Reason::Bounced, "invalid", None),
        "validating" | "pending" | "needs_attention" => Status::Skipped("not yet confirmed"),
        _ => Status::Unknown(status),
    }
}

/// Kit's (ConvertKit's) subscriber states.
fn convertkit(state: &str) -> Status {
    let state = state.trim().to_ascii_lowercase();
    match state.as_str() {
        "active" | "cold" => Status::Subscribed { paid: false },
        "cancelled" | "unsubscribed" => suppressed(Reason::Unsubscribed, "cancelled", None),
        "bounced" => suppressed(Reason::Bounced, "bounced", None),
        "complained" => suppressed(Reason::Complained, "complained", None),
        "inactive" | "unconfirmed" => Status::Skipped("unconfirmed"),
        _ => Status::Unknown(state),
    }
}

/// The tool whose export has `header`, judged by the columns only its export has, for the
/// hint on a file read without `from` and for `suppress import`. Mailchimp's are its own
/// (`MEMBER_RATING`, `LEID`), since the email column is named by the audience's label for
/// it (`Email`, `E-Mail-Adresse`).
pub(in crate::audience) fn recognise(header: &[&str]) -> Option<Tool> {
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    let signatures: [(Tool, &[&str]); 6] = [
        (Tool::Mailchimp, &["MEMBER_RATING", "LEID"]),
        (Tool::Substack, &["email", "email_disabled"]),
        (Tool::Buttondown, &["subscriber_type"]),
        (Tool::Ghost, &["subscribed_to_emails"]),
        (Tool::Beehiiv, &["email", "subscription_tier"]),
        (Tool::Convertkit, &["email_address", "first_name"]),
    ];
    signatures
        .into_iter()
        .find(|(_, columns)| columns.iter().all(|c| has(c)))
        .map(|(tool, _)| tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(tool: Tool, row: &[(&str, &str)]) -> Status {
        let cell = |name: &str| {
            row.iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        tool.status(&cell)
    }

    #[test]
    fn each_tool_says_who_is_subscribed_paying_or_gone() {
        let paid = Status::Subscribed { paid: true };
        let free = Status::Subscribed { paid: false };
        assert_eq!(
            status_of(Tool::Substack, &[("active_subscription", "true")]),
            paid
        );
        assert_eq!(
            status_of(Tool::Substack, &[("active_subscription", "")]),
            free
        );
        assert!(matches!(
            status_of(Tool::Substack, &[("email_disabled", "TRUE")]),
            Status::Suppressed {
                reason: Reason::Unsubscribed,
                ..
            }
        ));
        assert!(matches!(
            status_of(Tool::Mailchimp, &[("CLEAN_TIME", "")]),
            Status::Suppressed {
                reason: Reason::Bounced,
                why: "cleaned",
                ..
            }
        ));
        assert_eq!(
            status_of(
                Tool::Ghost,
                &[
                    ("subscribed_to_emails", "true"),
                    ("stripe_customer_id", "cus_1")
                ]
            ),
            paid
        );
        assert_eq!(
            status_of(Tool::Buttondown, &[("subscriber_type", "Premium")]),
            paid
        );
        assert_eq!(
            status_of(Tool::Buttondown, &[("type", "unactivated")]),
            Status::Skipped("unactivated")
        );
        assert_eq!(
            status_of(
                Tool::Beehiiv,
                &[("status", "active"), ("subscription_tier", "premium")]
            ),
            paid
        );
        assert!(matches!(
            status_of(Tool::Convertkit, &[("state", "bounced")]),
            Status::Suppressed {
                reason: Reason::Bounced,
                ..
            }
        ));
        assert_eq!(
            status_of(Tool::Convertkit, &[("state", "zombie")]),
            Status::Unknown("zombie".to_owned())
        );
    }

    #[test]
    fn a_status_the_export_does_not_clearly_write_is_unknown_never_subscribed() {
        let unsubscribed = |s: Status| {
            matches!(
                s,
                Status::Suppressed {
                    reason: Reason::Unsubscribed,
                    ..
                }
            )
        };
        assert!(unsubscribed(status_of(
            Tool::Ghost,
            &[("subscribed_to_emails", " FALSE ")]
        )));
        assert!(unsubscribed(status_of(
            Tool::Substack,
            &[("email_disabled", "1")]
        )));
        for (tool, column, value) in [
            (Tool::Ghost, "subscribed_to_emails", ""),
            (Tool::Ghost, "subscribed_to_emails", "maybe"),
            (Tool::Substack, "email_disabled", "disabled"),
            (Tool::Beehiiv, "status", ""),
            (Tool::Convertkit, "state", " "),
            (Tool::Buttondown, "subscriber_type", ""),
        ] {
            assert!(
                matches!(status_of(tool, &[(column, value)]), Status::Unknown(_)),
                "{tool:?} {column}={value:?}"
            );
        }
        // An empty `email_disabled` is an address whose email was never disabled.
        assert_eq!(
            status_of(Tool::Substack, &[("email_disabled", "")]),
            Status::Subscribed { paid: false }
        );
    }

    #[test]
    fn mailchimp_dates_a_cleaning_on_its_row_and_buttondown_its_unsubscribers() {
        let merged = |unsub: &'static str, clean: &'static str| {
            status_of(
                Tool::Mailchimp,
                &[("UNSUB_TIME", unsub), ("CLEAN_TIME", clean)],
            )
        };
        assert!(matches!(
            merged("", "2024-01-02 10:00:00"),
            Status::Suppressed { why: "cleaned", .. }
        ));
        assert!(matches!(
            merged("2024-01-02 10:00:00", ""),
            Status::Suppressed {
                why: "unsubscribed",
                ..
            }
        ));
        assert_eq!(
            status_of(Tool::Mailchimp, &[("OPTIN_TIME", "")]),
            Status::Subscribed { paid: false }
        );
        assert!(matches!(
            status_of(Tool::Buttondown, &[("unsubscription_date", "2024-01-02")]),
            Status::Suppressed {
                reason: Reason::Unsubscribed,
                since: Some("unsubscription_date"),
                ..
            }
        ));
    }

    #[test]
    fn exports_are_recognised_by_their_own_columns() {
        let substack = [
            "email",
            "active_subscription",
            "expiry",
            "plan",
            "email_disabled",
            "created_at",
            "first_payment_at",
        ];
        assert_eq!(recognise(&substack), Some(Tool::Substack));
        assert_eq!(
            recognise(&["E-Mail-Adresse", "Vorname", "MEMBER_RATING", "LEID", "EUID"]),
            Some(Tool::Mailchimp)
        );
        assert_eq!(recognise(&["email", "name"]), None);
    }
}
