//! An open file description of an inode: the file offset, the status flags
//! and, for directories, the listing that `getdents64` walks.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::lock;
use super::vfs::{DirEntry, InodeRef, Location};
use super::{File, FileType, Stat, O_ACCMODE, O_APPEND, O_PATH, O_RDWR, O_WRONLY};
use crate::sync::lock;
use crate::{Errno, Result};

const SEEK_SET: i32 = 0;
const SEEK_CUR: i32 = 1;
const SEEK_END: i32 = 2;
const SEEK_DATA: i32 = 3;
const SEEK_HOLE: i32 = 4;

/// A file opened by path.
pub struct InodeFile {
    loc: Location,
    flags: AtomicU32,
    offset: Mutex<u64>,
    /// The directory listing, taken when reading starts at offset 0.
    listing: Mutex<Option<Arc<Vec<DirEntry>>>>,
    /// Whether this description ever took a `flock` lock.
    flocked: AtomicBool,
}

impl InodeFile {
    /// Opens the inode at `loc` with `flags` (the access mode and the status
    /// flags that stay: `O_APPEND`, `O_NONBLOCK`, `O_PATH`, ...).
    pub fn new(loc: Location, flags: u32) -> Arc<InodeFile> {
        Arc::new(InodeFile {
            loc,
            flags: AtomicU32::new(flags),
            offset: Mutex::new(0),
            listing: Mutex::new(None),
            flocked: AtomicBool::new(false),
        })
    }

    /// The file's identity for locks: (device, inode).
    pub fn lock_key(&self) -> lock::FileKey {
        (self.inode().fs().dev(), self.inode().ino())
    }

    /// Takes, converts or drops (`None`) this description's `flock` lock.
    pub fn flock(&self, exclusive: Option<bool>, nonblock: bool) -> Result<()> {
        self.flocked.store(true, Ordering::Relaxed);
        lock::flock(self.lock_key(), self.owner_id(), exclusive, nonblock)
    }

    fn owner_id(&self) -> usize {
        self as *const InodeFile as usize
    }

    /// The file offset.
    pub fn offset(&self) -> u64 {
        *lock(&self.offset)
    }

    /// The inode.
    pub fn inode(&self) -> &InodeRef {
        self.loc.inode()
    }

    /// Whether this is an `O_PATH` descriptor (no I/O).
    pub fn is_path_only(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & O_PATH != 0
    }

