//! Directories: entry blocks in the directory's data tree, plus an in-memory
//! name index per recently used directory.
//!
//! An entry block starts with `count: u16, used: u16` (bytes in use, header
//! included) followed by packed entries `ino: u64, kind: u8, len: u8, name`.

use std::collections::{BTreeMap, HashMap};

use crate::error::{corrupted, Error, Result};
use crate::fs::Fs;
use crate::layout::{get_u16, get_u64, put_u16, put_u64, Key, BLOCK_SIZE, BS};
use crate::types::{DirEntry, FileKind, Ino};

const HEADER: usize = 4;
const FIXED: usize = 10;
/// Free bytes of an empty entry block.
const EMPTY_FREE: u16 = (BLOCK_SIZE - HEADER) as u16;

/// A located entry.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// The inode named.
    pub ino: Ino,
    /// Its kind.
    pub kind: FileKind,
    /// Entry block holding it.
    pub block: u64,
    /// Byte offset of the entry in the block.
    pub off: usize,
}

/// Walks the entries of one block: `f(offset, ino, kind, name)`, stopping when
/// `f` returns true. Returns the block's free bytes.
fn scan(
    d: &[u8],
    mut f: impl FnMut(usize, Ino, FileKind, &[u8]) -> bool,
) -> std::result::Result<u16, &'static str> {
    let count = get_u16(d, 0) as usize;
    let used = get_u16(d, 2) as usize;
    if !(HEADER..=BLOCK_SIZE).contains(&used) {
        return Err("bad used size");
    }
    let mut off = HEADER;
    for _ in 0..count {
        if off + FIXED > used {
            return Err("entry past the end");
        }
        let len = d[off + 9] as usize;
        let kind = FileKind::from_code(d[off + 8]).ok_or("bad entry kind")?;
        if len == 0 || off + FIXED + len > used {
            return Err("bad name length");
        }
        if f(
            off,
            get_u64(d, off),
            kind,
            &d[off + FIXED..off + FIXED + len],
        ) {
            return Ok((BLOCK_SIZE - used) as u16);
        }
        off += FIXED + len;
    }
    if off != used {
        return Err("entry count does not match size");
    }
    Ok((BLOCK_SIZE - used) as u16)
}

fn bad_block(dir: Ino, block: u64, why: &str) -> Error {
    corrupted(format!("directory block {block} of inode {dir}: {why}"))
}

fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Blocks holding names with a given hash.
enum Slots {
    One(u64),
    Many(Vec<u64>),
}

/// Name hashes and free space of one directory's entry blocks.
#[derive(Default)]
struct DirIndex {
    names: HashMap<u64, Slots>,
    free: Vec<u16>,
    entries: u64,
    tick: u64,
    cost: u64,
}

impl DirIndex {
    fn add(&mut self, name: &[u8], block: u64) {
        let h = name_hash(name);
        match self.names.get_mut(&h) {
            None => {
                self.names.insert(h, Slots::One(block));
            }
            Some(Slots::One(b)) => {
                let first = *b;
                self.names.insert(h, Slots::Many(vec![first, block]));
            }
            Some(Slots::Many(v)) => v.push(block),
        }
        self.entries += 1;
    }

    fn remove(&mut self, name: &[u8], block: u64) {
        let h = name_hash(name);
        let drop_key = match self.names.get_mut(&h) {
            Some(Slots::One(_)) => true,
            Some(Slots::Many(v)) => {
                if let Some(p) = v.iter().position(|&b| b == block) {
                    v.swap_remove(p);
                }
                v.is_empty()
            }
            None => false,
        };
        if drop_key {
            self.names.remove(&h);
        }
        self.entries = self.entries.saturating_sub(1);
    }

    fn candidates(&self, name: &[u8]) -> Vec<u64> {
        match self.names.get(&name_hash(name)) {
            None => Vec::new(),
            Some(Slots::One(b)) => vec![*b],
            Some(Slots::Many(v)) => {
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
        }
    }
}

/// Bookkeeping cost of an index beyond its entries.
const INDEX_OVERHEAD: u64 = 16;

/// The name indexes of recently used directories, bounded by total entries
/// (as counted when each index was last used).
pub(crate) struct DirIndexes {
    map: HashMap<Ino, DirIndex>,
    lru: BTreeMap<u64, Ino>,
    total: u64,
    limit: u64,
    tick: u64,
}

impl DirIndexes {
    /// Indexes holding up to about `limit` entries in all.
    pub fn new(limit: u64) -> DirIndexes {
        DirIndexes {
            map: HashMap::new(),
            lru: BTreeMap::new(),
            total: 0,
            limit: limit.max(1024),
            tick: 0,
        }
    }

    /// Forgets directory `dir`'s index.
    pub fn forget(&mut self, dir: Ino) {
        if let Some(d) = self.map.remove(&dir) {
            self.lru.remove(&d.tick);
            self.total -= d.cost;
        }
    }

    /// Marks `dir`'s index as just used and recounts its cost.
    fn touch(&mut self, dir: Ino) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(d) = self.map.get_mut(&dir) {
            self.lru.remove(&d.tick);
            self.lru.insert(tick, dir);
            d.tick = tick;
            let cost = d.entries + INDEX_OVERHEAD;
            self.total = self.total - d.cost + cost;
            d.cost = cost;
        }
    }

    /// Adds a freshly built index and drops the least recently used others
    /// while over the limit.
    fn insert(&mut self, dir: Ino, index: DirIndex) {
        self.map.insert(dir, index);
        self.touch(dir);
        while self.total > self.limit {
            match self.lru.iter().next() {
                Some((_, &victim)) if victim != dir => self.forget(victim),
                _ => break,
            }
        }
    }
}

