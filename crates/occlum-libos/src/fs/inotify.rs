//! `inotify`: watches on inodes, and the events the VFS operations report
//! to them (by any process of the LibOS, as on Linux). Events reach the
//! watches of the inode itself and of the directory it was reached from
//! (with its name), as Linux reports them for a directory's children.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::vfs::{InodeRef, Location};
use super::{File, FileType, Readiness, Stat, O_NONBLOCK};
use crate::process::wait_event;
use crate::sync::{lock, lock_shared, WaitQueue};
use crate::{Errno, Result};

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_IGNORED: u32 = 0x8000;
/// Every event a watch may ask for.
pub const IN_ALL_EVENTS: u32 = 0xfff;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Events queued per instance before `IN_Q_OVERFLOW`
/// (`/proc/sys/fs/inotify/max_queued_events`).
const MAX_QUEUED: usize = 16384;
/// Watches per instance (`max_user_watches` is far larger; this bounds LibOS memory).
const MAX_WATCHES: usize = 65536;
/// `struct inotify_event` without its name.
const EVENT_HEADER: usize = 16;

/// An inode as watches name it: (device, inode number).
type NodeId = (u64, u64);

fn node_id(inode: &InodeRef) -> NodeId {
    (inode.fs().dev(), inode.ino())
}

#[derive(Clone, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    fn len(&self) -> usize {
        EVENT_HEADER + padded(&self.name)
    }
}

/// The name's length in the record: NUL-terminated and padded to 16
/// bytes, or nothing.
fn padded(name: &[u8]) -> usize {
    if name.is_empty() {
        0
    } else {
        (name.len() + 1).next_multiple_of(EVENT_HEADER)
    }
}

struct Watch {
    node: NodeId,
    mask: u32,
}

struct State {
    watches: BTreeMap<i32, Watch>,
    next_wd: i32,
    queue: VecDeque<Event>,
}

struct Instance {
    state: Mutex<State>,
    readable: WaitQueue,
}

/// Which instances watch each inode.
static WATCHED: Mutex<Option<HashMap<NodeId, Vec<Weak<Instance>>>>> = Mutex::new(None);
/// Watches anywhere: while none, the VFS operations skip the lookup.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// An inotify instance.
pub struct Inotify {
    inner: Arc<Instance>,
    flags: AtomicU32,
}

impl Instance {
    /// Queues an event, merged with an identical last one; past the limit,
    /// one overflow event instead.
    fn push(&self, ev: Event) {
        {
            let mut st = lock(&self.state);
            if st.queue.back() == Some(&ev) {
                return;
            }
            if st.queue.len() >= MAX_QUEUED {
                let overflow = Event {
                    wd: -1,
                    mask: IN_Q_OVERFLOW,
                    cookie: 0,
                    name: Vec::new(),
                };
                if st.queue.back() != Some(&overflow) {
                    st.queue.push_back(overflow);
                }
                return;
            }
            st.queue.push_back(ev);
        }
        self.readable.wake_all();
    }

    /// Reports `mask` (with `name`, for a child) to this instance's
    /// watches of `node`; one-shot watches end after it.
    fn report(&self, node: NodeId, mask: u32, cookie: u32, name: &[u8]) {
        let mut hits = Vec::new();
        let mut ended = Vec::new();
        {
            let mut st = lock(&self.state);
            for (wd, w) in st.watches.iter() {
                if w.node == node && w.mask & mask & IN_ALL_EVENTS != 0 {
                    hits.push(*wd);
                    if w.mask & IN_ONESHOT != 0 {
                        ended.push(*wd);
                    }
                }
            }
            for wd in &ended {
                st.watches.remove(wd);
            }
        }
        for wd in hits {
            self.push(Event {
                wd,
                mask,
                cookie,
                name: name.to_vec(),
            });
        }
        for wd in ended {
            forget(node, self);
            self.push(ignored(wd));
        }
    }
}

fn ignored(wd: i32) -> Event {
    Event {
        wd,
        mask: IN_IGNORED,
        cookie: 0,
        name: Vec::new(),
    }
}

/// Removes one watch of `inst` on `node` from the registry.
fn forget(node: NodeId, inst: &Instance) {
    let mut map = lock_shared(&WATCHED);
    if let Some(list) = map.as_mut().and_then(|m| m.get_mut(&node)) {
        if let Some(i) = list
            .iter()
            .position(|w| std::ptr::eq(w.as_ptr(), inst as *const Instance))
        {
            list.swap_remove(i);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
        }
        if list.is_empty() {
            map.as_mut().map(|m| m.remove(&node));
        }
    }
}

/// Every instance watching `node`.
fn watchers(node: NodeId) -> Vec<Arc<Instance>> {
    let map = lock_shared(&WATCHED);
    let Some(list) = map.as_ref().and_then(|m| m.get(&node)) else {
        return Vec::new();
    };
    let mut out: Vec<Arc<Instance>> = list.iter().filter_map(Weak::upgrade).collect();
    out.dedup_by(|a, b| Arc::ptr_eq(a, b));
    out
}

fn report(node: NodeId, mask: u32, cookie: u32, name: &[u8]) {
    for inst in watchers(node) {
        inst.report(node, mask, cookie, name);
    }
}

/// Whether any watch exists (cheap; lets callers skip work).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) > 0
}

