//! The service's shared state: settings it needs, the token signer, the index that finds
//! the address an unsubscribe token names, the store (reads here, writes through the
//! committer), the pages, the transport for confirmation mail, the sign-up limiter, and what
//! the webhooks accept.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::client::Limiter;
use super::commit::{Committer, Reports};
use super::pages::Pages;
use super::webhooks::{Credentials, Hooks};
use crate::audience::{Address, Audience, Store};
use crate::project::Project;
use crate::settings::{Identity, Sending, Serve};
use crate::transport::Configured;
use crate::unsubscribe::{RecipientKey, Signer};

/// How often a token, or a report, naming nobody known may reload the recipient files.
pub(super) const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct App {
    pub(super) root: PathBuf,
    pub(super) serve: Serve,
    pub(super) identity: Identity,
    /// `[topics]`: key and label, in key order.
    pub(super) topics: Vec<(String, String)>,
    pub(super) signer: Signer,
    pub(super) candidates: Candidates,
    pub(super) committer: Committer,
    pub(super) reads: Mutex<Store>,
    pub(super) pages: Pages,
    pub(super) transport: tokio::sync::Mutex<Configured>,
    pub(super) limiter: Limiter,
    pub(super) hooks: Hooks,
}

impl App {
    /// Builds the state for `project`: settings checked, store opened (created if need
    /// be), audience and templates loaded.
    pub(super) fn new(project: &Project) -> anyhow::Result<Self> {
        let settings = &project.settings;
        let serve = settings.serve.clone().ok_or_else(|| {
            anyhow::anyhow!("broadsheet.toml has no [serve] table (public_url); see the README")
        })?;
        let sending = Sending::new(settings)?;
        let signer = Signer::from_env(&sending.unsubscribe, &sending.identity.list_id)?;
        let writer = Store::open(&project.root)?;
        let reads = Store::open(&project.root)?;
        let candidates = Candidates::default();
        candidates.reload(&project.root, &signer)?;
        let hooks = Hooks {
            ses: crate::bounces::webhooks::ses_verifier(project)?,
            postmark: settings
                .webhooks
                .postmark
                .as_ref()
                .map(Credentials::from_env)
                .transpose()?,
        };
        let reports = match (&hooks.ses, &hooks.postmark) {
            (None, None) => None,
            _ => Some(Reports::open(project)?),
        };
        let identity = &sending.identity;
        let list = identity
            .name
            .clone()
            .unwrap_or_else(|| identity.list_id.clone());
        Ok(Self {
            root: project.root.clone(),
            topics: settings.topics.clone().into_iter().collect(),
            pages: Pages::load(project, list)?,
            transport: tokio::sync::Mutex::new(Configured::new(&project.root, &sending)?),
            committer: Committer::start(writer, reports),
            reads: Mutex::new(reads),
            limiter: Limiter::default(),
            serve,
            identity: sending.identity,
            signer,
            candidates,
            hooks,
        })
    }

    /// The store for reading, as committed now.
    pub(super) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The address an unsubscribe token names, if it verifies. A token naming nobody known
    /// reloads the recipient files (at most every few seconds), for readers added since.
    pub(super) fn verify(&self, token: &str) -> Option<Address> {
        let key = self.signer.token_key(token)?;
        if let Some(found) = self.candidates.verify(&self.signer, key, token) {
            return Some(found);
        }
        if self.candidates.due() {
            let reloaded =
                tokio::task::block_in_place(|| self.candidates.reload(&self.root, &self.signer));
            if let Err(e) = reloaded {
                tracing::warn!("cannot reload the audience: {e:#}");
            }
            return self.candidates.verify(&self.signer, key, token);
        }
        None
    }
}

/// Every address a token may name (recipients, signed-up readers, suppressed addresses),
/// indexed by the recipient key their tokens carry.
#[derive(Debug, Default)]
pub(super) struct Candidates {
    by_key: RwLock<HashMap<RecipientKey, Vec<Address>>>,
    /// The topics the recipient files give, by address key, for the preferences page.
    file_topics: RwLock<HashMap<Box<str>, Vec<String>>>,
    loaded: Mutex<Option<Instant>>,
}

impl Candidates {
    /// Reloads the audience from the files and the store.
    pub(super) fn reload(&self, root: &std::path::Path, signer: &Signer) -> anyhow::Result<()> {
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let audience = Audience::load(root, None)?;
        let file_topics = audience
            .recipients()
            .iter()
            .filter_map(|r| {
                let topics = audience.chosen_topics(r)?;
                Some((
                    r.address().key(),
                    topics.into_iter().map(str::to_owned).collect(),
                ))
            })
            .collect();
        *self.file_topics.write().unwrap_or_else(|e| e.into_inner()) = file_topics;
        let listed: Vec<Address> = audience.recipients().iter().map(|r| r.address()).collect();
        let suppressed = audience.suppressions().iter().map(|s| &s.address);
        let mut by_key: HashMap<RecipientKey, Vec<Address>> = HashMap::new();
        for address in listed.iter().chain(suppressed) {
            by_key
                .entry(signer.recipient_key(address))
                .or_default()
                .push(address.clone());
        }
        *self.by_key.write().unwrap_or_else(|e| e.into_inner()) = by_key;
        Ok(())
    }

    /// Adds one address (a reader who just confirmed).
    pub(super) fn add(&self, signer: &Signer, address: &Address) {
        let mut by_key = self.by_key.write().unwrap_or_else(|e| e.into_inner());
        by_key
            .entry(signer.recipient_key(address))
            .or_default()
            .push(address.clone());
    }

    /// The topics `address` has as the audience was last loaded (files and store merged).
    pub(super) fn topics(&self, address: &Address) -> Vec<String> {
        let topics = self.file_topics.read().unwrap_or_else(|e| e.into_inner());
        topics.get(&address.key()).cloned().unwrap_or_default()
    }

    fn verify(&self, signer: &Signer, key: RecipientKey, token: &str) -> Option<Address> {
        let by_key = self.by_key.read().unwrap_or_else(|e| e.into_inner());
        let found = by_key.get(&key)?;
        signer.verify(token, found.iter()).ok().map(|v| v.address)
    }

    fn due(&self) -> bool {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.is_none_or(|at| at.elapsed() >= RELOAD_EVERY)
    }
}
