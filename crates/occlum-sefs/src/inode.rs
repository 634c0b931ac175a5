//! Inode records (128 bytes each, 32 per inode-table block).

use crate::error::{corrupted, Error, Result};
use crate::layout::{
    get_u16, get_u32, get_u64, put_u16, put_u32, put_u64, Key, ObjRoot, Ref, BS, MAX_HEIGHT,
    REF_SIZE, TABLE_OBJ,
};
use crate::store::Store;
use crate::types::{Attr, FileKind, Ino, Timespec};

/// Bytes per inode record.
pub(crate) const INODE_SIZE: usize = 128;
/// Inode records per table block.
pub(crate) const INODES_PER_BLOCK: u64 = BS / INODE_SIZE as u64;

/// A decoded inode record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inode {
    /// `None` for a free slot.
    pub kind: Option<FileKind>,
    /// Permission bits.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links.
    pub nlink: u32,
    /// Size in bytes (for directories: entry blocks × 4096).
    pub size: u64,
    /// Device number.
    pub rdev: u64,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Status-change time.
    pub ctime: Timespec,
    /// Blocks (data and index) allocated to the file.
    pub blocks: u64,
    /// Root of the data tree.
    pub root: ObjRoot,
    /// Parent directory for directories; next free inode for free slots.
    pub link: u64,
}

fn put_time(b: &mut [u8], off: usize, t: Timespec) {
    put_u64(b, off, t.sec as u64);
    put_u32(b, off + 8, t.nsec);
}

fn get_time(b: &[u8], off: usize) -> Timespec {
    Timespec {
        sec: get_u64(b, off) as i64,
        nsec: get_u32(b, off + 8),
    }
}

impl Inode {
    /// Encodes into a 128-byte record.
    pub fn encode(&self, b: &mut [u8]) {
        b[..INODE_SIZE].fill(0);
        b[0] = self.kind.map_or(0, FileKind::code);
        b[1] = self.root.height;
        put_u16(b, 2, self.mode);
        put_u32(b, 4, self.uid);
        put_u32(b, 8, self.gid);
        put_u32(b, 12, self.nlink);
        put_u64(b, 16, self.size);
        put_u64(b, 24, self.rdev);
        put_time(b, 32, self.atime);
        put_time(b, 44, self.mtime);
        put_time(b, 56, self.ctime);
        put_u64(b, 68, self.blocks);
        self.root.r.encode(&mut b[76..76 + REF_SIZE]);
        put_u64(b, 112, self.link);
    }

    /// Decodes a 128-byte record of inode `ino`.
    pub fn decode(ino: Ino, b: &[u8]) -> Result<Inode> {
        let kind = match b[0] {
            0 => None,
            c => Some(
                FileKind::from_code(c)
                    .ok_or_else(|| corrupted(format!("inode {ino} has kind {c}")))?,
            ),
        };
        let height = b[1];
        if height > MAX_HEIGHT {
            return Err(corrupted(format!("inode {ino} has tree height {height}")));
        }
        Ok(Inode {
            kind,
            mode: get_u16(b, 2),
            uid: get_u32(b, 4),
            gid: get_u32(b, 8),
            nlink: get_u32(b, 12),
            size: get_u64(b, 16),
            rdev: get_u64(b, 24),
            atime: get_time(b, 32),
            mtime: get_time(b, 44),
            ctime: get_time(b, 56),
            blocks: get_u64(b, 68),
            root: ObjRoot {
                r: Ref::decode(&b[76..76 + REF_SIZE]),
                height,
            },
            link: get_u64(b, 112),
        })
    }

    /// The allocated kind, or `NotFound` for a free slot.
    pub fn kind(&self) -> Result<FileKind> {
        self.kind.ok_or(Error::NotFound)
    }

    /// The public attributes.
    pub fn attr(&self, ino: Ino) -> Result<Attr> {
        Ok(Attr {
            ino,
            kind: self.kind()?,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            nlink: self.nlink,
            size: self.size,
            blocks: self.blocks * (BS / 512),
            rdev: self.rdev,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
        })
    }
}

/// The table block and byte offset of inode `ino`.
pub(crate) fn inode_pos(ino: Ino) -> (Key, usize) {
    (
        Key::leaf(TABLE_OBJ, ino / INODES_PER_BLOCK),
        (ino % INODES_PER_BLOCK) as usize * INODE_SIZE,
    )
}

impl Store {
    /// Reads inode `ino` (free or not); `NotFound` outside the table.
    pub fn read_inode(&mut self, ino: Ino) -> Result<Inode> {
        if ino == 0 || ino >= self.sb.ninodes {
            return Err(Error::NotFound);
        }
        let (key, off) = inode_pos(ino);
        self.with_block(key, |d| Inode::decode(ino, &d[off..off + INODE_SIZE]))?
    }

    /// Reads an allocated inode; `NotFound` if free or outside the table.
    pub fn inode(&mut self, ino: Ino) -> Result<Inode> {
        let inode = self.read_inode(ino)?;
        inode.kind()?;
        Ok(inode)
    }

    /// Writes inode `ino` back.
    pub fn write_inode(&mut self, ino: Ino, inode: &Inode) -> Result<()> {
        if ino == 0 || ino >= self.sb.ninodes {
            return Err(Error::NotFound);
        }
        let (key, off) = inode_pos(ino);
        self.modify(key, |d| inode.encode(&mut d[off..off + INODE_SIZE]))
    }
}
