//! Inodes and file systems: what every file system implements.

use std::any::Any;
use std::sync::Arc;

use super::super::{FileRef, FileType, Stat, Timespec};
use crate::{Errno, Result};

/// A shared inode.
pub type InodeRef = Arc<dyn Inode>;

/// Longest file name.
pub const NAME_MAX: usize = 255;

/// One directory entry (without `.` and `..`).
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// Name.
    pub name: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// File type.
    pub kind: FileType,
}

/// Metadata changes (`chmod`, `chown`, `utimensat`); `None` leaves a field.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetMetadata {
    /// Permission bits (`0o7777`).
    pub perm: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Last access.
    pub atime: Option<Timespec>,
    /// Last modification.
    pub mtime: Option<Timespec>,
}

/// `rename` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    /// `RENAME_NOREPLACE`: fail with `EEXIST` if the target exists.
    pub no_replace: bool,
    /// `RENAME_EXCHANGE`: swap the two entries.
    pub exchange: bool,
}

/// File-system statistics (`statfs`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FsStats {
    /// `f_type` magic number.
    pub magic: u64,
    /// Block size.
    pub block_size: u64,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub free_files: u64,
}

/// A mounted file system.
pub trait FileSystem: Send + Sync {
    /// The root directory.
    fn root(&self) -> InodeRef;

    /// The device number that `stat` reports, unique per file system.
    fn dev(&self) -> u64;

    /// The file-system type, as `/proc/mounts` names it.
    fn type_name(&self) -> &'static str;

    /// Statistics.
    fn stats(&self) -> FsStats;

    /// Whether the file system refuses changes (`EROFS`).
    fn read_only(&self) -> bool {
        false
    }

    /// Makes every change durable.
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// Remounts read-only or read-write (`MS_REMOUNT`); `EINVAL` where the
    /// file system cannot change (its mode comes from `Occlum.json`).
    fn set_read_only(&self, _read_only: bool) -> Result<()> {
        Err(Errno::EINVAL)
    }
}

/// A file, directory, symbolic link or device in some file system. Methods
/// that do not apply to the inode's type fail as Linux does (`ENOTDIR` for
/// directory operations on other files, `EISDIR` for data on directories).
pub trait Inode: Any + Send + Sync {
    /// The file type (cheap: no I/O).
    fn kind(&self) -> FileType;

    /// The inode number (cheap: no I/O).
    fn ino(&self) -> u64;

    /// Full metadata.
    fn metadata(&self) -> Result<Stat>;

    /// The file system holding the inode.
    fn fs(&self) -> Arc<dyn FileSystem>;

    /// The inode of a read-only file system whose bytes this file shows, if
    /// they cannot change while the LibOS runs (a union file not copied up):
    /// its contents may then be cached and shared.
    fn immutable_source(&self) -> Option<InodeRef> {
        None
    }

    /// Changes metadata.
    fn set_metadata(&self, _set: &SetMetadata) -> Result<()> {
        Err(Errno::EPERM)
    }

    /// Reads at `offset`; returns the count read (0 at end of file).
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(self.not_data())
    }

    /// Writes at `offset`; returns the count written.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        Err(self.not_data())
    }

    /// Appends at the end, atomically; returns the count and the new size.
    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let size = self.metadata()?.size;
        let n = self.write_at(size, buf)?;
        Ok((n, size + n as u64))
    }

    /// Truncates or extends (with zeros) to `len` bytes.
    fn resize(&self, _len: u64) -> Result<()> {
        Err(self.not_data())
    }

    /// The file's bytes as shared memory that shared mappings map directly
    /// (one copy for every process and for `read`/`write`), if the file
    /// system keeps files in memory; `None` otherwise (a shared mapping is
    /// then a copy written back on `msync`, `munmap` and exit).
    fn shared_memory(&self) -> Result<Option<Arc<occlum_pal::shared_mem::SharedMemory>>> {
        Ok(None)
    }

    /// The value of extended attribute `name` (`ENODATA` if unset).
    fn get_xattr(&self, _name: &[u8]) -> Result<Vec<u8>> {
        Err(Errno::ENODATA)
    }

    /// Sets extended attribute `name` (`create`: fail with `EEXIST` if
    /// set; `replace`: fail with `ENODATA` if not); `EOPNOTSUPP` where
    /// the file system stores none.
    fn set_xattr(&self, _name: &[u8], _value: &[u8], _create: bool, _replace: bool) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    /// The names of the extended attributes set.
    fn list_xattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Removes extended attribute `name` (`ENODATA` if unset).
    fn remove_xattr(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENODATA)
    }

    /// Makes the file's changes durable.
    fn sync(&self, _data_only: bool) -> Result<()> {
        Ok(())
    }

    /// Finds `name` in this directory.
    fn lookup(&self, _name: &[u8]) -> Result<InodeRef> {
        Err(Errno::ENOTDIR)
    }

    /// Creates `name` (a regular file, directory, FIFO, socket or device)
    /// with permission bits `perm`; `EEXIST` if it exists.
    fn create(&self, _name: &[u8], _kind: FileType, _perm: u32, _rdev: u64) -> Result<InodeRef> {
        Err(Errno::ENOTDIR)
    }

    /// Creates symbolic link `name` pointing at `target`.
    fn symlink(&self, _name: &[u8], _target: &[u8]) -> Result<InodeRef> {
        Err(Errno::ENOTDIR)
    }

    /// Adds `name` as a new link to `inode` (same file system).
    fn link(&self, _name: &[u8], _inode: &InodeRef) -> Result<()> {
        Err(Errno::ENOTDIR)
    }

    /// Removes the non-directory `name`.
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENOTDIR)
    }

    /// Removes the empty directory `name`.
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::ENOTDIR)
    }

    /// Moves `old` in this directory to `new` in `new_dir` (same file system).
    fn rename(
        &self,
        _old: &[u8],
        _new_dir: &InodeRef,
        _new: &[u8],
        _flags: RenameFlags,
    ) -> Result<()> {
        Err(Errno::ENOTDIR)
    }

    /// The entries of this directory, without `.` and `..`.
    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        Err(Errno::ENOTDIR)
    }

    /// The target of this symbolic link.
    fn read_link(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    /// Called when the inode is opened: a file of its own (devices,
    /// `/proc/self/fd/N`), or `None` for the generic inode file. File systems
    /// may also get ready for I/O here (hostfs opens the host file, so that
    /// the open file outlives renames and unlinks).
    fn open(&self, _flags: u32) -> Result<Option<FileRef>> {
        Ok(None)
    }

    /// For "magic" links such as `/proc/self/fd/N`: where following the
    /// link leads, instead of resolving its text.
    fn follow_magic(&self) -> Option<Result<super::Location>> {
        None
    }

    /// The inode as `Any`, to reach its concrete type.
    fn as_any(&self) -> &dyn Any;

    /// The error for data operations on this inode.
    fn not_data(&self) -> Errno {
        match self.kind() {
            FileType::Directory => Errno::EISDIR,
            _ => Errno::EINVAL,
        }
    }
}

/// Checks a name for creation: not empty, `.` or `..`, no longer than
/// [`NAME_MAX`].
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
