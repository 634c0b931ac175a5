//! `epoll`: an interest list of files and the readiness of each.
//!
//! Edge-triggered interests (`EPOLLET`) are reported like level-triggered
//! ones: a program written for edge triggering reads or writes until
//! `EAGAIN`, so extra reports cost it one call and lose nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use super::{Fd, File, FileRef, FileType, Readiness, Stat};
use crate::sync::lock;
use crate::{Errno, Result};

/// `EPOLLIN`.
pub const EPOLLIN: u32 = 0x1;
/// `EPOLLOUT`.
pub const EPOLLOUT: u32 = 0x4;
/// `EPOLLERR`.
pub const EPOLLERR: u32 = 0x8;
/// `EPOLLHUP`.
pub const EPOLLHUP: u32 = 0x10;
/// `EPOLLRDNORM`.
pub const EPOLLRDNORM: u32 = 0x40;
/// `EPOLLWRNORM`.
pub const EPOLLWRNORM: u32 = 0x100;
/// `EPOLLRDHUP`.
pub const EPOLLRDHUP: u32 = 0x2000;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;

/// The poll(2)-style event bits for a readiness state.
pub fn events_of(r: Readiness) -> u32 {
    let mut e = 0;
    if r.readable {
        e |= EPOLLIN | EPOLLRDNORM;
    }
    if r.writable {
        e |= EPOLLOUT | EPOLLWRNORM;
    }
    if r.hangup {
        e |= EPOLLHUP | EPOLLRDHUP;
    }
    if r.error {
        e |= EPOLLERR;
    }
    e
}

struct Interest {
    file: Weak<dyn File>,
    events: u32,
    data: u64,
    armed: bool,
}

/// An epoll instance.
#[derive(Default)]
pub struct Epoll {
    interests: Mutex<BTreeMap<Fd, Interest>>,
}

/// `epoll_ctl` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlOp {
    /// `EPOLL_CTL_ADD`.
    Add,
    /// `EPOLL_CTL_DEL`.
    Del,
    /// `EPOLL_CTL_MOD`.
    Mod,
}

impl Epoll {
    /// Changes the interest in descriptor `fd` (open file `file`).
    pub fn ctl(&self, op: CtlOp, fd: Fd, file: &FileRef, events: u32, data: u64) -> Result<()> {
        let mut map = lock(&self.interests);
        map.retain(|_, i| i.file.strong_count() > 0);
        let present = map
            .get(&fd)
            .is_some_and(|i| i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)));
        match op {
            CtlOp::Add if present => Err(Errno::EEXIST),
            CtlOp::Add | CtlOp::Mod if op == CtlOp::Add || present => {
                map.insert(
                    fd,
                    Interest {
                        file: Arc::downgrade(file),
                        events,
                        data,
                        armed: true,
                    },
                );
                Ok(())
            }
            CtlOp::Del if present => {
                map.remove(&fd);
                Ok(())
            }
            _ => Err(Errno::ENOENT),
        }
    }

    /// The files of the interest list (to wait on their queues), each with
    /// the events it is watched for (none once a one-shot interest fired).
    pub fn files(&self) -> Vec<(FileRef, u32)> {
        lock(&self.interests)
            .values()
            .filter_map(|i| Some((i.file.upgrade()?, if i.armed { i.events } else { 0 })))
            .collect()
    }

    /// Up to `max` ready events, as (events, data); one-shot interests fire once.
    pub fn ready(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut map = lock(&self.interests);
        for i in map.values_mut() {
            if out.len() >= max {
                break;
            }
            let Some(f) = i.file.upgrade() else { continue };
            if !i.armed {
                continue;
            }
            let ev = events_of(f.poll()) & (i.events | EPOLLERR | EPOLLHUP);
            if ev != 0 {
                out.push((ev, i.data));
                if i.events & EPOLLONESHOT != 0 {
                    i.armed = false;
                }
            }
        }
        out
    }
}

impl File for Epoll {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: 0x0d,
            ino: 2,
            kind: FileType::Regular,
            perm: 0o600,
            nlink: 1,
            rdev: 0,
            size: 0,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn poll(&self) -> Readiness {
        let any = lock(&self.interests).values().any(|i| {
            i.armed
                && i.file
                    .upgrade()
                    .is_some_and(|f| events_of(f.poll()) & (i.events | EPOLLERR | EPOLLHUP) != 0)
        });
        Readiness {
            readable: any,
            ..Readiness::default()
        }
    }
}
