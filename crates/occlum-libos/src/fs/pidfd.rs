//! Process file descriptors (`pidfd_open`): a file naming one process,
//! readable once the process has ended.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::{File, FileType, Readiness, Stat};
use crate::process::Process;
use crate::sync::WaitQueue;
use crate::Result;

/// A pidfd.
pub struct PidFd {
    process: Arc<Process>,
    flags: AtomicU32,
}

impl PidFd {
    /// A pidfd for `process`; `flags` may hold `O_NONBLOCK`.
    pub fn new(process: Arc<Process>, flags: u32) -> PidFd {
        PidFd {
            process,
            flags: AtomicU32::new(flags | 2),
        }
    }

    /// The process.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }
}

impl File for PidFd {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: 0x0d,
            ino: 5,
            kind: FileType::Regular,
            perm: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn describe(&self) -> String {
        "anon_inode:[pidfd]".to_string()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags | 2, Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        let ended = self.process.exit_status().is_some();
        Readiness {
            readable: ended,
            hangup: ended,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.process.exited]
    }
}
