//! `AF_UNIX` sockets, served inside the LibOS (never by the host): stream and
//! datagram sockets, unnamed (`socketpair`), bound to a path (a socket file
//! in the VFS) or to an abstract name (a LibOS-wide table).
//!
//! Every socket has its own receive buffer from the start. A connected stream
//! socket writes into its peer's buffer; a datagram socket queues messages
//! (with the sender's address) in the destination's buffer. Sockets that can
//! be reached by address are kept in one registry, keyed by the socket file's
//! device and inode number or by the abstract name.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use super::{
    next_ino, socket_stat, Timeouts, EADDRINUSE, ECONNREFUSED, EMSGSIZE, ENOTCONN, EPROTOTYPE,
    MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL,
};
use crate::budget::BufferCharge;
use crate::fs::vfs::{self, Location};
use crate::fs::{File, FileRef, FileType, Readiness, Stat, O_NONBLOCK, O_RDWR};
use crate::process::wait_event;
use crate::sync::{lock, lock_shared, WaitQueue};
use crate::{Errno, Result};

/// Bytes a stream socket's receive buffer holds (Linux's default buffer).
const STREAM_CAPACITY: usize = 212_992;
/// Bytes of datagrams a receive buffer holds; also the largest datagram.
const DGRAM_CAPACITY: usize = 212_992;
/// Datagrams a receive buffer holds.
const DGRAM_QUEUE: usize = 512;

/// The address of an `AF_UNIX` socket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UnixAddr {
    /// No address.
    #[default]
    Unnamed,
    /// A path in the file tree (without the final NUL).
    Path(Vec<u8>),
    /// An abstract name (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// Parses a `struct sockaddr_un` of `bytes.len()` bytes (the family
    /// already checked): `EINVAL` if too long.
    pub fn parse(bytes: &[u8]) -> Result<UnixAddr> {
        if bytes.len() < 2 || bytes.len() > 110 {
            return Err(Errno::EINVAL);
        }
        let path = &bytes[2..];
        Ok(match path.first() {
            None => UnixAddr::Unnamed,
            Some(0) => UnixAddr::Abstract(path[1..].to_vec()),
            Some(_) => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                UnixAddr::Path(path[..end].to_vec())
            }
        })
    }

    /// The `struct sockaddr_un` bytes Linux reports for this address.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = 1u16.to_le_bytes().to_vec();
        match self {
            UnixAddr::Unnamed => {}
            UnixAddr::Path(p) => {
                out.extend_from_slice(p);
                out.push(0);
            }
            UnixAddr::Abstract(n) => {
                out.push(0);
                out.extend_from_slice(n);
            }
        }
        out
    }
}

/// The type of an `AF_UNIX` socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnixKind {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
}

/// Open files passed with a message (`SCM_RIGHTS`).
pub type Rights = Vec<FileRef>;

/// A queued datagram.
struct Datagram {
    data: Vec<u8>,
    from: UnixAddr,
    rights: Rights,
}

#[derive(Default)]
struct BufState {
    bytes: VecDeque<u8>,
    /// Stream bytes read and written so far.
    read_pos: u64,
    write_pos: u64,
    /// Files passed on a stream, with the positions of the bytes they came
    /// with (first, and one past the last).
    rights: VecDeque<(u64, u64, Rights)>,
    msgs: VecDeque<Datagram>,
    msg_bytes: usize,
    /// What the queued bytes hold of the kernel budget.
    charge: BufferCharge,
    /// Nobody reads any more (closed, `SHUT_RD`): writers get `EPIPE`.
    reader_gone: bool,
    /// Nobody writes any more (closed, `SHUT_WR`): readers see end of file.
    writer_gone: bool,
}

/// A socket's receive buffer.
#[derive(Default)]
struct Buffer {
    st: Mutex<BufState>,
    readable: WaitQueue,
    writable: WaitQueue,
}

impl Buffer {
    fn close_reading(&self) {
        lock(&self.st).reader_gone = true;
        self.writable.wake_all();
        self.readable.wake_all();
        DGRAM_SPACE.wake_all();
    }

    fn close_writing(&self) {
        lock(&self.st).writer_gone = true;
        self.readable.wake_all();
    }

    fn stream_space(&self) -> bool {
        let st = lock(&self.st);
        st.reader_gone || st.bytes.len() < STREAM_CAPACITY
    }
}

