//! Named pipes (FIFOs): opening a FIFO node joins the one pipe of that node,
//! shared by every process that opens it while any end is open. The pipe
//! lives in the LibOS, whatever file system holds the node (a FIFO on a
//! hostfs mount connects LibOS processes, not host ones).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::pipe::{Pipe, PipeReader, PipeWriter};
use super::vfs::Location;
use super::{File, FileRef, Readiness, Stat, O_ACCMODE, O_NONBLOCK, O_RDWR, O_WRONLY};
use crate::process::wait_event;
use crate::sync::{lock, WaitQueue};
use crate::{Errno, Result};

/// A FIFO node: (device, inode number).
type NodeId = (u64, u64);

/// The pipe of every FIFO node open somewhere.
static PIPES: Mutex<Option<HashMap<NodeId, Weak<Pipe>>>> = Mutex::new(None);

/// An open FIFO: a read end, a write end, or both (`O_RDWR`).
pub struct FifoFile {
    loc: Location,
    reader: Option<PipeReader>,
    writer: Option<PipeWriter>,
    flags: AtomicU32,
}

/// The pipe of the FIFO node at `loc`, made if no end is open.
fn pipe_at(loc: &Location) -> Arc<Pipe> {
    let inode = loc.inode();
    let key = (inode.fs().dev(), inode.ino());
    let mut pipes = lock(&PIPES);
    let pipes = pipes.get_or_insert_with(HashMap::new);
    if let Some(p) = pipes.get(&key).and_then(Weak::upgrade) {
        return p;
    }
    pipes.retain(|_, p| p.strong_count() > 0);
    let p = Pipe::new();
    pipes.insert(key, Arc::downgrade(&p));
    p
}

/// Opens the FIFO node at `loc` as Linux does: a read-only open waits for
/// a writer and a write-only open for a reader, unless `O_NONBLOCK` (then a
/// write-only open without a reader fails with `ENXIO`); `O_RDWR` never
/// waits.
pub fn open(loc: Location, flags: u32) -> Result<FileRef> {
    let pipe = pipe_at(&loc);
    let nonblock = flags & O_NONBLOCK != 0;
    let acc = flags & O_ACCMODE;
    let file = match acc {
        O_RDWR => FifoFile {
            reader: Some(PipeReader::open(&pipe, flags)),
            writer: Some(PipeWriter::open(&pipe, flags)),
            loc,
            flags: AtomicU32::new(flags),
        },
        O_WRONLY => {
            if nonblock && pipe.readers() == 0 {
                return Err(Errno::ENXIO);
            }
            // A reader open now, or one opening later, lets it go on (a
            // reader that is gone again by the time it looks still counts).
            let (writer, readers, seen) = PipeWriter::open_seeing(&pipe, flags);
            if !nonblock && readers == 0 {
                wait_for(&pipe.writable, || {
                    pipe.readers() > 0 || pipe.reader_opens() != seen
                })?;
            }
            FifoFile {
                reader: None,
                writer: Some(writer),
                loc,
                flags: AtomicU32::new(flags),
            }
        }
        _ => {
            // A writer open now (it may write and close before this looks
            // again), or one opening later, lets it go on.
            let (reader, writers, seen) = PipeReader::open_seeing(&pipe, flags);
            if !nonblock && writers == 0 {
                wait_for(&pipe.readable, || {
                    pipe.writers() > 0 || pipe.writer_opens() != seen
                })?;
            }
            FifoFile {
                reader: Some(reader),
                writer: None,
                loc,
                flags: AtomicU32::new(flags),
            }
        }
    };
    Ok(Arc::new(file))
}

/// Waits (interruptibly) until `ready`.
fn wait_for(queue: &WaitQueue, mut ready: impl FnMut() -> bool) -> Result<()> {
    wait_event(&[queue], None, || Ok(ready().then_some(())))
}

/// The pipe behind `f`, if it is an open FIFO.
pub(super) fn pipe_of(f: &FileRef) -> Option<Arc<Pipe>> {
    let fifo = super::downcast::<FifoFile>(f.clone())?;
    let pipe = match (&fifo.reader, &fifo.writer) {
        (Some(r), _) => r.pipe().clone(),
        (None, Some(w)) => w.pipe().clone(),
        (None, None) => return None,
    };
    Some(pipe)
}

impl File for FifoFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.reader.as_ref().ok_or(Errno::EBADF)?.read(buf)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.writer.as_ref().ok_or(Errno::EBADF)?.write(buf)
    }

    fn read_to_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        self.reader.as_ref()?.read_to_user(addr, len)
    }

    fn write_from_user(&self, addr: u64, len: usize) -> Option<Result<usize>> {
        self.writer.as_ref()?.write_from_user(addr, len)
    }

    fn location(&self) -> Option<Location> {
        Some(self.loc.clone())
    }

    fn stat(&self) -> Result<Stat> {
        self.loc.inode().metadata()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
        if let Some(r) = &self.reader {
            r.set_status_flags(flags & !O_ACCMODE);
        }
        if let Some(w) = &self.writer {
            w.set_status_flags(flags & !O_ACCMODE);
        }
    }

    fn poll(&self) -> Readiness {
        let r = self.reader.as_ref().map(File::poll).unwrap_or_default();
        let w = self.writer.as_ref().map(File::poll).unwrap_or_default();
        Readiness {
            readable: r.readable,
            writable: w.writable,
            // With both ends open here, neither side can be gone.
            hangup: r.hangup && self.writer.is_none(),
            error: w.error && self.reader.is_none(),
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        let mut q = self
            .reader
            .as_ref()
            .map(File::poll_queues)
            .unwrap_or_default();
        q.extend(
            self.writer
                .as_ref()
                .map(File::poll_queues)
                .unwrap_or_default(),
        );
        q
    }
}
