//! Fixed-size metadata records: inode-table entries and directory-table entries.

use crate::attr::FileKind;
use crate::format::{get_i64, get_u16, get_u32, get_u64, put, DIRENT_SIZE, INODE_SIZE};

/// One inode-table record (64 bytes).
///
/// ```text
///  0 kind u8 | 1 zero u8 | 2 mode u16 | 4 nlink u32 | 8 uid u32 | 12 gid u32
/// 16 size u64 | 24 mtime_sec i64 | 32 mtime_nsec u32 | 36 name_len u32
/// 40 extent u64 | 48 parent u64 | 56 name_off u64
/// ```
/// `extent` is the first data block (regular files) or the metadata byte offset of the
/// directory table / symlink target. `parent`, `name_off` and `name_len` locate the
/// canonical name of the inode inside its parent's directory table (used for error paths).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InodeRec {
    pub kind: FileKind,
    pub mode: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
    pub name_len: u32,
    pub extent: u64,
    pub parent: u64,
    pub name_off: u64,
}

impl InodeRec {
    /// Encodes the record.
    pub fn encode(&self) -> [u8; INODE_SIZE] {
        let mut b = [0u8; INODE_SIZE];
        b[0] = self.kind.code();
        put(&mut b, 2, &self.mode.to_le_bytes());
        put(&mut b, 4, &self.nlink.to_le_bytes());
        put(&mut b, 8, &self.uid.to_le_bytes());
        put(&mut b, 12, &self.gid.to_le_bytes());
        put(&mut b, 16, &self.size.to_le_bytes());
        put(&mut b, 24, &self.mtime_sec.to_le_bytes());
        put(&mut b, 32, &self.mtime_nsec.to_le_bytes());
        put(&mut b, 36, &self.name_len.to_le_bytes());
        put(&mut b, 40, &self.extent.to_le_bytes());
        put(&mut b, 48, &self.parent.to_le_bytes());
        put(&mut b, 56, &self.name_off.to_le_bytes());
        b
    }

    /// Decodes a record; `None` if the kind or reserved fields are invalid.
    pub fn decode(b: &[u8; INODE_SIZE]) -> Option<InodeRec> {
        let mode = get_u16(b, 2);
        if b[1] != 0 || mode & !0o7777 != 0 || get_u32(b, 32) >= 1_000_000_000 {
            return None;
        }
        Some(InodeRec {
            kind: FileKind::from_code(b[0])?,
            mode,
            nlink: get_u32(b, 4),
            uid: get_u32(b, 8),
            gid: get_u32(b, 12),
            size: get_u64(b, 16),
            mtime_sec: get_i64(b, 24),
            mtime_nsec: get_u32(b, 32),
            name_len: get_u32(b, 36),
            extent: get_u64(b, 40),
            parent: get_u64(b, 48),
            name_off: get_u64(b, 56),
        })
    }
}

/// One directory-table record (16 bytes): `ino u64 | name_off u32 | name_len u16 | kind u8 | 0 u8`.
///
/// `name_off` is relative to the start of the directory table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirentRec {
    pub ino: u64,
    pub name_off: u32,
    pub name_len: u16,
    pub kind: FileKind,
}

impl DirentRec {
    /// Encodes the record.
    pub fn encode(&self) -> [u8; DIRENT_SIZE] {
        let mut b = [0u8; DIRENT_SIZE];
        put(&mut b, 0, &self.ino.to_le_bytes());
        put(&mut b, 8, &self.name_off.to_le_bytes());
        put(&mut b, 12, &self.name_len.to_le_bytes());
        b[14] = self.kind.code();
        b
    }

    /// Decodes a record; `None` if the kind or padding is invalid.
    pub fn decode(b: &[u8; DIRENT_SIZE]) -> Option<DirentRec> {
        if b[15] != 0 {
            return None;
        }
        Some(DirentRec {
            ino: get_u64(b, 0),
            name_off: get_u32(b, 8),
            name_len: get_u16(b, 12),
            kind: FileKind::from_code(b[14])?,
        })
    }

    /// Byte range of the name relative to the directory table start.
    pub fn name_range(&self) -> (u64, u64) {
        let start = u64::from(self.name_off);
        (start, start + u64::from(self.name_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_roundtrip() {
        let r = InodeRec {
            kind: FileKind::Symlink,
            mode: 0o751,
            nlink: 3,
            uid: 0,
            gid: 0,
            size: 1 << 40,
            mtime_sec: -5,
            mtime_nsec: 999_999_999,
            name_len: 4,
            extent: 77,
            parent: 1,
            name_off: 12345,
        };
        assert_eq!(InodeRec::decode(&r.encode()), Some(r));
        let d = DirentRec {
            ino: 9,
            name_off: 40,
            name_len: 255,
            kind: FileKind::Directory,
        };
        assert_eq!(DirentRec::decode(&d.encode()), Some(d));
        let mut bad = [0u8; INODE_SIZE];
        bad[0] = 4;
        assert_eq!(InodeRec::decode(&bad), None);
    }
}
