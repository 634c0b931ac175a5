//! What a rewritten syscall site moves into its stub (`rewrite.rs`).
//!
//! The kernel tells where a trapped `syscall` instruction is, so that
//! address is an instruction boundary; what comes before it is decoded
//! with `iced-x86`, from two points well before it, which must both fall in
//! step with the instruction stream (x86 decoding does so within a few
//! instructions) and agree on every boundary used. Going back from the
//! `syscall`, straight-line instructions are taken until one of at least 5
//! bytes is found: the jump to the stub replaces that instruction's first
//! 5 bytes, and the stub runs it and the ones after it, then enters the
//! LibOS. No branch can land inside the 5 bytes (they are one
//! instruction), and code that reaches one of the later instructions (or
//! the `syscall`) another way finds its original bytes there and traps as
//! before. A thread stopped anywhere in the site resumes correctly for the
//! same reason.

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction, Mnemonic};

/// Bytes decoded before a site.
pub const DECODE_BEFORE: usize = 1024;
/// Bytes decoded after a site.
pub const DECODE_AFTER: usize = 512;
/// Most bytes moved into a stub.
pub const MAX_MOVED: usize = 40;
/// Length of the jump that replaces the first moved instruction.
const JUMP_LEN: usize = 5;

/// Instructions right before a `syscall` that a stub runs in their place.
#[derive(Debug)]
pub struct Moved {
    /// Address of the first; the jump to the stub is written there.
    pub start: usize,
    bytes: Vec<u8>,
    /// RIP-relative operands: (offset of the 32-bit displacement, offset of
    /// the end of its instruction, the address it refers to).
    rip_relative: Vec<(usize, usize, u64)>,
}

impl Moved {
    /// The instructions `bytes`, which ran at `from`, to be replaced by a
    /// jump at `start`; `None` if one has a RIP-relative operand of another
    /// size than 32 bits.
    fn new(start: usize, from: usize, bytes: Vec<u8>) -> Option<Moved> {
        let mut d = Decoder::with_ip(64, &bytes, from as u64, DecoderOptions::NONE);
        let mut rip_relative = Vec::new();
        let mut insn = Instruction::default();
        while d.can_decode() {
            d.decode_out(&mut insn);
            if insn.is_ip_rel_memory_operand() {
                let offsets = d.get_constant_offsets(&insn);
                if offsets.displacement_size() != 4 {
                    return None;
                }
                let at = insn.ip() as usize - from;
                rip_relative.push((
                    at + offsets.displacement_offset(),
                    at + insn.len(),
                    insn.ip_rel_memory_address(),
                ));
            }
        }
        Some(Moved {
            start,
            bytes,
            rip_relative,
        })
    }

    /// The instructions' bytes for a stub at `at`, RIP-relative operands
    /// adjusted; `None` if one is out of reach from there.
    pub fn relocated(&self, at: usize) -> Option<Vec<u8>> {
        let mut b = self.bytes.clone();
        for &(disp, end, target) in &self.rip_relative {
            let d = i32::try_from(target as i64 - (at + end) as i64).ok()?;
            b[disp..disp + 4].copy_from_slice(&d.to_le_bytes());
        }
        Some(b)
    }
}

/// The instructions around a site, decoded once for every question about
/// it: from the window's start up to the site (`before`, which must end
/// exactly there), a second decoding from halfway (`second`, up to where
/// it falls in step with the first: `sync`), and from the site on
/// (`after`, up to the first invalid or cut-off instruction).
pub struct Decoded {
    before: Vec<Instruction>,
    second: Vec<Instruction>,
    sync: usize,
    after: Vec<Instruction>,
}

