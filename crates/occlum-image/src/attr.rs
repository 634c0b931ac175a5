//! Public value types describing the files stored in an image.

/// Inode number inside an image; the root directory is [`crate::ROOT_INO`].
pub type Ino = u64;

/// The kinds of file an image can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (stored verbatim, never followed by the image).
    Symlink,
}

impl FileKind {
    /// The on-disk code of this kind.
    pub(crate) fn code(self) -> u8 {
        match self {
            FileKind::Regular => 1,
            FileKind::Directory => 2,
            FileKind::Symlink => 3,
        }
    }

    /// Decodes an on-disk kind code.
    pub(crate) fn from_code(code: u8) -> Option<FileKind> {
        match code {
            1 => Some(FileKind::Regular),
            2 => Some(FileKind::Directory),
            3 => Some(FileKind::Symlink),
            _ => None,
        }
    }
}

/// Attributes of one inode, as `stat` would report them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Inode number.
    pub ino: Ino,
    /// File kind.
    pub kind: FileKind,
    /// Permission bits (`0o7777` mask, without the file type bits).
    pub mode: u16,
    /// Owner (always 0 in images built by [`crate::build_image`]).
    pub uid: u32,
    /// Group (always 0 in images built by [`crate::build_image`]).
    pub gid: u32,
    /// Number of hard links (directories: 2 + number of subdirectories).
    pub nlink: u32,
    /// Size in bytes: file length, symlink target length, or directory table length.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime_sec: i64,
    /// Modification time, nanoseconds part.
    pub mtime_nsec: u32,
}

/// One directory entry (never `.` or `..`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Raw name bytes.
    pub name: Vec<u8>,
    /// Inode the entry points to.
    pub ino: Ino,
    /// Kind of that inode.
    pub kind: FileKind,
}
