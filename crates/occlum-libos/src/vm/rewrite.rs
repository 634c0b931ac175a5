//! Rewriting trapped syscall sites (and `cpuid` instructions, which the
//! LibOS serves: `occlum_pal::cpuid`) into direct calls of the LibOS.
//!
//! After a trapped syscall, the code before its `syscall` instruction is
//! decoded (`site.rs`): if straight-line instructions there include one of
//! at least 5 bytes, its first bytes become a `jmp` to a stub of this
//! address space that runs the replaced instructions and enters the LibOS
//! directly (`occlum_pal::fastpath`); if none does, the `syscall` itself
//! may become a short `jmp` through `int3` padding nearby. Only code that
//! is not writable, and not in shared memory, is rewritten. The jump goes
//! where it is one atomic store (within one aligned 16-byte block) if the
//! site allows, so other threads see the old or the new instruction; else
//! it is written behind an `int3` (`UserSpace::patch_code`), and a thread
//! that hits the `int3` meanwhile retries once the rewriting is done. The
//! pages keep their protection for user code; a patched page is this
//! process's own (a sealed page is copied on write), and a `fork` child
//! gets its copy with the stubs.

use occlum_pal::fastpath;
use occlum_pal::uspace::UserSpace;

use super::{site, VmSpace, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};

/// Bytes per stub in a stub page (`site::MAX_MOVED` and 13 more); the
/// first slot of a page holds the address of the direct entry.
pub(super) const STUB_STRIDE: usize = 64;
/// The trap count of a site that was rewritten or cannot be.
const SITE_REFUSED: u8 = u8::MAX;

/// How far a stub may lie from its site (a 32-bit displacement, with room).
const REACH: usize = (1 << 31) - 2 * PAGE_SIZE;

/// What a rewritten site's instruction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum SiteKind {
    Syscall,
    Cpuid,
    /// A `cpuid` that may also be rewritten over what follows it.
    CpuidOrAfter,
}

impl SiteKind {
    /// Stub slots one stub takes.
    pub(super) fn slots(self) -> usize {
        match self {
            SiteKind::Syscall => 1,
            SiteKind::Cpuid | SiteKind::CpuidOrAfter => {
                (site::MAX_MOVED + fastpath::CPUID_STUB_EXTRA).div_ceil(STUB_STRIDE)
            }
        }
    }
}

/// A program image loaded from sealed pages (see `learned.rs`).
#[derive(Clone, Copy, Debug)]
pub struct Image {
    start: usize,
    end: usize,
    bias: u64,
    file: u64,
}

/// A page of stubs in the user region.
#[derive(Clone, Copy, Debug)]
pub struct StubPage {
    addr: usize,
    used: usize,
}

impl VmSpace {
    /// After a trap from the syscall site whose `syscall` instruction ends
    /// at `ret`: rewrites it if this is its second trap (code run once, as
    /// most of a short-lived process's start-up, is not worth it), or its
    /// first where its page has a rewritten site already (the page is this
    /// process's own copy then, and a rewrite costs about a trap), and it
    /// has a form described above; at its first trap too when `eager` (the
    /// process is past its start-up). A site that cannot be rewritten is
    /// not looked at again. Returns whether it was rewritten.
    pub fn rewrite_syscall_site(&mut self, ret: usize, eager: bool) -> bool {
        if !fastpath::enabled() || self.parked.is_some() {
            return false;
        }
        let page = ret.saturating_sub(2) & !(PAGE_SIZE - 1);
        let cheap = eager || self.patched.range(page..page + PAGE_SIZE).next().is_some();
        let traps = self.site_traps.entry(ret).or_insert(0);
        if *traps == SITE_REFUSED || (*traps != 1 && !cheap) {
            *traps = traps.saturating_add(1).max(1);
            return false;
        }
        *traps = SITE_REFUSED;
        self.rewrite_site(ret, SiteKind::Syscall).is_some()
    }

    /// Records that `[start, end)` holds a program image loaded with
    /// `bias` from the sealed pages `file` (an id): sites rewritten there
    /// are learned for the next processes running it.
    pub fn add_image(&mut self, start: usize, end: usize, bias: u64, file: u64) {
        self.images.push(Image {
            start,
            end,
            bias,
            file,
        });
    }

    /// Sets whether the threads of this address space serve `cpuid` from
    /// faults (a program started before: see `occlum_pal::cpuid`).
    pub fn set_cpuid_faults(&mut self, on: bool) {
        self.cpuid_faults = on;
    }

    /// Whether its threads serve `cpuid` from faults.
    pub fn cpuid_faults(&self) -> bool {
        self.cpuid_faults
    }

    /// Forgets the images in `[start, end)` (unmapped, replaced or made
    /// writable).
    pub(super) fn forget_images(&mut self, start: usize, end: usize) {
        self.images.retain(|i| i.end <= start || end <= i.start);
    }

