//! Parked pages: the private pages of an address space that is switched out
//! of the user region, kept in host mappings outside it.
//!
//! Processes whose mappings overlap (a `fork` child and its parent) take
//! turns in the region: the LibOS parks the pages of the one that leaves and
//! puts back those of the one that comes in. Moving pages is `mremap`, which
//! moves page-table entries, not bytes. A fork child's pages start as a copy
//! of the resident pages of its parent ([`UserSpace::copy_out`]).
//!
//! Invariant kept: the region never has a hole. Pages leave with
//! `MREMAP_DONTUNMAP` (the source range stays mapped, empty) and the range is
//! then made inaccessible; pages come back with `MREMAP_FIXED`, which
//! replaces the reservation in one step.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use crate::arch;
use crate::errno::Errno;
use crate::uspace::{Prot, UserSpace, PAGE_SIZE};

/// Pages of one range of the user region, held outside it.
#[derive(Debug)]
pub struct ParkedPages {
    /// Where the pages are now (a host mapping this value owns).
    host: usize,
    len: usize,
    /// Where they belong in the user region.
    home: usize,
    /// Bytes of touched pages copied in (by [`UserSpace::copy_out`]).
    copied: usize,
}

impl ParkedPages {
    /// The region address the pages belong at.
    pub fn home(&self) -> usize {
        self.home
    }

    /// Bytes of pages [`UserSpace::copy_out`] copied in (0 for parked
    /// pages).
    pub fn copied(&self) -> usize {
        self.copied
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty (never: parked ranges are whole pages).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offset of `[addr, addr+len)` in these pages (`EFAULT` if it is
    /// not inside them).
    fn offset_of(&self, addr: usize, len: usize) -> Result<usize, Errno> {
        let off = addr.checked_sub(self.home).ok_or(Errno::EFAULT)?;
        if off.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(Errno::EFAULT);
        }
        Ok(off)
    }

    /// Copies the parked pages at home address `addr` into `buf` (reads a
    /// parked address space, e.g. `process_vm_readv`). `EFAULT` if the range
    /// is not inside these pages or they are not readable.
    pub fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let off = self.offset_of(addr, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        // SAFETY: the source lies inside the host mapping this value owns
        // (checked above); the destination is a valid exclusive buffer; the
        // copy routine turns a fault (an inaccessible page) into an error.
        let failed = unsafe {
            arch::occlum_pal_copy(buf.as_mut_ptr(), (self.host + off) as *const u8, buf.len())
        };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }

    /// Copies `data` into the parked pages at home address `addr` (writes a
    /// parked address space, e.g. `CLONE_CHILD_SETTID`). `EFAULT` if the
    /// range is not inside these pages or they are not writable.
    pub fn write(&self, addr: usize, data: &[u8]) -> Result<(), Errno> {
        let off = self.offset_of(addr, data.len())?;
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: the destination lies inside the host mapping this value
        // owns (checked above), which holds only user pages; the copy
        // routine turns a fault (a read-only page) into an error.
        let failed = unsafe {
            arch::occlum_pal_copy((self.host + off) as *mut u8, data.as_ptr(), data.len())
        };
        if failed != 0 {
            return Err(Errno::EFAULT);
        }
        Ok(())
    }
}

impl Drop for ParkedPages {
    fn drop(&mut self) {
        // SAFETY: unmaps the host mapping this value owns; nothing else
        // refers to it (it is outside the user region).
        unsafe { libc::munmap(self.host as *mut libc::c_void, self.len) };
    }
}

/// `struct procmap_query` (linux/fs.h): asks the kernel for the mapping
/// that covers an address.
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// `PROCMAP_QUERY`: `_IOWR('f', 17, struct procmap_query)`.
const PROCMAP_QUERY: libc::c_ulong = 0xc000_0000 | (104 << 16) | (0x66 << 8) | 17;

const _: () = assert!(std::mem::size_of::<ProcmapQuery>() == 104);

/// The end of the host mapping that covers `addr`, if the kernel can say
/// (`PROCMAP_QUERY`, Linux 6.11).
fn host_mapping_end(addr: usize) -> Option<usize> {
    static MAPS: OnceLock<Option<File>> = OnceLock::new();
    let maps = MAPS
        .get_or_init(|| File::open("/proc/self/maps").ok())
        .as_ref()?;
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_addr: addr as u64,
        ..ProcmapQuery::default()
    };
    // SAFETY: the kernel reads and writes `q`, a valid procmap_query whose
    // name and build-id buffers are absent (sizes 0).
    let rc = unsafe { libc::ioctl(maps.as_raw_fd(), PROCMAP_QUERY, &mut q) };
    (rc == 0 && q.vma_start as usize <= addr && q.vma_end as usize > addr)
        .then_some(q.vma_end as usize)
}