/// Woken whenever a datagram leaves any receive buffer: a datagram socket's
/// writability depends on its peer's buffer, whose queues it cannot lend
/// to `poll`.
static DGRAM_SPACE: WaitQueue = WaitQueue::new();

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Inode(u64, u64),
    Abstract(Vec<u8>),
}

/// Sockets reachable by address.
fn registry() -> &'static Mutex<HashMap<Key, Weak<UnixSocket>>> {
    static REG: OnceLock<Mutex<HashMap<Key, Weak<UnixSocket>>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

#[derive(Default)]
struct State {
    local: UnixAddr,
    key: Option<Key>,
    /// The peer's address once connected.
    peer_addr: Option<UnixAddr>,
    /// A datagram socket's default destination.
    peer: Option<Weak<UnixSocket>>,
    /// A listening stream socket's pending connections and their limit.
    backlog: Option<(VecDeque<Arc<UnixSocket>>, usize)>,
    shut_write: bool,
}

/// An `AF_UNIX` socket.
pub struct UnixSocket {
    kind: UnixKind,
    flags: AtomicU32,
    ino: u64,
    rx: Arc<Buffer>,
    /// A connected stream socket's peer's receive buffer.
    tx: OnceLock<Arc<Buffer>>,
    state: Mutex<State>,
    /// Woken when connections arrive or are accepted.
    events: WaitQueue,
    timeouts: Timeouts,
}

/// What one receive got.
pub struct UnixReceived {
    /// Bytes stored.
    pub len: usize,
    /// The datagram's full length (`len` for streams).
    pub full_len: usize,
    /// The sender's address.
    pub from: UnixAddr,
    /// `MSG_TRUNC` if a datagram did not fit.
    pub flags: u32,
    /// Files passed with the data.
    pub rights: Rights,
}

impl UnixSocket {
    /// A new unconnected socket; `flags` may hold `O_NONBLOCK`.
    pub fn new(kind: UnixKind, flags: u32) -> Arc<UnixSocket> {
        Arc::new(UnixSocket {
            kind,
            flags: AtomicU32::new(O_RDWR | (flags & O_NONBLOCK)),
            ino: next_ino(),
            rx: Arc::new(Buffer::default()),
            tx: OnceLock::new(),
            state: Mutex::new(State::default()),
            events: WaitQueue::new(),
            timeouts: Timeouts::default(),
        })
    }

