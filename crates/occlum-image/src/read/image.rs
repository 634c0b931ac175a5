//! The read-only, verifying view of an image used by the LibOS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::dev::{read_full, ReadAt};
use super::error::ImageError;
use super::store::{Fault, Store};
use crate::attr::{Attr, DirEntry, FileKind, Ino};
use crate::format::{
    blocks_for, copy_overlap, get_u64, BLOCK, BLOCK_SIZE, DIRENT_SIZE, DIR_HEADER, INODE_SIZE,
    ROOT_INO,
};
use crate::hash::root_hash;
use crate::header::{Header, MAGIC};
use crate::records::{DirentRec, InodeRec};

/// Default size of the verified-block cache.
pub const DEFAULT_CACHE_BYTES: usize = 16 << 20;

/// Reads of at least this many whole blocks (256 KiB: a program being
/// loaded, which the LibOS then keeps sealed) bypass the block cache
/// (`Store::read_direct`): filling it would cost an allocation and a copy
/// per block, each page of them a fault.
const DIRECT_READ_BLOCKS: u64 = 64;

/// Longest parent chain followed when formatting a path.
const MAX_PATH_DEPTH: usize = 4096;

/// An opened image. All methods take `&self`; the type is `Send + Sync`.
///
/// Everything returned has been verified against the root hash given to [`Image::open`].
pub struct Image {
    header: Header,
    store: Store,
    root_hash: [u8; 32],
    /// `ino -> (parent, name)` learned from lookups, so error paths survive metadata damage.
    links: RwLock<HashMap<Ino, (Ino, Vec<u8>)>>,
}

impl Image {
    /// Opens an image, verifying its header and top hash-tree node against `root_hash`.
    ///
    /// Reads two blocks; everything else is read and verified lazily.
    pub fn open(dev: Arc<dyn ReadAt>, root_hash: [u8; 32]) -> Result<Image, ImageError> {
        Image::open_with_cache(dev, root_hash, DEFAULT_CACHE_BYTES)
    }

