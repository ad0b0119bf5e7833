//! How a report ended for one recipient: a DSN's `Action` field in, an [`Action`] out. What
//! a failure means for the reader is not decided here but by the one classifier,
//! [`crate::status::classify`], which also reads SMTP replies during a dispatch.

/// How a report ended for one recipient (the DSN's `Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Action {
    /// The message was not delivered and will not be.
    Failed,
    /// Delivery is still being tried: a warning that changes nothing.
    Delayed,
    /// Delivered, relayed or expanded: not a failure.
    Delivered,
}

impl Action {
    /// The DSN `Action` value's meaning.
    pub(crate) fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "delayed" => Self::Delayed,
            "delivered" | "relayed" | "expanded" => Self::Delivered,
            _ => Self::Failed,
        }
    }
}
