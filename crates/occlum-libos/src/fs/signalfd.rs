//! `signalfd`: pending signals of a set, read from a file as
//! `struct signalfd_siginfo` records instead of delivered to handlers. As
//! on Linux, a read or poll sees the signals of the calling thread and its
//! process, whoever made the file.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{File, Readiness, Stat, O_NONBLOCK};
use crate::process::{current, wait_event};
use crate::signal::{SigInfo, SigSet, SI_TIMER};
use crate::{Errno, Result};

/// Size of `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;

/// A signalfd.
pub struct SignalFd {
    mask: AtomicU64,
    flags: super::anon::RwFlags,
}

impl SignalFd {
    /// A signalfd for the signals in `mask`; `flags` may hold `O_NONBLOCK`.
    pub fn new(mask: SigSet, flags: u32) -> SignalFd {
        SignalFd {
            mask: AtomicU64::new(mask.blockable().0),
            flags: super::anon::RwFlags::new(flags),
        }
    }

    /// Replaces the set of signals (`signalfd` on an existing one).
    pub fn set_mask(&self, mask: SigSet) {
        self.mask.store(mask.blockable().0, Ordering::Relaxed);
    }

    fn mask(&self) -> SigSet {
        SigSet(self.mask.load(Ordering::Relaxed))
    }
}

/// `struct signalfd_siginfo` of `info`.
fn encode(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut r = [0u8; SIGINFO_SIZE];
    let mut put = |off: usize, bytes: &[u8]| r[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, &(info.signo as u32).to_le_bytes());
    put(8, &info.code.to_le_bytes());
    if info.code == SI_TIMER {
        put(24, &(info.pid as u32).to_le_bytes());
        put(32, &(info.status as u32).to_le_bytes());
    } else {
        put(12, &(info.pid as u32).to_le_bytes());
        put(40, &info.status.to_le_bytes());
    }
    put(44, &(info.value as u32).to_le_bytes());
    put(48, &info.value.to_le_bytes());
    put(72, &info.addr.to_le_bytes());
    r
}

impl File for SignalFd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < SIGINFO_SIZE {
            return Err(Errno::EINVAL);
        }
        let thread = current().ok_or(Errno::ESRCH)?;
        let others = SigSet(!self.mask().0);
        let nonblock = self.flags.get() & O_NONBLOCK != 0;
        let first = wait_event(&[], None, || match thread.take_pending_signal(others) {
            Some(info) => Ok(Some(info)),
            None if nonblock => Err(Errno::EAGAIN),
            None => Ok(None),
        })?;
        buf[..SIGINFO_SIZE].copy_from_slice(&encode(&first));
        let mut n = SIGINFO_SIZE;
        while n + SIGINFO_SIZE <= buf.len() {
            let Some(info) = thread.take_pending_signal(others) else {
                break;
            };
            buf[n..n + SIGINFO_SIZE].copy_from_slice(&encode(&info));
            n += SIGINFO_SIZE;
        }
        Ok(n)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(super::anon::anon_stat(4))
    }

    fn describe(&self) -> String {
        "anon_inode:[signalfd]".to_string()
    }

    fn status_flags(&self) -> u32 {
        self.flags.get()
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.set(flags);
    }

    fn poll(&self) -> Readiness {
        let pending = current().map_or(0, |t| t.pending_set().0);
        Readiness {
            readable: pending & self.mask().0 != 0,
            ..Readiness::default()
        }
    }
}
