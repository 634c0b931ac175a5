//! The bounded cache of decrypted blocks, keyed by logical position.

use std::collections::BTreeMap;

use crate::layout::{Key, BLOCK_SIZE};

/// Spare buffers kept for reuse.
const SPARE_BUFFERS: usize = 64;

/// A cached block.
pub(crate) struct Entry {
    /// The plaintext.
    pub data: Vec<u8>,
    /// Changed since it was last written to the host.
    pub dirty: bool,
    /// False for a placeholder standing for a hole (all zeros, nothing allocated).
    pub exists: bool,
    tick: u64,
}

/// Decrypted blocks with least-recently-used eviction order.
pub(crate) struct BlockCache {
    map: BTreeMap<Key, Entry>,
    tick: u64,
    capacity: usize,
    spare: Vec<Vec<u8>>,
}

impl BlockCache {
    /// A cache holding about `capacity` blocks.
    pub fn new(capacity: usize) -> BlockCache {
        BlockCache {
            map: BTreeMap::new(),
            tick: 0,
            capacity: capacity.max(16),
            spare: Vec::new(),
        }
    }

    /// The entry for `key`, marking it recently used.
    pub fn get(&mut self, key: &Key) -> Option<&mut Entry> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.map.get_mut(key)?;
        entry.tick = tick;
        Some(entry)
    }

    /// The entry for `key`, without touching its age.
    pub fn peek(&self, key: &Key) -> Option<&Entry> {
        self.map.get(key)
    }

    /// Whether `key` is cached and stands for an existing block.
    pub fn exists(&self, key: &Key) -> bool {
        self.map.get(key).is_some_and(|e| e.exists)
    }

    /// A zeroed block buffer.
    pub fn take_buf(&mut self) -> Vec<u8> {
        match self.spare.pop() {
            Some(mut b) => {
                b.fill(0);
                b
            }
            None => vec![0u8; BLOCK_SIZE],
        }
    }

    /// Caches `data` for `key` (clean), replacing any previous entry.
    pub fn insert(&mut self, key: Key, data: Vec<u8>, exists: bool) {
        self.tick += 1;
        let entry = Entry {
            data,
            dirty: false,
            exists,
            tick: self.tick,
        };
        if let Some(old) = self.map.insert(key, entry) {
            self.recycle(old.data);
        }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buf);
        }
    }

    /// Drops `key`; returns whether it was cached.
    pub fn remove(&mut self, key: &Key) -> bool {
        match self.map.remove(key) {
            Some(e) => {
                self.recycle(e.data);
                true
            }
            None => false,
        }
    }

    /// Drops every block of object `obj`.
    pub fn remove_obj(&mut self, obj: u64) {
        let first = Key {
            obj,
            level: 0,
            idx: 0,
        };
        let keys: Vec<Key> = self
            .map
            .range(first..)
            .take_while(|(k, _)| k.obj == obj)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }

    /// All dirty keys, in key order.
    pub fn dirty_keys(&self) -> Vec<Key> {
        self.map
            .iter()
            .filter(|(_, e)| e.dirty)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Whether anything is dirty.
    pub fn any_dirty(&self) -> bool {
        self.map.values().any(|e| e.dirty)
    }

    /// Marks `key` clean.
    pub fn mark_clean(&mut self, key: &Key) {
        if let Some(e) = self.map.get_mut(key) {
            e.dirty = false;
        }
    }

    /// The least recently used keys to drop to get back to 7/8 of capacity.
    pub fn victims(&self) -> Vec<Key> {
        if self.map.len() <= self.capacity {
            return Vec::new();
        }
        let n = self.map.len() - self.capacity * 7 / 8;
        let mut ages: Vec<(u64, Key)> = self.map.iter().map(|(k, e)| (e.tick, *k)).collect();
        ages.select_nth_unstable(n - 1);
        ages.truncate(n);
        let mut keys: Vec<Key> = ages.into_iter().map(|(_, k)| k).collect();
        keys.sort_unstable();
        keys
    }
}
