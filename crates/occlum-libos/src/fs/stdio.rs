//! The host's standard streams, as the LibOS's descriptors 0, 1 and 2.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use occlum_pal::host::{self, HostFileKind};

use super::{File, FileType, Readiness, Stat, O_NONBLOCK};
use crate::Result;

/// Waits until the host descriptor is ready, giving up with `EINTR` when the
/// current thread is interrupted (a signal, the end of its process).
fn wait_host(fd: BorrowedFd<'_>, write: bool) -> Result<()> {
    let thread = crate::process::current();
    loop {
        if thread.as_ref().is_some_and(|t| t.interrupted()) {
            return Err(crate::Errno::EINTR);
        }
        // Blocked in the host: other processes of the domain may run.
        let ready = {
            let _paused = crate::vm::domain::pause();
            host::wait_ready(fd, write)
        };
        match ready {
            Err(crate::Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
}

/// A host descriptor behind a standard stream.
enum HostFd {
    /// The LibOS process's own descriptor 0, 1 or 2.
    Std(BorrowedFd<'static>),
    /// One handed over by a client (`occlum exec`'s terminal).
    Owned(OwnedFd),
}

impl HostFd {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            HostFd::Std(b) => *b,
            HostFd::Owned(o) => o.as_fd(),
        }
    }
}

/// One of the host's standard streams.
pub struct HostStdio {
    n: i32,
    host: HostFd,
    /// The status flags: the host descriptor's access mode and `O_APPEND`,
    /// and what the guest set (`O_NONBLOCK`: calls that would wait give
    /// `EAGAIN`; the host descriptor itself stays blocking).
    flags: AtomicU32,
}

impl HostStdio {
    /// The host's stdin (0), stdout (1) or stderr (2); `None` for another `n`.
    pub fn new(n: i32) -> Option<HostStdio> {
        Some(HostStdio::with(n, HostFd::Std(host::stdio_fd(n)?)))
    }

    /// Standard stream `n` (0, 1 or 2) of a session whose terminal is on
    /// the host descriptor `fd`.
    pub fn from_host(n: i32, fd: OwnedFd) -> HostStdio {
        HostStdio::with(n, HostFd::Owned(fd))
    }

    fn with(n: i32, host: HostFd) -> HostStdio {
        // A stream whose flags cannot be read is taken as open for reading
        // (stdin) or writing.
        let flags = host::access_flags(host.fd()).unwrap_or(if n == 0 { 0 } else { 1 });
        HostStdio {
            n,
            host,
            flags: AtomicU32::new(flags),
        }
    }

    /// Waits until the host descriptor is ready, or says `EAGAIN` if the
    /// guest made this file non-blocking and it is not.
    fn ready(&self, write: bool) -> Result<()> {
        if self.flags.load(Ordering::Relaxed) & O_NONBLOCK == 0 {
            return wait_host(self.host.fd(), write);
        }
        let (readable, writable, hangup, error) = host::poll_now(self.host.fd());
        if hangup || error || if write { writable } else { readable } {
            Ok(())
        } else {
            Err(crate::Errno::EAGAIN)
        }
    }
}

impl File for HostStdio {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.ready(false)?;
        host::read(self.host.fd(), buf)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.ready(true)?;
        host::write(self.host.fd(), buf)
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64> {
        host::lseek(self.host.fd(), offset, whence)
    }

    fn stat(&self) -> Result<Stat> {
        let info = host::fstat(self.host.fd())?;
        let (kind, perm) = match info.kind {
            HostFileKind::Regular => (FileType::Regular, 0o644),
            HostFileKind::Fifo => (FileType::Fifo, 0o600),
            HostFileKind::CharDevice => (FileType::CharDevice, 0o620),
            HostFileKind::Socket => (FileType::Socket, 0o777),
            HostFileKind::Other => (FileType::CharDevice, 0o600),
        };
        Ok(Stat {
            dev: 0x0f,
            ino: 1 + self.n as u64,
            kind,
            perm,
            nlink: 1,
            rdev: info.rdev,
            size: info.size,
            blksize: if kind == FileType::CharDevice {
                1024
            } else {
                4096
            },
            ..Stat::default()
        })
    }

    fn poll(&self) -> Readiness {
        let (readable, writable, hangup, error) = host::poll_now(self.host.fd());
        Readiness {
            readable,
            writable,
            hangup,
            error,
        }
    }

    fn host_readiness_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.host.fd())
    }

    fn tcgets(&self) -> Result<[u8; 36]> {
        host::tcgets(self.host.fd())
    }

    fn winsize(&self) -> Result<[u16; 4]> {
        host::winsize(self.host.fd())
    }
}
