//! Which of our recipients a finding concerns, and on what evidence. Anyone can mail the
//! bounce address, so a report counts only when it is tied to a message we sent that reader:
//! a VERP token of the return path that verifies, one of our Message-IDs (keyed with the
//! unsubscribe secret, and in the ledger for a message that left to that address) in the
//! returned original or the report's `In-Reply-To`/`References`, our
//! unsubscribe token in the returned original's `List-Unsubscribe`, or, for a mail to the
//! `mailto:` unsubscribe address, the token its link put there. A report tied to nothing is
//! [`Mapping::Unverified`]: shown, never acted on.
//!
//! The reported address alone is evidence only for a report a relay vouched for (a verified
//! webhook), or in a project without `[sender] bounce` (the rule before VERP; `check` warns
//! that anyone can then forge reports). A token that is present and does not verify maps
//! nobody, whatever else the report says.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;

use super::{Finding, Kind, Report};
use crate::audience::Address;
use crate::ledger::Ledger;
use crate::message;
use crate::settings::UnsubscribeLink;
use crate::unsubscribe::{self, KeyIndex, Signer};
use crate::verp::{self, Purpose, TAG_LEN, Token};

/// How a finding was tied to a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MappedBy {
    /// The signed VERP token of the return path.
    Verp,
    /// One of our Message-IDs, keyed with the secret and found in the ledger for a message
    /// that left to that address.
    MessageId,
    /// The reader's unsubscribe token in the returned original.
    UnsubscribeToken,
    /// The token of a mail to the `mailto:` unsubscribe address.
    Mailto,
    /// The reported address, a known recipient (a vouched-for report, or a project without
    /// `[sender] bounce`).
    Address,
}

/// A finding's recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// The recipient.
    pub address: Address,
    /// How we know.
    pub by: MappedBy,
    /// The volume the report is about, when the token or the Message-ID says.
    pub volume: Option<u32>,
}

/// Why a report is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Doubt {
    /// It carries one of our tokens, and the token does not verify: forged or mangled.
    BadToken,
    /// Nothing in it ties it to a message we sent.
    NoEvidence,
    /// It is tied to our message to one reader and names another.
    OtherReader,
}

impl Doubt {
    /// The words in `bounces import`'s lines.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::BadToken => "its token does not verify",
            Self::NoEvidence => "tied to no message we sent",
            Self::OtherReader => "it returns another reader's message",
        }
    }
}

/// What a finding came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mapping {
    /// Tied to our message to this recipient.
    Mapped(Mapped),
    /// About our message to someone else than the finding names (a forwarding target, a
    /// directory's suggestions): nobody of ours.
    Elsewhere,
    /// Not tied to any message we sent: recorded and shown, never acted on.
    Unverified(Doubt),
}

/// How much a report must show before it changes anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A token or a Message-ID of ours (`[sender] bounce` is set: VERP makes it possible).
    Evidence,
    /// The reported address suffices when it is a known recipient (no `[sender] bounce`).
    Address,
}

/// The recipients reports can be mapped to: the ledger's and the audience's.
pub(crate) struct Recipients {
    ledger: Option<Ledger>,
    signer: Option<Signer>,
    unsubscribe: Option<UnsubscribeLink>,
    bounce: Option<String>,
    rule: Rule,
    known: HashMap<Box<str>, Address>,
    tags: HashMap<(Purpose, u32), HashMap<[u8; TAG_LEN], Address>>,
    /// The known addresses by the recipient key of their unsubscribe token, made when a
    /// report first carries a link.
    by_key: Option<KeyIndex>,
}

