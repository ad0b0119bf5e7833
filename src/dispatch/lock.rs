//! One dispatch of a volume at a time: an advisory lock on a file in `state/`, released by
//! the operating system when the process ends however it ends (kill -9 included), so a
//! crash never leaves a stale lock behind.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::private;

/// Held while a dispatch runs.
#[derive(Debug)]
pub(crate) struct DispatchLock {
    _file: File,
}

/// The lock file of `volume` in `state_dir`.
fn path(state_dir: &Path, volume: u32) -> PathBuf {
    state_dir.join(format!("dispatch-{volume:03}.lock"))
}

impl DispatchLock {
    /// Takes the lock for `volume`, or fails at once if another dispatch holds it.
    pub(crate) fn acquire(state_dir: &Path, volume: u32) -> anyhow::Result<Self> {
        private::create_dir(state_dir)?;
        let path = path(state_dir, volume);
        let file = private::open_write(&path, false)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "another dispatch of volume {volume} is running (it holds {}); wait for it or stop it",
                path.display()
            ),
            Err(TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_dispatch_of_the_same_volume_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DispatchLock::acquire(dir.path(), 11).unwrap();
        let second = DispatchLock::acquire(dir.path(), 11).unwrap_err();
        assert!(
            second.to_string().contains("another dispatch of volume 11"),
            "{second}"
        );
        assert!(
            DispatchLock::acquire(dir.path(), 12).is_ok(),
            "other volumes are free"
        );
        drop(first);
        assert!(
            DispatchLock::acquire(dir.path(), 11).is_ok(),
            "released on drop"
        );
    }
}
