//! The user-space region: one range of the address space reserved at start,
//! inside which all user code and data live, and the only memory that user
//! pointers may name.
//!
//! Pages are mapped, protected and unmapped here on the LibOS's orders; the
//! LibOS keeps the bookkeeping. Copies to and from user memory check the range
//! and survive faults (unmapped or protected pages give `EFAULT`, also when
//! another thread unmaps the pages during the copy).

use std::sync::OnceLock;

use crate::arch;
use crate::errno::Errno;

/// Page size of the user space.
pub const PAGE_SIZE: usize = 4096;

static USPACE: OnceLock<UserSpace> = OnceLock::new();

/// The reserved user-space region.
#[derive(Debug)]
pub struct UserSpace {
    base: usize,
    size: usize,
}

/// Where the user-space region starts when that address range is free.
const LOW_BASE: usize = 0x20_0000;

/// Page protection bits (`PROT_READ`, `PROT_WRITE`, `PROT_EXEC`).
pub type Prot = u32;

/// Reserves the user-space region of `size` bytes (rounded up to pages). Once
/// per process.
pub fn init(size: usize) -> Result<&'static UserSpace, Errno> {
    let size = size
        .checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::ENOMEM)?;
    if size == 0 {
        return Err(Errno::EINVAL);
    }
    // The checked copies rely on the PAL's fault handler to turn a fault
    // into EFAULT, in every thread, the one that loads the first program
    // included.
    crate::trap::ensure_installed()?;
    let mut result = Err(Errno::EBUSY);
    USPACE.get_or_init(|| {
        // Low in the address space when free, so that non-PIE (ET_EXEC)
        // programs, linked at 0x400000, fit in the region; anywhere else if not.
        let reserve = |hint: usize, flags: i32| {
            // SAFETY: a fresh inaccessible reservation; with
            // MAP_FIXED_NOREPLACE the kernel never replaces an existing
            // mapping, and without it the kernel picks a free place.
            unsafe {
                libc::mmap(
                    hint as *mut libc::c_void,
                    size,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | flags,
                    -1,
                    0,
                )
            }
        };
        let mut p = reserve(LOW_BASE, libc::MAP_FIXED_NOREPLACE);
        if p == libc::MAP_FAILED || p as usize != LOW_BASE {
            p = reserve(0, 0);
        }
        if p == libc::MAP_FAILED {
            result = Err(Errno::ENOMEM);
            return UserSpace { base: 0, size: 0 };
        }
        result = Ok(());
        UserSpace {
            base: p as usize,
            size,
        }
    });
    result?;
    Ok(USPACE.get().expect("initialized above"))
}

/// The user-space region, once [`init`] succeeded.
pub fn get() -> Option<&'static UserSpace> {
    USPACE.get().filter(|u| u.size != 0)
}

impl UserSpace {
    /// First address of the region.
    pub fn base(&self) -> usize {
        self.base
    }

    /// Size of the region in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// One past the last address of the region.
    pub fn end(&self) -> usize {
        self.base + self.size
    }

    /// Whether `[addr, addr+len)` lies inside the region.
    pub fn contains(&self, addr: usize, len: usize) -> bool {
        addr >= self.base && addr.checked_add(len).is_some_and(|e| e <= self.end())
    }

