//! The service's shared state: settings it needs, the token signer, the index that finds
//! the address an unsubscribe token names, the store (reads here, writes through the
//! committer), the pages, the transport for confirmation mail, the sign-up limiter, and what
//! the webhooks accept.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use super::client::Limiter;
use super::commit::{Committer, Reports};
use super::hooks::{Credentials, Hooks};
use super::pages::Pages;
use super::watch::Watched;
use crate::audience::{Address, Audience, Store};
use crate::ledger::{LEDGER_FILE, Ledger};
use crate::message::dkim::Signer as DkimSigner;
use crate::project::Project;
use crate::settings::{Identity, Sending, Serve};
use crate::transport::Configured;
use crate::unsubscribe::{KeyIndex, RecipientKey, Signer};

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct App {
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
    /// Signs the mails `serve` sends, when the project has `[dkim]`.
    pub(super) dkim: Option<DkimSigner>,
    /// The newest volume's page in the last archive written, for the welcome mail.
    pub(super) latest: Option<String>,
    pub(super) limiter: Limiter,
    pub(super) hooks: Hooks,
    /// The clients of counted links, hashed under a key of the day (memory only).
    pub(super) seen: super::seen::Seen,
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
        let candidates = Candidates::load(&project.root, &signer)?;
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
            topics: settings.topics.clone().into_iter().collect(),
            pages: Pages::load(project, list)?,
            transport: tokio::sync::Mutex::new(Configured::new(&project.root, &sending)?),
            dkim: DkimSigner::from_settings(settings.dkim.as_ref(), &project.root)?,
            latest: latest_page(project),
            committer: Committer::start(writer, reports),
            reads: Mutex::new(reads),
            limiter: Limiter::default(),
            serve,
            identity: sending.identity,
            signer,
            candidates,
            hooks,
            seen: super::seen::Seen::default(),
        })
    }

    /// The store for reading, as committed now.
    pub(super) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The address an unsubscribe token names, if it verifies among the readers as last
    /// loaded (see [`super::watch`] for when that is: never because of a token).
    pub(super) fn verify(&self, token: &str) -> Option<Address> {
        let key = self.signer.token_key(token)?;
        self.candidates.verify(&self.signer, key, token)
    }
}

/// The public URL of the newest volume page in the project's archive folder, if it has one.
fn latest_page(project: &Project) -> Option<String> {
    let newest = std::fs::read_dir(project.archive_dir())
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let number = name.to_str()?.strip_suffix(".html")?;
            number
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| number.parse::<u32>().ok())?
        })
        .max()?;
    project.settings.page_url(newest)
}

/// Every address a token may name (recipients, signed-up readers, suppressed addresses,
/// and whoever the ledger says a message went to), indexed by the recipient key their tokens carry.
#[derive(Debug)]
pub(super) struct Candidates {
    by_key: RwLock<KeyIndex>,
    /// The topics the recipient files give, by address key, for the preferences page.
    file_topics: RwLock<HashMap<Box<str>, Vec<String>>>,
    /// The files they were loaded from, as they were then.
    watched: Mutex<Watched>,
}

impl Candidates {
    /// Loads the audience of the project in `root` from its files and store.
    pub(super) fn load(root: &Path, signer: &Signer) -> anyhow::Result<Self> {
        let candidates = Self {
            by_key: RwLock::default(),
            file_topics: RwLock::default(),
            watched: Mutex::new(Watched::new(root, false)),
        };
        candidates.reload(root, signer)?;
        Ok(candidates)
    }

    /// Loads the audience again if its files changed since it was loaded; a file caught
    /// mid-edit keeps the readers loaded before (and is read again at its next change).
    pub(super) fn refresh(&self, signer: &Signer) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if !watched.changed() {
            return;
        }
        match self.reload(watched.root(), signer) {
            Ok(count) => tracing::info!("the recipient files changed: {count} readers loaded"),
            Err(e) => tracing::warn!("the recipient files changed but cannot be loaded: {e:#}"),
        }
    }

    /// Loads the audience from the files and the store; says how many addresses it holds.
    fn reload(&self, root: &Path, signer: &Signer) -> anyhow::Result<usize> {
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
        let listed = audience.recipients();
        let suppressed = audience.suppressions().iter().map(|s| s.address.clone());
        let mut by_key = KeyIndex::with_capacity(listed.len());
        let mut count = 0;
        for address in listed.iter().map(|r| r.address()).chain(suppressed) {
            by_key.insert(signer, address);
            count += 1;
        }
        // A token we sent is genuine though the files no longer list its reader (a CRM
        // export replaced them): they must still be able to leave. The ledger's addresses
        // come one at a time, and only those the files do not list are added (nearly all
        // are listed), so the audience is not copied a second time.
        if let Some(ledger) = Ledger::open_read_only(&root.join(LEDGER_FILE))? {
            ledger.each_reached(|address| {
                if audience.find(&address).is_none() {
                    by_key.insert(signer, address);
                    count += 1;
                }
            })?;
        }
        *self.by_key.write().unwrap_or_else(|e| e.into_inner()) = by_key;
        Ok(count)
    }

    /// Adds one address (a reader who just confirmed).
    pub(super) fn add(&self, signer: &Signer, address: &Address) {
        let mut by_key = self.by_key.write().unwrap_or_else(|e| e.into_inner());
        by_key.insert(signer, address.clone());
    }

    /// The topics `address` has as the audience was last loaded (files and store merged).
    pub(super) fn topics(&self, address: &Address) -> Vec<String> {
        let topics = self.file_topics.read().unwrap_or_else(|e| e.into_inner());
        topics.get(&address.key()).cloned().unwrap_or_default()
    }

    fn verify(&self, signer: &Signer, key: RecipientKey, token: &str) -> Option<Address> {
        let by_key = self.by_key.read().unwrap_or_else(|e| e.into_inner());
        signer
            .verify(token, by_key.get(&key).iter())
            .ok()
            .map(|v| v.address)
    }
}
