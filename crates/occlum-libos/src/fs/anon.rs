//! What the files without a path share (eventfd, timerfd, signalfd, pidfd,
//! inotify): the metadata of an anonymous inode, and status flags that
//! keep the access mode they were made with.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{FileType, Stat, O_RDWR};

/// The metadata of anonymous inode number `ino` (one per kind of file).
pub fn anon_stat(ino: u64) -> Stat {
    Stat {
        dev: 0x0d,
        ino,
        kind: FileType::Regular,
        perm: 0o600,
        nlink: 1,
        blksize: 4096,
        ..Stat::default()
    }
}

/// Status flags of an anonymous file opened read-write: `F_SETFL` changes
/// the others and keeps `O_RDWR`.
pub struct RwFlags(AtomicU32);

impl RwFlags {
    /// Flags `flags` (with `O_RDWR`).
    pub fn new(flags: u32) -> RwFlags {
        RwFlags(AtomicU32::new(flags | O_RDWR))
    }

    /// The flags.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Replaces the flags (keeping `O_RDWR`).
    pub fn set(&self, flags: u32) {
        self.0.store(flags | O_RDWR, Ordering::Relaxed);
    }
}
