//! Which address space owns which part of the shared user-space region. All
//! LibOS processes live in one region, so every address range is handed out
//! here before an address space maps it, and no two address spaces overlap.

use std::sync::{Mutex, MutexGuard};

use super::vmas::VmaSet;

/// Identifies an address space.
pub type OwnerId = u32;

static OWNERS: Mutex<Option<VmaSet>> = Mutex::new(None);

/// The ownership map; each range's `prot` field holds its owner.
pub struct Owners {
    guard: MutexGuard<'static, Option<VmaSet>>,
}

/// Locks the ownership map.
pub fn lock() -> Owners {
    Owners {
        guard: crate::sync::lock_shared(&OWNERS),
    }
}

impl Owners {
    fn set(&mut self) -> &mut VmaSet {
        self.guard.get_or_insert_with(VmaSet::default)
    }

    /// Claims the highest free range of `len` bytes in `[lo, hi)` for `owner`.
    pub fn claim_free(
        &mut self,
        lo: usize,
        hi: usize,
        len: usize,
        owner: OwnerId,
    ) -> Option<usize> {
        let set = self.set();
        let addr = set.find_free_top_down(lo, hi, len)?;
        set.insert(addr, addr + len, owner);
        Some(addr)
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