    fn readable(&self) -> Result<()> {
        let f = self.flags.load(Ordering::Relaxed);
        if f & O_PATH != 0 || f & O_ACCMODE == O_WRONLY {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    /// Fails with `EBADF` unless the file was opened for writing.
    pub fn writable(&self) -> Result<()> {
        let f = self.flags.load(Ordering::Relaxed);
        if f & O_PATH != 0 || (f & O_ACCMODE != O_WRONLY && f & O_ACCMODE != O_RDWR) {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    /// The next directory entries from the file offset, as `(d_off, ino,
    /// type, name)`, and whether it stopped because the next one did not
    /// fit; `fits` says whether one more entry with that name fits in the
    /// caller's buffer. Advances the offset past what it returns.
    #[allow(clippy::type_complexity)]
    pub fn read_dir(
        &self,
        mut fits: impl FnMut(&[u8]) -> bool,
    ) -> Result<(Vec<(u64, u64, u8, Vec<u8>)>, bool)> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let inode = self.inode();
        if inode.kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if inode.metadata()?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let mut offset = lock(&self.offset);
        let listing = {
            let mut l = lock(&self.listing);
            if *offset == 0 || l.is_none() {
                *l = Some(Arc::new(inode.read_dir()?));
            }
            l.clone().unwrap_or_default()
        };
        let mut out = Vec::new();
        let mut full = false;
        loop {
            let pos = *offset;
            let (ino, kind, name): (u64, FileType, Vec<u8>) = match pos {
                0 => (inode.ino(), FileType::Directory, b".".to_vec()),
                1 => (
                    self.loc.parent().inode().ino(),
                    FileType::Directory,
                    b"..".to_vec(),
                ),
                _ => match listing.get((pos - 2) as usize) {
                    Some(e) => (e.ino, e.kind, e.name.clone()),
                    None => break,
                },
            };
            if !fits(&name) {
                full = true;
                break;
            }
            *offset = pos + 1;
            out.push((pos + 1, ino, kind.dirent_type(), name));
        }
        Ok((out, full))
    }
}

impl InodeFile {
    /// Reports `mask` to inotify watches of the file (not for `O_PATH`).
    fn notify(&self, mask: u32) {
        if super::inotify::active() && !self.is_path_only() {
            super::inotify::file_event(&self.loc, mask);
        }
    }

    /// Where the file was opened.
    pub fn loc(&self) -> Location {
        self.loc.clone()
    }

    /// Reports the open (`IN_OPEN`), once the file is opened by a program.
    pub fn notify_open(&self) {
        self.notify(super::inotify::IN_OPEN);
    }
}

impl Drop for InodeFile {
    fn drop(&mut self) {
        let wrote = self.flags.load(Ordering::Relaxed) & O_ACCMODE != 0;
        self.notify(if wrote {
            super::inotify::IN_CLOSE_WRITE
        } else {
            super::inotify::IN_CLOSE_NOWRITE
        });
        if self.flocked.load(Ordering::Relaxed) {
            let _ = lock::flock(self.lock_key(), self.owner_id(), None, true);
        }
    }
}

impl File for InodeFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.readable()?;
        let mut offset = lock(&self.offset);
        let n = self.inode().read_at(*offset, buf)?;
        *offset += n as u64;
        if n > 0 {
            self.notify(super::inotify::IN_ACCESS);
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> Result<usize> {
        self.writable()?;
        let mut offset = lock(&self.offset);
        let n = if self.flags.load(Ordering::Relaxed) & O_APPEND != 0 {
            let (n, end) = self.inode().append(buf)?;
            *offset = end;
            n
        } else {
            let n = self.inode().write_at(*offset, buf)?;
            *offset += n as u64;
            n
        };
        if n > 0 {
            self.notify(super::inotify::IN_MODIFY);
        }
        Ok(n)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.readable()?;
        let n = self.inode().read_at(offset, buf)?;
        if n > 0 {
            self.notify(super::inotify::IN_ACCESS);
        }
        Ok(n)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        self.writable()?;
        // As on Linux, pwrite on an O_APPEND file appends.
        let n = if self.flags.load(Ordering::Relaxed) & O_APPEND != 0 {
            self.inode().append(buf).map(|(n, _)| n)?
        } else {
            self.inode().write_at(offset, buf)?
        };
        if n > 0 {
            self.notify(super::inotify::IN_MODIFY);
        }
        Ok(n)
    }

    fn seek(&self, off: i64, whence: i32) -> Result<u64> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let mut offset = lock(&self.offset);
        let size = || -> Result<i64> { Ok(self.inode().metadata()?.size as i64) };
        let new = match whence {
            SEEK_SET => Some(off),
            SEEK_CUR => (*offset as i64).checked_add(off),
            SEEK_END => size()?.checked_add(off),
            SEEK_DATA | SEEK_HOLE => {
                let size = size()?;
                if off < 0 || off >= size {
                    return Err(Errno::ENXIO);
                }
                Some(if whence == SEEK_DATA { off } else { size })
            }
            _ => return Err(Errno::EINVAL),
        };
        match new {
            Some(n) if n >= 0 => {
                *offset = n as u64;
                if n == 0 {
                    *lock(&self.listing) = None;
                }
                Ok(n as u64)
            }
            Some(_) => Err(Errno::EINVAL),
            None => Err(Errno::EOVERFLOW),
        }
    }

    fn stat(&self) -> Result<Stat> {
        self.inode().metadata()
    }

    fn status_flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    fn set_status_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    fn location(&self) -> Option<Location> {
        Some(self.loc.clone())
    }
}
