//! Pipes: a bounded byte buffer shared by a read end and a write end.
//! Readers take turns among themselves and so do writers, but a reader and
//! a writer copy at the same time (see `pipe_chunks`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::pipe_chunks::{Chunk, ChunkQueue, APPEND_MAX};
use super::{File, FileType, Readiness, Stat, O_ACCMODE, O_NONBLOCK};
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

/// The buffer and ends of one pipe.
pub(super) struct Pipe {
    queue: Mutex<ChunkQueue>,
    /// Held by a reader while it copies (reads get consecutive bytes).
    read_turn: Mutex<()>,
    /// Held by a writer while it copies (a write of up to `PIPE_BUF` bytes
    /// goes in whole).
    write_turn: Mutex<()>,
    capacity: AtomicUsize,
    /// Held while an end opens or closes: a named pipe's `open` sees the
    /// other end's count as of its own open (the counts below change only
    /// under it, and are read without it elsewhere).
    ends: Mutex<()>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    /// Opens of each end so far (a named pipe's `open` waits for the
    /// other end's count to move, even if that end closed again since).
    reader_opens: AtomicU64,
    writer_opens: AtomicU64,
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
            queue: Mutex::new(ChunkQueue::new(PIPE_BUF)),
            read_turn: Mutex::new(()),
            write_turn: Mutex::new(()),
            capacity: AtomicUsize::new(PIPE_CAPACITY),
            ends: Mutex::new(()),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            reader_opens: AtomicU64::new(0),
            writer_opens: AtomicU64::new(0),
            readable: WaitQueue::new(),
            writable: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        })
    }
}

impl Pipe {
    /// Counts an end opening (`mine`: its open count and opens so far),
    /// wakes the other end's waiters, and gives the other end's (`theirs`)
    /// counts as of that moment.
    fn open_end(
        &self,
        mine: (&AtomicUsize, &AtomicU64),
        theirs: (&AtomicUsize, &AtomicU64),
        their_queue: &WaitQueue,
    ) -> (usize, u64) {
        let seen = {
            let _ends = lock(&self.ends);
            mine.0.fetch_add(1, Ordering::SeqCst);
            mine.1.fetch_add(1, Ordering::SeqCst);
            (
                theirs.0.load(Ordering::SeqCst),
                theirs.1.load(Ordering::SeqCst),
            )
        };
        their_queue.wake_all();
        seen
    }
}

impl PipeReader {
    /// The pipe this is an end of.
    pub(super) fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Opens a read end of `pipe`.
    pub(super) fn open(pipe: &Arc<Pipe>, flags: u32) -> PipeReader {
        PipeReader::open_seeing(pipe, flags).0
    }

    /// Opens a read end of `pipe`; also gives, as of that moment, how many
    /// write ends were open and how many had opened so far.
    pub(super) fn open_seeing(pipe: &Arc<Pipe>, flags: u32) -> (PipeReader, usize, u64) {
        let seen = pipe.open_end(
            (&pipe.readers, &pipe.reader_opens),
            (&pipe.writers, &pipe.writer_opens),
            &pipe.writable,
        );
        let end = PipeReader {
            pipe: pipe.clone(),
            flags: AtomicU32::new(flags & !O_ACCMODE),
            closed: AtomicBool::new(false),
        };
        (end, seen.0, seen.1)
    }
}

impl PipeWriter {
    /// The pipe this is an end of.
    pub(super) fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// Opens a write end of `pipe`.
    pub(super) fn open(pipe: &Arc<Pipe>, flags: u32) -> PipeWriter {
        PipeWriter::open_seeing(pipe, flags).0
    }

    /// Opens a write end of `pipe`; also gives, as of that moment, how many
    /// read ends were open and how many had opened so far.
    pub(super) fn open_seeing(pipe: &Arc<Pipe>, flags: u32) -> (PipeWriter, usize, u64) {
        let seen = pipe.open_end(
            (&pipe.writers, &pipe.writer_opens),
            (&pipe.readers, &pipe.reader_opens),
            &pipe.readable,
        );
        let end = PipeWriter {
            pipe: pipe.clone(),
            flags: AtomicU32::new((flags & !O_ACCMODE) | 1),
            closed: AtomicBool::new(false),
        };
        (end, seen.0, seen.1)
    }
}

