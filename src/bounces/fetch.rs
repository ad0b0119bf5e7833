//! `bounces fetch`: the messages of the `[bounces]` IMAP folder in, applied like an import,
//! then each message that could be read moved to `move_to` (or flagged read); a message
//! that could not be read stays where it is, for a person to look at.

use anyhow::Context as _;

use super::imap::{Login, Session};
use super::import::{self, Record};
use super::source::Item;
use crate::clock::Timestamp;
use crate::project::Project;

/// Fetches, applies and settles every message of the folder.
pub fn run(project: &Project, now: Timestamp) -> anyhow::Result<Vec<Record>> {
    let bounces = &project.settings.bounces;
    let host = bounces.host.as_ref().context(
        "broadsheet.toml has no `[bounces] host`: there is no IMAP folder to fetch from",
    )?;
    let (Some(username), Some(password_env)) = (&bounces.username, &bounces.password_env) else {
        anyhow::bail!("`[bounces]` needs `username` and `password_env`");
    };
    let name = password_env.get_ref();
    let password = std::env::var(name).map_err(|_| {
        anyhow::anyhow!(
            "the environment variable {name} (`[bounces] password_env`) holds no password"
        )
    })?;
    let mut session = Session::open(&Login {
        host: host.get_ref(),
        port: bounces.imap_port(),
        security: bounces.imap_security(),
        username: username.get_ref(),
        password: &password,
    })?;
    let folder = bounces.folder.get_ref();
    session.select(folder)?;
    let mut items = Vec::new();
    let uids = session.uids()?;
    for &uid in &uids {
        items.push(Item {
            label: label(folder, uid),
            bytes: session.fetch(uid).map_err(|e| format!("{e:#}")),
        });
    }
    let records = import::apply(project, items, now)?;
    let move_to = bounces.move_to.as_ref().map(|m| m.get_ref().as_str());
    if let Some(folder) = move_to {
        session.create(folder)?;
    }
    for uid in uids {
        let label = label(folder, uid);
        if records.iter().any(|r| r.file == label && r.error.is_none()) {
            session.settle(uid, move_to)?;
        }
    }
    session.logout();
    Ok(records)
}

fn label(folder: &str, uid: u32) -> String {
    format!("imap:{folder}/{uid}")
}
