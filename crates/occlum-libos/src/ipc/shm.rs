//! System V shared memory segments: one copy of the memory, mapped by
//! every process that attaches it (`shmat`), as `MAP_SHARED` memory is.

use std::sync::{Arc, Mutex, MutexGuard};

use occlum_pal::shared_mem::SharedMemory;

use super::{now_secs, Object, Perm, Table};
use crate::sync::lock;
use crate::{Errno, Result};

/// Largest segment the LibOS makes (its memory is the host's).
pub const SHMMAX: u64 = 1 << 40;

/// Times and pids of a segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShmTimes {
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
}

/// A shared memory segment.
pub struct ShmSeg {
    perm: Mutex<Perm>,
    mem: Arc<SharedMemory>,
    size: u64,
    times: Mutex<ShmTimes>,
}

impl Object for ShmSeg {
    fn perm(&self) -> MutexGuard<'_, Perm> {
        lock(&self.perm)
    }

    fn removed(&self) {}
}

/// Every segment of the LibOS.
pub static SEGMENTS: Table<ShmSeg> = Table::new();

impl ShmSeg {
    /// A zero-filled segment of `size` bytes made by process `pid`.
    pub fn new(perm: Perm, size: u64, pid: i32) -> Result<ShmSeg> {
        let pages = size.div_ceil(4096) * 4096;
        Ok(ShmSeg {
            perm: Mutex::new(perm),
            mem: Arc::new(SharedMemory::new(pages)?),
            size,
            times: Mutex::new(ShmTimes {
                ctime: now_secs(),
                cpid: pid,
                ..ShmTimes::default()
            }),
        })
    }

    /// The size asked for at creation.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The memory, to map.
    pub fn memory(&self) -> Arc<SharedMemory> {
        self.mem.clone()
    }

    /// How many mappings of it exist (`shm_nattch`).
    pub fn attaches(&self) -> u64 {
        (Arc::strong_count(&self.mem) - 1) as u64
    }

    /// The times and pids, locked.
    pub fn times(&self) -> MutexGuard<'_, ShmTimes> {
        lock(&self.times)
    }

    /// `EINVAL` unless an existing segment holds `size` bytes.
    pub fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
}
