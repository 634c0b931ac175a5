//! Writing dirty blocks back (copy-on-write) and committing superblocks.
//!
//! Write-back runs in two phases. Phase 1 gives every block to be written a
//! fresh host location (freeing the old one) and marks the holder of its
//! reference dirty; all allocation, and so every bitmap change, happens here.
//! Phase 2 seals and writes the blocks in key order (children before parents,
//! files before the inode table, the bitmap last) and stores each new reference
//! in its holder, which is always still to be written or stays dirty.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::layout::{Key, BLOCK_SIZE, BS};
use crate::store::{internal, Store};

/// Longest run sealed and written with one host write.
const MAX_RUN: usize = 256;

impl Store {
    /// Gives each of `keys` (sorted, dirty) a fresh host location.
    fn assign(&mut self, keys: &[Key], assigned: &mut BTreeMap<Key, u64>) -> Result<()> {
        let mut i = 0;
        while i < keys.len() {
            let mut j = i + 1;
            while j < keys.len()
                && j - i < MAX_RUN
                && keys[j].obj == keys[i].obj
                && keys[j].level == keys[i].level
            {
                j += 1;
            }
            for key in &keys[i..j] {
                let old = self.block_ref(*key)?;
                if !old.is_none() {
                    self.free_block(old.addr)?;
                }
            }
            let mut k = i;
            while k < j {
                let (start, len) = self.alloc_run((j - k) as u64)?;
                for (n, key) in keys[k..k + len as usize].iter().enumerate() {
                    assigned.insert(*key, start + n as u64);
                }
                k += len as usize;
            }
            for key in &keys[i..j] {
                self.dirty_holder(*key)?;
            }
            i = j;
        }
        Ok(())
    }

    /// Seals and writes the assigned blocks, updating the references.
    fn write_assigned(&mut self, assigned: &BTreeMap<Key, u64>) -> Result<()> {
        let items: Vec<(Key, u64)> = assigned.iter().map(|(k, a)| (*k, *a)).collect();
        let mut buf = Vec::with_capacity(MAX_RUN * BLOCK_SIZE);
        let mut i = 0;
        while i < items.len() {
            let (k0, a0) = items[i];
            let mut j = i + 1;
            while j < items.len()
                && j - i < MAX_RUN
                && items[j].0.obj == k0.obj
                && items[j].0.level == k0.level
                && items[j].1 == a0 + (j - i) as u64
            {
                j += 1;
            }
            let keys: Vec<Key> = items[i..j].iter().map(|(k, _)| *k).collect();
            let refs = self.seal_cached(&keys, a0, &mut buf)?;
            self.host_write(a0 * BS, &buf)?;
            for (key, r) in keys.iter().zip(refs) {
                self.cache.mark_clean(key);
                self.set_ref(*key, r)?;
            }
            i = j;
        }
        Ok(())
    }

    /// Writes `keys` (dirty blocks) to fresh locations; with `all`, keeps going
    /// until nothing at all is dirty.
    fn write_back(&mut self, keys: Vec<Key>, all: bool) -> Result<()> {
        let mut assigned = BTreeMap::new();
        let mut todo = keys;
        while !todo.is_empty() {
            self.assign(&todo, &mut assigned)?;
            if !all {
                break;
            }
            todo = self
                .cache
                .dirty_keys()
                .into_iter()
                .filter(|k| !assigned.contains_key(k))
                .collect();
        }
        self.write_assigned(&assigned)?;
        if all && self.cache.any_dirty() {
            return Err(internal("blocks still dirty after write-back"));
        }
        Ok(())
    }

    /// Shrinks the cache back under its bound, writing dirty victims to fresh
    /// locations (not committed).
    pub fn evict(&mut self) -> Result<()> {
        let r = self.evict_inner();
        self.poisoned |= r.is_err();
        r
    }

    fn evict_inner(&mut self) -> Result<()> {
        let victims = self.cache.victims();
        if victims.is_empty() {
            return Ok(());
        }
        let dirty: Vec<Key> = victims
            .iter()
            .filter(|k| self.cache.peek(k).is_some_and(|e| e.dirty))
            .copied()
            .collect();
        if !dirty.is_empty() {
            self.write_back(dirty, false)?;
        }
        for key in victims {
            if self.cache.peek(&key).is_some_and(|e| !e.dirty) {
                self.cache.remove(&key);
            }
        }
        Ok(())
    }

    /// Makes the current state durable: writes every dirty block, syncs, writes
    /// the superblock into the older slot, and syncs again.
    pub fn commit(&mut self) -> Result<()> {
        if !self.cache.any_dirty() && self.sb == self.committed {
            return Ok(());
        }
        let r = self.commit_inner();
        self.poisoned |= r.is_err();
        r
    }

    fn commit_inner(&mut self) -> Result<()> {
        self.sb.seq = self.committed.seq + 1;
        self.write_back(self.cache.dirty_keys(), true)?;
        self.host_sync()?;
        let nonce = self.nonces(1)[0];
        let block = self.sb.seal(&self.crypto, nonce)?;
        self.host_write(u64::from(self.sb.slot()) * BS, &block)?;
        self.host_sync()?;
        self.committed = self.sb.clone();
        self.pending_free.clear();
        self.fresh.clear();
        Ok(())
    }
}