/// Validates a name component.
pub(crate) fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > 255 {
        return Err(Error::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&c| c == b'/' || c == 0)
    {
        return Err(Error::Invalid);
    }
    Ok(())
}

impl Fs {
    /// Builds (or refreshes the age of) directory `dir`'s index.
    fn index(&mut self, dir: Ino) -> Result<&mut DirIndex> {
        if self.dirs.map.contains_key(&dir) {
            self.dirs.touch(dir);
        } else {
            let inode = self.store.inode(dir)?;
            if inode.size % BS != 0 {
                return Err(corrupted(format!(
                    "directory inode {dir} has size {}",
                    inode.size
                )));
            }
            let mut index = DirIndex::default();
            for b in 0..inode.size / BS {
                let mut names = Vec::new();
                let free = self
                    .store
                    .with_block(Key::leaf(dir, b), |d| {
                        scan(d, |_, _, _, name| {
                            names.push(name.to_vec());
                            false
                        })
                    })?
                    .map_err(|why| bad_block(dir, b, why))?;
                index.free.push(free);
                for name in names {
                    index.add(&name, b);
                }
            }
            self.dirs.insert(dir, index);
        }
        self.dirs.map.get_mut(&dir).ok_or(Error::NotFound)
    }

    /// Looks `name` up in directory `dir`.
    pub fn dir_find(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Found>> {
        for block in self.index(dir)?.candidates(name) {
            let mut hit = None;
            self.store
                .with_block(Key::leaf(dir, block), |d| {
                    scan(d, |off, ino, kind, n| {
                        if n == name {
                            hit = Some(Found {
                                ino,
                                kind,
                                block,
                                off,
                            });
                        }
                        hit.is_some()
                    })
                })?
                .map_err(|why| bad_block(dir, block, why))?;
            if hit.is_some() {
                return Ok(hit);
            }
        }
        Ok(None)
    }

    /// Adds entry `name → ino` (the caller checked it is not taken).
    pub fn dir_add(&mut self, dir: Ino, name: &[u8], ino: Ino, kind: FileKind) -> Result<()> {
        let need = (FIXED + name.len()) as u16;
        let index = self.index(dir)?;
        let block = match index.free.iter().position(|&f| f >= need) {
            Some(b) => b as u64,
            None => {
                let b = index.free.len() as u64;
                self.store.ensure_height(dir, b + 1)?;
                self.store
                    .modify(Key::leaf(dir, b), |d| put_u16(d, 2, HEADER as u16))?;
                let mut inode = self.store.inode(dir)?;
                inode.size = (b + 1) * BS;
                self.store.write_inode(dir, &inode)?;
                self.index(dir)?.free.push(EMPTY_FREE);
                b
            }
        };
        self.store.modify(Key::leaf(dir, block), |d| {
            let count = get_u16(d, 0);
            let used = get_u16(d, 2) as usize;
            put_u64(d, used, ino);
            d[used + 8] = kind.code();
            d[used + 9] = name.len() as u8;
            d[used + FIXED..used + FIXED + name.len()].copy_from_slice(name);
            put_u16(d, 0, count + 1);
            put_u16(d, 2, (used + FIXED + name.len()) as u16);
        })?;
        let index = self.index(dir)?;
        index.free[block as usize] -= need;
        index.add(name, block);
        Ok(())
    }

    /// Removes entry `name`, returning what it named.
    pub fn dir_remove(&mut self, dir: Ino, name: &[u8]) -> Result<Found> {
        let found = self.dir_find(dir, name)?.ok_or(Error::NotFound)?;
        let len = FIXED + name.len();
        let off = found.off;
        self.store.modify(Key::leaf(dir, found.block), |d| {
            let count = get_u16(d, 0);
            let used = get_u16(d, 2) as usize;
            d.copy_within(off + len..used, off);
            d[used - len..used].fill(0);
            put_u16(d, 0, count - 1);
            put_u16(d, 2, (used - len) as u16);
        })?;
        let index = self.index(dir)?;
        index.free[found.block as usize] += len as u16;
        index.remove(name, found.block);
        let mut keep = index.free.len();
        while keep > 0 && index.free[keep - 1] == EMPTY_FREE {
            keep -= 1;
        }
        if keep < index.free.len() {
            index.free.truncate(keep);
            self.store.truncate_tree(dir, keep as u64)?;
            let mut inode = self.store.inode(dir)?;
            inode.size = keep as u64 * BS;
            self.store.write_inode(dir, &inode)?;
        }
        Ok(found)
    }

    /// Points the entry at `found` to another inode.
    pub fn dir_retarget(
        &mut self,
        dir: Ino,
        found: &Found,
        ino: Ino,
        kind: FileKind,
    ) -> Result<()> {
        let off = found.off;
        self.store.modify(Key::leaf(dir, found.block), |d| {
            put_u64(d, off, ino);
            d[off + 8] = kind.code();
        })
    }

    /// All entries of directory `dir`.
    pub fn dir_list(&mut self, dir: Ino) -> Result<Vec<DirEntry>> {
        let nblocks = self.index(dir)?.free.len() as u64;
        let mut out = Vec::new();
        for b in 0..nblocks {
            self.store
                .with_block(Key::leaf(dir, b), |d| {
                    scan(d, |_, ino, kind, name| {
                        out.push(DirEntry {
                            name: name.to_vec(),
                            ino,
                            kind,
                        });
                        false
                    })
                })?
                .map_err(|why| bad_block(dir, b, why))?;
        }
        Ok(out)
    }

    /// Whether directory `dir` has no entries.
    pub fn dir_is_empty(&mut self, dir: Ino) -> Result<bool> {
        Ok(self.index(dir)?.entries == 0)
    }
}
