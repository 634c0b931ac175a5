//! Files and descriptor tables. For now the only files are the host's
//! standard streams; the VFS arrives with the file-system work.

mod file_table;
mod stat;
mod stdio;

pub use file_table::{Fd, FileTable};
pub use stat::{FileType, Stat};
pub use stdio::HostStdio;

use std::sync::Arc;

use crate::{Errno, Result};

/// An open file description.
pub trait File: Send + Sync {
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