/// Reports `mask` for the file at `loc`: to its own watches, and to its
/// directory's with its name.
pub fn file_event(loc: &Location, mask: u32) {
    if !active() {
        return;
    }
    let inode = loc.inode();
    let isdir = if inode.kind() == FileType::Directory {
        IN_ISDIR
    } else {
        0
    };
    report(node_id(inode), mask | isdir, 0, b"");
    if !loc.name().is_empty() {
        report(node_id(loc.parent().inode()), mask | isdir, 0, loc.name());
    }
}

/// Reports `mask` for entry `name` of directory `dir` (create, delete,
/// moves; `cookie` pairs a move's two events).
pub fn child_event(dir: &Location, name: &[u8], is_dir: bool, mask: u32, cookie: u32) {
    if !active() {
        return;
    }
    let isdir = if is_dir { IN_ISDIR } else { 0 };
    report(node_id(dir.inode()), mask | isdir, cookie, name);
}

/// Reports `mask` (`IN_DELETE_SELF`, `IN_MOVE_SELF`, `IN_ATTRIB`) to the
/// watches of `inode` itself; after `IN_DELETE_SELF` they end.
pub fn self_event(inode: &InodeRef, mask: u32) {
    if !active() {
        return;
    }
    let node = node_id(inode);
    report(node, mask, 0, b"");
    if mask & IN_DELETE_SELF != 0 {
        for inst in watchers(node) {
            let gone: Vec<i32> = {
                let mut st = lock(&inst.state);
                let wds: Vec<i32> = st
                    .watches
                    .iter()
                    .filter(|(_, w)| w.node == node)
                    .map(|(wd, _)| *wd)
                    .collect();
                for wd in &wds {
                    st.watches.remove(wd);
                }
                wds
            };
            for wd in gone {
                forget(node, &inst);
                inst.push(ignored(wd));
            }
        }
    }
}

/// A cookie for the two events of one rename.
pub fn next_cookie() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Inotify {
    /// A new instance; `flags` may hold `O_NONBLOCK`.
    pub fn new(flags: u32) -> Inotify {
        Inotify {
            inner: Arc::new(Instance {
                state: Mutex::new(State {
                    watches: BTreeMap::new(),
                    next_wd: 1,
                    queue: VecDeque::new(),
                }),
                readable: WaitQueue::new(),
            }),
            flags: AtomicU32::new(flags),
        }
    }

    /// `inotify_add_watch` on `inode`: the watch descriptor (the same one
    /// again for an inode already watched).
    pub fn add_watch(&self, inode: &InodeRef, mask: u32) -> Result<i32> {
        let node = node_id(inode);
        let events = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
        let mut st = lock(&self.inner.state);
        if let Some((wd, w)) = st.watches.iter_mut().find(|(_, w)| w.node == node) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            w.mask = if mask & IN_MASK_ADD != 0 {
                w.mask | events
            } else {
                events
            };
            return Ok(*wd);
        }
        if st.watches.len() >= MAX_WATCHES {
            return Err(Errno::ENOSPC);
        }
        let wd = st.next_wd;
        st.next_wd += 1;
        st.watches.insert(wd, Watch { node, mask: events });
        drop(st);
        lock_shared(&WATCHED)
            .get_or_insert_with(HashMap::new)
            .entry(node)
            .or_default()
            .push(Arc::downgrade(&self.inner));
        ACTIVE.fetch_add(1, Ordering::Relaxed);
        Ok(wd)
    }

    /// `inotify_rm_watch`: `EINVAL` for an unknown watch descriptor.
    pub fn rm_watch(&self, wd: i32) -> Result<()> {
        let w = lock(&self.inner.state)
            .watches
            .remove(&wd)
            .ok_or(Errno::EINVAL)?;
        forget(w.node, &self.inner);
        self.inner.push(ignored(wd));
        Ok(())
    }

    /// Bytes of queued events (`FIONREAD`).
    pub fn queued_bytes(&self) -> usize {
        lock(&self.inner.state).queue.iter().map(Event::len).sum()
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        let watches = std::mem::take(&mut lock(&self.inner.state).watches);
        for (_, w) in watches {
            forget(w.node, &self.inner);
        }
    }
}

impl File for Inotify {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let inner = &self.inner;
        wait_event(&[&inner.readable], None, || {
            let mut st = lock(&inner.state);
            let Some(first) = st.queue.front() else {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            };
            if first.len() > buf.len() {
                return Err(Errno::EINVAL);
            }
            let mut n = 0;
            while let Some(ev) = st.queue.front() {
                let len = ev.len();
                if n + len > buf.len() {
                    break;
                }
                let rec = &mut buf[n..n + len];
                rec.fill(0);
                rec[0..4].copy_from_slice(&ev.wd.to_le_bytes());
                rec[4..8].copy_from_slice(&ev.mask.to_le_bytes());
                rec[8..12].copy_from_slice(&ev.cookie.to_le_bytes());
                rec[12..16].copy_from_slice(&((len - EVENT_HEADER) as u32).to_le_bytes());
                rec[16..16 + ev.name.len()].copy_from_slice(&ev.name);
                n += len;
                st.queue.pop_front();
            }
            Ok(Some(n))
        })
    }

    fn stat(&self) -> Result<Stat> {
        Ok(super::anon::anon_stat(6))
    }

    fn describe(&self) -> String {
        "anon_inode:inotify".to_string()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        Readiness {
            readable: !lock(&self.inner.state).queue.is_empty(),
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.inner.readable]
    }
}
