//! Pipes: a bounded byte buffer shared by a read end and a write end.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::ring::ByteRing;
use super::{File, FileType, Readiness, Stat, O_ACCMODE, O_NONBLOCK};
use crate::budget::BufferCharge;
use crate::process::wait_event;
use crate::sync::{lock, WaitQueue};
use crate::user;
use crate::vm::{PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

/// Capacity of a pipe (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes up to this size are atomic (`PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;
/// The largest capacity `F_SETPIPE_SZ` sets (`/proc/sys/fs/pipe-max-size`).
pub const PIPE_MAX_SIZE: usize = 1 << 20;

pub(super) struct State {
    buf: ByteRing,
    charge: BufferCharge,
    capacity: usize,
    pub(super) readers: usize,
    pub(super) writers: usize,
    /// Opens of each end so far (a named pipe's `open` waits for the
    /// other end's count to move, even if that end closed again since).
    pub(super) reader_opens: u64,
    pub(super) writer_opens: u64,
}

/// The buffer and ends of one pipe.
pub(super) struct Pipe {
    pub(super) state: Mutex<State>,
    pub(super) readable: WaitQueue,
    pub(super) writable: WaitQueue,
    ino: u64,
}

/// The read end of a pipe.
pub struct PipeReader {
    pipe: Arc<Pipe>,
    flags: AtomicU32,
    closed: AtomicBool,
}

/// The write end of a pipe.
pub struct PipeWriter {
    pipe: Arc<Pipe>,
    flags: AtomicU32,
    closed: AtomicBool,
}

/// Makes a pipe; `flags` (`O_NONBLOCK`) apply to both ends.
pub fn new_pipe(flags: u32) -> (Arc<PipeReader>, Arc<PipeWriter>) {
    let pipe = Pipe::new();
    (
        Arc::new(PipeReader::open(&pipe, flags)),
        Arc::new(PipeWriter::open(&pipe, flags)),
    )
}

impl Pipe {
    /// A pipe with no end open yet.
    pub(super) fn new() -> Arc<Pipe> {
        static NEXT_INO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Arc::new(Pipe {
            state: Mutex::new(State {
                buf: ByteRing::new(),
                charge: BufferCharge::new(PIPE_BUF),
                capacity: PIPE_CAPACITY,
                readers: 0,
                writers: 0,
                reader_opens: 0,
                writer_opens: 0,
            }),
            readable: WaitQueue::new(),
            writable: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        })
    }
}

impl PipeReader {
    /// The pipe this is an end of.
    pub(super) fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Opens a read end of `pipe`.
    pub(super) fn open(pipe: &Arc<Pipe>, flags: u32) -> PipeReader {
        {
            let mut st = lock(&pipe.state);
            st.readers += 1;
            st.reader_opens += 1;
        }
        pipe.writable.wake_all();
        PipeReader {
            pipe: pipe.clone(),
            flags: AtomicU32::new(flags & !O_ACCMODE),
            closed: AtomicBool::new(false),
        }
    }
}

impl PipeWriter {
    /// The pipe this is an end of.
    pub(super) fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Opens a write end of `pipe`.
    pub(super) fn open(pipe: &Arc<Pipe>, flags: u32) -> PipeWriter {
        {
            let mut st = lock(&pipe.state);
            st.writers += 1;
            st.writer_opens += 1;
        }
        pipe.readable.wake_all();
        PipeWriter {
            pipe: pipe.clone(),
            flags: AtomicU32::new((flags & !O_ACCMODE) | 1),
            closed: AtomicBool::new(false),
        }
    }
}

/// `F_GETPIPE_SZ`: the capacity of the pipe `f` is an end of.
pub fn capacity(f: &super::FileRef) -> Option<usize> {
    Some(lock(&end_of(f)?.state).capacity)
}

/// `F_SETPIPE_SZ`: sets the capacity of the pipe `f` is an end of to at
/// least `size` bytes (a power of two pages, at most `PIPE_MAX_SIZE`, even
/// for root, which Linux lets past it: pipes live in the LibOS's budget);
/// `EBUSY` if more bytes are in it; returns the capacity set.
pub fn set_capacity(f: &super::FileRef, size: u64) -> Option<Result<usize>> {
    let pipe = end_of(f)?;
    if size > PIPE_MAX_SIZE as u64 {
        return Some(Err(Errno::EPERM));
    }
    let cap = (size as usize).max(4096).next_power_of_two();
    let mut st = lock(&pipe.state);
    if st.buf.len() > cap {
        return Some(Err(Errno::EBUSY));
    }
    st.capacity = cap;
    drop(st);
    pipe.writable.wake_all();
    Some(Ok(cap))
}

/// Whether `f` is an end of a pipe (anonymous or named).
pub fn is_pipe(f: &super::FileRef) -> bool {
    end_of(f).is_some()
}

/// Whether `a` and `b` are ends of the same pipe.
pub fn same_pipe(a: &super::FileRef, b: &super::FileRef) -> bool {
    matches!((end_of(a), end_of(b)), (Some(x), Some(y)) if Arc::ptr_eq(&x, &y))
}

/// A copy of up to `max` bytes at the front of the pipe `f` is an end of,
/// without taking them (`tee`): waits for some unless `nonblock`
/// (`EAGAIN`); empty without writers gives none. `None` if `f` is no pipe.
pub fn peek(f: &super::FileRef, max: usize, nonblock: bool) -> Option<Result<Vec<u8>>> {
    let pipe = end_of(f)?;
    Some(wait_event(&[&pipe.readable], None, || {
        let st = lock(&pipe.state);
        if !st.buf.is_empty() {
            let (a, b) = st.buf.front(max);
            return Ok(Some([a, b].concat()));
        }
        if st.writers == 0 {
            return Ok(Some(Vec::new()));
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        Ok(None)
    }))
}

/// The pipe behind an anonymous or named pipe's open file.
fn end_of(f: &super::FileRef) -> Option<Arc<Pipe>> {
    if let Some(r) = super::downcast::<PipeReader>(f.clone()) {
        return Some(r.pipe.clone());
    }
    if let Some(w) = super::downcast::<PipeWriter>(f.clone()) {
        return Some(w.pipe.clone());
    }
    super::fifo::pipe_of(f)
}

fn pipe_stat(pipe: &Pipe) -> Stat {
    Stat {
        dev: 0x0c,
        ino: pipe.ino,
        kind: FileType::Fifo,
        perm: 0o600,
        nlink: 1,
        rdev: 0,
        size: 0,
        blksize: 4096,
        ..Stat::default()
    }
}

impl Pipe {
    fn readable_now(&self) -> bool {
        let st = lock(&self.state);
        !st.buf.is_empty() || st.writers == 0
    }
}

/// Bytes waiting in the pipe whose read end is `f` (`FIONREAD`); `None` if
/// `f` is not a pipe's read end.
pub fn bytes_readable(f: &super::FileRef) -> Option<usize> {
    let n = lock(&end_of(f)?.state).buf.len();
    Some(n)
}

impl PipeReader {
    /// Takes up to `max` bytes, waiting for some unless non-blocking; `copy`
    /// gets them as two slices and may refuse them (they stay then).
    fn take(&self, max: usize, mut copy: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<usize> {
        if max == 0 || self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pipe = &self.pipe;
        wait_event(&[&pipe.readable], None, || {
            let mut st = lock(&pipe.state);
            if !st.buf.is_empty() {
                let (a, b) = st.buf.front(max);
                let n = a.len() + b.len();
                copy(a, b)?;
                st.buf.consume(n);
                let held = st.buf.len();
                st.charge.release(held);
                drop(st);
                pipe.writable.wake_all();
                return Ok(Some(n));
            }
            if st.writers == 0 {
                return Ok(Some(0));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        })
    }
}

impl File for PipeReader {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.take(buf.len(), |a, b| {
            buf[..a.len()].copy_from_slice(a);
            buf[a.len()..a.len() + b.len()].copy_from_slice(b);
            Ok(())
        })
    }

    fn read_to_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        Some(self.take(len, |a, b| {
            user::check_access(addr, a.len() + b.len(), PROT_WRITE)?;
            user::write_bytes_unchecked(addr, a)?;
            user::write_bytes_unchecked(addr + a.len() as u64, b)
        }))
    }

    fn stat(&self) -> Result<Stat> {
        Ok(pipe_stat(&self.pipe))
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        Readiness {
            readable: self.pipe.readable_now(),
            hangup: lock(&self.pipe.state).writers == 0,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.pipe.readable]
    }
}

impl PipeWriter {
    /// Puts `len` bytes in, waiting for room unless non-blocking (up to
    /// `PIPE_BUF` bytes go in whole, never interleaved with other writes);
    /// `fill(offset, a, b)` copies the bytes from `offset` on into the
    /// two slices and may fail (nothing of that step goes in then).
    fn put(
        &self,
        len: usize,
        mut fill: impl FnMut(usize, &mut [u8], &mut [u8]) -> Result<()>,
    ) -> Result<usize> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Errno::EPIPE);
        }
        if len == 0 {
            return Ok(0);
        }
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pipe = &self.pipe;
        let mut done = 0;
        while done < len {
            let rest = len - done;
            let r = wait_event(&[&pipe.writable], None, || {
                let mut st = lock(&pipe.state);
                if st.readers == 0 {
                    return Err(Errno::EPIPE);
                }
                let space = st.capacity.saturating_sub(st.buf.len());
                let need = if rest <= PIPE_BUF { rest } else { 1 };
                if space >= need {
                    let want = space.min(rest);
                    let held = st.buf.len();
                    let n = st.charge.admit(held, want, need.min(want));
                    if n == 0 {
                        // LibOS memory is spent: wait as for a full pipe.
                        if nonblock {
                            return Err(Errno::EAGAIN);
                        }
                        return Ok(None);
                    }
                    let cap = st.capacity;
                    st.buf.reserve_total(cap);
                    let (a, b) = st.buf.spare(n);
                    if let Err(e) = fill(done, a, b) {
                        let held = st.buf.len();
                        st.charge.release(held);
                        return Err(e);
                    }
                    st.buf.commit(n);
                    drop(st);
                    pipe.readable.wake_all();
                    return Ok(Some(n));
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                Ok(None)
            });
            match r {
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }
}

impl File for PipeWriter {
    fn write(&self, data: &[u8]) -> Result<usize> {
        self.put(data.len(), |off, a, b| {
            a.copy_from_slice(&data[off..off + a.len()]);
            b.copy_from_slice(&data[off + a.len()..off + a.len() + b.len()]);
            Ok(())
        })
    }

    fn write_from_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        Some(self.put(len, |off, a, b| {
            let at = addr + off as u64;
            user::check_access(at, a.len() + b.len(), PROT_READ)?;
            user::read_into_unchecked(at, a)?;
            user::read_into_unchecked(at + a.len() as u64, b)
        }))
    }

    fn stat(&self) -> Result<Stat> {
        Ok(pipe_stat(&self.pipe))
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags | 1, Ordering::Relaxed);
    }

    fn poll(&self) -> Readiness {
        let st = lock(&self.pipe.state);
        Readiness {
            writable: st.readers == 0 || st.capacity.saturating_sub(st.buf.len()) >= PIPE_BUF,
            error: st.readers == 0,
            ..Readiness::default()
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        vec![&self.pipe.writable]
    }
}

impl PipeReader {
    /// Stops reading for good (as when the last descriptor closes; also
    /// `shutdown(SHUT_RD)` of a socket): writers then get `EPIPE`.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            lock(&self.pipe.state).readers -= 1;
            self.pipe.writable.wake_all();
        }
    }
}

impl PipeWriter {
    /// Stops writing for good (as when the last descriptor closes; also
    /// `shutdown(SHUT_WR)` of a socket): readers then see end of file.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            lock(&self.pipe.state).writers -= 1;
            self.pipe.readable.wake_all();
        }
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.close();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}
