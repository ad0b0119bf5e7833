//! The suppression list: addresses that must never get another volume (unsubscribed,
//! bounced, complained). It lives in the audience store (`state/audience.sqlite`); this is
//! its in-memory form, and the reader of the old `state/suppressions.csv` that the store
//! moves in once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::Context as _;

use super::Address;
use super::csv::{self, Record};
use super::source::Source;
use crate::date::Date;
use crate::diag::{Diagnostic, Diagnostics, display_path};

/// The old suppression file, relative to the project root: read once into the store.
pub const SUPPRESSIONS_FILE: &str = "state/suppressions.csv";

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reason {
    /// The reader unsubscribed.
    Unsubscribed,
    /// Mail to the address bounced permanently.
    Bounced,
    /// The reader marked a volume as spam.
    Complained,
}

impl Reason {
    /// The word used in the file and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::Unsubscribed, Self::Bounced, Self::Complained]
            .into_iter()
            .find(|r| r.as_str() == text)
    }

    /// True when this reason may replace `other`: a bounce or complaint replaces an
    /// unsubscribe, never the other way round (a reader's resubscribe lifts only their own).
    pub fn outranks(self, other: Self) -> bool {
        self.rank() > other.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Self::Unsubscribed => 0,
            Self::Bounced => 1,
            Self::Complained => 2,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One suppressed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The address as it was suppressed.
    pub address: Address,
    /// Why.
    pub reason: Reason,
    /// The day it was added.
    pub since: Date,
    /// Where it came from.
    pub source: Source,
    /// The report or message it came from, if any (e.g. a bounce's Message-ID).
    pub reference: Option<String>,
    /// Why the report that caused it was sent, when one did (`user-unknown` for a
    /// bounce, `complaint`): what `suppress list` shows beside the reason.
    pub detail: Option<crate::status::Reason>,
}

/// The suppression list, keyed case-insensitively.
#[derive(Debug, Default)]
pub struct Suppressions {
    entries: BTreeMap<Box<str>, Suppression>,
}

impl Suppressions {
    /// Reads the old `state/suppressions.csv`; a missing file is an empty list.
    pub(crate) fn load_csv(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(SUPPRESSIONS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let shown = display_path(&path);
        let mut list = Self::default();
        let mut diags = Diagnostics::default();
        for record in csv::records(&shown, &text).skip(1) {
            match record.and_then(|r| parse_row(&shown, &r)) {
                Ok(s) => {
                    list.entries.insert(s.address.key(), s);
                }
                Err(d) => diags.push(*d),
            }
        }
        if diags.has_errors() {
            return Err(diags.into());
        }
        Ok(list)
    }

    /// The suppression of `address`, if any.
    pub fn get(&self, address: &Address) -> Option<&Suppression> {
        self.entries.get(&address.key())
    }

    /// Every suppression, ordered by address.
    pub fn iter(&self) -> impl Iterator<Item = &Suppression> {
        self.entries.values()
    }

    /// Adds or replaces a suppression.
    pub(crate) fn insert(&mut self, suppression: Suppression) {
        self.entries.insert(suppression.address.key(), suppression);
    }
}

fn parse_row(path: &str, record: &Record<'_>) -> Result<Suppression, Box<Diagnostic>> {
    let at = |i: usize| {
        let (offset, value) = record.field(i);
        record.locate(path, offset, value.chars().count())
    };
    let (_, email) = record.field(0);
    let address = Address::parse(email)
        .map_err(|why| Box::new(Diagnostic::error(format!("`{email}` {why}")).at(at(0))))?;
    let (_, reason) = record.field(1);
    let reason = Reason::parse(reason).ok_or_else(|| {
        Box::new(
            Diagnostic::error(format!("unknown reason `{reason}`"))
                .at(at(1))
                .note("expected `unsubscribed`, `bounced` or `complained`"),
        )
    })?;
    let (_, since) = record.field(2);
    let since = Date::parse_iso(since).ok_or_else(|| {
        Box::new(Diagnostic::error(format!("`{since}` is not a date (YYYY-MM-DD)")).at(at(2)))
    })?;
    Ok(Suppression {
        address,
        reason,
        since,
        source: Source::Migration,
        reference: None,
        detail: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_old_csv_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        let text = "email,reason,since\nAna@Example.org,bounced,2024-05-09\n";
        std::fs::write(dir.path().join(SUPPRESSIONS_FILE), text).unwrap();
        let list = Suppressions::load_csv(dir.path()).unwrap();
        let found = list
            .get(&Address::parse("ana@EXAMPLE.org").unwrap())
            .unwrap();
        let since = Date::new(2024, 5, 9).unwrap();
        assert_eq!((found.reason, found.since), (Reason::Bounced, since));
        assert_eq!(list.iter().count(), 1);
    }

    #[test]
    fn bounces_outrank_unsubscribes() {
        assert!(Reason::Bounced.outranks(Reason::Unsubscribed));
        assert!(Reason::Complained.outranks(Reason::Bounced));
        assert!(!Reason::Unsubscribed.outranks(Reason::Bounced));
    }
}