/// Where a project's reports are checked: its ledger, the unsubscribe secret's signer (VERP,
/// mailto and unsubscribe tokens are all made with it), the unsubscribe link's template,
/// `[sender] bounce`, and the addresses the recipient files and the store know.
pub(crate) struct Sources {
    /// The ledger, when the project has one.
    pub ledger: Option<Ledger>,
    /// The unsubscribe secret's signer, when it is set.
    pub signer: Option<Signer>,
    /// `[unsubscribe]`, to find the token in a link.
    pub unsubscribe: Option<UnsubscribeLink>,
    /// `[sender] bounce`: with it, only evidence maps a report.
    pub bounce: Option<String>,
    /// The readers of the recipient files and the store.
    pub known: Vec<Address>,
}

impl Recipients {
    /// The recipients of `sources`; the ledger's addresses are known too.
    pub(crate) fn new(sources: Sources) -> anyhow::Result<Self> {
        let mut known: HashMap<Box<str>, Address> =
            sources.known.into_iter().map(|a| (a.key(), a)).collect();
        if let Some(ledger) = &sources.ledger {
            // One by one as SQLite reads them: no list of them all, and no `extend`, which
            // reserves room for every one as if none were known yet (nearly all are the
            // readers' own) and, where that crossed a power of two, doubled the table beside
            // the old one. As with `extend`, the ledger's spelling of an address wins.
            ledger.each_address(|address| {
                known.insert(address.key(), address);
            })?;
        }
        let rule = match sources.bounce {
            Some(_) => Rule::Evidence,
            None => Rule::Address,
        };
        Ok(Self {
            ledger: sources.ledger,
            signer: sources.signer,
            unsubscribe: sources.unsubscribe,
            bounce: sources.bounce,
            rule,
            known,
            tags: HashMap::new(),
            by_key: None,
        })
    }

    /// The ledger, for the effects that are kept beside its rows.
    pub(crate) fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// What `finding` of `report` comes to.
    pub(crate) fn map(&mut self, report: &Report, finding: &Finding) -> anyhow::Result<Mapping> {
        let reported = finding
            .address
            .as_deref()
            .and_then(|a| Address::parse(a).ok());
        // A token or a Message-ID names the one recipient of our message. It settles the
        // finding of a bounce or a complaint that names that same address, or the one
        // finding of a report that names someone not on our list (where a forward led). A
        // report tied to our message to X that names another of our readers is a forgery
        // made with X's own token.
        let evidence = self.evidence(report)?;
        // A mail to the unsubscribe address is the request of the reader whose token it
        // carries, whatever its From says: a reader writes from another address of theirs,
        // or a provider sends it for them.
        if report.kind == Kind::Unsubscribe
            && let Some(found) = evidence.found.first()
        {
            return Ok(Mapping::Mapped(found.clone()));
        }
        // A token of ours that does not verify was forged or mangled: the report maps
        // nobody, whatever Message-ID or other token it also carries.
        if evidence.bad_token {
            return Ok(Mapping::Unverified(Doubt::BadToken));
        }
        let known = reported.as_ref().and_then(|a| self.known.get(&a.key()));
        let fits = |address: &Address| match &reported {
            Some(r) if r.key() == address.key() => true,
            _ => report.findings.len() == 1 && known.is_none(),
        };
        if let Some(found) = evidence.found.iter().find(|m| fits(&m.address)) {
            return Ok(Mapping::Mapped(found.clone()));
        }
        if !evidence.found.is_empty() {
            return Ok(match known {
                Some(_) => Mapping::Unverified(Doubt::OtherReader),
                None => Mapping::Elsewhere,
            });
        }
        // A mail to the unsubscribe address is heard only through its token: its From is
        // whatever the sender typed.
        let by_address =
            report.kind != Kind::Unsubscribe && (report.vouched || self.rule == Rule::Address);
        Ok(match known {
            Some(address) if by_address => Mapping::Mapped(Mapped {
                address: address.clone(),
                by: MappedBy::Address,
                volume: None,
            }),
            _ => Mapping::Unverified(Doubt::NoEvidence),
        })
    }

