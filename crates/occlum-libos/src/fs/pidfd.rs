//! Process file descriptors (`pidfd_open`): a file naming one process,
//! readable once the process has ended.

use std::sync::Arc;

use super::{File, Readiness, Stat};
use crate::process::Process;
use crate::sync::WaitQueue;
use crate::Result;

/// A pidfd.
pub struct PidFd {
    process: Arc<Process>,
    flags: super::anon::RwFlags,
}

impl PidFd {
    /// A pidfd for `process`; `flags` may hold `O_NONBLOCK`.
    pub fn new(process: Arc<Process>, flags: u32) -> PidFd {
        PidFd {
            process,
            flags: super::anon::RwFlags::new(flags),
        }
    }

    /// The process.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }
}

impl File for PidFd {
    fn stat(&self) -> Result<Stat> {
        Ok(super::anon::anon_stat(5))
    }

    fn describe(&self) -> String {
        "anon_inode:[pidfd]".to_string()
    }

    fn status_flags(&self) -> u32 {
        self.flags.get()
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.set(flags);
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