    pub(crate) fn check_pages(&self, addr: usize, len: usize) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE)
            || !len.is_multiple_of(PAGE_SIZE)
            || !self.contains(addr, len)
        {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// Maps fresh zero pages at `[addr, addr+len)` with protection `prot`,
    /// replacing whatever was there.
    pub fn map(&self, addr: usize, len: usize, prot: Prot) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        self.mmap_fixed(addr, len, prot as i32, 0)
    }

    /// Unmaps `[addr, addr+len)`: the pages become inaccessible and their
    /// contents are dropped; the range stays reserved.
    pub fn unmap(&self, addr: usize, len: usize) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        self.mmap_fixed(addr, len, libc::PROT_NONE, libc::MAP_NORESERVE)
    }

    fn mmap_fixed(&self, addr: usize, len: usize, prot: i32, flags: i32) -> Result<(), Errno> {
        self.mmap_fixed_from(addr, len, prot, flags, None)
    }

    /// Maps `[addr, addr+len)` (checked by the caller to be whole pages of
    /// the region) privately, replacing what was there: zero pages, or the
    /// pages of host descriptor `source.0` from offset `source.1`.
    pub(crate) fn mmap_fixed_from(
        &self,
        addr: usize,
        len: usize,
        prot: i32,
        flags: i32,
        source: Option<(i32, usize)>,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let (fd, offset, anon) = match source {
            Some((fd, offset)) => (fd, offset as libc::off_t, 0),
            None => (-1, 0, libc::MAP_ANONYMOUS),
        };
        // SAFETY: the range was checked to lie inside the reserved region, which
        // holds only user memory, never LibOS data; a private mapping of a
        // descriptor never changes the file.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                prot,
                libc::MAP_PRIVATE | anon | libc::MAP_FIXED | flags,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            let e = Errno::last();
            // A failed MAP_FIXED may have unmapped the range already.
            self.re_reserve(addr, len);
            tracing::debug!("MAP_FIXED in the user region failed: {e}");
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Maps `[addr, addr+len)` (checked by the caller to be whole pages of
    /// the region) shared from host descriptor `fd` at `offset`, replacing
    /// what was there.
    pub(crate) fn mmap_fixed_shared(
        &self,
        addr: usize,
        len: usize,
        prot: i32,
        fd: i32,
        offset: usize,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let offset = libc::off_t::try_from(offset).map_err(|_| Errno::EINVAL)?;
        // SAFETY: the range was checked to lie inside the reserved region,
        // which holds only user memory, never LibOS data; the descriptor is
        // a memfd of user pages.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                prot,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            let e = Errno::last();
            self.re_reserve(addr, len);
            tracing::debug!("shared MAP_FIXED in the user region failed: {e}");
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// Makes `[addr, addr+len)` (inside the region) reserved and inaccessible
    /// again after a failed change, so that the region never has a hole
    /// where a host allocation could land and later be written as user
    /// memory. If even that fails, the invariant the checked copies rely on
    /// is gone: the process stops.
    fn re_reserve(&self, addr: usize, len: usize) {
        // SAFETY: the range lies inside the user region, which holds only
        // user memory.
        if !unsafe { make_inaccessible(addr, len) } {
            crate::trap::fatal("cannot re-reserve part of the user region after a failed mapping");
        }
    }

    /// Changes the protection of `[addr, addr+len)`.
    pub fn protect(&self, addr: usize, len: usize, prot: Prot) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        // SAFETY: the range lies inside the user region (checked above).
        let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot as i32) };
        if rc != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// Which pages of `[addr, addr+len)` have ever been touched (are
    /// resident): the others read as zero. One entry per page.
    pub fn resident_pages(&self, addr: usize, len: usize) -> Result<Vec<bool>, Errno> {
        self.check_pages(addr, len)?;
        let pages = len.div_ceil(PAGE_SIZE);
        let mut vec = vec![0u8; pages];
        // SAFETY: the range lies inside the user region (checked above) and
        // `vec` has one byte per page, as mincore writes.
        let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr()) };
        if rc != 0 {
            return Err(Errno::last());
        }
        Ok(vec.iter().map(|b| b & 1 != 0).collect())
    }

    /// Drops the contents of `[addr, addr+len)`: private pages read back as zero.
    pub fn discard(&self, addr: usize, len: usize) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        // SAFETY: the range lies inside the user region (checked above).
        let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// Moves the pages of `[old, old+old_len)` to `[new, new+new_len)` keeping
    /// contents (growing with zero pages of protection `prot`); the old range
    /// becomes unmapped. The two ranges must not overlap.
    ///
    /// `MREMAP_DONTUNMAP` keeps the old range mapped (empty) while the pages
    /// move, so the reservation never has a hole that another host mapping
    /// could take.
    pub fn move_pages(
        &self,
        old: usize,
        old_len: usize,
        new: usize,
        new_len: usize,
        prot: Prot,
    ) -> Result<(), Errno> {
        self.check_pages(old, old_len)?;
        self.check_pages(new, new_len)?;
        if old < new + new_len && new < old + old_len {
            return Err(Errno::EINVAL);
        }
        let moved = old_len.min(new_len);
        // SAFETY: both ranges lie inside the user region and do not overlap;
        // the source stays mapped (DONTUNMAP).
        let p = unsafe {
            libc::mremap(
                old as *mut libc::c_void,
                moved,
                moved,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP,
                new as *mut libc::c_void,
            )
        };
        if p == libc::MAP_FAILED {
            self.re_reserve(new, new_len);
            return Err(Errno::ENOMEM);
        }
        if new_len > moved {
            self.map(new + moved, new_len - moved, prot)?;
        }
        self.unmap(old, old_len)
    }

    /// Copies `buf.len()` bytes of user memory at `addr` into `buf` (nothing
    /// is checked for an empty buffer, as on Linux).
    pub fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.is_empty() {
            return Ok(());
        }
        if !self.contains(addr, buf.len()) {
            return Err(Errno::EFAULT);
        }
        // SAFETY: the destination is a valid exclusive buffer; the source lies in
        // the user region and the copy routine turns any fault into an error.
        let failed =
            unsafe { arch::occlum_pal_copy(buf.as_mut_ptr(), addr as *const u8, buf.len()) };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// Appends `len` bytes of user memory at `addr` to `out` without
    /// initialising its new room first; on a fault `out` is unchanged.
    pub fn read_append(&self, addr: usize, len: usize, out: &mut Vec<u8>) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        if !self.contains(addr, len) {
            return Err(Errno::EFAULT);
        }
        out.reserve(len);
        let old = out.len();
        let room = out.spare_capacity_mut()[..len].as_mut_ptr().cast::<u8>();
        // SAFETY: the destination is `len` bytes of the vector's own spare
        // room (reserved above); the source lies in the user region and the
        // copy routine turns any fault into an error.
        let failed = unsafe { arch::occlum_pal_copy(room, addr as *const u8, len) };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        // SAFETY: the copy above initialised the `len` bytes after `old`.
        unsafe { out.set_len(old + len) };
        Ok(())
    }

    /// Atomically replaces the `u32` at user address `addr` with `new` if it
    /// equals `expected`; returns the value found. `EINVAL` if `addr` is not
    /// 4-byte aligned, `EFAULT` if it is not writable user memory.
    pub fn cmpxchg_u32(&self, addr: usize, expected: u32, new: u32) -> Result<u32, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        if !self.contains(addr, 4) {
            return Err(Errno::EFAULT);
        }
        let mut found = 0u32;
        // SAFETY: the address lies in the user region (never LibOS data) and is
        // aligned; the routine turns any fault into an error; `found` is valid.
        let failed =
            unsafe { arch::occlum_pal_cmpxchg32(addr as *mut u32, expected, new, &mut found) };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        Ok(found)
    }

    /// Writes `code` (one instruction's worth) over the start of an
    /// instruction of user code at `addr` (for the direct syscall entry,
    /// `fastpath.rs`), then gives its pages protection `prot`. The pages stay
    /// executable throughout, so other threads may run them meanwhile: if
    /// `code` lies within one aligned 16-byte block, it is stored in one
    /// atomic write, so they see either the old or the new bytes; else, as
    /// Linux's `text_poke_bp` does, an `int3` goes first, then the other
    /// bytes, then the first byte, each step followed by a serialization of
    /// every thread (`membarrier` SYNC_CORE): a thread that reaches `addr`
    /// meanwhile traps (SIGTRAP at `addr + 1`) and the caller makes it
    /// retry. The caller keeps the mapping from changing meanwhile.
    pub fn patch_code(&self, addr: usize, code: &[u8], prot: Prot) -> Result<(), Errno> {
        if code.is_empty() || code.len() > 8 || !self.contains(addr, code.len()) {
            return Err(Errno::EINVAL);
        }
        let first = addr & !(PAGE_SIZE - 1);
        let end = (addr + code.len()).next_multiple_of(PAGE_SIZE);
        let rwx = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as Prot;
        self.protect(first, end - first, rwx)?;
        let result = if Self::patch_is_atomic(addr, code.len()) {
            self.store_16(addr, code)
        } else {
            self.store_16(addr, &[0xcc])
                .inspect(|_| {
                    crate::fastpath::sync_cores();
                })
                .and_then(|_| self.write(addr + 1, &code[1..]))
                .inspect(|_| {
                    crate::fastpath::sync_cores();
                })
                .and_then(|_| self.store_16(addr, &code[..1]))
        };
        self.protect(first, end - first, prot)?;
        result
    }

    /// Whether [`Self::patch_code`] writes `len` bytes at `addr` in one
    /// atomic store: they lie within one aligned 16-byte block.
    pub fn patch_is_atomic(addr: usize, len: usize) -> bool {
        addr + len <= (addr & !15) + 16
    }

    /// Replaces the bytes at `addr` (within one aligned 16-byte block of
    /// writable user memory) by `code` in one atomic store.
    fn store_16(&self, addr: usize, code: &[u8]) -> Result<(), Errno> {
        let block = addr & !15;
        let mut expected = [0u8; 16];
        self.read(block, &mut expected)?;
        let half = |b: &[u8; 16], i: usize| {
            u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        };
        loop {
            let mut new = expected;
            new[addr - block..addr - block + code.len()].copy_from_slice(code);
            let (mut seen_lo, mut seen_hi) = (half(&expected, 0), half(&expected, 1));
            // The aligned block lies in user memory the caller made writable
            // (mprotect fails on unmapped memory), inside the user region.
            // SAFETY: CMPXCHG16B stores all 16 bytes at once, only if they
            // still hold `expected`; RBX (reserved) is saved around it.
            unsafe {
                std::arch::asm!(
                    "xchg rsi, rbx",
                    "lock cmpxchg16b xmmword ptr [rdi]",
                    "mov rbx, rsi",
                    in("rdi") block,
                    inout("rsi") half(&new, 0) => _,
                    in("rcx") half(&new, 1),
                    inout("rax") seen_lo,
                    inout("rdx") seen_hi,
                    options(nostack),
                );
            }
            let mut seen = [0u8; 16];
            seen[..8].copy_from_slice(&seen_lo.to_le_bytes());
            seen[8..].copy_from_slice(&seen_hi.to_le_bytes());
            if seen == expected {
                return Ok(());
            }
            expected = seen;
        }
    }

    /// Copies `buf` into user memory at `addr`.
    pub fn write(&self, addr: usize, buf: &[u8]) -> Result<(), Errno> {
        if buf.is_empty() {
            return Ok(());
        }
        if !self.contains(addr, buf.len()) {
            return Err(Errno::EFAULT);
        }
        // SAFETY: the destination lies in the user region (never LibOS data) and
        // the copy routine turns any fault into an error; the source is valid.
        let failed = unsafe { arch::occlum_pal_copy(addr as *mut u8, buf.as_ptr(), buf.len()) };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }
}

/// Replaces `[addr, addr+len)` by an inaccessible, reserved anonymous
/// mapping (its pages dropped); false if the kernel refused.
///
/// # Safety
/// The range must hold no memory that anything still uses: only the
/// reserved user region or a thread slot no thread uses any more.
pub(crate) unsafe fn make_inaccessible(addr: usize, len: usize) -> bool {
    // SAFETY: the caller vouches that nothing uses the range.
    let p = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    p != libc::MAP_FAILED
}

/// The user region for unit tests: made on first use, shared by all of them.
#[cfg(test)]
pub(crate) fn test_space() -> &'static UserSpace {
    match init(1 << 24) {
        Ok(s) => s,
        Err(_) => get().expect("the user region exists"),
    }
}
