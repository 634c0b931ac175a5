//! Resource limits (`getrlimit`, `setrlimit`, `prlimit64`).

use crate::{Errno, Result};

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;
/// Number of resources (`RLIM_NLIMITS`).
pub const RLIM_NLIMITS: usize = 16;
const RLIMIT_DATA: usize = 2;
const RLIMIT_STACK: usize = 3;
const RLIMIT_CORE: usize = 4;
const RLIMIT_NPROC: usize = 6;
const RLIMIT_NOFILE: usize = 7;
const RLIMIT_AS: usize = 9;

/// One limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// Soft limit.
    pub cur: u64,
    /// Hard limit.
    pub max: u64,
}

/// The limits of a process.
#[derive(Clone, Debug)]
pub struct Rlimits([Rlimit; RLIM_NLIMITS]);

impl Rlimits {
    /// Limits reflecting the LibOS's configuration.
    pub fn new(stack: u64, heap: u64, user_space: u64, max_threads: u64) -> Rlimits {
        let inf = Rlimit {
            cur: RLIM_INFINITY,
            max: RLIM_INFINITY,
        };
        let mut l = [inf; RLIM_NLIMITS];
        l[RLIMIT_STACK] = Rlimit {
            cur: stack,
            max: stack,
        };
        l[RLIMIT_DATA] = Rlimit {
            cur: heap,
            max: heap,
        };
        l[RLIMIT_AS] = Rlimit {
            cur: user_space,
            max: user_space,
        };
        l[RLIMIT_CORE] = Rlimit { cur: 0, max: 0 };
        l[RLIMIT_NOFILE] = Rlimit {
            cur: 1024,
            max: 4096,
        };
        l[RLIMIT_NPROC] = Rlimit {
            cur: max_threads,
            max: max_threads,
        };
        Rlimits(l)
    }

    /// The limit of `resource`, or `EINVAL`.
    pub fn get(&self, resource: u64) -> Result<Rlimit> {
        self.0.get(resource as usize).copied().ok_or(Errno::EINVAL)
    }

    /// The descriptor limit (`RLIMIT_NOFILE`'s soft limit).
    pub fn nofile(&self) -> usize {
        self.0[RLIMIT_NOFILE].cur.min(1 << 20) as usize
    }

    /// Sets `resource`: `EINVAL` if soft > hard, `EPERM` when raising the hard
    /// limit (the LibOS cannot grant more than it was configured with).
    pub fn set(&mut self, resource: u64, new: Rlimit) -> Result<()> {
        let slot = self.0.get_mut(resource as usize).ok_or(Errno::EINVAL)?;
        if new.cur > new.max {
            return Err(Errno::EINVAL);
        }
        if new.max > slot.max {
            return Err(Errno::EPERM);
        }
        *slot = new;
        Ok(())
    }
}