/// `F_GETPIPE_SZ`: the capacity of the pipe `f` is an end of.
pub fn capacity(f: &super::FileRef) -> Option<usize> {
    Some(end_of(f)?.capacity.load(Ordering::Relaxed))
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
    {
        // Writers hold their turn from their room check to their append.
        let _turn = lock(&pipe.write_turn);
        if lock(&pipe.queue).len() > cap {
            return Some(Err(Errno::EBUSY));
        }
        pipe.capacity.store(cap, Ordering::SeqCst);
    }
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
        // A reader's turn: no bytes are out of the queue being copied.
        let _turn = lock(&pipe.read_turn);
        let q = lock(&pipe.queue);
        if q.len() > 0 {
            return Ok(Some(q.front(max)));
        }
        if pipe.writers() == 0 {
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
    /// Open read ends.
    pub(super) fn readers(&self) -> usize {
        self.readers.load(Ordering::SeqCst)
    }

    /// Open write ends.
    pub(super) fn writers(&self) -> usize {
        self.writers.load(Ordering::SeqCst)
    }

    /// Read ends opened so far.
    pub(super) fn reader_opens(&self) -> u64 {
        self.reader_opens.load(Ordering::SeqCst)
    }

    /// Write ends opened so far.
    pub(super) fn writer_opens(&self) -> u64 {
        self.writer_opens.load(Ordering::SeqCst)
    }

    fn held(&self) -> usize {
        lock(&self.queue).len()
    }

    fn readable_now(&self) -> bool {
        self.writers() == 0 || self.held() > 0
    }
}

/// Bytes waiting in the pipe whose read end is `f` (`FIONREAD`); `None` if
/// `f` is not a pipe's read end.
pub fn bytes_readable(f: &super::FileRef) -> Option<usize> {
    Some(end_of(f)?.held())
}

impl PipeReader {
    /// Takes up to `max` bytes, waiting for some unless non-blocking.
    /// `check(n)` may refuse `n` bytes before any is taken (they stay
    /// then); `copy(offset, bytes)` gets them piece by piece.
    fn take(
        &self,
        max: usize,
        check: impl Fn(usize) -> Result<()>,
        mut copy: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<usize> {
        if max == 0 || self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let nonblock = self.flags.load(Ordering::Relaxed) & O_NONBLOCK != 0;
        let pipe = &self.pipe;
        wait_event(&[&pipe.readable], None, || {
            let _turn = lock(&pipe.read_turn);
            // Writers first: with none left, every byte they wrote is in
            // (a write ends before its end closes).
            let no_writers = pipe.writers() == 0;
            let held = pipe.held();
            if held == 0 {
                if no_writers {
                    return Ok(Some(0));
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                return Ok(None);
            }
            let want = held.min(max);
            check(want)?;
            let mut done = 0;
            let mut emptied: Option<Chunk> = None;
            let mut failed = None;
            while done < want {
                let Some(mut chunk) = lock(&pipe.queue).take_front(emptied.take()) else {
                    break;
                };
                let n = chunk.data().len().min(want - done);
                if let Err(e) = copy(done, &chunk.data()[..n]) {
                    lock(&pipe.queue).put_back(chunk);
                    failed = Some(e);
                    break;
                }
                chunk.advance(n);
                done += n;
                if chunk.data().is_empty() {
                    emptied = Some(chunk);
                } else {
                    lock(&pipe.queue).put_back(chunk);
                }
            }
            lock(&pipe.queue).consumed(done, emptied);
            if done > 0 {
                pipe.writable.wake_all();
            }
            match failed {
                Some(e) if done == 0 => Err(e),
                _ => Ok(Some(done)),
            }
        })
    }
}

impl File for PipeReader {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.take(
            buf.len(),
            |_| Ok(()),
            |off, data| {
                buf[off..off + data.len()].copy_from_slice(data);
                Ok(())
            },
        )
    }

    fn read_to_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        Some(self.take(
            len,
            |n| user::check_access(addr, n, PROT_WRITE),
            |off, data| user::write_bytes_unchecked(addr + off as u64, data),
        ))
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
            hangup: self.pipe.writers() == 0,
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
    /// `fill(offset, n, buf)` appends the `n` bytes from `offset` on to
    /// `buf`, or fails and leaves it as it was (nothing of that step goes in
    /// then).
    fn put(
        &self,
        len: usize,
        mut fill: impl FnMut(usize, usize, &mut Vec<u8>) -> Result<()>,
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
                let _turn = lock(&pipe.write_turn);
                if pipe.readers() == 0 {
                    return Err(Errno::EPIPE);
                }
                let mut q = lock(&pipe.queue);
                let space = pipe.capacity.load(Ordering::SeqCst).saturating_sub(q.len());
                let need = if rest <= PIPE_BUF { rest } else { 1 };
                if space < need {
                    return if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                let want = space.min(rest);
                let n = q.reserve(want, need.min(want));
                if n == 0 {
                    // LibOS memory is spent: wait as for a full pipe.
                    return if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                if n <= APPEND_MAX {
                    if let Some(r) = q.append(n, |buf| fill(done, n, buf)) {
                        if let Err(e) = r {
                            q.unreserve(n);
                            return Err(e);
                        }
                        drop(q);
                        pipe.readable.wake_all();
                        return Ok(Some(n));
                    }
                }
                let mut buf = q.buffer(n);
                drop(q);
                if let Err(e) = fill(done, n, &mut buf) {
                    lock(&pipe.queue).unreserve(n);
                    return Err(e);
                }
                lock(&pipe.queue).push(buf);
                pipe.readable.wake_all();
                Ok(Some(n))
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
        self.put(data.len(), |off, n, buf| {
            buf.extend_from_slice(&data[off..off + n]);
            Ok(())
        })
    }

    fn write_from_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        Some(self.put(len, |off, n, buf| {
            let at = addr + off as u64;
            user::check_access(at, n, PROT_READ)?;
            user::read_append_unchecked(at, n, buf)
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
        let closed = self.pipe.readers() == 0;
        let room = self
            .pipe
            .capacity
            .load(Ordering::SeqCst)
            .saturating_sub(self.pipe.held());
        Readiness {
            writable: closed || room >= PIPE_BUF,
            error: closed,
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
            let _ends = lock(&self.pipe.ends);
            self.pipe.readers.fetch_sub(1, Ordering::SeqCst);
            self.pipe.writable.wake_all();
        }
    }
}

impl PipeWriter {
    /// Stops writing for good (as when the last descriptor closes; also
    /// `shutdown(SHUT_WR)` of a socket): readers then see end of file.
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ends = lock(&self.pipe.ends);
            self.pipe.writers.fetch_sub(1, Ordering::SeqCst);
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
