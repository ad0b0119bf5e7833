//! Where a change to the audience came from (a one-click, a page, a bounce, ...): recorded
//! with every event and suppression, and shown by `suppress list` and `recipients --explain`.

/// Where a change came from, recorded with every event and suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An RFC 8058 one-click POST from a mail client.
    OneClick,
    /// The reader's own click on an unsubscribe or preferences page.
    Page,
    /// A sign-up form.
    Signup,
    /// The reader confirmed a sign-up.
    Confirmation,
    /// `broadsheet suppress add|remove`.
    Suppress,
    /// `broadsheet suppress import`.
    Import,
    /// A bounce report (DSN).
    Bounce,
    /// A complaint report (ARF).
    Complaint,
    /// A mail to the `mailto:` unsubscribe address.
    Mailto,
    /// The reader's own preferences page (topics, unsubscribe, resubscribe).
    Preferences,
    /// The old `state/suppressions.csv`, read once.
    Migration,
}

impl Source {
    const ALL: [Self; 11] = [
        Self::OneClick,
        Self::Page,
        Self::Signup,
        Self::Confirmation,
        Self::Suppress,
        Self::Import,
        Self::Bounce,
        Self::Complaint,
        Self::Mailto,
        Self::Preferences,
        Self::Migration,
    ];

    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneClick => "one-click",
            Self::Page => "page",
            Self::Signup => "sign-up",
            Self::Confirmation => "confirmation",
            Self::Suppress => "suppress",
            Self::Import => "import",
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
            Self::Mailto => "mailto",
            Self::Preferences => "preferences",
            Self::Migration => "migration",
        }
    }

    /// The source [`Source::as_str`] names.
    pub(crate) fn from_word(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