    /// Like [`Image::open`], caching about `cache_bytes` of verified content blocks
    /// (plus up to a quarter of that again for verified hash-tree nodes).
    pub fn open_with_cache(
        dev: Arc<dyn ReadAt>,
        root: [u8; 32],
        cache_bytes: usize,
    ) -> Result<Image, ImageError> {
        let mut block = vec![0u8; BLOCK_SIZE];
        if read_full(&*dev, 0, &mut block)? < BLOCK_SIZE {
            return Err(ImageError::BadHeader(
                "image is shorter than its header block".into(),
            ));
        }
        if block.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(ImageError::BadHeader(
                "bad magic: not an Occlum image".into(),
            ));
        }
        if root_hash(&block) != root {
            return Err(ImageError::BadHeader(
                "root hash mismatch: the image does not match the trusted root hash".into(),
            ));
        }
        let header = Header::decode(&block).map_err(ImageError::BadHeader)?;
        let blocks = (cache_bytes / BLOCK_SIZE).max(16);
        let store = Store::open(
            dev,
            header.geom.clone(),
            header.top_hash,
            blocks,
            (blocks / 4).max(16),
        )
        .map_err(|f| match f {
            Fault::Bad(block) => ImageError::Corrupted {
                ino: None,
                path: "<image hash tree>".into(),
                block,
            },
            Fault::Io(e) => ImageError::Io(e),
        })?;
        Ok(Image {
            header,
            store,
            root_hash: root,
            links: RwLock::new(HashMap::new()),
        })
    }

    /// Reads and verifies every block of the image (content, metadata and,
    /// along the way, every hash-tree node): a changed byte anywhere is an
    /// error now rather than when its file is read.
    pub fn verify_all(&self) -> Result<(), ImageError> {
        self.store
            .read_blocks(1, self.header.geom.leaves, |_, _| {})
            .map_err(|f| match f {
                Fault::Bad(block) => ImageError::Corrupted {
                    ino: None,
                    path: "<image>".into(),
                    block,
                },
                Fault::Io(e) => ImageError::Io(e),
            })
    }

    /// The root directory.
    pub fn root(&self) -> Ino {
        ROOT_INO
    }

    /// The root hash this image was verified against.
    pub fn root_hash(&self) -> [u8; 32] {
        self.root_hash
    }

    /// Looks up `name` in directory `dir` (`.` and `..` are understood).
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, ImageError> {
        let rec = self.inode(dir)?;
        if rec.kind != FileKind::Directory {
            return Err(ImageError::NotDir);
        }
        match name {
            b"." => return Ok(dir),
            b".." => return Ok(rec.parent),
            _ => {}
        }
        let ino = self
            .search_dir(&rec, name)
            .map_err(|f| self.fail(dir, f))?
            .ok_or(ImageError::NotFound)?;
        let known = self
            .links
            .read()
            .map(|m| m.contains_key(&ino))
            .unwrap_or(true);
        if !known {
            if let Ok(mut m) = self.links.write() {
                m.entry(ino).or_insert_with(|| (dir, name.to_vec()));
            }
        }
        Ok(ino)
    }

    /// Attributes of `ino`.
    pub fn getattr(&self, ino: Ino) -> Result<Attr, ImageError> {
        let r = self.inode(ino)?;
        Ok(Attr {
            ino,
            kind: r.kind,
            mode: r.mode,
            uid: r.uid,
            gid: r.gid,
            nlink: r.nlink,
            size: r.size,
            mtime_sec: r.mtime_sec,
            mtime_nsec: r.mtime_nsec,
        })
    }

    /// Entries of directory `dir`, sorted by name, without `.` and `..`.
    pub fn readdir(&self, dir: Ino) -> Result<Vec<DirEntry>, ImageError> {
        let rec = self.inode(dir)?;
        if rec.kind != FileKind::Directory {
            return Err(ImageError::NotDir);
        }
        self.read_dir_table(&rec).map_err(|f| self.fail(dir, f))
    }

    /// Target of symlink `ino`, verbatim.
    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>, ImageError> {
        let rec = self.inode(ino)?;
        if rec.kind != FileKind::Symlink {
            return Err(ImageError::InvalidArgument);
        }
        let mut target =
            vec![0u8; usize::try_from(rec.size).map_err(|_| ImageError::InvalidArgument)?];
        self.meta_read(rec.extent, &mut target)
            .map_err(|f| self.fail(ino, f))?;
        Ok(target)
    }

    /// Reads file data at `offset`; returns fewer bytes than `buf.len()` only at EOF.
    pub fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, ImageError> {
        let rec = self.inode(ino)?;
        match rec.kind {
            FileKind::Regular => {}
            FileKind::Directory => return Err(ImageError::IsDir),
            FileKind::Symlink => return Err(ImageError::InvalidArgument),
        }
        if offset >= rec.size || buf.is_empty() {
            return Ok(0);
        }
        let len = (buf.len() as u64).min(rec.size - offset) as usize;
        let buf = &mut buf[..len];
        // The whole blocks in the middle of a large read go straight into
        // `buf`; the partial ones at its ends through the cache.
        let head = (BLOCK - offset % BLOCK) % BLOCK;
        let whole = (len as u64).saturating_sub(head) / BLOCK;
        let (direct_from, direct_len) = if whole >= DIRECT_READ_BLOCKS {
            (head as usize, (whole * BLOCK) as usize)
        } else {
            (len, 0)
        };
        if direct_len > 0 {
            let first = rec.extent + (offset + head) / BLOCK;
            self.store
                .read_direct(first, &mut buf[direct_from..direct_from + direct_len])
                .map_err(|f| self.fail(ino, f))?;
        }
        let mut through_cache = |from: usize, to: usize| -> Result<(), ImageError> {
            if from >= to {
                return Ok(());
            }
            let start = offset + from as u64;
            let first = rec.extent + start / BLOCK;
            let last = rec.extent + (offset + to as u64 - 1) / BLOCK;
            let part = &mut buf[from..to];
            self.store
                .read_blocks(first, last - first + 1, |blk, data| {
                    copy_overlap(part, start, data, (blk - rec.extent) * BLOCK)
                })
                .map_err(|f| self.fail(ino, f))
        };
        through_cache(0, direct_from)?;
        through_cache(direct_from + direct_len, len)?;
        Ok(len)
    }

    /// Path of `ino` inside the image (e.g. `/bin/hello`), for error messages.
    ///
    /// Hard-linked files report the name they were looked up by, else their first name.
    /// Unreadable path components are shown as `<ino N>`.
    pub fn path_of(&self, ino: Ino) -> String {
        let mut parts = Vec::new();
        let mut cur = ino;
        for _ in 0..MAX_PATH_DEPTH {
            if cur == ROOT_INO {
                break;
            }
            match self.link_of(cur) {
                Some((parent, name)) => {
                    parts.push(String::from_utf8_lossy(&name).into_owned());
                    cur = parent;
                }
                None => {
                    parts.push(format!("<ino {cur}>"));
                    break;
                }
            }
        }
        if parts.is_empty() {
            return "/".into();
        }
        parts
            .iter()
            .rev()
            .fold(String::new(), |acc, p| acc + "/" + p)
    }

    /// Parent and name of `ino`: learned from lookups, else from its inode record.
    fn link_of(&self, ino: Ino) -> Option<(Ino, Vec<u8>)> {
        if let Some(link) = self.links.read().ok().and_then(|m| m.get(&ino).cloned()) {
            return Some(link);
        }
        if !self.valid_ino(ino) {
            return None;
        }
        let rec = self.inode_raw(ino).ok()?;
        let mut name = vec![0u8; usize::try_from(rec.name_len).ok()?];
        self.meta_read(rec.name_off, &mut name).ok()?;
        Some((rec.parent, name))
    }

    /// Turns a low-level fault while accessing `ino` into an error naming its path.
    fn fail(&self, ino: Ino, fault: Fault) -> ImageError {
        match fault {
            Fault::Bad(block) => ImageError::Corrupted {
                ino: Some(ino),
                path: self.path_of(ino),
                block,
            },
            Fault::Io(e) => ImageError::Io(e),
        }
    }

    fn valid_ino(&self, ino: Ino) -> bool {
        ino >= 1 && ino <= self.header.inode_count
    }

    /// The inode record of `ino`, or `NotFound` / `Corrupted`.
    fn inode(&self, ino: Ino) -> Result<InodeRec, ImageError> {
        if !self.valid_ino(ino) {
            return Err(ImageError::NotFound);
        }
        self.inode_raw(ino).map_err(|f| self.fail(ino, f))
    }

    /// Reads and sanity-checks the inode record of a valid `ino`.
    fn inode_raw(&self, ino: Ino) -> Result<InodeRec, Fault> {
        let off = (ino - 1) * INODE_SIZE as u64;
        let mut raw = [0u8; INODE_SIZE];
        self.meta_read(off, &mut raw)?;
        let rec = InodeRec::decode(&raw).filter(|r| self.plausible(r));
        rec.ok_or(Fault::Bad(self.meta_block(off)))
    }

    /// Whether every reference in a (verified) inode record stays inside the image.
    fn plausible(&self, r: &InodeRec) -> bool {
        let meta_len = self.header.meta_len;
        let in_meta = |off: u64, len: u64| off.checked_add(len).is_some_and(|end| end <= meta_len);
        let extent_ok = match r.kind {
            FileKind::Regular => {
                r.size == 0
                    || (r.extent >= 1
                        && r.extent
                            .checked_add(blocks_for(r.size))
                            .is_some_and(|end| end <= self.header.data_blocks + 1))
            }
            FileKind::Directory => r.size >= DIR_HEADER as u64 && in_meta(r.extent, r.size),
            FileKind::Symlink => in_meta(r.extent, r.size),
        };
        extent_ok && self.valid_ino(r.parent) && in_meta(r.name_off, u64::from(r.name_len))
    }

    /// Image block holding metadata byte `off`.
    fn meta_block(&self, off: u64) -> u64 {
        self.header.meta_start() + off / BLOCK
    }

    /// Reads verified metadata bytes at `off`.
    fn meta_read(&self, off: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = off
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.header.meta_len)
            .ok_or(Fault::Bad(self.meta_block(off.min(self.header.meta_len))))?;
        let start = self.header.meta_start();
        let first = start + off / BLOCK;
        let last = start + (end - 1) / BLOCK;
        self.store
            .read_blocks(first, last - first + 1, |blk, data| {
                copy_overlap(buf, off, data, (blk - start) * BLOCK)
            })
    }

    /// Number of entries of a directory table, checked against the table size.
    fn dir_count(&self, dir: &InodeRec) -> Result<u64, Fault> {
        let mut raw = [0u8; DIR_HEADER];
        self.meta_read(dir.extent, &mut raw)?;
        let count = get_u64(&raw, 0);
        let fits = count
            .checked_mul(DIRENT_SIZE as u64)
            .and_then(|n| n.checked_add(DIR_HEADER as u64))
            .is_some_and(|n| n <= dir.size);
        if fits {
            Ok(count)
        } else {
            Err(Fault::Bad(self.meta_block(dir.extent)))
        }
    }

    /// Decodes and checks one directory-table record given its raw bytes.
    fn check_dirent(
        &self,
        dir: &InodeRec,
        raw: &[u8; DIRENT_SIZE],
        at: u64,
    ) -> Result<DirentRec, Fault> {
        DirentRec::decode(raw)
            .filter(|e| self.valid_ino(e.ino) && e.name_range().1 <= dir.size)
            .ok_or(Fault::Bad(self.meta_block(at)))
    }

    /// Entry `i` of a directory table and its name.
    fn dirent(&self, dir: &InodeRec, i: u64) -> Result<(DirentRec, Vec<u8>), Fault> {
        let at = dir.extent + DIR_HEADER as u64 + i * DIRENT_SIZE as u64;
        let mut raw = [0u8; DIRENT_SIZE];
        self.meta_read(at, &mut raw)?;
        let e = self.check_dirent(dir, &raw, at)?;
        let mut name = vec![0u8; usize::from(e.name_len)];
        self.meta_read(dir.extent + e.name_range().0, &mut name)?;
        Ok((e, name))
    }

    /// Binary search of a sorted directory table.
    fn search_dir(&self, dir: &InodeRec, name: &[u8]) -> Result<Option<Ino>, Fault> {
        let (mut lo, mut hi) = (0, self.dir_count(dir)?);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (e, entry_name) = self.dirent(dir, mid)?;
            match entry_name.as_slice().cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(e.ino)),
            }
        }
        Ok(None)
    }

    /// Reads a whole directory table.
    fn read_dir_table(&self, dir: &InodeRec) -> Result<Vec<DirEntry>, Fault> {
        let count = self.dir_count(dir)?;
        let mut table = vec![
            0u8;
            usize::try_from(dir.size)
                .map_err(|_| Fault::Bad(self.meta_block(dir.extent)))?
        ];
        self.meta_read(dir.extent, &mut table)?;
        let mut out = Vec::with_capacity(count.min(1 << 16) as usize);
        for (i, raw) in table[DIR_HEADER..]
            .chunks_exact(DIRENT_SIZE)
            .take(count as usize)
            .enumerate()
        {
            let at = dir.extent + DIR_HEADER as u64 + (i * DIRENT_SIZE) as u64;
            let raw: &[u8; DIRENT_SIZE] = raw
                .try_into()
                .map_err(|_| Fault::Bad(self.meta_block(at)))?;
            let e = self.check_dirent(dir, raw, at)?;
            let (s, t) = e.name_range();
            out.push(DirEntry {
                name: table[s as usize..t as usize].to_vec(),
                ino: e.ino,
                kind: e.kind,
            });
        }
        Ok(out)
    }
}
