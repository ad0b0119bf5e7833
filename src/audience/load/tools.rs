//! The export formats of the tools newsrooms leave (`[[imports]] from = "mailchimp"`): for
//! each, the header names of its email, name and tag columns, and how a row says whether
//! the reader is subscribed, paying, unsubscribed, bounced or never confirmed. Header names
//! are those of each tool's own export (several where its versions differ); values are
//! compared without regard to case.

use crate::audience::Reason;

/// A tool whose subscriber export an import reads as it comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    Mailchimp,
    Substack,
    Buttondown,
    Ghost,
    Beehiiv,
    Convertkit,
}

/// What a row of an export says about its reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
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
pub(super) type Cell<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

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
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn label(self) -> &'static str {
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
    pub(super) fn email(self) -> &'static [&'static str] {
        match self {
            Self::Mailchimp => &["Email Address"],
            Self::Substack | Self::Ghost | Self::Beehiiv => &["email"],
            Self::Buttondown => &["email", "email_address"],
            Self::Convertkit => &["email_address", "email", "Email Address"],
        }
    }

    /// The columns the display name is joined from (first name, last name) or read from.
    pub(super) fn name_columns(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Mailchimp => &[&["First Name", "Last Name"]],
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

    /// What the row whose cells `cell` gives says about its reader; `header` tells which
    /// columns the file has.
    pub(super) fn status(self, cell: Cell<'_>, header: &dyn Fn(&str) -> bool) -> Status {
        let yes = |name: &str| cell(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        match self {
            Self::Mailchimp if header("UNSUB_TIME") => {
                suppressed(Reason::Unsubscribed, "unsubscribed", Some("UNSUB_TIME"))
            }
            Self::Mailchimp if header("CLEAN_TIME") => {
                suppressed(Reason::Bounced, "cleaned", Some("CLEAN_TIME"))
            }
            Self::Mailchimp => Status::Subscribed { paid: false },
            Self::Substack if yes("email_disabled") => {
                suppressed(Reason::Unsubscribed, "email disabled", None)
            }
            Self::Substack => Status::Subscribed {
                paid: yes("active_subscription"),
            },
            Self::Ghost if cell("deleted_at").is_some_and(|v| !v.is_empty()) => {
                Status::Skipped("deleted")
            }
            Self::Ghost
                if cell("subscribed_to_emails")
                    .is_some_and(|v| v.eq_ignore_ascii_case("false")) =>
            {
                suppressed(Reason::Unsubscribed, "not subscribed to emails", None)
            }
            Self::Ghost => Status::Subscribed {
                paid: yes("complimentary_plan")
                    || cell("stripe_customer_id").is_some_and(|v| !v.is_empty()),
            },
            Self::Buttondown => buttondown(cell("subscriber_type").or_else(|| cell("type"))),
            Self::Beehiiv => beehiiv(cell("status"), cell("subscription_tier")),
            Self::Convertkit => convertkit(cell("state").or_else(|| cell("status"))),
        }
    }
}

fn suppressed(reason: Reason, why: &'static str, since: Option<&'static str>) -> Status {
    Status::Suppressed { reason, why, since }
}

/// Buttondown's subscriber types.
fn buttondown(kind: Option<&str>) -> Status {
    let kind = kind.unwrap_or("regular").trim().to_ascii_lowercase();
    match kind.as_str() {
        "" | "regular" | "unpaid" => Status::Subscribed { paid: false },
        "premium" | "trialed" | "gifted" | "churning" | "paused" | "past_due" => {
            Status::Subscribed { paid: true }
        }
        "unsubscribed" => suppressed(
            Reason::Unsubscribed,
            "unsubscribed",
            Some("unsubscription_date"),
        ),
        "undeliverable" => suppressed(Reason::Bounced, "undeliverable", None),
        "complained" => suppressed(Reason::Complained, "complained", None),
        "unactivated" => Status::Skipped("unactivated"),
        "blocked" => Status::Skipped("blocked"),
        "spammy" => Status::Skipped("spammy"),
        "removed" => Status::Skipped("removed"),
        _ => Status::Unknown(kind),
    }
}

/// beehiiv's subscription statuses and tiers.
fn beehiiv(status: Option<&str>, tier: Option<&str>) -> Status {
    let status = status.unwrap_or("active").trim().to_ascii_lowercase();
    let paid = tier.is_some_and(|t| {
        let t = t.trim();
        !t.is_empty() && !t.eq_ignore_ascii_case("free")
    });
    match status.as_str() {
        "" | "active" => Status::Subscribed { paid },
        "inactive" | "unsubscribed" => suppressed(Reason::Unsubscribed, "inactive", None),
        "invalid" => suppressed(Reason::Bounced, "invalid", None),
        "validating" | "pending" | "needs_attention" => Status::Skipped("not yet confirmed"),
        _ => Status::Unknown(status),
    }
}

/// Kit's (ConvertKit's) subscriber states.
fn convertkit(state: Option<&str>) -> Status {
    let state = state.unwrap_or("active").trim().to_ascii_lowercase();
    match state.as_str() {
        "" | "active" | "cold" => Status::Subscribed { paid: false },
        "cancelled" | "unsubscribed" => suppressed(Reason::Unsubscribed, "cancelled", None),
        "bounced" => suppressed(Reason::Bounced, "bounced", None),
        "complained" => suppressed(Reason::Complained, "complained", None),
        "inactive" | "unconfirmed" => Status::Skipped("unconfirmed"),
        _ => Status::Unknown(state),
    }
}

/// The tool whose export has `header`, judged by the columns only its export has, for the
/// hint on a file read without `from`.
pub(super) fn recognise(header: &[&str]) -> Option<Tool> {
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    let signatures: [(Tool, &[&str]); 6] = [
        (Tool::Mailchimp, &["Email Address", "MEMBER_RATING"]),
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
        let header = |name: &str| row.iter().any(|(h, _)| h.eq_ignore_ascii_case(name));
        tool.status(&cell, &header)
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
            status_of(Tool::Ghost, &[("stripe_customer_id", "cus_1")]),
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
            recognise(&["Email Address", "First Name", "MEMBER_RATING"]),
            Some(Tool::Mailchimp)
        );
        assert_eq!(recognise(&["email", "name"]), None);
    }
}
