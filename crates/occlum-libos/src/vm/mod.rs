//! A process's user memory: the mappings inside its part of the user-space
//! region, the program break, and the Linux semantics of `mmap`, `munmap`,
//! `mprotect`, `mremap`, `madvise` and `brk` over them. Pages themselves are
//! mapped by the PAL.

pub mod domain;
mod file_map;
pub mod learned;
mod library;
mod owners;
mod park;
mod placement;
mod plan;
mod prepatch;
mod rewrite;
mod scan;
mod shared;
mod site;
mod vmas;

pub use domain::Domain;
pub use file_map::FileMap;
pub use placement::Placement;
pub use shared::{FutexKey, SharedMap};

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use domain::MemberId;
use occlum_pal::parked::ParkedPages;
use occlum_pal::sealed::SealedPages;
use occlum_pal::uspace::{Prot, UserSpace, PAGE_SIZE};

use vmas::VmaSet;

use crate::{Errno, Result};

/// `PROT_READ`.
pub const PROT_READ: Prot = 1;
/// `PROT_WRITE`.
pub const PROT_WRITE: Prot = 2;
/// `PROT_EXEC`.
pub const PROT_EXEC: Prot = 4;

/// Bytes of the user-space region in use by all address spaces.
pub fn user_space_in_use() -> usize {
    owners::lock().owned_bytes()
}

/// Rounds `v` up to a page boundary (`None` on overflow).
pub fn page_up(v: usize) -> Option<usize> {
    v.checked_next_multiple_of(PAGE_SIZE)
}

/// Rounds `v` down to a page boundary.
pub fn page_down(v: usize) -> usize {
    v & !(PAGE_SIZE - 1)
}

/// The memory of one process.
#[derive(Debug)]
pub struct VmSpace {
    space: &'static UserSpace,
    id: MemberId,
    /// The address spaces this one takes turns with in the region (see
    /// `domain.rs`); its ranges in the ownership map are the domain's.
    domain: Arc<Domain>,
    /// `Some` while switched out of the region: its private pages.
    parked: Option<Vec<ParkedPages>>,
    /// Bytes of a fork copy charged to [`park::FORK_COPIES`].
    copied: usize,
    vmas: VmaSet,
    brk_start: usize,
    brk_cur: usize,
    brk_limit: usize,
    stack: Option<(usize, usize)>,
    file_maps: Vec<FileMap>,
    /// Shared memory mappings (one copy, seen by every mapping).
    shared: Vec<SharedMap>,
    /// Ranges mapped from sealed pages and never writable since: they hold
    /// exactly the sealed bytes.
    backings: Vec<Backing>,
    /// Pages of stubs of rewritten syscall sites (`rewrite.rs`).
    stubs: Vec<rewrite::StubPage>,
    /// Where jumps to stubs were written, with the bytes they replaced.
    patched: std::collections::BTreeMap<usize, Vec<u8>>,
    /// Traps seen from each syscall site, by return address (`rewrite.rs`).
    site_traps: std::collections::HashMap<usize, u8>,
    /// Program images loaded from sealed pages, whose rewritten sites are
    /// learned for the next processes that run them (`learned.rs`).
    images: Vec<rewrite::Image>,
    /// The program file (sealed pages id) for whose start its threads
    /// serve `cpuid` from faults (`crate::cpuid`), if they do.
    cpuid_faults: Option<u64>,
    /// Shared libraries a dynamic loader mapped (`library.rs`).
    libraries: Vec<library::Library>,
}

/// A range mapped from sealed pages (see [`VmSpace::map_sealed`]).
#[derive(Clone, Debug)]
pub struct Backing {
    start: usize,
    end: usize,
    pages: Arc<SealedPages>,
    offset: usize,
}

/// The parts of `[start, end)` outside every range of `shared`.
fn private_pieces(start: usize, end: usize, shared: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut pieces = vec![(start, end)];
    for &(s, e) in shared {
        pieces = pieces
            .into_iter()
            .flat_map(|(a, b)| {
                if e <= a || b <= s {
                    vec![(a, b)]
                } else {
                    [(a, s.max(a)), (e.min(b), b)]
                        .into_iter()
                        .filter(|(x, y)| x < y)
                        .collect()
                }
            })
            .collect();
    }
    pieces
}