    /// Every recipient the report's tokens and Message-IDs prove, in order of strength.
    fn evidence(&mut self, report: &Report) -> anyhow::Result<Evidence> {
        let mut evidence = Evidence::default();
        if report.kind == Kind::Unsubscribe {
            for token in &report.mailto_tokens {
                self.by_token(Purpose::Mailto, *token, MappedBy::Mailto, &mut evidence)?;
            }
            return Ok(evidence);
        }
        let ours: Vec<Token> = report
            .return_paths
            .iter()
            .filter(|path| {
                self.bounce
                    .as_deref()
                    .is_some_and(|b| verp::is_ours(path, b))
            })
            .filter_map(|path| verp::decode(path))
            .collect();
        for token in ours {
            self.by_token(Purpose::ReturnPath, token, MappedBy::Verp, &mut evidence)?;
        }
        // A Message-ID proves something only when nobody else could have made it: one keyed
        // with the secret. Without the secret none can be checked, and one frozen by an
        // older version (a plain hash) is not ours to trust.
        if let (Some(ledger), Some(signer)) = (&self.ledger, &self.signer) {
            for id in &report.returned_ids {
                if let Some((address, volume)) = ledger.sent_as(id)?
                    && message::is_message_id(signer, id, volume, &address)
                {
                    evidence.found.push(Mapped {
                        address,
                        by: MappedBy::MessageId,
                        volume: Some(volume),
                    });
                }
            }
        }
        self.by_unsubscribe_link(report, &mut evidence);
        Ok(evidence)
    }

    /// The recipient `token` names, made for `purpose`: the tags of the volume's recipients
    /// in the ledger, computed once per volume.
    fn by_token(
        &mut self,
        purpose: Purpose,
        token: Token,
        by: MappedBy,
        evidence: &mut Evidence,
    ) -> anyhow::Result<()> {
        let (Some(signer), Some(ledger)) = (&self.signer, &self.ledger) else {
            // Without the secret or the ledger no token can be checked: it proves nothing,
            // and it does not make the report a forgery either.
            return Ok(());
        };
        let tags = match self.tags.entry((purpose, token.volume)) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => {
                let mut tags = HashMap::new();
                for address in ledger.addresses_of(token.volume)? {
                    tags.insert(verp::tag(signer, purpose, token.volume, &address), address);
                }
                slot.insert(tags)
            }
        };
        match tags.get(&token.tag) {
            Some(address) => evidence.found.push(Mapped {
                address: address.clone(),
                by,
                volume: Some(token.volume),
            }),
            None => evidence.bad_token = true,
        }
        Ok(())
    }

    /// The reader whose unsubscribe token the returned original's `List-Unsubscribe` carries.
    fn by_unsubscribe_link(&mut self, report: &Report, evidence: &mut Evidence) {
        let (Some(signer), Some(link)) = (&self.signer, &self.unsubscribe) else {
            return;
        };
        for url in &report.unsubscribe_links {
            let token = unsubscribe::token_in(link, url);
            if token == url || token == unsubscribe::PROOF_TOKEN {
                // Not our link's shape, or a proof's: it names nobody.
                continue;
            }
            let known = &self.known;
            let by_key = self.by_key.get_or_insert_with(|| {
                let mut by_key = KeyIndex::with_capacity(known.len());
                for address in known.values() {
                    by_key.insert(signer, address.clone());
                }
                by_key
            });
            let candidates = signer
                .token_key(token)
                .map_or(&[][..], |key| by_key.get(&key));
            match signer.verify(token, candidates.iter()) {
                Ok(verified) => evidence.found.push(Mapped {
                    address: verified.address,
                    by: MappedBy::UnsubscribeToken,
                    volume: None,
                }),
                Err(_) => evidence.bad_token = true,
            }
        }
    }
}

/// What a report's tokens and Message-IDs showed.
#[derive(Debug, Default)]
struct Evidence {
    found: Vec<Mapped>,
    bad_token: bool,
}
