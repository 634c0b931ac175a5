//! File metadata and its x86_64 `struct stat` encoding.

/// The type of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
    #[default]
    Regular,
    /// Directory.
    Directory,
    /// Character device.
    CharDevice,
    /// Pipe or FIFO.
    Fifo,
    /// Socket.
    Socket,
    /// Symbolic link.
    Symlink,
    /// Block device.
    BlockDevice,
}

impl FileType {
    /// The `S_IFMT` bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => 0o100000,
            FileType::Directory => 0o040000,
            FileType::CharDevice => 0o020000,
            FileType::Fifo => 0o010000,
            FileType::Socket => 0o140000,
            FileType::Symlink => 0o120000,
            FileType::BlockDevice => 0o060000,
        }
    }

    /// The type named by the `S_IFMT` bits of `mode`, if any.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & 0o170000 {
            0o100000 => FileType::Regular,
            0o040000 => FileType::Directory,
            0o020000 => FileType::CharDevice,
            0o010000 => FileType::Fifo,
            0o140000 => FileType::Socket,
            0o120000 => FileType::Symlink,
            0o060000 => FileType::BlockDevice,
            _ => return None,
        })
    }

    /// The `d_type` value of `getdents64`.
    pub fn dirent_type(self) -> u8 {
        (self.mode_bits() >> 12) as u8
    }
}

/// A point in time: seconds and nanoseconds since the Epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, below 1e9.
    pub nsec: u32,
}

impl Timespec {
    /// The current wall-clock time.
    pub fn now() -> Timespec {
        let d = occlum_pal::host::clock_gettime(0).unwrap_or_default();
        Timespec {
            sec: d.as_secs() as i64,
            nsec: d.subsec_nanos(),
        }
    }
}

/// File metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    /// Device of the file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type.
    pub kind: FileType,
    /// Permission bits.
    pub perm: u32,
    /// Link count.
    pub nlink: u64,
    /// Device number, for device files.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size.
    pub blksize: u64,
    /// Space allocated, in 512-byte units (`None`: derived from the size).
    pub blocks: Option<u64>,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the contents.
    pub mtime: Timespec,
    /// Last change of the metadata.
    pub ctime: Timespec,
}

impl Stat {
    /// The permission and type bits (`st_mode`).
    pub fn mode(&self) -> u32 {
        self.kind.mode_bits() | (self.perm & 0o7777)
    }

    /// Allocated 512-byte blocks.
    pub fn block_count(&self) -> u64 {
        self.blocks.unwrap_or_else(|| self.size.div_ceil(512))
    }

    /// The x86_64 `struct stat`.
    pub fn to_abi(&self) -> crate::abi::Stat {
        let ts = |t: Timespec| crate::abi::Timespec {
            tv_sec: t.sec,
            tv_nsec: i64::from(t.nsec),
        };
        crate::abi::Stat {
            st_dev: self.dev,
            st_ino: self.ino,
            st_nlink: self.nlink,
            st_mode: self.mode(),
            st_uid: self.uid,
            st_gid: self.gid,
            _pad0: 0,
            st_rdev: self.rdev,
            st_size: self.size,
            st_blksize: self.blksize,
            st_blocks: self.block_count(),
            st_atime: ts(self.atime),
            st_mtime: ts(self.mtime),
            st_ctime: ts(self.ctime),
            _unused: [0; 3],
        }
    }
}