    /// Takes in a prepatched image (`learned::Variant`) loaded with `bias`,
    /// its stubs mapped at `stubs`: its sites count as rewritten.
    pub fn adopt_variant(&mut self, v: &super::learned::Variant, bias: u64, stubs: usize) {
        for page in (stubs..stubs + v.stub_len).step_by(PAGE_SIZE) {
            self.stubs.push(StubPage {
                addr: page,
                used: PAGE_SIZE,
            });
        }
        for (p, orig) in &v.patched {
            self.patched.insert((bias + p) as usize, orig.clone());
        }
        for &r in &v.rets {
            self.site_traps.insert((bias + r) as usize, SITE_REFUSED);
        }
    }

    /// Learns the rewritten instruction at `at`, if in an image.
    fn learn(&self, at: usize, kind: SiteKind) {
        if let Some(i) = self
            .images
            .iter()
            .find(|i| i.start <= at && at + 2 <= i.end)
        {
            super::learned::learn(i.file, at as u64 - i.bias, kind);
        }
    }

    /// For a `cpuid` at `at` that faulted: rewrites it (at once: a fault
    /// costs more than a rewrite) so that it enters the LibOS directly, if
    /// it has a form described above; or, where nothing before it can move
    /// and the process has one thread (`alone`: no other thread can be
    /// stopped right after the `cpuid`), with the jump at the `cpuid`
    /// itself, over the instructions after it (`site::Decoded::find_after`).
    /// Returns whether it did the latter: the thread then runs the site
    /// again (through the jump) rather than going on after the `cpuid`.
    pub fn rewrite_cpuid_site(&mut self, at: usize, alone: bool) -> bool {
        if !fastpath::enabled() || self.parked.is_some() {
            return false;
        }
        let ret = at + 2;
        let traps = self.site_traps.entry(ret).or_insert(0);
        if *traps == SITE_REFUSED {
            return false;
        }
        *traps = SITE_REFUSED;
        let kind = if alone {
            SiteKind::CpuidOrAfter
        } else {
            SiteKind::Cpuid
        };
        self.rewrite_site(ret, kind) == Some(true)
    }

    /// Rewrites the site whose instruction ends at `ret`: `None` if it
    /// cannot, else whether its jump went at the instruction itself, over
    /// the ones after it.
    fn rewrite_site(&mut self, ret: usize, kind: SiteKind) -> Option<bool> {
        let written = self.try_rewrite_site(ret, kind);
        written.then_some(false).or_else(|| {
            (kind == SiteKind::CpuidOrAfter && self.rewrite_cpuid_after(ret - 2)).then_some(true)
        })
    }

    fn try_rewrite_site(&mut self, ret: usize, kind: SiteKind) -> bool {
        let kind = if kind == SiteKind::CpuidOrAfter {
            SiteKind::Cpuid
        } else {
            kind
        };
        let Some(syscall) = ret.checked_sub(2) else {
            return false;
        };
        // A stub's own fallback instruction stays as it is.
        let page = syscall & !(PAGE_SIZE - 1);
        if self.stubs.iter().any(|p| p.addr == page) {
            return false;
        }
        let Some(vma) = self.vmas.containing(syscall) else {
            return false;
        };
        if vma.end < ret || vma.prot & PROT_EXEC == 0 || vma.prot & PROT_WRITE != 0 {
            return false;
        }
        // Code in shared memory would change for every mapper.
        let shared = self
            .shared
            .iter()
            .any(|m| m.start <= syscall && syscall < m.end)
            || self
                .file_maps
                .iter()
                .any(|m| m.shared && m.start <= syscall && syscall < m.end);
        if shared {
            return false;
        }
        let lo = syscall.saturating_sub(site::DECODE_BEFORE).max(vma.start);
        let hi = (ret + site::DECODE_AFTER).min(vma.end);
        // Decoded as it was before other sites nearby were rewritten: a
        // jump's leftover bytes would throw the decoding out of step.
        let Some(window) = self.original_window(lo, hi) else {
            return false;
        };
        let Some(decoded) = site::decode(&window, lo, syscall) else {
            return false;
        };
        // Best where the jump is one atomic store; else anywhere; never
        // over another site's jump.
        let free = |a: usize| !self.overlaps_patch(a, 5);
        let atomic = |a: usize| UserSpace::patch_is_atomic(a, 5) && free(a);
        let found = decoded
            .find(&window, lo, syscall, atomic)
            .or_else(|| decoded.find(&window, lo, syscall, free));
        let Some(moved) = found else {
            return match decoded.find_padding(syscall) {
                Some(pad) if !self.overlaps_patch(pad, 5) && !self.overlaps_patch(syscall, 2) => {
                    let orig = |a: usize, n: usize| window[a - lo..a - lo + n].to_vec();
                    let originals = [(pad, orig(pad, 5)), (syscall, orig(syscall, 2))];
                    self.rewrite_syscall_itself(syscall, pad, vma.prot, kind, originals)
                }
                _ => {
                    tracing::trace!("site at {syscall:#x}: no instruction to replace");
                    false
                }
            };
        };
        let start = moved.start;
        let original = window[start - lo..start - lo + 5].to_vec();
        let Some(stub) = self.new_stub(start, &moved, ret, kind) else {
            return false;
        };
        let Some(jump) = fastpath::jump(start as u64, stub as u64) else {
            return false;
        };
        if let Err(e) = self.space.patch_code(start, &jump, vma.prot) {
            tracing::debug!("cannot rewrite the syscall site at {start:#x}: {e}");
            return false;
        }
        let first = start & !(PAGE_SIZE - 1);
        self.forget_backings(first, (start + 5).next_multiple_of(PAGE_SIZE));
        self.patched.insert(start, original);
        self.learn(syscall, kind);
        true
    }

