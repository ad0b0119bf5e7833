//! The suppression list: addresses that must never get another volume (unsubscribed,
//! bounced, complained). The tool owns the file (`state/suppressions.csv`, mode 0600,
//! git-ignored); people change it with `broadsheet suppress`, later the dispatcher too.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Address;
use super::csv::{self, Record};
use crate::date::Date;
use crate::diag::{Diagnostic, Diagnostics, display_path};

/// The suppression file, relative to the project root.
pub const SUPPRESSIONS_FILE: &str = "state/suppressions.csv";

const HEADER: &str = "email,reason,since";

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

    fn parse(text: &str) -> Option<Self> {
        [Self::Unsubscribed, Self::Bounced, Self::Complained]
            .into_iter()
            .find(|r| r.as_str() == text)
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
}

/// The suppression list, keyed case-insensitively.
#[derive(Debug, Default)]
pub struct Suppressions {
    path: PathBuf,
    entries: BTreeMap<Box<str>, Suppression>,
}

impl Suppressions {
    /// Reads the list of the project in `root`; a missing file is an empty list.
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(SUPPRESSIONS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let shown = display_path(&path);
        let mut list = Self {
            path,
            entries: BTreeMap::new(),
        };
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

    /// Adds or replaces a suppression; returns the one it replaced.
    pub fn insert(&mut self, suppression: Suppression) -> Option<Suppression> {
        self.entries.insert(suppression.address.key(), suppression)
    }

    /// Removes the suppression of `address`; returns it.
    pub fn remove(&mut self, address: &Address) -> Option<Suppression> {
        self.entries.remove(&address.key())
    }

    /// Writes the list back (mode 0600, atomically).
    pub fn save(&self) -> anyhow::Result<()> {
        let mut out = format!("{HEADER}\n");
        for s in self.entries.values() {
            let _ = writeln!(
                out,
                "{},{},{}",
                csv::quote(s.address.as_str()),
                s.reason,
                s.since
            );
        }
        crate::private::write(&self.path, out.as_bytes())
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let mut list = Suppressions::load(dir.path()).unwrap();
        let address = Address::parse("Ana@Example.org").unwrap();
        let since = Date::new(2024, 5, 9).unwrap();
        list.insert(Suppression {
            address: address.clone(),
            reason: Reason::Bounced,
            since,
        });
        list.save().unwrap();
        let again = Suppressions::load(dir.path()).unwrap();
        let found = again
            .get(&Address::parse("ana@EXAMPLE.org").unwrap())
            .unwrap();
        assert_eq!((found.reason, found.since), (Reason::Bounced, since));
        assert_eq!(again.iter().count(), 1);
    }
}
