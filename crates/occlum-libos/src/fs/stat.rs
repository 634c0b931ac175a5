//! File metadata and its x86_64 `struct stat` encoding.

/// The type of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
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
        }
    }
}

/// File metadata.
#[derive(Clone, Copy, Debug)]
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
}

impl Stat {
    /// The 144-byte x86_64 `struct stat` (uid, gid and times are 0).
    pub fn to_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        let mode = self.kind.mode_bits() | (self.perm & 0o7777);
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16..24].copy_from_slice(&self.nlink.to_le_bytes());
        b[24..28].copy_from_slice(&mode.to_le_bytes());
        b[40..48].copy_from_slice(&self.rdev.to_le_bytes());
        b[48..56].copy_from_slice(&self.size.to_le_bytes());
        b[56..64].copy_from_slice(&self.blksize.to_le_bytes());
        b[64..72].copy_from_slice(&self.size.div_ceil(512).to_le_bytes());
        b
    }
}