    /// A connected pair (`socketpair`).
    pub fn pair(kind: UnixKind, flags: u32) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let (a, b) = (Self::new(kind, flags), Self::new(kind, flags));
        match kind {
            UnixKind::Stream => {
                let _ = a.tx.set(b.rx.clone());
                let _ = b.tx.set(a.rx.clone());
            }
            UnixKind::Datagram => {
                lock(&a.state).peer = Some(Arc::downgrade(&b));
                lock(&b.state).peer = Some(Arc::downgrade(&a));
            }
        }
        lock(&a.state).peer_addr = Some(UnixAddr::Unnamed);
        lock(&b.state).peer_addr = Some(UnixAddr::Unnamed);
        (a, b)
    }

    /// The socket type.
    pub fn kind(&self) -> UnixKind {
        self.kind
    }

    /// The send and receive time-outs.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Whether the socket listens.
    pub fn is_listening(&self) -> bool {
        lock(&self.state).backlog.is_some()
    }

    fn nonblocking(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0
    }

    fn deadline(&self, write: bool) -> Option<Instant> {
        self.timeouts.deadline(write)
    }

    /// `bind` to `addr`, a path resolved from `cwd` (the socket file gets
    /// mode 0777 less `umask`); an unnamed address picks an abstract name.
    pub fn bind(self: &Arc<Self>, addr: UnixAddr, cwd: &Location, umask: u32) -> Result<()> {
        let mut st = lock(&self.state);
        if st.key.is_some() {
            return Err(Errno::EINVAL);
        }
        let (addr, key) = match addr {
            UnixAddr::Unnamed => {
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let reg = lock_shared(registry());
                let name = (0..=0xfffff)
                    .map(|_| {
                        let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0xfffff;
                        format!("{n:05x}").into_bytes()
                    })
                    .find(|name| !reg.contains_key(&Key::Abstract(name.clone())))
                    .ok_or(EADDRINUSE)?;
                (UnixAddr::Abstract(name.clone()), Key::Abstract(name))
            }
            UnixAddr::Abstract(n) => (UnixAddr::Abstract(n.clone()), Key::Abstract(n)),
            UnixAddr::Path(p) => {
                let parent = vfs::resolve_parent(cwd, &p)?;
                if parent.dir.inode().fs().read_only() {
                    return Err(Errno::EROFS);
                }
                crate::fs::perm::check_dir_change(parent.dir.inode(), None)?;
                let inode = parent
                    .dir
                    .inode()
                    .create(&parent.name, FileType::Socket, 0o777 & !umask, 0)
                    .map_err(|e| if e == Errno::EEXIST { EADDRINUSE } else { e })?;
                crate::fs::perm::give_to_caller(&inode)?;
                let key = Key::Inode(inode.fs().dev(), inode.ino());
                (UnixAddr::Path(p), key)
            }
        };
        let mut reg = lock_shared(registry());
        if reg.get(&key).is_some_and(|w| w.strong_count() > 0) {
            return Err(EADDRINUSE);
        }
        reg.insert(key.clone(), Arc::downgrade(self));
        st.local = addr;
        st.key = Some(key);
        Ok(())
    }

    /// `listen`: a bound stream socket accepts up to `backlog` + 1 pending
    /// connections.
    pub fn listen(&self, backlog: i32) -> Result<()> {
        if self.kind != UnixKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = lock(&self.state);
        if st.key.is_none() || self.tx.get().is_some() {
            return Err(Errno::EINVAL);
        }
        let max = backlog.clamp(0, 4096) as usize + 1;
        match &mut st.backlog {
            Some((_, m)) => *m = max,
            None => st.backlog = Some((VecDeque::new(), max)),
        }
        drop(st);
        self.events.wake_all();
        Ok(())
    }

    /// The socket bound to `addr` (`ECONNREFUSED` if none).
    fn lookup(addr: &UnixAddr, cwd: &Location) -> Result<Arc<UnixSocket>> {
        let key = match addr {
            UnixAddr::Unnamed => return Err(Errno::EINVAL),
            UnixAddr::Abstract(n) => Key::Abstract(n.clone()),
            UnixAddr::Path(p) => {
                let loc = vfs::resolve(cwd, p, true)?;
                let inode = loc.inode();
                if inode.kind() != FileType::Socket {
                    return Err(ECONNREFUSED);
                }
                Key::Inode(inode.fs().dev(), inode.ino())
            }
        };
        let reg = lock_shared(registry());
        reg.get(&key).and_then(Weak::upgrade).ok_or(ECONNREFUSED)
    }

    /// `connect` to `addr` (`None`: `AF_UNSPEC`, which dissolves a datagram
    /// socket's association).
    pub fn connect(self: &Arc<Self>, addr: Option<&UnixAddr>, cwd: &Location) -> Result<()> {
        let Some(addr) = addr else {
            if self.kind == UnixKind::Datagram {
                let mut st = lock(&self.state);
                st.peer = None;
                st.peer_addr = None;
            }
            return Ok(());
        };
        if self.kind == UnixKind::Stream {
            let st = lock(&self.state);
            if self.tx.get().is_some() {
                return Err(Errno::EISCONN);
            }
            if st.backlog.is_some() {
                return Err(Errno::EINVAL);
            }
        }
        let target = Self::lookup(addr, cwd)?;
        if target.kind != self.kind {
            return Err(EPROTOTYPE);
        }
        if self.kind == UnixKind::Datagram {
            let peer_addr = lock(&target.state).local.clone();
            let mut st = lock(&self.state);
            st.peer = Some(Arc::downgrade(&target));
            st.peer_addr = Some(peer_addr);
            return Ok(());
        }
        let server = Self::new(UnixKind::Stream, 0);
        let _ = server.tx.set(self.rx.clone());
        let local = lock(&self.state).local.clone();
        let nonblock = self.nonblocking();
        let target_addr = wait_event(&[&target.events], self.deadline(true), || {
            let mut tst = lock(&target.state);
            let addr = tst.local.clone();
            let Some((queue, max)) = &mut tst.backlog else {
                return Err(ECONNREFUSED);
            };
            if queue.len() < *max {
                let mut sst = lock(&server.state);
                sst.local = addr.clone();
                sst.peer_addr = Some(local.clone());
                drop(sst);
                queue.push_back(server.clone());
                return Ok(Some(addr));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        })
        .map_err(timeout_as_eagain)?;
        target.events.wake_all();
        let _ = self.tx.set(server.rx.clone());
        lock(&self.state).peer_addr = Some(target_addr);
        Ok(())
    }

    /// `accept`: the next pending connection, with status flags `flags`,
    /// and its peer's address.
    pub fn accept(&self, flags: u32) -> Result<(Arc<UnixSocket>, UnixAddr)> {
        if self.kind != UnixKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblock = self.nonblocking();
        let s = wait_event(&[&self.events], self.deadline(false), || {
            let mut st = lock(&self.state);
            let Some((queue, _)) = &mut st.backlog else {
                return Err(Errno::EINVAL);
            };
            if let Some(s) = queue.pop_front() {
                return Ok(Some(s));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        })
        .map_err(timeout_as_eagain)?;
        self.events.wake_all();
        s.flags
            .store(O_RDWR | (flags & O_NONBLOCK), Ordering::Relaxed);
        let peer = lock(&s.state).peer_addr.clone().unwrap_or_default();
        Ok((s, peer))
    }

    /// Sends `data` (to `to`, a datagram socket's destination, with the
    /// directory a relative path starts from); `nonblock` adds
    /// `MSG_DONTWAIT`.
    pub fn send(
        &self,
        data: &[u8],
        flags: u32,
        to: Option<(&UnixAddr, &Location)>,
        rights: Rights,
        nonblock: bool,
    ) -> Result<usize> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblock = nonblock || self.nonblocking();
        let deadline = self.deadline(true);
        match self.kind {
            UnixKind::Stream => {
                let Some(tx) = self.tx.get() else {
                    return Err(if to.is_some() {
                        Errno::EOPNOTSUPP
                    } else {
                        ENOTCONN
                    });
                };
                if to.is_some() {
                    return Err(Errno::EISCONN);
                }
                if lock(&self.state).shut_write {
                    return Err(Errno::EPIPE);
                }
                self.send_stream(tx, data, rights, nonblock, deadline)
            }
            UnixKind::Datagram => {
                let target = match to {
                    Some((a, cwd)) => Self::lookup(a, cwd)?,
                    None => {
                        let peer = lock(&self.state).peer.clone().ok_or(ENOTCONN)?;
                        peer.upgrade().ok_or(ECONNREFUSED)?
                    }
                };
                if target.kind != UnixKind::Datagram {
                    return Err(EPROTOTYPE);
                }
                // A socket connected to another one takes nothing from us.
                let taken = lock(&target.state).peer.as_ref().is_some_and(|p| {
                    p.strong_count() > 0 && !std::ptr::eq(p.as_ptr(), self as *const UnixSocket)
                });
                if taken {
                    return Err(Errno::EPERM);
                }
                if lock(&self.state).shut_write {
                    return Err(Errno::EPIPE);
                }
                if data.len() > DGRAM_CAPACITY {
                    return Err(EMSGSIZE);
                }
                let from = lock(&self.state).local.clone();
                let rx = &target.rx;
                let mut rights = Some(rights);
                wait_event(&[&rx.writable], deadline, || {
                    let mut st = lock(&rx.st);
                    if st.reader_gone {
                        return Err(Errno::EPIPE);
                    }
                    let held = st.msg_bytes;
                    if st.msgs.len() < DGRAM_QUEUE
                        && st.msg_bytes + data.len() <= DGRAM_CAPACITY
                        && st.charge.admit(held, data.len(), data.len()) == data.len()
                    {
                        st.msgs.push_back(Datagram {
                            data: data.to_vec(),
                            from: from.clone(),
                            rights: rights.take().unwrap_or_default(),
                        });
                        st.msg_bytes += data.len();
                        drop(st);
                        rx.readable.wake_all();
                        return Ok(Some(data.len()));
                    }
                    if nonblock {
                        return Err(Errno::EAGAIN);
                    }
                    Ok(None)
                })
                .map_err(timeout_as_eagain)
            }
        }
    }

    fn send_stream(
        &self,
        tx: &Buffer,
        data: &[u8],
        rights: Rights,
        nonblock: bool,
        deadline: Option<Instant>,
    ) -> Result<usize> {
        let mut rights = (!rights.is_empty()).then_some(rights);
        let mut done = 0;
        while done < data.len() || data.is_empty() {
            let rest = &data[done..];
            let r = wait_event(&[&tx.writable], deadline, || {
                let mut st = lock(&tx.st);
                if st.reader_gone {
                    return Err(Errno::EPIPE);
                }
                let space = STREAM_CAPACITY.saturating_sub(st.bytes.len());
                let held = st.bytes.len();
                // How much goes in now: none of a write while the buffer is
                // full or LibOS memory is spent (it waits); all of an empty one.
                let n = if rest.is_empty() {
                    Some(0)
                } else {
                    Some(st.charge.admit(held, space.min(rest.len()), 1)).filter(|&n| n > 0)
                };
                if let Some(n) = n {
                    if let Some(r) = rights.take() {
                        let at = st.write_pos;
                        st.rights.push_back((at, at + n as u64, r));
                    }
                    st.bytes.extend(rest[..n].iter().copied());
                    st.write_pos += n as u64;
                    drop(st);
                    tx.readable.wake_all();
                    return Ok(Some(n));
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                Ok(None)
            });
            match r {
                Ok(n) => {
                    done += n;
                    if data.is_empty() {
                        break;
                    }
                }
                Err(e) if done == 0 => return Err(timeout_as_eagain(e)),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Receives into `buf`; `nonblock` adds `MSG_DONTWAIT`.
    pub fn recv(&self, buf: &mut [u8], flags: u32, nonblock: bool) -> Result<UnixReceived> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblock = nonblock || self.nonblocking();
        let peek = flags & MSG_PEEK != 0;
        let rx = &self.rx;
        let deadline = self.deadline(false);
        let timeout = timeout_as_eagain;
        match self.kind {
            UnixKind::Stream => {
                if self.tx.get().is_none() {
                    return Err(Errno::EINVAL);
                }
                let from = lock(&self.state).peer_addr.clone().unwrap_or_default();
                let waitall = flags & MSG_WAITALL != 0 && !nonblock && !peek;
                let mut done = 0;
                let mut got_rights = Rights::new();
                loop {
                    let r = wait_event(&[&rx.readable], deadline, || {
                        let mut st = lock(&rx.st);
                        if !st.bytes.is_empty() {
                            let pos = st.read_pos;
                            let mut n = (buf.len() - done).min(st.bytes.len());
                            // A read that reaches bytes sent with files takes
                            // the files and ends with those bytes, as on Linux.
                            if let Some((first, last, files)) = st.rights.front() {
                                if *first < pos + n as u64 {
                                    n = n.min(last.saturating_sub(pos) as usize);
                                    got_rights = files.clone();
                                    if !peek {
                                        st.rights.pop_front();
                                    }
                                }
                            }
                            for (d, s) in buf[done..done + n].iter_mut().zip(st.bytes.iter()) {
                                *d = *s;
                            }
                            if !peek {
                                st.bytes.drain(..n);
                                let held = st.bytes.len();
                                st.charge.release(held);
                                st.read_pos += n as u64;
                                drop(st);
                                rx.writable.wake_all();
                            }
                            return Ok(Some(n));
                        }
                        if st.writer_gone || st.reader_gone || buf.len() == done {
                            return Ok(Some(0));
                        }
                        if nonblock {
                            return Err(Errno::EAGAIN);
                        }
                        Ok(None)
                    });
                    match r {
                        Ok(0) => break,
                        Ok(n) => {
                            done += n;
                            if !waitall || done == buf.len() || !got_rights.is_empty() {
                                break;
                            }
                        }
                        Err(e) if done == 0 => return Err(timeout(e)),
                        Err(_) => break,
                    }
                }
                Ok(UnixReceived {
                    len: done,
                    full_len: done,
                    from,
                    flags: 0,
                    rights: got_rights,
                })
            }
            UnixKind::Datagram => wait_event(&[&rx.readable], deadline, || {
                let mut st = lock(&rx.st);
                if let Some(d) = st.msgs.front() {
                    let msg = &d.data;
                    let n = msg.len().min(buf.len());
                    buf[..n].copy_from_slice(&msg[..n]);
                    let mut got = UnixReceived {
                        len: n,
                        full_len: msg.len(),
                        from: d.from.clone(),
                        flags: if n < msg.len() { MSG_TRUNC } else { 0 },
                        rights: Rights::new(),
                    };
                    if peek {
                        got.rights = d.rights.clone();
                    } else {
                        st.msg_bytes -= got.full_len;
                        let held = st.msg_bytes;
                        st.charge.release(held);
                        got.rights = st.msgs.pop_front().map(|d| d.rights).unwrap_or_default();
                        drop(st);
                        rx.writable.wake_all();
                        DGRAM_SPACE.wake_all();
                    }
                    return Ok(Some(got));
                }
                if st.reader_gone {
                    return Ok(Some(UnixReceived {
                        len: 0,
                        full_len: 0,
                        from: UnixAddr::Unnamed,
                        flags: 0,
                        rights: Rights::new(),
                    }));
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                Ok(None)
            })
            .map_err(timeout),
        }
    }

    /// `shutdown`: stop reading and/or writing.
    pub fn shutdown(&self, read: bool, write: bool) -> Result<()> {
        if self.kind == UnixKind::Stream && self.tx.get().is_none() {
            return Err(ENOTCONN);
        }
        if read {
            self.rx.close_reading();
        }
        if write {
            lock(&self.state).shut_write = true;
            if let Some(tx) = self.tx.get() {
                tx.close_writing();
            }
        }
        self.events.wake_all();
        Ok(())
    }

    /// The local address.
    pub fn local_addr(&self) -> UnixAddr {
        lock(&self.state).local.clone()
    }

    /// The peer's address (`ENOTCONN` if not connected).
    pub fn peer_addr(&self) -> Result<UnixAddr> {
        let st = lock(&self.state);
        if self.kind == UnixKind::Datagram && st.peer.as_ref().is_none_or(|p| p.strong_count() == 0)
        {
            return Err(ENOTCONN);
        }
        st.peer_addr.clone().ok_or(ENOTCONN)
    }

    /// Bytes ready to be read (`FIONREAD`): all queued bytes of a stream, the
    /// next datagram's size.
    pub fn bytes_readable(&self) -> Result<usize> {
        if self.is_listening() {
            return Err(Errno::EINVAL);
        }
        let st = lock(&self.rx.st);
        Ok(match self.kind {
            UnixKind::Stream => st.bytes.len(),
            UnixKind::Datagram => st.msgs.front().map_or(0, |m| m.data.len()),
        })
    }
}

impl File for UnixSocket {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.recv(buf, 0, false).map(|r| r.len)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.send(buf, 0, None, Rights::new(), false)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(socket_stat(self.ino))
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(O_RDWR | (flags & !3), Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        let st = lock(&self.state);
        if let Some((queue, _)) = &st.backlog {
            return Readiness {
                readable: !queue.is_empty(),
                ..Readiness::default()
            };
        }
        let shut_write = st.shut_write;
        let peer = st.peer.clone();
        drop(st);
        let (readable, rx_closed) = {
            let rx = lock(&self.rx.st);
            let data = !rx.bytes.is_empty() || !rx.msgs.is_empty();
            (
                data || rx.reader_gone || rx.writer_gone,
                rx.reader_gone || rx.writer_gone,
            )
        };
        match self.kind {
            UnixKind::Stream => match self.tx.get() {
                None => Readiness {
                    writable: true,
                    hangup: true,
                    ..Readiness::default()
                },
                Some(tx) => {
                    let tx_closed = shut_write || lock(&tx.st).reader_gone;
                    Readiness {
                        readable,
                        writable: tx.stream_space(),
                        hangup: rx_closed && tx_closed,
                        error: false,
                    }
                }
            },
            UnixKind::Datagram => {
                let writable = match peer.and_then(|p| p.upgrade()) {
                    Some(p) => {
                        let st = lock(&p.rx.st);
                        st.reader_gone
                            || (st.msgs.len() < DGRAM_QUEUE && st.msg_bytes < DGRAM_CAPACITY)
                    }
                    None => true,
                };
                Readiness {
                    readable,
                    writable,
                    hangup: lock(&self.rx.st).reader_gone && shut_write,
                    error: false,
                }
            }
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        let mut q = vec![&self.rx.readable, &self.events];
        if let Some(tx) = self.tx.get() {
            q.push(&tx.writable);
        }
        if self.kind == UnixKind::Datagram {
            q.push(&DGRAM_SPACE);
        }
        q
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        self.rx.close_reading();
        if let Some(tx) = self.tx.get() {
            tx.close_writing();
        }
        let st = lock(&self.state);
        if let Some(key) = &st.key {
            let mut reg = lock_shared(registry());
            if reg.get(key).is_some_and(|w| w.strong_count() == 0) {
                reg.remove(key);
            }
        }
    }
}

/// A socket time-out (`SO_RCVTIMEO`/`SO_SNDTIMEO`) ends a wait with
/// `EAGAIN`, as on Linux.
fn timeout_as_eagain(e: Errno) -> Errno {
    if e == Errno::ETIMEDOUT {
        Errno::EAGAIN
    } else {
        e
    }
}