/// `MADV_POPULATE_WRITE` (Linux 5.14).
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// Page-table span that `mremap` moves in one step when the old and new
/// addresses agree modulo it (a whole page-table page, not 512 entries).
const PMD_SPAN: usize = 2 << 20;

/// A host range of `len` bytes, outside the user region, whose address is
/// congruent to `like` modulo [`PMD_SPAN`]: reserved (inaccessible); `None`
/// if the host has no room.
fn congruent_reservation(len: usize, like: usize) -> Option<usize> {
    let total = len.checked_add(PMD_SPAN)?;
    // SAFETY: a new inaccessible reservation at a place the kernel picks;
    // it replaces nothing.
    let r = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if r == libc::MAP_FAILED {
        return None;
    }
    let r = r as usize;
    let mut at = (r.next_multiple_of(PMD_SPAN)) + like % PMD_SPAN;
    if at + len > r + total {
        at -= PMD_SPAN;
    }
    // SAFETY: gives back the parts of our own reservation before and after
    // `[at, at+len)`, which nothing uses.
    unsafe {
        if at > r {
            libc::munmap(r as *mut libc::c_void, at - r);
        }
        if r + total > at + len {
            libc::munmap((at + len) as *mut libc::c_void, r + total - (at + len));
        }
    }
    Some(at)
}

/// Moves the pages of `[cur, cur+n)` of the user region (one host mapping)
/// to a new host range; returns where. The source range stays mapped
/// (DONTUNMAP).
fn move_out(cur: usize, n: usize) -> Result<usize, Errno> {
    // At an address congruent to the source, whole page tables move (worth
    // a reservation only when there are whole page tables to move).
    let congruent = if n >= PMD_SPAN {
        congruent_reservation(n, cur)
    } else {
        None
    };
    let (dst, flags) = match congruent {
        Some(at) => (at, libc::MREMAP_FIXED),
        None => (0, 0),
    };
    // The raw syscall: glibc's variadic wrapper passes an undefined new
    // address when MREMAP_FIXED is absent. The destination is our own
    // reservation outside the region (or, without MREMAP_FIXED, a place the
    // kernel picks outside it: the region has no holes).
    // SAFETY: the source lies in the user region (user memory only); the
    // destination is ours (above); DONTUNMAP keeps the source mapped.
    let p = unsafe {
        libc::syscall(
            libc::SYS_mremap,
            cur,
            n,
            n,
            libc::MREMAP_MAYMOVE | libc::MREMAP_DONTUNMAP | flags,
            dst,
        )
    };
    if p < 0 {
        let e = Errno::last();
        if dst != 0 {
            // SAFETY: our own reservation, unused.
            unsafe { libc::munmap(dst as *mut libc::c_void, n) };
        }
        return Err(e);
    }
    Ok(p as usize)
}

