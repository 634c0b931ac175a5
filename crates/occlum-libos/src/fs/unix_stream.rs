//! Connected `AF_UNIX` stream sockets (`socketpair`): two pipes, one per
//! direction.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::pipe::{new_pipe, PipeReader, PipeWriter};
use super::{File, FileType, Readiness, Stat, O_NONBLOCK};
use crate::sync::WaitQueue;
use crate::Result;

/// One end of a connected stream socket.
pub struct UnixStream {
    rx: Arc<PipeReader>,
    tx: Arc<PipeWriter>,
    flags: AtomicU32,
}

/// A connected pair (`socketpair(AF_UNIX, SOCK_STREAM)`).
pub fn pair(flags: u32) -> (Arc<UnixStream>, Arc<UnixStream>) {
    let (r1, w1) = new_pipe(flags & O_NONBLOCK);
    let (r2, w2) = new_pipe(flags & O_NONBLOCK);
    let end = |rx: Arc<PipeReader>, tx: Arc<PipeWriter>| {
        Arc::new(UnixStream {
            rx,
            tx,
            flags: AtomicU32::new((flags & O_NONBLOCK) | 2),
        })
    };
    (end(r1, w2), end(r2, w1))
}

impl UnixStream {
    /// `shutdown`: stop reading and/or writing.
    pub fn shutdown(&self, read: bool, write: bool) {
        if read {
            self.rx.close();
        }
        if write {
            self.tx.close();
        }
    }
}

impl File for UnixStream {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.rx.read(buf)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.tx.write(buf)
    }

    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: 0x0e,
            ino: 1,
            kind: FileType::Socket,
            perm: 0o777,
            nlink: 1,
            rdev: 0,
            size: 0,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags | 2, Ordering::Relaxed);
        self.rx.set_status_flags(flags & O_NONBLOCK);
        self.tx.set_status_flags(flags & O_NONBLOCK);
    }

    fn poll(&self) -> Readiness {
        let r = self.rx.poll();
        let w = self.tx.poll();
        Readiness {
            readable: r.readable,
            writable: w.writable,
            hangup: r.hangup && w.error,
            error: false,
        }
    }

    fn poll_queues(&self) -> Vec<&WaitQueue> {
        let mut q = self.rx.poll_queues();
        q.extend(self.tx.poll_queues());
        q
    }
}
