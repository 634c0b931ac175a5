//! Plain public data types of the file-system API.

use crate::error::{Error, Result};

/// An inode number. The root directory is [`ROOT_INO`].
pub type Ino = u64;

/// The root directory's inode number.
pub const ROOT_INO: Ino = 1;

/// The kind of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
}

impl FileKind {
    /// The on-disk code (0 is reserved for "free inode").
    pub(crate) fn code(self) -> u8 {
        match self {
            FileKind::Regular => 1,
            FileKind::Directory => 2,
            FileKind::Symlink => 3,
            FileKind::Fifo => 4,
            FileKind::Socket => 5,
            FileKind::CharDevice => 6,
            FileKind::BlockDevice => 7,
        }
    }

    /// Decodes an on-disk code; `None` for 0 or unknown codes.
    pub(crate) fn from_code(code: u8) -> Option<FileKind> {
        Some(match code {
            1 => FileKind::Regular,
            2 => FileKind::Directory,
            3 => FileKind::Symlink,
            4 => FileKind::Fifo,
            5 => FileKind::Socket,
            6 => FileKind::CharDevice,
            7 => FileKind::BlockDevice,
            _ => return None,
        })
    }
}

/// A wall-clock time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds since the Unix epoch.
    pub sec: i64,
    /// Nanoseconds, below 1e9.
    pub nsec: u32,
}

/// The attributes of an inode, as `stat` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Inode number.
    pub ino: Ino,
    /// Kind of file.
    pub kind: FileKind,
    /// Permission bits (0o7777).
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Number of hard links.
    pub nlink: u32,
    /// Size in bytes.
    pub size: u64,
    /// Allocated space in 512-byte units (data and index blocks).
    pub blocks: u64,
    /// Device number for device files.
    pub rdev: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last content change.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

/// Attribute changes for [`crate::Sefs::setattr`]; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits.
    pub mode: Option<u16>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size: truncates or zero-extends a regular file.
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<Timespec>,
    /// New modification time.
    pub mtime: Option<Timespec>,
}

/// One directory entry ("." and ".." are never listed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name.
    pub name: Vec<u8>,
    /// The inode it names.
    pub ino: Ino,
    /// That inode's kind.
    pub kind: FileKind,
}

/// Flags of [`crate::Sefs::rename`], as in Linux `renameat2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    /// Fail with `Exists` instead of replacing the target.
    pub noreplace: bool,
    /// Atomically swap source and target (both must exist).
    pub exchange: bool,
}

impl RenameFlags {
    /// Plain `rename`.
    pub const NONE: RenameFlags = RenameFlags {
        noreplace: false,
        exchange: false,
    };
    /// `RENAME_NOREPLACE`.
    pub const NOREPLACE: RenameFlags = RenameFlags {
        noreplace: true,
        exchange: false,
    };
    /// `RENAME_EXCHANGE`.
    pub const EXCHANGE: RenameFlags = RenameFlags {
        noreplace: false,
        exchange: true,
    };

    /// Decodes Linux `renameat2` flag bits (1 = NOREPLACE, 2 = EXCHANGE).
    pub fn from_linux(bits: u32) -> Result<RenameFlags> {
        if bits & !3 != 0 {
            return Err(Error::Invalid);
        }
        Ok(RenameFlags {
            noreplace: bits & 1 != 0,
            exchange: bits & 2 != 0,
        })
    }
}

/// File-system statistics for `statfs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatFs {
    /// Block size (4096).
    pub block_size: u32,
    /// Notional capacity in blocks (from [`Options::capacity_bytes`]).
    pub total_blocks: u64,
    /// Blocks still available.
    pub free_blocks: u64,
    /// Inodes in use.
    pub files: u64,
    /// Inodes still available (notional).
    pub free_files: u64,
    /// Longest name (255).
    pub name_max: u32,
}

/// Tunables for [`crate::Sefs::format`] and [`crate::Sefs::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Bound on the decrypted block cache, in bytes (default 32 MiB).
    pub cache_bytes: usize,
    /// Notional capacity reported by `statfs` and enforced for file data (default 64 GiB).
    pub capacity_bytes: u64,
    /// Threads that seal and open large batches of blocks (default 1: none spawned).
    pub crypto_threads: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cache_bytes: 32 << 20,
            capacity_bytes: 64 << 30,
            crypto_threads: 1,
        }
    }
}
