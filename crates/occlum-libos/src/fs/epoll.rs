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

/// Most epoll-watches-epoll links on any path (Linux's `EPOLL_MAX_NESTS`).
const EPOLL_MAX_NESTS: usize = 4;

/// An epoll instance.
pub struct Epoll {
    interests: Mutex<BTreeMap<Fd, Interest>>,
    this: Weak<Epoll>,
}

/// Which epoll files watch which (outer, inner): checked and changed under
/// one lock, so that no two `epoll_ctl` calls can close a loop between them.
static NESTING: Mutex<Vec<(Weak<Epoll>, Weak<Epoll>)>> = Mutex::new(Vec::new());

/// The most links on a path of epoll files from `node`, upwards (to the
/// files that watch it) or downwards. Loops are never admitted, and depths
/// past the limit stop the walk.
fn depth(links: &[(Weak<Epoll>, Weak<Epoll>)], node: *const Epoll, up: bool, seen: usize) -> usize {
    if seen > EPOLL_MAX_NESTS {
        return seen;
    }
    links
        .iter()
        .filter_map(|(outer, inner)| {
            let (from, to) = if up { (inner, outer) } else { (outer, inner) };
            (Weak::as_ptr(from) == node && to.strong_count() > 0).then_some(Weak::as_ptr(to))
        })
        .map(|next| 1 + depth(links, next, up, seen + 1))
        .max()
        .unwrap_or(0)
}

/// Whether `target` is `node` or lies below it.
fn reaches(
    links: &[(Weak<Epoll>, Weak<Epoll>)],
    node: *const Epoll,
    target: *const Epoll,
    seen: usize,
) -> bool {
    node == target
        || seen <= EPOLL_MAX_NESTS
            && links.iter().any(|(outer, inner)| {
                Weak::as_ptr(outer) == node
                    && inner.strong_count() > 0
                    && reaches(links, Weak::as_ptr(inner), target, seen + 1)
            })
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
    /// A new, empty epoll instance.
    pub fn new() -> Arc<Epoll> {
        Arc::new_cyclic(|this| Epoll {
            interests: Mutex::new(BTreeMap::new()),
            this: this.clone(),
        })
    }

    /// Changes the interest in descriptor `fd` (open file `file`).
    pub fn ctl(&self, op: CtlOp, fd: Fd, file: &FileRef, events: u32, data: u64) -> Result<()> {
        let nested = super::downcast::<Epoll>(file.clone());
        let mut links = nested.as_ref().map(|_| crate::sync::lock_shared(&NESTING));
        if let (Some(inner), Some(links), CtlOp::Add) = (&nested, links.as_mut(), op) {
            links.retain(|(o, i)| o.strong_count() > 0 && i.strong_count() > 0);
            let (me, them) = (self as *const Epoll, Arc::as_ptr(inner));
            if me == them {
                return Err(Errno::EINVAL);
            }
            // A loop, or a path of more links than Linux allows: ELOOP.
            if reaches(links, them, me, 0)
                || depth(links, me, true, 0) + 1 + depth(links, them, false, 0) > EPOLL_MAX_NESTS
            {
                return Err(Errno::ELOOP);
            }
        }
        let mut map = lock(&self.interests);
        map.retain(|_, i| i.file.strong_count() > 0);
        let present = map
            .get(&fd)
            .is_some_and(|i| i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)));
        match op {
            CtlOp::Add if present => Err(Errno::EEXIST),
            CtlOp::Add | CtlOp::Mod if op == CtlOp::Add || present => {
                if let (Some(inner), Some(links), CtlOp::Add) = (&nested, links.as_mut(), op) {
                    links.push((self.this.clone(), Arc::downgrade(inner)));
                }
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
                if let (Some(inner), Some(links)) = (&nested, links.as_mut()) {
                    let (me, them) = (self as *const Epoll, Arc::as_ptr(inner));
                    if let Some(i) = links
                        .iter()
                        .position(|(o, i)| Weak::as_ptr(o) == me && Weak::as_ptr(i) == them)
                    {
                        links.swap_remove(i);
                    }
                }
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