    /// Rewrites the `cpuid` at `at` with its jump at the `cpuid` itself,
    /// over the instructions after it, which its stub runs; only while no
    /// other thread may be stopped among them. Returns whether it did.
    fn rewrite_cpuid_after(&mut self, at: usize) -> bool {
        let Some(vma) = self.vmas.containing(at) else {
            return false;
        };
        let lo = at.saturating_sub(site::DECODE_BEFORE).max(vma.start);
        let hi = (at + 2 + site::DECODE_AFTER).min(vma.end);
        let Some(window) = self.original_window(lo, hi) else {
            return false;
        };
        let Some((after, end)) =
            site::decode(&window, lo, at).and_then(|d| d.find_after(&window, lo, at))
        else {
            return false;
        };
        if self.overlaps_patch(at, 5) {
            return false;
        }
        let Some(stub) = self.new_stub_with(at, SiteKind::Cpuid.slots(), |s, slot| {
            let moved = after.relocated(fastpath::cpuid_stub_after(s as u64, 0) as usize)?;
            fastpath::cpuid_stub(s as u64, &[], &moved, end as u64, slot as u64)
        }) else {
            return false;
        };
        let Some(jump) = fastpath::jump(at as u64, stub as u64) else {
            return false;
        };
        let original = window[at - lo..at - lo + 5].to_vec();
        if let Err(e) = self.space.patch_code(at, &jump, vma.prot) {
            tracing::debug!("cannot rewrite the cpuid at {at:#x}: {e}");
            return false;
        }
        let first = at & !(PAGE_SIZE - 1);
        self.forget_backings(first, (at + 5).next_multiple_of(PAGE_SIZE));
        self.patched.insert(at, original);
        self.learn(at, SiteKind::Cpuid);
        true
    }

    /// The bytes of `[lo, hi)` as they were before any site there was
    /// rewritten.
    fn original_window(&self, lo: usize, hi: usize) -> Option<Vec<u8>> {
        let mut window = vec![0u8; hi - lo];
        self.space.read(lo, &mut window).ok()?;
        for (&at, orig) in self.patched.range(lo.saturating_sub(8)..hi) {
            for (i, &b) in orig.iter().enumerate() {
                if let Some(w) = (at + i).checked_sub(lo).and_then(|o| window.get_mut(o)) {
                    *w = b;
                }
            }
        }
        Some(window)
    }

    /// Whether `[at, at+len)` shares a byte with a jump written already.
    fn overlaps_patch(&self, at: usize, len: usize) -> bool {
        self.patched
            .range(at.saturating_sub(8)..at + len)
            .any(|(&a, orig)| a < at + len && at < a + orig.len())
    }

    /// Replaces the `syscall` (or `cpuid`) instruction at `syscall` by a
    /// `jmp rel8` to `pad` (free `int3` padding, `site::find_padding`),
    /// where a `jmp` goes on to a stub with its own fallback instruction.
    fn rewrite_syscall_itself(
        &mut self,
        syscall: usize,
        pad: usize,
        prot: u32,
        kind: SiteKind,
        originals: [(usize, Vec<u8>); 2],
    ) -> bool {
        let ret = syscall + 2;
        let Some(stub) = self.new_stub_with(pad, kind.slots(), |at, slot| match kind {
            SiteKind::Syscall => fastpath::stub_with_syscall(at as u64, ret as u64, slot as u64),
            _ => fastpath::cpuid_stub(at as u64, &[], &[], ret as u64, slot as u64),
        }) else {
            return false;
        };
        let (Some(far), Some(near)) = (
            fastpath::jump(pad as u64, stub as u64),
            fastpath::short_jump(syscall as u64, pad as u64),
        ) else {
            return false;
        };
        if let Err(e) = self
            .space
            .patch_code(pad, &far, prot)
            .and_then(|_| self.space.patch_code(syscall, &near, prot))
        {
            tracing::debug!("cannot rewrite the syscall at {syscall:#x}: {e}");
            return false;
        }
        for at in [pad, syscall] {
            let first = at & !(PAGE_SIZE - 1);
            self.forget_backings(first, (at + 5).next_multiple_of(PAGE_SIZE));
        }
        self.patched.extend(originals);
        self.learn(syscall, kind);
        true
    }

