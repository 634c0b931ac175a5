//! A full consistency check of the file system (fsck).

use std::collections::HashMap;

use crate::error::{corrupted, Result};
use crate::fs::Fs;
use crate::layout::{Key, Ref, BITMAP_OBJ, BLOCK_SIZE, BS, FANOUT, SUPER_BLOCKS, TABLE_OBJ};
use crate::types::{FileKind, Ino, ROOT_INO};

/// Blocks seen so far, by host block number.
struct Seen {
    used: Vec<bool>,
    count: u64,
}

/// What a tree walk found.
#[derive(Default)]
struct TreeStats {
    blocks: u64,
    leaf_end: u64,
}

impl Fs {
    fn walk(&mut self, key: Key, r: Ref, seen: &mut Seen, stats: &mut TreeStats) -> Result<()> {
        if r.is_none() && !self.store.cache.exists(&key) {
            return Ok(());
        }
        if !r.is_none() {
            let slot = seen
                .used
                .get_mut(r.addr as usize)
                .filter(|_| r.addr >= SUPER_BLOCKS)
                .ok_or_else(|| {
                    corrupted(format!(
                        "{} points outside the file (host block {})",
                        key.describe(),
                        r.addr
                    ))
                })?;
            if *slot {
                return Err(corrupted(format!("host block {} referenced twice", r.addr)));
            }
            *slot = true;
            seen.count += 1;
            if self.store.cache.peek(&key).is_none_or(|e| e.dirty) {
                let mut buf = vec![0u8; BLOCK_SIZE];
                self.store.read_block(&key, &r, &mut buf)?;
            }
        }
        stats.blocks += 1;
        if key.level == 0 {
            stats.leaf_end = stats.leaf_end.max(key.idx + 1);
            return Ok(());
        }
        let refs: Vec<Ref> = self.store.with_block(key, |d| {
            (0..FANOUT as usize).map(|s| Ref::in_slot(d, s)).collect()
        })?;
        for (slot, child) in refs.into_iter().enumerate() {
            self.walk(key.child(slot), child, seen, stats)?;
        }
        Ok(())
    }

    fn walk_obj(&mut self, obj: u64, seen: &mut Seen) -> Result<TreeStats> {
        let root = self.store.root(obj)?;
        let mut stats = TreeStats::default();
        if root.height > 0 {
            let top = Key {
                obj,
                level: root.height - 1,
                idx: 0,
            };
            self.walk(top, root.r, seen, &mut stats)?;
        }
        Ok(stats)
    }

    /// See [`crate::Sefs::check`].
    pub fn check(&mut self) -> Result<()> {
        let sb = self.store.sb.clone();
        let mut seen = Seen {
            used: vec![false; sb.nblocks as usize],
            count: SUPER_BLOCKS,
        };
        seen.used[..SUPER_BLOCKS as usize].fill(true);
        self.walk_obj(TABLE_OBJ, &mut seen)?;
        self.walk_obj(BITMAP_OBJ, &mut seen)?;
        let mut kinds: HashMap<Ino, (FileKind, u32, u64)> = HashMap::new();
        let mut free = 0u64;
        for ino in ROOT_INO..sb.ninodes {
            let inode = self.store.read_inode(ino)?;
            let Some(kind) = inode.kind else {
                free += 1;
                continue;
            };
            let stats = self.walk_obj(ino, &mut seen)?;
            if stats.blocks != inode.blocks {
                return Err(corrupted(format!(
                    "inode {ino} counts {} blocks, has {}",
                    inode.blocks, stats.blocks
                )));
            }
            let size_ok = match kind {
                FileKind::Directory => inode.size % BS == 0 && stats.blocks >= inode.size / BS,
                _ => stats.leaf_end <= inode.size.div_ceil(BS),
            };
            if !size_ok {
                return Err(corrupted(format!(
                    "inode {ino}: size {} disagrees with its blocks",
                    inode.size
                )));
            }
            kinds.insert(ino, (kind, inode.nlink, inode.link));
        }
        self.check_namespace(&kinds)?;
        self.check_free_list(free)?;
        let orphans = kinds.values().filter(|(_, nlink, _)| *nlink == 0).count() as u64;
        if orphans != sb.orphans || kinds.len() as u64 != sb.nfiles {
            return Err(corrupted(format!(
                "superblock counts {} files, {} orphans; found {}, {orphans}",
                sb.nfiles,
                sb.orphans,
                kinds.len()
            )));
        }
        self.check_bitmap(&seen)
    }

    fn check_namespace(&mut self, kinds: &HashMap<Ino, (FileKind, u32, u64)>) -> Result<()> {
        let mut links: HashMap<Ino, u32> = HashMap::new();
        for (&dir, &(kind, nlink, _)) in kinds {
            if kind != FileKind::Directory || nlink == 0 {
                continue;
            }
            *links.entry(dir).or_default() += 1;
            for e in self.dir_list(dir)? {
                let (k, _, parent) = kinds.get(&e.ino).ok_or_else(|| {
                    corrupted(format!("directory {dir} names free inode {}", e.ino))
                })?;
                if *k != e.kind {
                    return Err(corrupted(format!(
                        "directory {dir} has the wrong kind for inode {}",
                        e.ino
                    )));
                }
                *links.entry(e.ino).or_default() += 1;
                if *k == FileKind::Directory {
                    *links.entry(dir).or_default() += 1;
                    if *parent != dir {
                        return Err(corrupted(format!(
                            "directory {} has parent {parent}, is in {dir}",
                            e.ino
                        )));
                    }
                }
            }
        }
        *links.entry(ROOT_INO).or_default() += 1;
        for (&ino, &(_, nlink, _)) in kinds {
            let found = links.get(&ino).copied().unwrap_or(0);
            if found != nlink {
                return Err(corrupted(format!(
                    "inode {ino} has nlink {nlink}, {found} links found"
                )));
            }
        }
        Ok(())
    }

    fn check_free_list(&mut self, free: u64) -> Result<()> {
        let mut ino = self.store.sb.free_ino_head;
        let mut listed = 0u64;
        while ino != 0 {
            let inode = self.store.read_inode(ino)?;
            if inode.kind.is_some() || listed >= free {
                return Err(corrupted(format!("free inode list broken at {ino}")));
            }
            listed += 1;
            ino = inode.link;
        }
        if listed != free {
            return Err(corrupted(format!("{free} free inodes, {listed} listed")));
        }
        Ok(())
    }

    fn check_bitmap(&mut self, seen: &Seen) -> Result<()> {
        let s = &mut self.store;
        if seen.count != s.sb.used {
            return Err(corrupted(format!(
                "superblock counts {} used blocks, {} referenced",
                s.sb.used, seen.count
            )));
        }
        for (b, &used) in seen.used.iter().enumerate() {
            if s.is_allocated(b as u64)? != used {
                return Err(corrupted(format!("bitmap disagrees about host block {b}")));
            }
        }
        let pending: Vec<(u64, u64)> = s.pending_free.iter().collect();
        if pending
            .iter()
            .any(|&(a, b)| (a..b).any(|x| seen.used.get(x as usize).copied().unwrap_or(true)))
        {
            return Err(corrupted("a block pending release is still referenced"));
        }
        if s.fresh
            .iter()
            .any(|(a, b)| (a..b).any(|x| !seen.used.get(x as usize).copied().unwrap_or(false)))
        {
            return Err(corrupted("a freshly allocated block is not referenced"));
        }
        Ok(())
    }
}
