//! `bounces fetch`: the messages of the `[bounces]` IMAP folder in, listed [`BATCH`] at a
//! time and read one at a time: each one's size asked first (one too large is skipped,
//! never fetched), then fetched, applied like an import, and, once applied, moved to
//! `move_to` (or flagged read). A message that
//! could not be read or was skipped stays where it is, for a person to look at. A lost
//! connection stops the run with an error, after the messages already applied.

use anyhow::Context as _;

use super::imap::{Login, Refused, Session};
use super::import::{Importer, Record};
use super::source::{Content, Item, Skip};
use crate::clock::Timestamp;
use crate::project::Project;
use crate::settings::Bounces;

/// How many messages are listed at a time: a folder of any size is read in bounded memory.
const BATCH: u32 = 500;

/// Fetches, applies and settles every message of the folder, handing each record to `out`
/// once its message is committed (and before it is moved).
pub(crate) fn run(
    project: &Project,
    now: Timestamp,
    mut out: impl FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let bounces = &project.settings.bounces;
    let mut session = login(bounces)?;
    let folder = bounces.folder.get_ref();
    session.select(folder)?;
    let move_to = bounces.move_to.as_ref().map(|m| m.get_ref().as_str());
    if let Some(folder) = move_to {
        session.create(folder)?;
    }
    let limit = bounces.max_message_size();
    let mut importer = Importer::open(project, now)?;
    loop {
        let messages = session.batch(BATCH)?;
        if messages.is_empty() {
            break;
        }
        for (uid, size) in messages {
            let label = format!("imap:{folder}/{uid}");
            let content = match size {
                Some(size) if size > limit => Content::Skipped(Skip::TooLarge { size, limit }),
                _ => match session.fetch(uid, limit) {
                    Ok(bytes) => Content::Bytes(bytes),
                    Err(e) if e.is::<Refused>() => Content::Unreadable(format!("{e:#}")),
                    Err(e) => return Err(e.context(format!("cannot fetch {label}"))),
                },
            };
            let records = importer.import(Item { label, content })?;
            let applied = records.iter().all(Record::applied);
            records.into_iter().try_for_each(&mut out)?;
            if applied {
                session
                    .settle(uid, move_to)
                    .with_context(|| format!("applied UID {uid} but could not settle it"))?;
            }
        }
    }
    session.logout();
    Ok(())
}

/// The session `[bounces]` names, logged in.
fn login(bounces: &Bounces) -> anyhow::Result<Session> {
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
    Session::open(&Login {
        host: host.get_ref(),
        port: bounces.imap_port(),
        security: bounces.imap_security(),
        username: username.get_ref(),
        password: &password,
    })
}