impl UserSpace {
    /// Moves the pages of `[addr, addr+len)`, which must all be private
    /// anonymous user mappings, out of the region. One [`ParkedPages`] per
    /// host mapping it spanned. The range stays mapped, empty (zero pages
    /// on access), until the caller maps something else there or makes it
    /// inaccessible ([`UserSpace::unmap`]). On failure nothing has moved.
    pub fn park(&self, addr: usize, len: usize) -> Result<Vec<ParkedPages>, Errno> {
        self.check_pages(addr, len)?;
        let end = addr + len;
        let mut parked = Vec::new();
        let mut cur = addr;
        while cur < end {
            match self.park_piece(cur, end) {
                Ok(p) => {
                    cur += p.len;
                    parked.push(p);
                }
                Err(e) => {
                    for p in parked {
                        if self.unpark(p).is_err() {
                            crate::trap::fatal("cannot put parked user pages back");
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(parked)
    }

    /// Moves the first host mapping's worth of `[cur, end)` out.
    fn park_piece(&self, cur: usize, end: usize) -> Result<ParkedPages, Errno> {
        let mut n = end - cur;
        let mut asked_kernel = false;
        loop {
            match move_out(cur, n) {
                Ok(host) => {
                    return Ok(ParkedPages {
                        host,
                        len: n,
                        home: cur,
                        copied: 0,
                    })
                }
                // The range spans several host mappings (EFAULT; EINVAL on
                // kernels that move several at once but not with
                // DONTUNMAP): move the first.
                Err(e) if matches!(e, Errno::EFAULT | Errno::EINVAL) && n > PAGE_SIZE => {}
                Err(e) => {
                    tracing::debug!("parking {n:#x} bytes at {cur:#x}: {e}");
                    return Err(Errno::ENOMEM);
                }
            }
            n = match host_mapping_end(cur) {
                Some(m) if !asked_kernel && m > cur && m - cur < n => {
                    asked_kernel = true;
                    m - cur
                }
                _ => (n / 2).next_multiple_of(PAGE_SIZE).min(n - PAGE_SIZE),
            };
        }
    }

    /// Puts parked pages back at their home, replacing what is there.
    pub fn unpark(&self, p: ParkedPages) -> Result<(), Errno> {
        self.check_pages(p.home, p.len)?;
        // SAFETY: the source is the host mapping `p` owns; the destination
        // lies in the user region and is replaced in one step (no hole).
        let r = unsafe {
            libc::mremap(
                p.host as *mut libc::c_void,
                p.len,
                p.len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                p.home as *mut libc::c_void,
            )
        };
        if r == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        // The pages have moved: nothing is left for `p` to unmap.
        std::mem::forget(p);
        Ok(())
    }

    /// A parked copy of `[addr, addr+len)` (for `fork`): a new host mapping
    /// with protection `prot` holding the pages of the range that were ever
    /// touched (the others read as zero). The range is made readable for
    /// the copy if it is not, and `prot` is put back.
    pub fn copy_out(&self, addr: usize, len: usize, prot: Prot) -> Result<ParkedPages, Errno> {
        self.check_pages(addr, len)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let resident = self.resident_pages(addr, len)?;
        // SAFETY: a new private anonymous mapping at a place the kernel
        // picks; it replaces nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        let mut copy = ParkedPages {
            host: p as usize,
            len,
            home: addr,
            copied: 0,
        };
        let readable = prot & libc::PROT_READ as Prot != 0;
        if !readable && resident.iter().any(|r| *r) {
            self.protect(addr, len, prot | libc::PROT_READ as Prot)?;
        }
        let mut result = Ok(());
        let mut i = 0;
        while i < resident.len() {
            if !resident[i] {
                i += 1;
                continue;
            }
            let run = resident[i..].iter().take_while(|r| **r).count();
            let off = i * PAGE_SIZE;
            // Fault the copy's pages in at once rather than one by one (a
            // hint: without it the copy faults them in).
            // SAFETY: populates part of the new mapping `copy` owns.
            unsafe {
                libc::madvise(
                    (copy.host + off) as *mut libc::c_void,
                    run * PAGE_SIZE,
                    MADV_POPULATE_WRITE,
                )
            };
            // SAFETY: the source lies in the user region and the copy
            // routine turns a fault into an error; the destination is the
            // new mapping, `len` bytes, which nothing else uses yet.
            let failed = unsafe {
                arch::occlum_pal_copy(
                    (copy.host + off) as *mut u8,
                    (addr + off) as *const u8,
                    run * PAGE_SIZE,
                )
            };
            if failed != 0 {
                result = Err(Errno::EFAULT);
                break;
            }
            copy.copied += run * PAGE_SIZE;
            i += run;
        }
        if !readable && resident.iter().any(|r| *r) {
            self.protect(addr, len, prot)?;
        }
        result?;
        // SAFETY: changes the protection of the mapping `copy` owns.
        if unsafe { libc::mprotect(p, len, prot as i32) } != 0 {
            return Err(Errno::last());
        }
        Ok(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_leave_and_come_back() {
        let space = crate::uspace::test_space();
        let at = space.base() + 64 * PAGE_SIZE;
        // Two host mappings side by side: parking spans both.
        space.map(at, 2 * PAGE_SIZE, 3).unwrap();
        space.map(at + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 1).unwrap();
        space.protect(at + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 3).unwrap();
        space.write(at, b"first").unwrap();
        space.write(at + 3 * PAGE_SIZE, b"fourth").unwrap();
        let copy = space.copy_out(at, 4 * PAGE_SIZE, 3).unwrap();
        let parked = space.park(at, 4 * PAGE_SIZE).unwrap();
        assert!(!parked.is_empty());
        let mut b = [9u8; 6];
        space.read(at, &mut b).unwrap();
        assert_eq!(b, [0; 6], "the pages are gone; empty ones stay");
        space.unmap(at, 4 * PAGE_SIZE).unwrap();
        assert_eq!(space.read(at, &mut b), Err(Errno::EFAULT));
        // Something else lives there meanwhile.
        space.map(at, 4 * PAGE_SIZE, 3).unwrap();
        space.write(at, b"other").unwrap();
        let other = space.park(at, 4 * PAGE_SIZE).unwrap();
        for p in parked {
            space.unpark(p).unwrap();
        }
        space.read(at, &mut b[..5]).unwrap();
        assert_eq!(&b[..5], b"first");
        space.read(at + 3 * PAGE_SIZE, &mut b).unwrap();
        assert_eq!(&b, b"fourth");
        // The copy is independent of the original.
        space.write(at, b"FIRST").unwrap();
        copy.write(at + PAGE_SIZE, b"x").unwrap();
        assert_eq!(copy.write(at + 4 * PAGE_SIZE, b"x"), Err(Errno::EFAULT));
        let _ = space.park(at, 4 * PAGE_SIZE).unwrap();
        space.unpark(copy).unwrap();
        space.read(at, &mut b[..5]).unwrap();
        assert_eq!(&b[..5], b"first");
        drop(other);
        space.unmap(at, 4 * PAGE_SIZE).unwrap();
    }
}
