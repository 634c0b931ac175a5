//! Files and descriptor tables. For now the only files are the host's
//! standard streams; the VFS arrives with the file-system work.

pub mod epoll;
pub mod eventfd;
mod file_table;
pub mod image;
pub mod pipe;
pub mod poll;
mod stat;
mod stdio;
pub mod unix_stream;

pub use file_table::{Fd, FileTable};
pub use stat::{FileType, Stat};
pub use stdio::HostStdio;

use std::any::Any;
use std::sync::Arc;

use crate::sync::WaitQueue;
use crate::{Errno, Result};

/// `O_WRONLY` (access mode bits are kept in the status flags).
pub const O_WRONLY: u32 = 0o1;
/// `O_RDWR`.
pub const O_RDWR: u32 = 0o2;
/// `O_APPEND`.
pub const O_APPEND: u32 = 0o2000;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// `O_CLOEXEC`.
pub const O_CLOEXEC: u32 = 0o2000000;

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

    /// Repositions the file offset.
    fn seek(&self, _offset: i64, _whence: i32) -> Result<u64> {
        Err(Errno::ESPIPE)
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

    /// Whether readiness comes from the host, so waiting for it means polling
    /// again from time to time (no LibOS queue is woken).
    fn polls_host(&self) -> bool {
        false
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
