//! `eventfd`: a 64-bit counter that `write` adds to and `read` takes.

use std::sync::Mutex;

use super::{File, Readiness, Stat, O_NONBLOCK};
use crate::process::wait_event;
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

/// `EFD_SEMAPHORE`.
pub const EFD_SEMAPHORE: u32 = 1;
const MAX: u64 = u64::MAX - 1;

/// An eventfd.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    flags: super::anon::RwFlags,
    changed: WaitQueue,
}

impl EventFd {
    /// A new eventfd holding `initval`.
    pub fn new(initval: u32, semaphore: bool, flags: u32) -> EventFd {
        EventFd {
            count: Mutex::new(initval as u64),
            semaphore,
            flags: super::anon::RwFlags::new(flags),
            changed: WaitQueue::new(),
        }
    }

    fn nonblock(&self) -> bool {
        self.flags.get() & O_NONBLOCK != 0
    }
}

impl File for EventFd {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let nonblock = self.nonblock();
        let v = wait_event(&[&self.changed], None, || {
            let mut c = lock(&self.count);
            if *c == 0 {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Ok(Some(v))
        })?;
        self.changed.wake_all();
        buf[..8].copy_from_slice(&v.to_le_bytes());
        Ok(8)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let nonblock = self.nonblock();
        wait_event(&[&self.changed], None, || {
            let mut c = lock(&self.count);
            if MAX - *c < v {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            *c += v;
            Ok(Some(()))
        })?;
        self.changed.wake_all();
        Ok(8)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(super::anon::anon_stat(1))
    }

    fn status_flags(&self) -> u32 {
        self.flags.get()
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.set(flags);
    }

    fn poll(&self) -> Readiness {
        let c = *lock(&self.count);
        Readiness {
            readable: c > 0,
            writable: c < MAX,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.changed]
    }
}