/// Decodes `code` (the bytes at `base`) from `from` up to `until`; stops
/// early at the first instruction `stop` accepts (which is not taken).
fn sweep(
    code: &[u8],
    base: usize,
    from: usize,
    until: usize,
    mut stop: impl FnMut(&Instruction) -> bool,
) -> Vec<Instruction> {
    let bytes = &code[from - base..until - base];
    let mut d = Decoder::with_ip(64, bytes, from as u64, DecoderOptions::NONE);
    // Instructions average some 4 bytes.
    let mut out = Vec::with_capacity(bytes.len() / 3 + 1);
    let mut insn = Instruction::default();
    while d.can_decode() {
        d.decode_out(&mut insn);
        if stop(&insn) {
            break;
        }
        out.push(insn);
    }
    out
}

/// Decodes the window `code` (the bytes at `base`, within one mapping)
/// around the 2-byte instruction at `site`; `None` unless two decodings,
/// from the window's start and from halfway to the site, fall in step
/// before it, and both reach it exactly.
pub fn decode(code: &[u8], base: usize, site: usize) -> Option<Decoded> {
    let (before, after) = split(code, base, site)?;
    let mid = base + (site - base) / 2;
    let mut sync = site;
    let second = sweep(code, base, mid, site, |i| {
        // `before` is in address order.
        let in_step = before
            .binary_search_by_key(&i.ip(), Instruction::ip)
            .is_ok();
        if in_step {
            sync = i.ip() as usize;
        }
        in_step
    });
    if sync == site
        && second
            .last()
            .is_some_and(|l| l.next_ip() as usize != site || l.is_invalid())
    {
        return None;
    }
    Some(Decoded {
        before,
        second,
        sync,
        after,
    })
}

/// [`decode`] for a window whose start is an instruction boundary (a
/// function's start, which its unwind tables give: `scan.rs`): one
/// decoding, which must reach `site` exactly.
pub fn decode_from_boundary(code: &[u8], base: usize, site: usize) -> Option<Decoded> {
    let (before, after) = split(code, base, site)?;
    if before.iter().any(Instruction::is_invalid) {
        return None;
    }
    Some(Decoded {
        before,
        second: Vec::new(),
        sync: base,
        after,
    })
}

/// The window `code` (at `base`) decoded from its start: the instructions
/// before `site`, which must end exactly there with a valid one, and the
/// valid ones from it on.
fn split(code: &[u8], base: usize, site: usize) -> Option<(Vec<Instruction>, Vec<Instruction>)> {
    if site < base || site + 2 > base + code.len() {
        return None;
    }
    let mut all = sweep(code, base, base, base + code.len(), |_| false);
    let at = all.iter().position(|i| i.ip() as usize == site)?;
    let mut after = all.split_off(at);
    if all.last().is_some_and(Instruction::is_invalid) {
        return None;
    }
    if let Some(bad) = after.iter().position(Instruction::is_invalid) {
        after.truncate(bad);
    }
    Some((all, after))
}

/// Whether a stub may run `insn` in its place.
fn movable(insn: &Instruction) -> bool {
    !insn.is_invalid()
        && insn.flow_control() == FlowControl::Next
        && !matches!(
            insn.mnemonic(),
            Mnemonic::Nop | Mnemonic::Int3 | Mnemonic::Ud2
        )
}

/// What to move for the `syscall` instruction at `syscall`; `code` holds
/// the bytes at `[base, base + code.len())` of one mapping, from at most
/// [`DECODE_BEFORE`] before it to at most [`DECODE_AFTER`] after it. The
/// jump goes at the nearest instruction of at least 5 bytes whose address
/// `may_start` accepts (the search goes on past those it refuses).
#[cfg(test)]
pub fn find(
    code: &[u8],
    base: usize,
    syscall: usize,
    may_start: impl Fn(usize) -> bool,
) -> Option<Moved> {
    decode(code, base, syscall)?.find(code, base, syscall, may_start)
}

/// [`Decoded::find_padding`] for the window `code` at `base`.
#[cfg(test)]
pub fn find_padding(code: &[u8], base: usize, syscall: usize) -> Option<usize> {
    decode(code, base, syscall)?.find_padding(syscall)
}

impl Decoded {
    /// Every instruction decoded, the second decoding's out-of-step ones
    /// included (for the branch targets among them).
    fn all(&self) -> impl Iterator<Item = &Instruction> + Clone {
        self.before.iter().chain(&self.second).chain(&self.after)
    }

