//! The host's standard streams, as the LibOS's descriptors 0, 1 and 2.

use occlum_pal::host::{self, HostFileKind};

use super::{File, FileType, Stat};
use crate::Result;

/// One of the host's standard streams.
pub struct HostStdio {
    host_fd: i32,
}

impl HostStdio {
    /// The host's stdin (0), stdout (1) or stderr (2).
    pub fn new(host_fd: i32) -> HostStdio {
        HostStdio { host_fd }
    }
}

impl File for HostStdio {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        host::read(self.host_fd, buf)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        host::write(self.host_fd, buf)
    }

    fn seek(&self, offset: i64, whence: i32) -> Result<u64> {
        host::lseek(self.host_fd, offset, whence)
    }

    fn stat(&self) -> Result<Stat> {
        let info = host::fstat(self.host_fd)?;
        let (kind, perm) = match info.kind {
            HostFileKind::Regular => (FileType::Regular, 0o644),
            HostFileKind::Fifo => (FileType::Fifo, 0o600),
            HostFileKind::CharDevice => (FileType::CharDevice, 0o620),
            HostFileKind::Socket => (FileType::Socket, 0o777),
            HostFileKind::Other => (FileType::CharDevice, 0o600),
        };
        Ok(Stat {
            dev: 0x0f,
            ino: 1 + self.host_fd as u64,
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
        })
    }

    fn tcgets(&self) -> Result<[u8; 36]> {
        host::tcgets(self.host_fd)
    }

    fn winsize(&self) -> Result<[u16; 4]> {
        host::winsize(self.host_fd)
    }
}
