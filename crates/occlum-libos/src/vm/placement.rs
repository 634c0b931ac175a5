//! Where things go in the shared user region: new mappings (`mmap`
//! placements), programs with room for their break, guard gaps, and the
//! program break itself. Every range is claimed in the ownership map
//! (`owners.rs`) before it is mapped.

use super::{owners, page_down, page_up, VmSpace, PAGE_SIZE, PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

/// Where a new mapping may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere free; the address is a hint.
    Hint(usize),
    /// Exactly here, replacing existing mappings (`MAP_FIXED`).
    Fixed(usize),
    /// Exactly here, failing with `EEXIST` on overlap (`MAP_FIXED_NOREPLACE`).
    FixedNoReplace(usize),
    /// The highest free place inside `[lo, hi)`.
    Within(usize, usize),
}

impl VmSpace {
    /// Sets the program break area to `[start, start+max)`, the break to
    /// `start`. Nothing is reserved: the break grows while the memory above it
    /// is free (as on Linux), up to `max` (`process.default_heap_size`).
    pub fn set_brk_area(&mut self, start: usize, max: usize) -> Result<()> {
        if !start.is_multiple_of(PAGE_SIZE) || !self.space.contains(start, 0) {
            return Err(Errno::ENOMEM);
        }
        let limit = start.saturating_add(max).min(self.space.end());
        self.brk_start = start;
        self.brk_cur = start;
        self.brk_limit = limit;
        Ok(())
    }

    /// Claims `len` bytes for a position-independent program and keeps
    /// `room` more bytes above them free for its break: hard for the first
    /// `hard_room` bytes, softly beyond (`owners.rs`). Low in the region
    /// when free (the first program: its break then has the region above
    /// it), else the highest place where program and room fit, else the
    /// highest where the program and `hard_room` fit. Returns the start.
    pub fn claim_program(&mut self, len: usize, room: usize, hard_room: usize) -> Result<usize> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let room = page_up(room).ok_or(Errno::ENOMEM)?;
        let hard = page_up(hard_room.min(room)).ok_or(Errno::ENOMEM)?;
        let owner = self.domain.owner();
        let (base, end) = (self.space.base(), self.space.end());
        let mut owners = owners::lock();
        let with_room = len.checked_add(room).ok_or(Errno::ENOMEM)?;
        let low = base
            .checked_add(with_room)
            .filter(|&e| e <= end && owners.unreserved(base, e));
        let at = match low {
            Some(_) => {
                owners.claim_fixed(base, base + len + hard, owner);
                base
            }
            None => match owners.claim_free(base, end, with_room, owner) {
                Some(at) => {
                    owners.release(at + len + hard, at + with_room, owner);
                    at
                }
                None => {
                    let at = owners
                        .claim_free(base, end, len + hard, owner)
                        .ok_or_else(|| self.out_of_room(len + hard))?;
                    return Ok(at);
                }
            },
        };
        owners.reserve_soft(at + len, at + with_room, owner);
        Ok(at)
    }

    /// Keeps `[start, start+len)` free of other address spaces without
    /// mapping it (a guard gap); best effort.
    pub fn reserve(&mut self, start: usize, len: usize) -> bool {
        self.space.contains(start, len)
            && owners::lock().claim_fixed(start, start + len, self.domain.owner())
    }

    pub(super) fn check_range(&self, addr: usize, len: usize) -> Result<usize> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if !self.space.contains(addr, len) {
            return Err(Errno::ENOMEM);
        }
        Ok(len)
    }

    /// Claims an address range for this address space, as `placement` asks,
    /// without mapping it.
    pub(super) fn claim(&self, placement: Placement, len: usize) -> Result<usize> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let mut owners = owners::lock();
        let owner = self.domain.owner();
        let (base, end) = (self.space.base(), self.space.end());
        match placement {
            Placement::Fixed(a) => {
                self.check_range(a, len)?;
                if !owners.claim_fixed(a, a + len, owner) {
                    return Err(Errno::ENOMEM);
                }
                Ok(a)
            }
            Placement::FixedNoReplace(a) => {
                self.check_range(a, len)?;
                if self.vmas.overlaps(a, a + len) || !owners.claim_fixed(a, a + len, owner) {
                    return Err(Errno::EEXIST);
                }
                Ok(a)
            }
            Placement::Hint(h) => {
                let h = page_down(h);
                let hint_ok = h != 0
                    && self.space.contains(h, len)
                    && !self.vmas.overlaps(h, h + len)
                    && !self.in_brk_area(h, len)
                    && owners.claim_fixed(h, h + len, owner);
                if hint_ok {
                    return Ok(h);
                }
                owners
                    .claim_free(base, end, len, owner)
                    .ok_or_else(|| self.out_of_room(len))
            }
            Placement::Within(lo, hi) => {
                let lo = page_up(lo).ok_or(Errno::ENOMEM)?.max(base);
                owners
                    .claim_free(lo, page_down(hi).min(end), len, owner)
                    .ok_or(Errno::ENOMEM)
            }
        }
    }

    /// `ENOMEM` for a mapping of `len` bytes that found no room in the
    /// region, said once at the default log level with the field to raise
    /// (not for requests past any sensible size: programs probe with those).
    pub(super) fn out_of_room(&self, len: usize) -> Errno {
        const GIB: usize = 1 << 30;
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if len <= 64 * GIB && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let size = self.space.size();
            let suggest = size
                .saturating_mul(2)
                .max(size.saturating_add(len))
                .div_ceil(GIB);
            tracing::error!(
                "the user space is full: a mapping of {} MiB found no room in its {} MiB; \
                 raise resource_limits.user_space_max_size in Occlum.json (e.g. to \"{}GB\") \
                 and run occlum build",
                len >> 20,
                size >> 20,
                suggest
            );
        }
        Errno::ENOMEM
    }

    pub(super) fn in_brk_area(&self, addr: usize, len: usize) -> bool {
        addr < self.brk_limit && self.brk_start < addr + len
    }

    /// The `brk` syscall: moves the program break to `addr` if possible and
    /// returns the (possibly unchanged) break.
    pub fn brk(&mut self, addr: usize) -> usize {
        if addr < self.brk_start || addr > self.brk_limit {
            return self.brk_cur;
        }
        let (Some(old_top), Some(new_top)) = (page_up(self.brk_cur), page_up(addr)) else {
            return self.brk_cur;
        };
        if new_top > old_top {
            // Like Linux, never grow over another mapping (of this or, in
            // the shared region, of another address space).
            if self.vmas.overlaps(old_top, new_top)
                || !owners::lock().claim_fixed(old_top, new_top, self.domain.owner())
            {
                return self.brk_cur;
            }
            if self
                .space
                .map(old_top, new_top - old_top, PROT_READ | PROT_WRITE)
                .is_err()
            {
                self.release(old_top, new_top);
                return self.brk_cur;
            }
            self.vmas.insert(old_top, new_top, PROT_READ | PROT_WRITE);
        } else if new_top < old_top {
            if self.space.unmap(new_top, old_top - new_top).is_err() {
                return self.brk_cur;
            }
            self.forget_backings(new_top, old_top);
            self.vmas.remove(new_top, old_top);
            self.release(new_top, old_top);
        }
        self.brk_cur = addr;
        self.brk_cur
    }
}
