//! Which address space owns which part of the shared user-space region. All
//! LibOS processes live in one region, so every address range is handed out
//! here before an address space maps it, and no two address spaces overlap.
//!
//! Besides owned ranges there are *soft* reservations: the room above each
//! program that its break grows into. Free-range searches stay out of them
//! while anything else fits, so every process's break can grow to
//! `process.default_heap_size` unless the region is full; they cost no
//! address space while it is not.

use std::sync::{Mutex, MutexGuard};

use super::vmas::VmaSet;

/// Identifies an address space.
pub type OwnerId = u32;

static OWNERS: Mutex<Map> = Mutex::new(Map {
    owned: None,
    soft: Vec::new(),
});

struct Map {
    /// Each range's `prot` field holds its owner.
    owned: Option<VmaSet>,
    /// Soft reservations: `(start, end, owner)`.
    soft: Vec<(usize, usize, OwnerId)>,
}

/// The locked ownership map.
pub struct Owners {
    guard: MutexGuard<'static, Map>,
}

/// Locks the ownership map.
pub fn lock() -> Owners {
    Owners {
        guard: crate::sync::lock_shared(&OWNERS),
    }
}

impl Owners {
    fn set(&mut self) -> &mut VmaSet {
        self.guard.owned.get_or_insert_with(VmaSet::default)
    }

    /// Claims the highest free range of `len` bytes in `[lo, hi)` for
    /// `owner`: outside every soft reservation if such a range exists.
    pub fn claim_free(
        &mut self,
        lo: usize,
        hi: usize,
        len: usize,
        owner: OwnerId,
    ) -> Option<usize> {
        let addr = self
            .find_unreserved(lo, hi, len)
            .or_else(|| self.set().find_free_top_down(lo, hi, len))?;
        self.set().insert(addr, addr + len, owner);
        Some(addr)
    }

    /// The highest free range of `len` bytes in `[lo, hi)` that no soft
    /// reservation overlaps.
    fn find_unreserved(&mut self, lo: usize, mut hi: usize, len: usize) -> Option<usize> {
        loop {
            let addr = self.set().find_free_top_down(lo, hi, len)?;
            // The highest reservation in the way: no fit is left between
            // its end and `addr + len`, so look below its start.
            let blocking = self
                .guard
                .soft
                .iter()
                .filter(|r| r.0 < addr + len && addr < r.1)
                .map(|r| r.0)
                .max();
            match blocking {
                None => return Some(addr),
                Some(start) => hi = start,
            }
        }
    }

    /// Whether `[start, end)` is free of owners and soft reservations.
    pub fn unreserved(&mut self, start: usize, end: usize) -> bool {
        self.set().overlapping_vmas(start, end).is_empty()
            && !self.guard.soft.iter().any(|r| r.0 < end && start < r.1)
    }

    /// Softly reserves `[start, end)` for `owner`'s break.
    pub fn reserve_soft(&mut self, start: usize, end: usize, owner: OwnerId) {
        if start < end {
            self.guard.soft.push((start, end, owner));
        }
    }

    /// Drops `owner`'s soft reservations.
    pub fn drop_soft(&mut self, owner: OwnerId) {
        self.guard.soft.retain(|r| r.2 != owner);
    }

    /// Whether `[start, end)` is free or owned by `owner`.
    pub fn available(&mut self, start: usize, end: usize, owner: OwnerId) -> bool {
        self.set()
            .overlapping_vmas(start, end)
            .iter()
            .all(|v| v.prot == owner)
    }

    /// An owner of part of `[start, end)`, if any.
    pub fn owner_in(&mut self, start: usize, end: usize) -> Option<OwnerId> {
        self.set()
            .overlapping_vmas(start, end)
            .first()
            .map(|v| v.prot)
    }

    /// Claims `[start, end)` for `owner`; fails if another owner has any of it.
    pub fn claim_fixed(&mut self, start: usize, end: usize, owner: OwnerId) -> bool {
        if !self.available(start, end, owner) {
            return false;
        }
        let set = self.set();
        set.remove(start, end);
        set.insert(start, end, owner);
        true
    }

    /// Bytes of the region owned by any address space.
    pub fn owned_bytes(&mut self) -> usize {
        self.set().iter().map(|v| v.end - v.start).sum()
    }

    /// Gives back the parts of `[start, end)` that `owner` has.
    pub fn release(&mut self, start: usize, end: usize, owner: OwnerId) {
        let set = self.set();
        for v in set.overlapping_vmas(start, end) {
            if v.prot == owner {
                set.remove(v.start.max(start), v.end.min(end));
            }
        }
    }
}
