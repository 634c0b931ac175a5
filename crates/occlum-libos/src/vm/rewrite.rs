//! Rewriting trapped syscall sites into direct calls of the LibOS.
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
const STUB_STRIDE: usize = 64;
/// The trap count of a site that was rewritten or cannot be.
const SITE_REFUSED: u8 = u8::MAX;

/// How far a stub may lie from its site (a 32-bit displacement, with room).
const REACH: usize = (1 << 31) - 2 * PAGE_SIZE;

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
        self.rewrite_site(ret)
    }

    fn rewrite_site(&mut self, ret: usize) -> bool {
        let Some(syscall) = ret.checked_sub(2) else {
            return false;
        };
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
        let mut window = vec![0u8; hi - lo];
        if self.space.read(lo, &mut window).is_err() {
            return false;
        }
        // Best where the jump is one atomic store; else anywhere.
        let atomic = |a: usize| UserSpace::patch_is_atomic(a, 5);
        let found = site::find(&window, lo, syscall, atomic)
            .or_else(|| site::find(&window, lo, syscall, |_| true));
        let Some(moved) = found else {
            return match site::find_padding(&window, lo, syscall) {
                Some(pad) => self.rewrite_syscall_itself(syscall, pad, vma.prot),
                None => {
                    tracing::trace!("syscall site at {syscall:#x}: no instruction to replace");
                    false
                }
            };
        };
        let start = moved.start;
        let Some(stub) = self.new_stub(start, &moved, ret) else {
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
        self.patched.insert(start);
        true
    }

    /// Replaces the `syscall` instruction at `syscall` by a `jmp rel8` to
    /// `pad` (free `int3` padding, `site::find_padding`), where a `jmp`
    /// goes on to a stub with its own fallback `syscall`.
    fn rewrite_syscall_itself(&mut self, syscall: usize, pad: usize, prot: u32) -> bool {
        let ret = syscall + 2;
        let Some(stub) = self.new_stub_with(pad, |at, slot| {
            fastpath::stub_with_syscall(at as u64, ret as u64, slot as u64)
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
        self.patched.insert(syscall);
        true
    }

    /// For a SIGTRAP at `rip` in user code: whether it is the `int3` of a
    /// site being rewritten, now done (the thread retries at `rip - 1`).
    /// Callers hold the address space, which the rewriting holds throughout.
    pub fn hit_site_being_rewritten(&self, rip: usize) -> bool {
        let Some(start) = rip.checked_sub(1) else {
            return false;
        };
        let mut first = [0u8; 1];
        self.patched.contains(&start)
            && self.space.read(start, &mut first).is_ok()
            && first[0] != 0xcc
    }

    /// Writes a stub running `moved` (from the site at `site`, whose
    /// `syscall` returns to `ret`) into a stub page in reach; returns its
    /// address.
    fn new_stub(&mut self, site: usize, moved: &site::Moved, ret: usize) -> Option<usize> {
        self.new_stub_with(site, |at, slot| {
            fastpath::stub(at as u64, &moved.relocated(at)?, ret as u64, slot as u64)
        })
    }

    /// Writes the stub `code(at, slot)` makes into a stub page in reach of
    /// `site`; returns its address.
    fn new_stub_with(
        &mut self,
        site: usize,
        code: impl FnOnce(usize, usize) -> Option<Vec<u8>>,
    ) -> Option<usize> {
        let in_reach = |a: usize| a.abs_diff(site) < REACH;
        let rx = PROT_READ | PROT_EXEC;
        let vmas = &self.vmas;
        let found = self.stubs.iter().position(|p| {
            p.used + STUB_STRIDE <= PAGE_SIZE
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
        self.write_code(page.addr, at, &code).ok()?;
        self.stubs[index].used += STUB_STRIDE;
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
