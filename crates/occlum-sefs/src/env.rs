//! The environment: wall-clock time and randomness, supplied by the caller.

use crate::types::Timespec;

/// What the file system needs from its host besides storage.
pub trait Env: Send + Sync {
    /// The current wall-clock time (for atime, mtime and ctime).
    fn now(&self) -> Timespec;
    /// Fills `buf` with cryptographically secure random bytes (nonces).
    fn fill_random(&self, buf: &mut [u8]);
}

/// [`Env`] over the standard library clock and the OS random source.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdEnv;

impl Env for StdEnv {
    fn now(&self) -> Timespec {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timespec {
            sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
        }
    }

    fn fill_random(&self, buf: &mut [u8]) {
        if let Err(e) = getrandom::getrandom(buf) {
            panic!("the OS random source failed: {e}");
        }
    }
}