/// A file was truncated to `size`: mappings of it in every process stop
/// giving access past the new end (`SIGBUS` there, as on Linux).
pub fn file_resized(inode: &crate::fs::vfs::InodeRef, size: u64) {
    let (dev, ino) = (inode.fs().dev(), inode.ino());
    for p in crate::process::all_processes() {
        if let Ok(vm) = p.vm() {
            let mut vm = crate::sync::lock(&vm);
            if vm.has_file_maps() {
                vm.file_shrunk(dev, ino, size);
            }
        }
    }
}

/// One mapping as `/proc/[pid]/maps` lists it.
pub struct MapsEntry {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// `PROT_*` bits.
    pub prot: Prot,
    /// `[stack]`, `[heap]` or empty.
    pub label: &'static str,
    /// For a file mapping: the file (its path, device and inode number),
    /// the offset of `start` in it, and whether the mapping is shared.
    pub file: Option<MappedFile>,
}

/// A mapped file as `/proc/[pid]/maps` shows it: path, offset of the
/// mapping's start, device, inode number, and whether it is shared.
pub type MappedFile = (std::sync::Arc<[u8]>, u64, u64, u64, bool);

pub(super) static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl VmSpace {
    /// An empty address space in the user-space region.
    pub fn new(space: &'static UserSpace) -> VmSpace {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        VmSpace::with_domain(space, id, Domain::new(id, id))
    }

    /// An empty address space for a program that must be loaded at
    /// `[lo, hi)` (non-PIE): if another address space has part of that
    /// range, the new one joins its domain (the two take turns in the
    /// region) and starts switched out; the caller must make it resident
    /// (`domain::enter`) before loading.
    pub fn for_fixed_program(space: &'static UserSpace, lo: usize, hi: usize) -> VmSpace {
        let owner = owners::lock().owner_in(lo, hi);
        let Some(domain) = owner.and_then(domain::find) else {
            return VmSpace::new(space);
        };
        domain.add_member();
        let mut vm = VmSpace::with_domain(space, NEXT_ID.fetch_add(1, Ordering::Relaxed), domain);
        vm.parked = Some(Vec::new());
        vm
    }

    fn with_domain(space: &'static UserSpace, id: MemberId, domain: Arc<Domain>) -> VmSpace {
        VmSpace {
            space,
            id,
            domain,
            parked: None,
            copied: 0,
            vmas: VmaSet::default(),
            brk_start: space.base(),
            brk_cur: space.base(),
            brk_limit: space.base(),
            stack: None,
            file_maps: Vec::new(),
            shared: Vec::new(),
            backings: Vec::new(),
            stubs: Vec::new(),
            patched: Default::default(),
            site_traps: Default::default(),
            images: Vec::new(),
            cpuid_faults: None,
            libraries: Vec::new(),
        }
    }

    /// The ranges this address space uses: its mappings and its break area.
    fn used_ranges(&self) -> Vec<(usize, usize)> {
        let mut r: Vec<(usize, usize)> = self.vmas.iter().map(|v| (v.start, v.end)).collect();
        if self.brk_start < self.brk_limit {
            r.push((self.brk_start, self.brk_limit));
        }
        r
    }

    /// Gives `[start, end)` back to the ownership map, unless other members
    /// of the domain may use it (then the domain keeps it while they live).
    fn release(&self, start: usize, end: usize) {
        if self.domain.is_shared() {
            self.domain.add_orphan(start, end);
        } else {
            owners::lock().release(start, end, self.domain.owner());
        }
    }

    /// The start of the grows-down mapping (the main thread's stack) that
    /// holds `addr`, if it is in one (`mprotect` with `PROT_GROWSDOWN`).
    pub fn grows_down_start(&self, addr: usize) -> Option<usize> {
        self.stack
            .filter(|(s, e)| *s <= addr && addr < *e)
            .map(|(s, _)| s)
    }

    /// For a private mapping of a file at `addr`: the file, the file offset
    /// `addr` shows, and the mapping's protection (`mremap` fills what it
    /// grows from the file).
    pub fn private_file_at(&self, addr: usize) -> Option<(crate::fs::vfs::InodeRef, u64, Prot)> {
        let m = self
            .file_maps
            .iter()
            .find(|m| !m.shared && m.start <= addr && addr < m.end)?;
        let prot = self.vmas.containing(addr)?.prot;
        Some((m.inode.clone(), m.offset + (addr - m.start) as u64, prot))
    }

    /// Records a file-backed mapping and makes its pages past the end of the
    /// file inaccessible.
    pub fn add_file_map(&mut self, m: FileMap) -> Result<()> {
        if m.valid_end < m.end {
            self.space.protect(m.valid_end, m.end - m.valid_end, 0)?;
        }
        self.file_maps
            .retain(|f| f.end <= m.start || m.end <= f.start);
        self.file_maps.push(m);
        Ok(())
    }

    /// Maps `len` bytes of `pages` from `offset` over the mapped range at
    /// `addr` with protection `prot` (without `PROT_WRITE`): copy-on-write
    /// pages shared with every other mapping of them.
    pub fn map_sealed(
        &mut self,
        addr: usize,
        len: usize,
        prot: Prot,
        pages: &Arc<SealedPages>,
        offset: usize,
    ) -> Result<()> {
        let len = self.check_mapped(addr, len)?;
        if len == 0 || prot & PROT_WRITE != 0 {
            return Err(Errno::EINVAL);
        }
        self.space.map_sealed(addr, len, prot, pages, offset)?;
        self.forget_backings(addr, addr + len);
        self.backings.push(Backing {
            start: addr,
            end: addr + len,
            pages: pages.clone(),
            offset,
        });
        self.vmas.remove(addr, addr + len);
        self.vmas.insert(addr, addr + len, prot);
        Ok(())
    }

    /// Forgets that the pages of `[start, end)` hold sealed bytes (they are
    /// unmapped, replaced or may be written).
    fn forget_backings(&mut self, start: usize, end: usize) {
        if self.backings.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.backings.len() + 1);
        for b in self.backings.drain(..) {
            if b.end <= start || end <= b.start {
                kept.push(b);
                continue;
            }
            if b.start < start {
                kept.push(Backing {
                    end: start,
                    ..b.clone()
                });
            }
            if end < b.end {
                kept.push(Backing {
                    start: end,
                    offset: b.offset + (end - b.start),
                    ..b
                });
            }
        }
        self.backings = kept;
    }

    /// A fault at `addr`: if it is in a file-backed mapping past the end of
    /// the file as it was, and the file has grown since, the pages the file
    /// now covers are filled in and `Some(true)` returned (resume); if the
    /// file still ends before `addr`, `Some(false)` (`SIGBUS`); `None` when
    /// `addr` is not in such a mapping.
    pub fn fault_in_file(&mut self, addr: usize) -> Option<bool> {
        let i = self
            .file_maps
            .iter()
            .position(|m| m.valid_end <= addr && addr < m.end)?;
        let m = self.file_maps[i].clone();
        let size = m.inode.metadata().ok()?.size;
        let covered = size.saturating_sub(m.offset) as usize;
        let new_valid = (m.start + page_up(covered)?).min(m.end);
        if new_valid <= addr {
            return Some(false);
        }
        let prot = self.vmas.containing(addr).map_or(0, |v| v.prot);
        let (lo, hi) = (m.valid_end, new_valid);
        let filled = self
            .space
            .protect(lo, hi - lo, PROT_READ | PROT_WRITE)
            .is_ok()
            && self.space.discard(lo, hi - lo).is_ok()
            && {
                let mut buf = vec![0u8; hi - lo];
                let want = (covered - (lo - m.start)).min(hi - lo);
                m.inode
                    .read_at(m.offset + (lo - m.start) as u64, &mut buf[..want])
                    .is_ok()
                    && self.space.write(lo, &buf).is_ok()
            }
            && self.space.protect(lo, hi - lo, prot).is_ok();
        if !filled {
            return Some(false);
        }
        self.file_maps[i].valid_end = new_valid;
        Some(true)
    }

    /// The file `(dev, ino)` shrank to `size`: pages of its mappings now
    /// wholly past the end become inaccessible again.
    pub fn file_shrunk(&mut self, dev: u64, ino: u64, size: u64) {
        for m in &mut self.file_maps {
            if m.live || m.inode.ino() != ino || m.inode.fs().dev() != dev {
                continue;
            }
            let covered = size.saturating_sub(m.offset) as usize;
            let new_valid = page_up(covered)
                .map_or(m.end, |c| m.start.saturating_add(c))
                .min(m.end);
            if new_valid < m.valid_end {
                if self.parked.is_none() {
                    let _ = self.space.protect(new_valid, m.valid_end - new_valid, 0);
                }
                m.valid_end = new_valid;
            }
        }
    }

    /// Whether any file-backed mapping exists.
    pub fn has_file_maps(&self) -> bool {
        !self.file_maps.is_empty()
    }

    /// Writes the pages of shared file mappings within `[start, end)` back
    /// to their files (not past the end of the file).
    pub fn write_back(&self, start: usize, end: usize) -> Result<()> {
        let mut buf = Vec::new();
        for m in self.file_maps.iter().filter(|m| m.shared && !m.live) {
            let Some(part) = m.clip(start, end) else {
                continue;
            };
            let size = part.inode.metadata()?.size;
            let avail = size.saturating_sub(part.offset) as usize;
            let len = (part.valid_end - part.start).min(avail);
            let mut done = 0;
            while done < len {
                let n = (len - done).min(1 << 20);
                buf.resize(n, 0);
                self.space.read(part.start + done, &mut buf)?;
                part.inode.write_at(part.offset + done as u64, &buf)?;
                done += n;
            }
        }
        Ok(())
    }

    /// Fails with `EACCES` if `[start, end)` holds a shared mapping of a file
    /// not open for writing (`mprotect` adding `PROT_WRITE`).
    pub fn check_shared_write(&self, start: usize, end: usize) -> Result<()> {
        let denied = self
            .file_maps
            .iter()
            .any(|m| m.shared && !m.may_write && m.start < end && start < m.end);
        if denied {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    fn forget_file_maps(&mut self, start: usize, end: usize) {
        let mut kept = Vec::with_capacity(self.file_maps.len());
        for m in self.file_maps.drain(..) {
            if m.end <= start || end <= m.start {
                kept.push(m);
                continue;
            }
            kept.extend(m.clip(m.start, start));
            kept.extend(m.clip(end, m.end));
        }
        self.file_maps = kept;
    }

    /// Records where the main thread's stack is (for `/proc/[pid]/maps`).
    pub fn set_stack(&mut self, start: usize, end: usize) {
        self.stack = Some((start, end));
    }

    /// Every mapping, labelled as `/proc/[pid]/maps` shows it.
    pub fn maps(&self) -> Vec<MapsEntry> {
        self.vmas
            .iter()
            .map(|v| {
                let label = match self.stack {
                    Some((s, e)) if v.start < e && s < v.end => "[stack]",
                    _ if v.start < self.brk_cur && self.brk_start < v.end => "[heap]",
                    _ => "",
                };
                let file = self
                    .file_maps
                    .iter()
                    .find(|m| m.start <= v.start && v.start < m.end)
                    .map(|m| {
                        let offset = m.offset + (v.start - m.start) as u64;
                        let (dev, ino) = (m.inode.fs().dev(), m.inode.ino());
                        (m.path.clone(), offset, dev, ino, m.shared)
                    });
                MapsEntry {
                    start: v.start,
                    end: v.end,
                    prot: v.prot,
                    label,
                    file,
                }
            })
            .collect()
    }

    /// Bytes mapped.
    pub fn mapped_bytes(&self) -> usize {
        self.vmas.iter().map(|v| v.end - v.start).sum()
    }

    /// Lowest address of the user-space region.
    pub fn base(&self) -> usize {
        self.space.base()
    }

    /// Maps `len` bytes of zero pages with protection `prot`; returns the address.
    pub fn map(&mut self, placement: Placement, len: usize, prot: Prot) -> Result<usize> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        let addr = self.claim(placement, len)?;
        if !self.file_maps.is_empty() {
            // Mapping over a shared file mapping unmaps it first.
            if let Err(e) = self.write_back(addr, addr + len) {
                tracing::warn!("writing back a shared file mapping: {e}");
            }
            self.forget_file_maps(addr, addr + len);
        }
        self.forget_shared(addr, addr + len);
        self.forget_backings(addr, addr + len);
        self.forget_images(addr, addr + len);
        self.forget_code(addr, addr + len);
        if let Err(e) = self.space.map(addr, len, prot) {
            self.release(addr, addr + len);
            return Err(e);
        }
        self.vmas.remove(addr, addr + len);
        self.vmas.insert(addr, addr + len, prot);
        Ok(addr)
    }

    /// Unmaps `[addr, addr+len)`; unmapped parts are fine, as on Linux.
    pub fn unmap(&mut self, addr: usize, len: usize) -> Result<()> {
        if len == 0 || !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let (lo, hi) = (addr.max(self.space.base()), end.min(self.space.end()));
        if lo >= hi {
            return Ok(());
        }
        if !self.file_maps.is_empty() {
            if let Err(e) = self.write_back(lo, hi) {
                tracing::warn!("writing back a shared file mapping: {e}");
            }
            self.forget_file_maps(lo, hi);
        }
        // A library unmapped whole takes the room of its stubs along.
        let rooms = self.stub_rooms_within(lo, hi);
        self.forget_shared(lo, hi);
        self.forget_backings(lo, hi);
        self.forget_images(lo, hi);
        self.forget_code(lo, hi);
        for (s, e) in self.vmas.remove(lo, hi) {
            self.space.unmap(s, e - s)?;
            self.release(s, e);
        }
        for (s, e) in rooms {
            if let Err(err) = self.unmap(s, e - s) {
                tracing::warn!("cannot unmap the stubs of an unmapped library: {err}");
            }
        }
        Ok(())
    }

    /// Changes the protection of `[addr, addr+len)`, which must be mapped.
    pub fn protect(&mut self, addr: usize, len: usize, prot: Prot) -> Result<()> {
        if !addr.is_multiple_of(PAGE_SIZE) || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = self.check_range(addr, len)?;
        if !self.vmas.covers(addr, addr + len) {
            return Err(Errno::ENOMEM);
        }
        if self.vmas.covers_exactly(addr, addr + len, prot) {
            // Nothing changes (the loader's final protections, mostly).
            return Ok(());
        }
        self.space.protect(addr, len, prot)?;
        if prot & PROT_WRITE != 0 {
            self.forget_backings(addr, addr + len);
            self.forget_images(addr, addr + len);
        }
        self.vmas.remove(addr, addr + len);
        self.vmas.insert(addr, addr + len, prot);
        Ok(())
    }

    /// Whether `[addr, addr+len)` is mapped without holes, all of it with
    /// every protection bit in `prot`.
    pub fn allows(&self, addr: usize, len: usize, prot: Prot) -> bool {
        self.parked.is_none()
            && addr
                .checked_add(len)
                .is_some_and(|end| self.vmas.covers_with(addr, end, prot))
    }

    /// Whether `[addr, addr+len)` is mapped without holes with every bit of
    /// `prot`, whether the space is in the region or switched out (for
    /// `process_vm_readv`/`writev` into another process).
    pub fn maps_with(&self, addr: usize, len: usize, prot: Prot) -> bool {
        addr.checked_add(len)
            .is_some_and(|end| self.vmas.covers_with(addr, end, prot))
    }

    /// Drops the contents of mapped pages (`MADV_DONTNEED`).
    pub fn discard(&mut self, addr: usize, len: usize) -> Result<()> {
        let len = self.check_mapped(addr, len)?;
        if len != 0 {
            self.space.discard(addr, len)?;
        }
        Ok(())
    }

    /// Checks that `[addr, addr+len)` is page-aligned and fully mapped;
    /// returns the page-rounded length.
    pub fn check_mapped(&self, addr: usize, len: usize) -> Result<usize> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        let len = self.check_range(addr, len)?;
        if !self.vmas.covers(addr, addr + len) {
            return Err(Errno::ENOMEM);
        }
        Ok(len)
    }

    /// Resizes the mapping at `old` (`mremap`), moving it if `may_move`
    /// (to `fixed` if given). Returns the new address.
    pub fn remap(
        &mut self,
        old: usize,
        old_len: usize,
        new_len: usize,
        may_move: bool,
        fixed: Option<usize>,
    ) -> Result<usize> {
        if !old.is_multiple_of(PAGE_SIZE) || new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::ENOMEM)?;
        // Moved or resized file mappings are written back and become plain
        // private memory (their records would point at the old range);
        // shared memory stays shared.
        let old_end = old.saturating_add(old_len);
        self.forget_backings(old, old_end);
        self.forget_images(old, old_end);
        let overlaps = |r: (usize, usize)| r.0 < old_end && old < r.1;
        if self.file_maps.iter().any(|m| overlaps((m.start, m.end))) {
            if let Err(e) = self.write_back(old, old_end) {
                tracing::warn!("writing back a shared file mapping: {e}");
            }
            self.forget_file_maps(old, old_end);
        }
        let shared = self.overlaps_shared(old, old_end);
        let Some(vma) = self.vmas.containing(old) else {
            return Err(Errno::EFAULT);
        };
        if old_len == 0 {
            // Duplicating a mapping (old_len 0) works for shared mappings only.
            return Err(Errno::EINVAL);
        }
        if old.checked_add(old_len).is_none_or(|e| e > vma.end) {
            // The old range must lie within one mapping.
            return Err(Errno::EFAULT);
        }
        let prot = vma.prot;
        if let Some(dst) = fixed {
            let len = self.check_range(dst, new_len)?;
            if dst < old + old_len && old < dst + len {
                return Err(Errno::EINVAL);
            }
            // What moves over code is most likely a copy of it (a program
            // putting its text on huge pages): its jumps stay known.
            let jumps = self.jumps_in(dst, dst + len);
            self.unmap(dst, len)?;
            self.patched.extend(jumps);
            if !owners::lock().claim_fixed(dst, dst + len, self.domain.owner()) {
                return Err(Errno::ENOMEM);
            }
            if shared {
                return self.remap_shared(old, old_len, new_len, dst, prot);
            }
            return self.move_mapping(old, old_len, dst, new_len, prot);
        }
        if new_len <= old_len {
            if new_len < old_len && shared {
                return self.remap_shared(old, old_len, new_len, old, prot);
            }
            if new_len < old_len {
                self.unmap(old + new_len, old_len - new_len)?;
            }
            return Ok(old);
        }
        let grow_end = old + new_len;
        let can_grow = self.space.contains(old, new_len)
            && !self.vmas.overlaps(old + old_len, grow_end)
            && !self.in_brk_area(old + old_len, new_len - old_len)
            && owners::lock().claim_fixed(old + old_len, grow_end, self.domain.owner());
        if can_grow && shared {
            return self.remap_shared(old, old_len, new_len, old, prot);
        }
        if can_grow {
            self.space.map(old + old_len, new_len - old_len, prot)?;
            self.vmas.insert(old + old_len, grow_end, prot);
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dst = self.claim(Placement::Hint(0), new_len)?;
        if shared {
            return self.remap_shared(old, old_len, new_len, dst, prot);
        }
        self.move_mapping(old, old_len, dst, new_len, prot)
    }

    fn move_mapping(
        &mut self,
        old: usize,
        old_len: usize,
        dst: usize,
        new_len: usize,
        prot: Prot,
    ) -> Result<usize> {
        if let Err(e) = self.space.move_pages(old, old_len, dst, new_len, prot) {
            self.release(dst, dst + new_len);
            return Err(e);
        }
        self.vmas.remove(old, old + old_len);
        self.release(old, old + old_len);
        self.vmas.insert(dst, dst + new_len, prot);
        Ok(dst)
    }
}