    /// For a general-protection fault at `rip` in user code, what is
    /// there now: a `cpuid` (`Some(true)`), or a site another thread
    /// rewrote since (`Some(false)`: the thread retries it); `None` if
    /// neither.
    pub fn cpuid_fault_at(&self, rip: usize) -> Option<bool> {
        let mut insn = [0u8; 2];
        if !self.allows(rip, 2, PROT_READ) || self.space.read(rip, &mut insn).is_err() {
            return None;
        }
        if insn == [0x0f, 0xa2] {
            Some(true)
        } else {
            self.patched.contains_key(&rip).then_some(false)
        }
    }

    /// For a SIGTRAP at `rip` in user code: whether it is the `int3` of a
    /// site being rewritten, now done (the thread retries at `rip - 1`).
    /// Callers hold the address space, which the rewriting holds throughout.
    pub fn hit_site_being_rewritten(&self, rip: usize) -> bool {
        let Some(start) = rip.checked_sub(1) else {
            return false;
        };
        let mut first = [0u8; 1];
        self.patched.contains_key(&start)
            && self.space.read(start, &mut first).is_ok()
            && first[0] != 0xcc
    }

    /// Writes a stub running `moved` (from the site at `site`, whose
    /// `syscall` returns to `ret`) into a stub page in reach; returns its
    /// address.
    fn new_stub(
        &mut self,
        site: usize,
        moved: &site::Moved,
        ret: usize,
        kind: SiteKind,
    ) -> Option<usize> {
        self.new_stub_with(site, kind.slots(), |at, slot| {
            let moved = moved.relocated(at)?;
            match kind {
                SiteKind::Syscall => fastpath::stub(at as u64, &moved, ret as u64, slot as u64),
                _ => fastpath::cpuid_stub(at as u64, &moved, &[], ret as u64, slot as u64),
            }
        })
    }

    /// Writes the stub `code(at, slot)` makes (at most `slots` stub slots)
    /// into a stub page in reach of `site`; returns its address.
    fn new_stub_with(
        &mut self,
        site: usize,
        slots: usize,
        code: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> Option<usize> {
        let size = slots * STUB_STRIDE;
        let in_reach = |a: usize| a.abs_diff(site) < REACH;
        let rx = PROT_READ | PROT_EXEC;
        let vmas = &self.vmas;
        let found = self.stubs.iter().position(|p| {
            p.used + size <= PAGE_SIZE
                && in_reach(p.addr)
                && vmas.containing(p.addr).is_some_and(|v| {
                    v.start <= p.addr && p.addr + PAGE_SIZE <= v.end && v.prot == rx
                })
        });
        let index = match found {
            Some(i) => i,
            None => {
                let addr = self.new_stub_page(site)?;
                self.stubs.push(StubPage {
                    addr,
                    used: STUB_STRIDE,
                });
                self.stubs.len() - 1
            }
        };
        let page = self.stubs[index];
        let at = page.addr + page.used;
        let code = code(at, page.addr)?;
        if code.len() > size {
            return None;
        }
        self.write_code(page.addr, at, &code).ok()?;
        self.stubs[index].used += size;
        Some(at)
    }

    /// Maps a stub page in reach of `site`, its first slot holding the
    /// address of the direct entry.
    fn new_stub_page(&mut self, site: usize) -> Option<usize> {
        let within =
            super::Placement::Within(site.saturating_sub(REACH), site.saturating_add(REACH));
        let addr = self.map(within, PAGE_SIZE, PROT_READ | PROT_EXEC).ok()?;
        let entry = fastpath::entry_address().to_le_bytes();
        if addr.abs_diff(site) >= REACH || self.write_code(addr, addr, &entry).is_err() {
            let _ = self.unmap(addr, PAGE_SIZE);
            return None;
        }
        Some(addr)
    }

    /// Writes `bytes` at `at` in stub page `page` (executable throughout:
    /// other threads may run its other stubs meanwhile).
    fn write_code(&self, page: usize, at: usize, bytes: &[u8]) -> crate::Result<()> {
        let rwx = PROT_READ | PROT_WRITE | PROT_EXEC;
        self.space.protect(page, PAGE_SIZE, rwx)?;
        let r = self.space.write(at, bytes);
        self.space.protect(page, PAGE_SIZE, PROT_READ | PROT_EXEC)?;
        r
    }
}
