//! A bounded CLOCK cache of verified blocks keyed by image block number.

use std::collections::HashMap;
use std::sync::Arc;

struct Slot {
    key: u64,
    data: Arc<[u8]>,
    referenced: bool,
}

/// Holds at most `capacity` blocks; evicts with the CLOCK (second chance) policy.
pub(crate) struct ClockCache {
    capacity: usize,
    map: HashMap<u64, usize>,
    slots: Vec<Slot>,
    hand: usize,
}

impl ClockCache {
    /// Creates an empty cache holding at most `capacity` (at least 1) blocks.
    pub fn new(capacity: usize) -> Self {
        ClockCache {
            capacity: capacity.max(1),
            map: HashMap::new(),
            slots: Vec::new(),
            hand: 0,
        }
    }

    /// Returns the cached block, marking it recently used.
    pub fn get(&mut self, key: u64) -> Option<Arc<[u8]>> {
        let slot = self.slots.get_mut(*self.map.get(&key)?)?;
        slot.referenced = true;
        Some(slot.data.clone())
    }

    /// Whether `key` is cached (does not mark it used).
    pub fn contains(&self, key: u64) -> bool {
        self.map.contains_key(&key)
    }

    /// Inserts or replaces a block, evicting another if full.
    pub fn insert(&mut self, key: u64, data: Arc<[u8]>) {
        if let Some(slot) = self.map.get(&key).and_then(|&i| self.slots.get_mut(i)) {
            slot.data = data;
            slot.referenced = true;
            return;
        }
        if self.slots.len() < self.capacity {
            self.map.insert(key, self.slots.len());
            self.slots.push(Slot {
                key,
                data,
                referenced: false,
            });
            return;
        }
        loop {
            self.hand %= self.slots.len();
            let Some(slot) = self.slots.get_mut(self.hand) else {
                return;
            };
            if slot.referenced {
                slot.referenced = false;
                self.hand += 1;
                continue;
            }
            self.map.remove(&slot.key);
            self.map.insert(key, self.hand);
            *slot = Slot {
                key,
                data,
                referenced: false,
            };
            self.hand += 1;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(v: u8) -> Arc<[u8]> {
        Arc::from(vec![v; 4])
    }

    #[test]
    fn clock_evicts_unreferenced_first() {
        let mut c = ClockCache::new(2);
        c.insert(1, block(1));
        c.insert(2, block(2));
        assert_eq!(c.get(1).unwrap()[0], 1);
        c.insert(3, block(3));
        assert!(c.contains(1));
        assert!(!c.contains(2));
        assert!(c.contains(3));
        c.insert(3, block(33));
        assert_eq!(c.get(3).unwrap()[0], 33);
        for k in 10..100 {
            c.insert(k, block(k as u8));
        }
        assert_eq!(c.map.len(), 2);
        assert_eq!(c.slots.len(), 2);
    }
}
