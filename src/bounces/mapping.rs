//! Which of our recipients a finding concerns: the VERP token of the return path first (it
//! names the volume and the recipient, signed), else the returned Message-ID looked up in
//! the ledger, else the reported address when it is one of ours. A report that names
//! nobody we know maps to nobody: nothing is ever guessed.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use serde::Serialize;

use super::{Finding, Report};
use crate::audience::Address;
use crate::ledger::LEDGER_FILE;
use crate::unsubscribe::Signer;
use crate::verp::{self, TAG_LEN};

/// How a finding was tied to a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MappedBy {
    /// The signed VERP token of the return path.
    Verp,
    /// The returned Message-ID, found in the ledger.
    MessageId,
    /// The reported address, a known recipient.
    Address,
}

/// A finding's recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The recipient.
    pub address: Address,
    /// How we know.
    pub by: MappedBy,
    /// The volume the report is about, when the token or the Message-ID says.
    pub volume: Option<u32>,
}

/// The recipients reports can be mapped to: the ledger's and the audience's.
pub struct Recipients {
    ledger: Option<Connection>,
    signer: Option<Signer>,
    known: HashMap<Box<str>, Address>,
    tags: HashMap<u32, HashMap<[u8; TAG_LEN], String>>,
}

impl Recipients {
    /// The ledger of the project in `root` (read only, when there is one), the VERP signer
    /// (the unsubscribe secret, when set) and the addresses the recipient files and the
    /// store know.
    pub fn open(
        root: &Path,
        signer: Option<Signer>,
        known: impl IntoIterator<Item = Address>,
    ) -> anyhow::Result<Self> {
        let path = root.join(LEDGER_FILE);
        let ledger = if path.exists() {
            Some(Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?)
        } else {
            None
        };
        let mut known: HashMap<Box<str>, Address> =
            known.into_iter().map(|a| (a.key(), a)).collect();
        if let Some(ledger) = &ledger {
            let mut rows = ledger.prepare("SELECT DISTINCT address FROM recipients")?;
            for address in rows.query_map([], |r| r.get::<_, String>(0))? {
                known.extend(Address::parse(&address?).ok().map(|a| (a.key(), a)));
            }
        }
        Ok(Self {
            ledger,
            signer,
            known,
            tags: HashMap::new(),
        })
    }

    /// The recipient `finding` of `report` concerns, if we can tell.
    pub fn map(&mut self, report: &Report, finding: &Finding) -> anyhow::Result<Option<Mapped>> {
        let reported = finding
            .address
            .as_deref()
            .and_then(|a| Address::parse(a).ok());
        // A token or a Message-ID names the one recipient of our message: it settles a
        // report of one finding, or the finding that names that same address.
        let fits = |address: &Address| {
            report.findings.len() == 1
                || reported.as_ref().is_some_and(|r| r.key() == address.key())
        };
        // Once the report is known to be about our message to X, a finding about anyone
        // else (a forwarding target, a directory's suggestions) is about nobody of ours.
        let mut ours = false;
        for path in &report.return_paths {
            if let Some((address, volume)) = self.by_token(path)? {
                if fits(&address) {
                    return Ok(Some(Mapped {
                        address,
                        by: MappedBy::Verp,
                        volume: Some(volume),
                    }));
                }
                ours = true;
            }
        }
        for id in &report.returned_ids {
            if let Some((address, volume)) = self.by_message_id(id)? {
                if fits(&address) {
                    return Ok(Some(Mapped {
                        address,
                        by: MappedBy::MessageId,
                        volume: Some(volume),
                    }));
                }
                ours = true;
            }
        }
        if ours {
            return Ok(None);
        }
        // The recipient as we know them, not as the report spells them.
        Ok(reported
            .and_then(|a| self.known.get(&a.key()))
            .map(|address| Mapped {
                address: address.clone(),
                by: MappedBy::Address,
                volume: None,
            }))
    }

    fn by_token(&mut self, path: &str) -> anyhow::Result<Option<(Address, u32)>> {
        let (Some(token), Some(signer), Some(ledger)) =
            (verp::decode(path), &self.signer, &self.ledger)
        else {
            return Ok(None);
        };
        let tags = match self.tags.entry(token.volume) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(volume_tags(ledger, signer, token.volume)?),
        };
        Ok(tags
            .get(&token.tag)
            .and_then(|a| Address::parse(a).ok())
            .map(|a| (a, token.volume)))
    }

    fn by_message_id(&self, id: &str) -> anyhow::Result<Option<(Address, u32)>> {
        let Some(ledger) = &self.ledger else {
            return Ok(None);
        };
        let row: Option<(String, u32)> = ledger
            .prepare_cached("SELECT address, volume FROM recipients WHERE message_id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.and_then(|(a, v)| Address::parse(&a).ok().map(|a| (a, v))))
    }
}

/// The VERP tag of every recipient of `volume` in the ledger, computed once per import.
fn volume_tags(
    ledger: &Connection,
    signer: &Signer,
    volume: u32,
) -> anyhow::Result<HashMap<[u8; TAG_LEN], String>> {
    let mut tags = HashMap::new();
    let mut rows = ledger.prepare("SELECT address FROM recipients WHERE volume = ?1")?;
    for address in rows.query_map([volume], |r| r.get::<_, String>(0))? {
        let address = address?;
        if let Ok(parsed) = Address::parse(&address) {
            tags.insert(verp::tag(signer, volume, &parsed), address);
        }
    }
    Ok(tags)
}