impl Drop for VmSpace {
    fn drop(&mut self) {
        if self.parked.is_none() {
            if !self.file_maps.is_empty() {
                if let Err(e) = self.write_back(self.space.base(), self.space.end()) {
                    tracing::warn!("writing back shared file mappings: {e}");
                }
            }
            // Neighbouring mappings go in one host call.
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for v in self.vmas.iter() {
                match runs.last_mut() {
                    Some(r) if r.1 == v.start => r.1 = v.end,
                    _ => runs.push((v.start, v.end)),
                }
            }
            for (start, end) in runs {
                if let Err(e) = self.space.unmap(start, end - start) {
                    tracing::error!("cannot unmap {start:#x}..{end:#x}: {e}");
                }
            }
        }
        park::FORK_COPIES.fetch_sub(self.copied, Ordering::Relaxed);
        // Parked pages go with `self.parked`. The ranges this space used,
        // and those members unmapped while the domain was shared, that no
        // remaining member uses go back to the ownership map; the last
        // member gives back all the domain has.
        let others = self.domain.others(self.id);
        let mut keep = Vec::new();
        for o in &others {
            keep.extend(crate::sync::lock(o).used_ranges());
        }
        // (Dropped unlocked: dropping the last reference takes the domain's lock.)
        drop(others);
        let last = self.domain.remove_member(self.id);
        let mut owners = owners::lock();
        if last {
            owners.release(self.space.base(), self.space.end(), self.domain.owner());
            owners.drop_soft(self.domain.owner());
        } else {
            let mut gone = self.used_ranges();
            gone.extend(self.domain.take_orphans());
            for (s, e) in gone {
                for (a, b) in private_pieces(s, e, &keep) {
                    owners.release(a, b, self.domain.owner());
                }
            }
        }
    }
}