    /// [`find`], on this decoding of `code` (at `base`) around `syscall`.
    pub fn find(
        &self,
        code: &[u8],
        base: usize,
        syscall: usize,
        may_start: impl Fn(usize) -> bool,
    ) -> Option<Moved> {
        let mut start = syscall;
        let mut found = false;
        for insn in self.before.iter().rev() {
            if insn.next_ip() as usize != start
                || !movable(insn)
                || (insn.ip() as usize) < self.sync
            {
                return None;
            }
            start = insn.ip() as usize;
            if syscall - start > MAX_MOVED {
                return None;
            }
            if insn.len() >= JUMP_LEN && may_start(start) {
                found = true;
                break;
            }
        }
        if !found {
            return None;
        }
        // No direct branch, before or after, lands inside the jump.
        let inside = |t: u64| (start as u64 + 1..(start + JUMP_LEN) as u64).contains(&t);
        if self.all().any(|i| inside(i.near_branch_target())) {
            return None;
        }
        Moved::new(start, start, code[start - base..syscall - base].to_vec())
    }

    /// For a `cpuid` at `site` where nothing before it can move: the
    /// instructions after it that a jump at the `cpuid` itself would cover
    /// (the `cpuid`'s address is a boundary the CPU reported, and so is the
    /// one after it), and where they end; a stub runs them after the
    /// `cpuid`. No direct branch decoded around may land inside them.
    pub fn find_after(&self, code: &[u8], base: usize, site: usize) -> Option<(Moved, usize)> {
        if self.after.first()?.mnemonic() != Mnemonic::Cpuid {
            return None;
        }
        let mut end = site + 2;
        for insn in &self.after[1..] {
            if end >= site + JUMP_LEN {
                break;
            }
            if insn.ip() as usize != end
                || !movable(insn)
                || matches!(insn.mnemonic(), Mnemonic::Cpuid | Mnemonic::Syscall)
            {
                return None;
            }
            end = insn.next_ip() as usize;
        }
        if end < site + JUMP_LEN || end - site > MAX_MOVED {
            return None;
        }
        let inside = |t: u64| (site as u64 + 1..end as u64).contains(&t);
        if self.all().any(|i| inside(i.near_branch_target())) {
            return None;
        }
        let moved = Moved::new(
            site,
            site + 2,
            code.get(site + 2 - base..end - base)?.to_vec(),
        )?;
        Some((moved, end))
    }

