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

use super::plan::{Plan, SiteKind, STUB_STRIDE};
use super::{site, VmSpace, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};

/// The trap count of a site that was rewritten or cannot be.
const SITE_REFUSED: u8 = u8::MAX;

/// How far a stub may lie from its site (a 32-bit displacement, with room).
const REACH: usize = (1 << 31) - 2 * PAGE_SIZE;

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
    /// not looked at again. Returns whether it was rewritten. A site of an
    /// image is learned at its first trap, rewritten or not: the next
    /// process running the image comes with it rewritten (it costs that
    /// one nothing), so a short-lived program's start-up gets there too.
    pub fn rewrite_syscall_site(&mut self, ret: usize, eager: bool) -> bool {
        if !fastpath::enabled() || self.parked.is_some() {
            return false;
        }
        let page = ret.saturating_sub(2) & !(PAGE_SIZE - 1);
        let cheap = eager || self.patched.range(page..page + PAGE_SIZE).next().is_some();
        if !self.site_traps.contains_key(&ret) {
            self.learn(ret.saturating_sub(2), SiteKind::Syscall);
        }
        let traps = self.site_traps.entry(ret).or_insert(0);
        if *traps == SITE_REFUSED || (*traps != 1 && !cheap) {
            *traps = traps.saturating_add(1).max(1);
            return false;
        }
        *traps = SITE_REFUSED;
        self.rewrite_site(ret, SiteKind::Syscall, false).is_some()
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
    /// faults, for a start of program file `file` (see `learned::started`
    /// and `occlum_pal::cpuid`); `None`: they do not.
    pub fn set_cpuid_faults(&mut self, file: Option<u64>) {
        self.cpuid_faults = file;
    }

    /// The program file for whose start its threads serve `cpuid` from
    /// faults, if they do.
    pub fn cpuid_faults_for(&self) -> Option<u64> {
        self.cpuid_faults
    }

    /// Forgets the images in `[start, end)` (unmapped, replaced or made
    /// writable).
    pub(super) fn forget_images(&mut self, start: usize, end: usize) {
        self.images.retain(|i| i.end <= start || end <= i.start);
    }

    /// Forgets the jumps written in `[start, end)`, the stub pages there
    /// and the libraries there: their code was unmapped or replaced.
    pub(super) fn forget_code(&mut self, start: usize, end: usize) {
        let gone: Vec<usize> = self
            .patched
            .range(start.saturating_sub(site::MAX_MOVED)..end)
            .filter(|(&at, orig)| at + orig.len() > start)
            .map(|(&at, _)| at)
            .collect();
        for at in gone {
            self.patched.remove(&at);
        }
        self.stubs
            .retain(|p| p.addr + PAGE_SIZE <= start || end <= p.addr);
        self.forget_libraries(start, end);
    }

    /// The jumps written in `[start, end)`, with the bytes they replaced.
    pub(super) fn jumps_in(&self, start: usize, end: usize) -> Vec<(usize, Vec<u8>)> {
        self.patched
            .range(start..end)
            .map(|(&at, orig)| (at, orig.clone()))
            .collect()
    }

    /// Takes in a prepatched image (`learned::Variant`) loaded with `bias`,
    /// its stubs mapped at `stubs`: its sites count as rewritten.
    pub fn adopt_variant(&mut self, v: &super::learned::Variant, bias: u64, stubs: usize) {
        for page in (stubs..stubs + v.stub_len).step_by(PAGE_SIZE) {
            if self.stubs.iter().any(|s| s.addr == page) {
                continue;
            }
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
        self.rewrite_site(ret, SiteKind::Cpuid, alone) == Some(true)
    }

    /// Rewrites the site whose instruction ends at `ret` (over what follows
    /// it only if `after`): `None` if it cannot, else whether the jump
    /// covers what follows the instruction ([`Plan::covers_after`]).
    fn rewrite_site(&mut self, ret: usize, kind: SiteKind, after: bool) -> Option<bool> {
        let site = ret.checked_sub(2)?;
        let (lo, window, prot) = self.site_window(site)?;
        let decoded = site::decode(&window, lo, site)?;
        // Best where the jump is one atomic store; never over another
        // site's jump.
        let free = |a: usize, n: usize| !self.overlaps_patch(a, n);
        let atomic = |a: usize| UserSpace::patch_is_atomic(a, 5);
        let Some(plan) = Plan::find(&decoded, &window, lo, (site, kind), free, atomic, after)
        else {
            tracing::trace!("site at {site:#x}: no instruction to replace");
            return None;
        };
        let stub = self.new_stub_with(plan.jump_at(site), kind.slots(), |at, slot| {
            plan.stub((site, kind), at, slot)
        })?;
        for (at, code) in plan.jumps(site, stub)? {
            let original = window.get(at - lo..at - lo + code.len())?.to_vec();
            if let Err(e) = self.space.patch_code(at, &code, prot) {
                tracing::debug!("cannot rewrite the site at {site:#x}: {e}");
                return None;
            }
            let first = at & !(PAGE_SIZE - 1);
            self.forget_backings(first, (at + code.len()).next_multiple_of(PAGE_SIZE));
            self.patched.insert(at, original);
        }
        self.learn(site, kind);
        Some(plan.covers_after())
    }

    /// For a site at `site`: the window of code around it, from `lo`, as
    /// it was before any site there was rewritten (a jump's leftover bytes
    /// would throw the decoding out of step), and its mapping's
    /// protection; `None` where code must not be rewritten: stubs' own
    /// fallback instructions, writable code, shared memory.
    fn site_window(&self, site: usize) -> Option<(usize, Vec<u8>, u32)> {
        let ret = site + 2;
        let page = site & !(PAGE_SIZE - 1);
        if self.stubs.iter().any(|p| p.addr == page) {
            return None;
        }
        let vma = self.vmas.containing(site)?;
        if vma.end < ret || vma.prot & PROT_EXEC == 0 || vma.prot & PROT_WRITE != 0 {
            return None;
        }
        // Code in shared memory would change for every mapper.
        let shared = self.shared.iter().any(|m| m.start <= site && site < m.end)
            || self
                .file_maps
                .iter()
                .any(|m| m.shared && m.start <= site && site < m.end);
        if shared {
            return None;
        }
        let lo = site.saturating_sub(site::DECODE_BEFORE).max(vma.start);
        let hi = (ret + site::DECODE_AFTER).min(vma.end);
        Some((lo, self.original_window(lo, hi)?, vma.prot))
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
