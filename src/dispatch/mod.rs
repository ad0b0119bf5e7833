//! Dispatch: sending a volume to its audience, politely and without losing anyone.

pub mod engine;
pub mod finish;
pub mod limits;
pub mod lock;
pub mod messages;
pub mod plan;
pub mod progress;
pub mod verdict;

use std::path::Path;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use crate::audience::store::Suppressed;
use crate::audience::{Address, Reason, Source, Store};
use crate::clock::Timestamp;
use crate::ledger::{Ledger, State};

/// The hash of what a dispatch sends: the volume file and every file of its layout. A
/// dispatch records it when it starts, and a resumed one refuses to go on if it changed.
pub fn content_hash(volume: &Path, layout_dir: &Path) -> anyhow::Result<String> {
    let mut files = vec![volume.to_path_buf()];
    collect_files(layout_dir, &mut files)?;
    files[1..].sort();
    let mut hash = Sha256::new();
    for (i, file) in files.iter().enumerate() {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let name = if i == 0 {
            Default::default()
        } else {
            file.strip_prefix(layout_dir)
                .unwrap_or(file)
                .to_string_lossy()
        };
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Adds the addresses whose messages failed with 5.1.x (no such mailbox) to the suppression
/// list in the audience store of the project in `root`, so that no later volume goes to
/// them; returns how many. Each carries its message's Message-ID, so a second run adds none.
pub fn suppress_hard_bounces(root: &Path, ledger: &Ledger, number: u32) -> anyhow::Result<usize> {
    let failed = ledger.in_state(number, State::Failed)?;
    let now = Timestamp::now();
    Store::open(root)?.write(|tx| {
        let mut added = 0;
        for row in &failed {
            let reply = row.last_reply.as_deref().unwrap_or_default();
            let Ok(address) = Address::parse(&row.entry.address) else {
                continue;
            };
            if verdict::is_hard_bounce(reply) {
                let reference = Some(row.entry.message_id.as_str());
                let done =
                    tx.suppress(&address, Reason::Bounced, Source::Dispatch, reference, now)?;
                added += usize::from(done == Suppressed::Added);
            }
        }
        Ok(added)
    })
}
