//! Rewriting trapped syscall sites into direct calls of the LibOS.
//!
//! After a trapped syscall, the site is looked at: if it is `mov $nr, %eax;
//! syscall` (the form glibc and most wrappers emit) in code that is not
//! writable, the 5-byte `mov` becomes a `jmp` to a stub of this address
//! space that enters the LibOS directly (`occlum_pal::fastpath`). The
//! `syscall` instruction itself stays, so a jump straight to it, a restart
//! after a signal, or a refused direct entry still traps.
//!
//! The bytes of a `mov $nr, %eax` may also be the tail of a longer
//! instruction, so the code around the site is decoded (`iced-x86`): from
//! two points before it, which both must fall in step with the instruction
//! stream at the `mov`, and after it; no direct branch decoded there may
//! land inside the `mov`. The `mov` is replaced in one atomic store when it
//! lies within one aligned 8-byte word, so other threads see the old or the
//! new instruction; else only while the process has one thread. The pages keep their protection for user code; a patched page is
//! this process's own (a sealed page is copied on write), and a `fork`
//! child gets its copy with the stubs.

use occlum_pal::fastpath::{self, STUB_LEN};

use super::{VmSpace, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};

/// Bytes per stub in a stub page; the first slot of a page holds the
/// address of the direct entry.
const STUB_STRIDE: usize = 32;
/// How far a stub may lie from its site (a 32-bit displacement, with room).
const REACH: usize = (1 << 31) - 2 * PAGE_SIZE;

/// Bytes decoded before and after a site to check it.
const DECODE_BEFORE: usize = 1024;
const DECODE_AFTER: usize = 1024;

/// Whether an instruction of `len` bytes starts at `site` in `code` (which
/// starts at address `base`): decoding from the start of `code` and from
/// half-way to `site` both reach `site` at an instruction boundary, and no
/// direct branch decoded before or after it targets its inside.
fn starts_instruction(code: &[u8], base: usize, site: usize, len: usize) -> bool {
    use iced_x86::{Decoder, DecoderOptions, Instruction};
    let inside = |t: u64| (site as u64 + 1..(site + len) as u64).contains(&t);
    let sweep = |from: usize, until: Option<usize>| -> Option<bool> {
        let bytes = &code[from - base..];
        let mut d = Decoder::with_ip(64, bytes, from as u64, DecoderOptions::NONE);
        let mut insn = Instruction::default();
        let mut hit = false;
        while d.can_decode() {
            d.decode_out(&mut insn);
            let at = insn.ip() as usize;
            if until.is_some_and(|u| at >= u) {
                hit = at == site;
                break;
            }
            if !insn.is_invalid() && inside(insn.near_branch_target()) {
                return None;
            }
        }
        Some(hit)
    };
    let mid = base + (site - base) / 2;
    sweep(base, Some(site)) == Some(true)
        && sweep(mid, Some(site)) == Some(true)
        && sweep(site + len, None).is_some()
}

/// A page of stubs in the user region.
#[derive(Clone, Copy, Debug)]
pub struct StubPage {
    addr: usize,
    used: usize,
}

impl VmSpace {
    /// Rewrites the syscall site whose `syscall` instruction ends at `ret`,
    /// if it has the form described above; `alone`: no other thread runs in
    /// this address space. Returns whether it did.
    pub fn rewrite_syscall_site(&mut self, ret: usize, alone: bool) -> bool {
        if !fastpath::enabled() || self.parked.is_some() {
            return false;
        }
        let Some(site) = ret.checked_sub(7) else {
            return false;
        };
        let mut code = [0u8; 7];
        if self.space.read(site, &mut code).is_err() || code[0] != 0xb8 || code[5..] != [0x0f, 0x05]
        {
            return false;
        }
        let Some(vma) = self.vmas.containing(site) else {
            return false;
        };
        if vma.end < ret || vma.prot & PROT_EXEC == 0 || vma.prot & PROT_WRITE != 0 {
            return false;
        }
        let lo = site.saturating_sub(DECODE_BEFORE).max(vma.start);
        let hi = (ret + DECODE_AFTER).min(vma.end);
        let mut window = vec![0u8; hi - lo];
        if self.space.read(lo, &mut window).is_err() || !starts_instruction(&window, lo, site, 5) {
            return false;
        }
        let atomic = site + 5 <= (site & !7) + 8;
        if !atomic && !alone {
            return false;
        }
        let nr = u32::from_le_bytes([code[1], code[2], code[3], code[4]]);
        let Some(stub) = self.new_stub(site, nr, ret) else {
            return false;
        };
        let Some(jump) = fastpath::jump(site as u64, stub as u64) else {
            return false;
        };
        if let Err(e) = self.space.patch_code(site, &jump, vma.prot) {
            tracing::debug!("cannot rewrite the syscall site at {site:#x}: {e}");
            return false;
        }
        let first = site & !(PAGE_SIZE - 1);
        self.forget_backings(first, (site + 5).next_multiple_of(PAGE_SIZE));
        true
    }

    /// Writes a stub for a site at `site` (syscall `nr`, returning to `ret`)
    /// into a stub page in reach; returns its address.
    fn new_stub(&mut self, site: usize, nr: u32, ret: usize) -> Option<usize> {
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
        let code: [u8; STUB_LEN] = fastpath::stub(at as u64, nr, ret as u64, page.addr as u64)?;
        self.write_code(page.addr, at, &code).ok()?;
        self.stubs[index].used += STUB_STRIDE;
        Some(at)
    }

    /// Maps a stub page in reach of `site`, its first slot holding the
    /// address of the direct entry.
    fn new_stub_page(&mut self, site: usize) -> Option<usize> {
        let addr = self
            .map(super::Placement::Hint(0), PAGE_SIZE, PROT_READ | PROT_EXEC)
            .ok()?;
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
