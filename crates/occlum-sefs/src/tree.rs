//! Growing, shrinking and walking an object's block tree.

use crate::error::{Error, Result};
use crate::layout::{capacity, height_for, span, Key, ObjRoot, Ref, FANOUT, MAX_HEIGHT};
use crate::store::Store;

impl Store {
    /// Grows object `obj`'s tree until it can hold `leaves` leaves.
    pub fn ensure_height(&mut self, obj: u64, leaves: u64) -> Result<()> {
        loop {
            let root = self.root(obj)?;
            if capacity(root.height) >= leaves {
                return Ok(());
            }
            if root.height >= MAX_HEIGHT {
                return Err(Error::FileTooBig);
            }
            let old_top = Key {
                obj,
                level: root.height.saturating_sub(1),
                idx: 0,
            };
            let present = root.height > 0 && (!root.r.is_none() || self.cache.exists(&old_top));
            let height = root.height + 1;
            self.set_root(
                obj,
                ObjRoot {
                    r: Ref::NONE,
                    height,
                },
            )?;
            if present {
                let top = Key {
                    obj,
                    level: height - 1,
                    idx: 0,
                };
                self.modify(top, |d| root.r.put_slot(d, 0))?;
            }
        }
    }

    /// Drops block `key` (reference `r`) from its tree: frees its host block and
    /// forgets any cached copy.
    pub fn drop_block(&mut self, key: Key, r: Ref) -> Result<()> {
        let existed = !r.is_none() || self.cache.exists(&key);
        if !r.is_none() {
            self.free_block(r.addr)?;
        }
        self.cache.remove(&key);
        if existed {
            self.account(key.obj, -1)?;
        }
        Ok(())
    }

    /// Frees every leaf at index `from` or beyond under `key` (reference `r`),
    /// with the index blocks left empty; returns whether `key` itself went.
    fn free_subtree(&mut self, key: Key, r: Ref, from: u64) -> Result<bool> {
        let width = span(key.level);
        let start = key.idx.saturating_mul(width);
        let end = start.saturating_add(width);
        if from >= end {
            return Ok(false);
        }
        let whole = from <= start;
        if r.is_none() && !self.cache.exists(&key) {
            return Ok(whole);
        }
        if key.level > 0 {
            let first_slot = if whole {
                0
            } else {
                ((from - start) / span(key.level - 1)) as usize
            };
            let refs: Vec<Ref> = self.with_block(key, |d| {
                (first_slot..FANOUT as usize)
                    .map(|s| Ref::in_slot(d, s))
                    .collect()
            })?;
            let mut cleared = Vec::new();
            for (slot, child_ref) in (first_slot..).zip(refs) {
                let gone = self.free_subtree(key.child(slot), child_ref, from)?;
                if gone && !child_ref.is_none() {
                    cleared.push(slot);
                }
            }
            if !whole {
                if !cleared.is_empty() {
                    self.modify(key, |d| {
                        cleared.iter().for_each(|&s| Ref::NONE.put_slot(d, s))
                    })?;
                }
                return Ok(false);
            }
        }
        self.drop_block(key, r)?;
        Ok(true)
    }

    /// Frees all leaves of `obj` at index `leaves` and beyond, shrinking the tree.
    pub fn truncate_tree(&mut self, obj: u64, leaves: u64) -> Result<()> {
        let root = self.root(obj)?;
        if root.height == 0 || capacity(root.height) <= leaves && leaves > 0 {
            return Ok(());
        }
        let top = Key {
            obj,
            level: root.height - 1,
            idx: 0,
        };
        if self.free_subtree(top, root.r, leaves)? {
            return self.set_root(obj, ObjRoot::default());
        }
        let target = height_for(leaves).max(1);
        loop {
            let root = self.root(obj)?;
            if root.height <= target {
                return Ok(());
            }
            let top = Key {
                obj,
                level: root.height - 1,
                idx: 0,
            };
            let child = self.with_block(top, |d| Ref::in_slot(d, 0))?;
            self.drop_block(top, root.r)?;
            self.set_root(
                obj,
                ObjRoot {
                    r: child,
                    height: root.height - 1,
                },
            )?;
        }
    }

    /// References of leaves `first..first + count` of `obj` (`NONE` for holes).
    pub fn leaf_refs(&mut self, obj: u64, first: u64, count: u64) -> Result<Vec<Ref>> {
        let root = self.root(obj)?;
        let mut out = Vec::with_capacity(count as usize);
        let mut i = first;
        let end = first + count;
        while i < end {
            let key = Key::leaf(obj, i);
            if root.height <= 1 || !Self::in_tree(&key, &root) {
                out.push(self.block_ref(key)?);
                i += 1;
                continue;
            }
            let parent = key.parent();
            let stop = end.min((parent.idx + 1) * FANOUT);
            let (a, b) = ((i % FANOUT) as usize, (stop - parent.idx * FANOUT) as usize);
            self.with_block(parent, |d| out.extend((a..b).map(|s| Ref::in_slot(d, s))))?;
            i = stop;
        }
        Ok(out)
    }
}
