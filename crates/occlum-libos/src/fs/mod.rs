//! Files and descriptor tables, the VFS and the file systems.

pub mod anon;
pub mod devfs;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
mod file_table;
pub mod hostfs;
pub mod imagefs;
mod inode_file;
pub mod inotify;
pub mod lock;
pub mod mounts;
pub mod mqueue;
pub mod owner;
pub mod perm;
pub mod pidfd;
pub mod pipe;
mod pipe_chunks;
pub mod poll;
pub mod procfs;
pub mod program;
pub mod pty;
pub mod ramfs;
pub mod sefs;
pub mod signalfd;
pub mod socket;
mod stat;
mod stdio;
pub mod timerfd;
pub mod unionfs;
pub mod vfs;

pub use file_table::{Fd, FileTable};
pub use inode_file::InodeFile;
pub use stat::{FileType, Stat, Timespec};
pub use stdio::HostStdio;

use std::any::Any;
use std::sync::Arc;

use crate::sync::WaitQueue;
use crate::{Errno, Result};

/// `O_WRONLY` (access mode bits are kept in the status flags).
pub const O_WRONLY: u32 = 0o1;
/// `O_RDWR`.
pub const O_RDWR: u32 = 0o2;
/// The access mode bits.
pub const O_ACCMODE: u32 = 0o3;
/// `O_CREAT`.
pub const O_CREAT: u32 = 0o100;
/// `O_EXCL`.
pub const O_EXCL: u32 = 0o200;
/// `O_NOCTTY`.
pub const O_NOCTTY: u32 = 0o400;
/// `O_TRUNC`.
pub const O_TRUNC: u32 = 0o1000;
/// `O_APPEND`.
pub const O_APPEND: u32 = 0o2000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// `O_DSYNC`.
pub const O_DSYNC: u32 = 0o10000;
/// `O_DIRECT`.
pub const O_DIRECT: u32 = 0o40000;
/// `O_LARGEFILE`.
pub const O_LARGEFILE: u32 = 0o100000;
/// `O_DIRECTORY`.
pub const O_DIRECTORY: u32 = 0o200000;
/// `O_NOFOLLOW`.
pub const O_NOFOLLOW: u32 = 0o400000;
/// `O_NOATIME`.
pub const O_NOATIME: u32 = 0o1000000;
/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `O_SYNC` (includes `O_DSYNC`).
pub const O_SYNC: u32 = 0o4010000;
/// `O_PATH`.
pub const O_PATH: u32 = 0o10000000;
/// `O_TMPFILE` (includes `O_DIRECTORY`).
pub const O_TMPFILE: u32 = 0o20200000;

/// What a file is ready for (for `poll`, `select`, `epoll`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read would not block.
    pub readable: bool,
    /// A write would not block.
    pub writable: bool,
    /// The other end is gone.
    pub hangup: bool,
    /// An error condition (a pipe's write end without readers).
    pub error: bool,
}

/// An open file description.
pub trait File: Any + Send + Sync {
    /// Reads into `buf`; returns the count read (0 at end of file).
    fn read(&self, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }

    /// Writes `buf`; returns the count written.
    fn write(&self, _buf: &[u8]) -> Result<usize> {
        Err(Errno::EBADF)
    }

    /// Reads straight into user memory `[addr, addr+len)` where this file
    /// can (pipes); `None` to go through a bounce buffer and
    /// [`File::read`]. Data a bad buffer (`EFAULT`) would lose stays.
    fn read_to_user(&self, _addr: u64, _len: usize) -> Option<Result<usize>> {
        None
    }

    /// Writes straight from user memory `[addr, addr+len)` where this file
    /// can (pipes); `None` to go through a bounce buffer and
    /// [`File::write`].
    fn write_from_user(&self, _addr: u64, _len: usize) -> Option<Result<usize>> {
        None
    }

    /// Repositions the file offset.
    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64> {
        Err(Errno::ESPIPE)
    }

    /// Reads at `offset` without moving the file offset (`pread`).
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// Writes at `offset` without moving the file offset (`pwrite`).
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        Err(Errno::ESPIPE)
    }

    /// Where the file is in the file tree, for files opened by path.
    fn location(&self) -> Option<vfs::Location> {
        None
    }

    /// What `/proc/[pid]/fd/N` shows for files without a location.
    fn describe(&self) -> String {
        let st = self.stat().map(|s| (s.kind, s.ino)).unwrap_or_default();
        match st.0 {
            FileType::Fifo => format!("pipe:[{}]", st.1),
            FileType::Socket => format!("socket:[{}]", st.1),
            _ => format!("anon_inode:[{}]", st.1),
        }
    }

    /// File metadata.
    fn stat(&self) -> Result<Stat>;

    /// The file status flags (`O_APPEND`, `O_NONBLOCK`, and the access mode).
    fn status_flags(&self) -> u32 {
        0
    }

    /// Sets the changeable status flags (`F_SETFL`).
    fn set_status_flags(&self, _flags: u32) {}

    /// What the file is ready for now.
    fn poll(&self) -> Readiness {
        Readiness {
            readable: true,
            writable: true,
            ..Readiness::default()
        }
    }

    /// The queues woken when the readiness may have changed.
    fn poll_queues(&self) -> Vec<&WaitQueue> {
        Vec::new()
    }

    /// The host descriptor whose readiness is this file's, if readiness
    /// comes from the host (no LibOS queue is woken): waits watch it there.
    fn host_readiness_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    /// Terminal attributes (`TCGETS`), for terminals only.
    fn tcgets(&self) -> Result<[u8; 36]> {
        Err(Errno::ENOTTY)
    }

    /// Terminal window size (`TIOCGWINSZ`), for terminals only.
    fn winsize(&self) -> Result<[u16; 4]> {
        Err(Errno::ENOTTY)
    }
}

/// A shared open file description.
pub type FileRef = Arc<dyn File>;

/// The file as its concrete type `T`, if it is one.
pub fn downcast<T: File>(f: FileRef) -> Option<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = f;
    any.downcast::<T>().ok()
}