    /// For a site where nothing can move (Go's `Syscall6` starts with four
    /// 3-byte moves; glibc's `read` is `je; xor %eax,%eax; syscall`): 5
    /// bytes of padding within reach of a 2-byte `jmp` at the `syscall`
    /// instruction itself (`jmp rel8`), for a `jmp` to the stub. Padding is
    /// never run: `int3` padding traps if run, and alignment padding of
    /// `nop`s follows an unconditional `ret` or `jmp` and ends at a 16-byte
    /// boundary, where the next code starts (no direct branch may land
    /// inside either). The `syscall` instruction is replaced whole by one
    /// instruction of the same length, so code reaching it any way (a
    /// restart included) takes the jump, and everything after it is left
    /// alone. The same goes for a `cpuid`.
    pub fn find_padding(&self, syscall: usize) -> Option<usize> {
        if !matches!(
            self.after.first()?.mnemonic(),
            Mnemonic::Syscall | Mnemonic::Cpuid
        ) {
            return None;
        }
        // Where both decodings agree, they are in step with the code.
        let decoded = self
            .before
            .iter()
            .filter(|i| i.ip() as usize >= self.sync)
            .chain(&self.after);
        // Runs of int3 instructions, and of nops after an unconditional
        // transfer up to a 16-byte boundary, by first address and length.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut nops: Option<(usize, usize)> = None;
        let mut prev: Option<&Instruction> = None;
        for i in decoded.clone() {
            let at = i.ip() as usize;
            let follows = prev.is_some_and(|p| p.next_ip() == i.ip());
            if i.mnemonic() == Mnemonic::Int3 && i.len() == 1 {
                match runs.last_mut() {
                    Some((start, len)) if *start + *len == at => *len += 1,
                    _ => runs.push((at, 1)),
                }
            }
            nops = match nops {
                Some((start, len)) if follows && i.mnemonic() == Mnemonic::Nop => {
                    Some((start, len + i.len()))
                }
                _ if i.mnemonic() == Mnemonic::Nop
                    && follows
                    && prev.is_some_and(|p| {
                        matches!(
                            p.flow_control(),
                            FlowControl::Return
                                | FlowControl::UnconditionalBranch
                                | FlowControl::IndirectBranch
                        )
                    }) =>
                {
                    Some((at, i.len()))
                }
                _ => None,
            };
            if let Some((start, len)) = nops {
                if (start + len).is_multiple_of(16) {
                    runs.push((start, len));
                    nops = None;
                }
            }
            prev = Some(i);
        }
        let targets: Vec<u64> = decoded.map(Instruction::near_branch_target).collect();
        let from = syscall + 2;
        runs.iter()
            .filter(|r| r.1 >= JUMP_LEN)
            .flat_map(|&(start, len)| start..=start + len - JUMP_LEN)
            .filter(|&p| (p as i64 - from as i64) >= -128 && (p as i64 - from as i64) <= 127)
            .filter(|&p| {
                !targets
                    .iter()
                    .any(|&t| (p as u64..(p + JUMP_LEN) as u64).contains(&t))
            })
            .min_by_key(|&p| p.abs_diff(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: usize = 0x10000;

    /// Straight-line code decodes in step from any of its bytes.
    const PUSHES: usize = 16;

    /// Finds what to move for the last syscall of `code`, which comes
    /// after [`PUSHES`] `push %rbx` at `BASE`.
    fn find_in(code: &[u8]) -> Option<Moved> {
        let mut all = vec![0x53u8; PUSHES];
        all.extend_from_slice(code);
        let syscall = all
            .windows(2)
            .rposition(|w| w == [0x0f, 0x05])
            .expect("a syscall");
        find(&all, BASE, BASE + syscall, |_| true)
    }

    #[test]
    fn a_mov_of_the_number_moves_alone() {
        // push %rbx; mov $0x27,%eax; syscall; pop %rbx; ret
        let m = find_in(&[0x53, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x5b, 0xc3]).unwrap();
        assert_eq!(m.start, BASE + PUSHES + 1);
        assert_eq!(m.relocated(0x2000).unwrap(), [0xb8, 0x27, 0, 0, 0]);
    }

    #[test]
    fn short_moves_are_taken_back_to_a_long_one() {
        // movl $8,(%rsp); mov 0x10(%rdx),%rsi; mov %r9,%rax; syscall
        let code = [
            0xc7, 0x04, 0x24, 8, 0, 0, 0, 0x48, 0x8b, 0x72, 0x10, 0x4c, 0x89, 0xc8, 0x0f, 0x05,
        ];
        let m = find_in(&code).unwrap();
        assert_eq!(m.start, BASE + PUSHES);
        assert_eq!(m.relocated(0x2000).unwrap(), code[..14]);
    }

    #[test]
    fn the_tail_of_a_longer_instruction_is_not_a_mov() {
        // vmovdqu 0x1e0(%r8),%ymm15 ends in b8 e0 01 00 00, like a mov.
        let code = [
            0xc4, 0x41, 0x7e, 0x6f, 0xb8, 0xe0, 0x01, 0x00, 0x00, 0x0f, 0x05,
        ];
        let m = find_in(&code).unwrap();
        assert_eq!(m.start, BASE + PUSHES, "the whole vmovdqu moves");
    }

    #[test]
    fn branches_and_padding_end_the_search() {
        // ret; mov %r9,%rax; syscall: nothing of 5 bytes before the branch.
        assert!(find_in(&[0xc3, 0x4c, 0x89, 0xc8, 0x0f, 0x05]).is_none());
        // nopl (%rax) (padding) before a short mov.
        assert!(find_in(&[0x0f, 0x1f, 0x00, 0x4c, 0x89, 0xc8, 0x0f, 0x05]).is_none());
    }

    #[test]
    fn rip_relative_operands_are_adjusted() {
        // lea 0x100(%rip),%rdi; syscall
        let code = [0x48, 0x8d, 0x3d, 0x00, 0x01, 0, 0, 0x0f, 0x05];
        let m = find_in(&code).unwrap();
        let target = BASE + PUSHES + 7 + 0x100;
        let at = BASE + 0x1000;
        let moved = m.relocated(at).unwrap();
        let disp = i32::from_le_bytes(moved[3..7].try_into().unwrap());
        assert_eq!(at as i64 + 7 + disp as i64, target as i64);
    }

    #[test]
    fn refused_starts_are_passed_over() {
        // mov $0xca,%r9d; mov $1,%edx; mov %r9,%rax; syscall
        let code = [
            0x41, 0xb9, 0xca, 0, 0, 0, 0xba, 1, 0, 0, 0, 0x4c, 0x89, 0xc8, 0x0f, 0x05,
        ];
        let mut all = vec![0x53u8; PUSHES];
        all.extend_from_slice(&code);
        let syscall = BASE + all.len() - 2;
        let mov_edx = BASE + PUSHES + 6;
        let m = find(&all, BASE, syscall, |a| a != mov_edx).unwrap();
        assert_eq!(m.start, BASE + PUSHES);
        assert_eq!(m.relocated(0x2000).unwrap(), code[..14]);
    }

    #[test]
    fn int3_padding_nearby_takes_a_short_jump() {
        // mov %rsi,%r10; mov %rdi,%rdx; syscall; ret; int3 x 6
        let mut code = vec![0x53u8; PUSHES];
        code.extend_from_slice(&[0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0x0f, 0x05, 0xc3]);
        code.extend_from_slice(&[0xcc; 6]);
        let syscall = BASE + PUSHES + 6;
        assert!(find(&code, BASE, syscall, |_| true).is_none());
        assert_eq!(find_padding(&code, BASE, syscall), Some(syscall + 3));
        // Too little padding.
        code.truncate(code.len() - 2);
        assert_eq!(find_padding(&code, BASE, syscall), None);
    }

    #[test]
    fn alignment_nops_after_a_ret_take_a_short_jump() {
        // glibc's read: je +0x17; xor %eax,%eax; syscall; cmp $-4096,%rax;
        // ja ...; ret; then 10 bytes of cs nopw up to a 16-byte boundary.
        let mut code = vec![0x53u8; 32];
        code.extend_from_slice(&[0x74, 0x17, 0x31, 0xc0, 0x0f, 0x05]);
        code.extend_from_slice(&[0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x5b, 0xc3]);
        let pad = BASE + code.len();
        code.extend_from_slice(&[0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0]);
        assert_eq!((BASE + code.len()) % 16, 9, "the test's own layout");
        // Move the whole thing so that the padding ends on a boundary.
        let shift = 16 - 9;
        let mut aligned = vec![0x53u8; shift];
        aligned.extend_from_slice(&code);
        aligned.extend_from_slice(&[0x53; 16]);
        let syscall = BASE + shift + 32 + 4;
        assert!(find(&aligned, BASE, syscall, |_| true).is_none());
        assert_eq!(find_padding(&aligned, BASE, syscall), Some(pad + shift));
        // The same nops reached by falling through are code, not padding.
        let mut fallthrough = aligned.clone();
        fallthrough[shift + 32 + 14] = 0x90; // the ret becomes a nop
        assert_eq!(find_padding(&fallthrough, BASE, syscall), None);
    }

    #[test]
    fn a_branch_into_the_jump_refuses() {
        // jmp to inside the mov (offset 3); mov $0x27,%eax; syscall
        let code = [0xeb, 0x01, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05];
        assert!(find_in(&code).is_none());
    }
}
