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
    /// Takes the lock for `volume`, or fails if another dispatch holds it. A `status` that
    /// looks whether a run is alive holds it for an instant: that is waited out.
    pub(crate) fn acquire(state_dir: &Path, volume: u32) -> anyhow::Result<Self> {
        private::create_dir(state_dir)?;
        let path = path(state_dir, volume);
        let file = private::open_write(&path, false)?;
        for _ in 0..PATIENCE {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) => std::thread::sleep(GLANCE),
                Err(TryLockError::Error(e)) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot lock {}", path.display()))
                    );
                }
            }
        }
        bail!(
            "another dispatch of volume {volume} is running (it holds {}); wait for it or stop it",
            path.display()
        )
    }

    /// Whether a dispatch of `volume` holds the lock now (no lock file: none ever did).
    /// Reads only: it works on a read-only `state/`.
    pub(crate) fn held(state_dir: &Path, volume: u32) -> anyhow::Result<bool> {
        let path = path(state_dir, volume);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
                );
            }
        };
        match file.try_lock_shared() {
            // Released when `file` is dropped, at once.
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())))
            }
        }
    }
}

/// How often, and how long apart, `acquire` tries a lock that is held: long enough for a
/// `status` to let go, short enough that a second dispatch is refused at once.
const PATIENCE: u32 = 20;
const GLANCE: std::time::Duration = std::time::Duration::from_millis(10);

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
        assert!(DispatchLock::held(dir.path(), 11).unwrap());
        assert!(
            !DispatchLock::held(dir.path(), 12).unwrap(),
            "not a held lock"
        );
        assert!(!DispatchLock::held(dir.path(), 13).unwrap(), "no lock file");
        drop(first);
        assert!(!DispatchLock::held(dir.path(), 11).unwrap());
        assert!(
            DispatchLock::acquire(dir.path(), 11).is_ok(),
            "released on drop, and after a look"
        );
    }
}
