//! Making the prepatched copy of a program file for the sites learned or
//! found in it (`learned.rs`): the file's bytes with a jump at each site
//! that can take one, and the stub pages its jumps go to. The analysis is
//! a running process's (`rewrite.rs`, `plan.rs`), made on the file's
//! original bytes at a virtual place of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use occlum_pal::fastpath;
use occlum_pal::sealed::SealedPages;

use super::learned::{Segment, Variant};
use super::plan::{Plan, SiteKind, STUB_STRIDE};
use super::scan::Function;
use super::{page_up, site};

/// Where the analysis places the image (any page-aligned address far from
/// 0 does: only relative positions matter).
const VIRTUAL_BASE: u64 = 1 << 40;

/// A site to prepatch.
#[derive(Clone, Copy, Debug)]
pub(super) struct Site {
    /// Its virtual address (before the load bias).
    pub vaddr: u64,
    pub kind: SiteKind,
    /// The function holding it, where the unwind tables say (`scan.rs`).
    pub function: Option<Function>,
}

/// Bytes decoded after a site whose function is known, for the padding
/// a short jump from the site can reach.
const PADDING_REACH: u64 = 160;

/// The file offset of the `len` bytes at virtual address `vaddr`, if they
/// lie in one executable segment's file bytes; with that segment.
pub(super) fn exec_offset(segments: &[Segment], vaddr: u64, len: u64) -> Option<(u64, &Segment)> {
    segments
        .iter()
        .find(|s| s.exec && s.vaddr <= vaddr && vaddr + len <= s.vaddr + s.filesz)
        .map(|s| (s.offset + (vaddr - s.vaddr), s))
}

/// Most bytes decoded after a site in its function: a site further from
/// its function's end gets the general window.
const MAX_AFTER_IN_FUNCTION: u64 = 4096;

/// The window decoded around the site at `vaddr` in segment `seg`:
/// `[lo, hi)`, and whether `lo` is an instruction boundary. Where the
/// function holding it is known (and not too far off): the whole function,
/// so that every branch in it is seen, and if `padding`, the padding after
/// it up to the next function, as far as a short jump from the site may
/// reach.
fn window(
    seg: &Segment,
    vaddr: u64,
    function: Option<Function>,
    padding: bool,
) -> (u64, u64, bool) {
    let seg_end = seg.vaddr + seg.filesz;
    let general = (
        vaddr
            .saturating_sub(site::DECODE_BEFORE as u64)
            .max(seg.vaddr),
        (vaddr + 2 + site::DECODE_AFTER as u64).min(seg_end),
        false,
    );
    match function {
        Some(f)
            if seg.vaddr <= f.start
                && f.start <= vaddr
                && vaddr < f.end
                && vaddr - f.start <= site::DECODE_BEFORE as u64
                && f.end - vaddr <= MAX_AFTER_IN_FUNCTION =>
        {
            let reach = (vaddr + 2 + PADDING_REACH).min(f.next);
            let hi = if padding { f.end.max(reach) } else { f.end };
            (f.start, hi.min(seg_end), true)
        }
        _ => general,
    }
}

/// The jumps and stubs planned for a copy.
struct Planned {
    /// Jumps to write into the copy: file offset and bytes.
    jumps: Vec<(usize, Vec<u8>)>,
    stubs: Vec<u8>,
    /// Virtual addresses where jumps go, with the bytes they replace.
    patched: Vec<(u64, Vec<u8>)>,
    /// Virtual addresses after each rewritten instruction.
    rets: Vec<u64>,
}

/// Makes the prepatched copy of `bytes` (a program image with `segments`,
/// the lowest at `lo`) for `sites` (in address order); `None` if no site
/// takes a jump.
pub(super) fn build(
    bytes: &[u8],
    segments: &[Segment],
    lo: u64,
    sites: &[Site],
) -> Option<Variant> {
    let mut planned = plan(bytes, segments, lo, sites)?;
    // The file's bytes between the jumps, and the jumps (no two overlap).
    planned.jumps.sort_unstable_by_key(|j| j.0);
    let mut pieces: Vec<&[u8]> = Vec::with_capacity(2 * planned.jumps.len() + 1);
    let mut at = 0;
    for (o, j) in &planned.jumps {
        pieces.push(&bytes[at..*o]);
        pieces.push(j);
        at = o + j.len();
    }
    pieces.push(&bytes[at..]);
    let pages = SealedPages::from_pieces(&pieces);
    let pages = match pages {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::debug!("cannot seal a prepatched program: {e}");
            return None;
        }
    };
    let stub_len = planned.stubs.len();
    let stubs = Arc::new(SealedPages::new(&planned.stubs).ok()?);
    tracing::debug!(
        "prepatched a program: {} of {} sites, {stub_len} bytes of stubs",
        planned.rets.len(),
        sites.len()
    );
    Some(Variant {
        pages,
        stubs,
        stub_len,
        patched: planned.patched,
        rets: planned.rets,
    })
}

/// How many of `sites` a copy of `bytes` would rewrite.
pub(super) fn planned(bytes: &[u8], segments: &[Segment], lo: u64, sites: &[Site]) -> usize {
    plan(bytes, segments, lo, sites).map_or(0, |p| p.rets.len())
}

/// Plans the jumps and stubs of a copy of `bytes` for `sites`; `None` if no
/// site takes a jump.
fn plan(bytes: &[u8], segments: &[Segment], lo: u64, sites: &[Site]) -> Option<Planned> {
    let slots: usize = sites.iter().map(|s| s.kind.slots()).sum();
    let stub_len = page_up((slots + 1) * STUB_STRIDE)?;
    let stub_base = (VIRTUAL_BASE + lo) as usize - stub_len;
    // Jumps to write into the copy: file offset and bytes.
    let mut jumps_at: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut stubs = vec![0u8; stub_len];
    stubs[..8].copy_from_slice(&fastpath::entry_address().to_le_bytes());
    let mut used = STUB_STRIDE;
    let (mut patched, mut rets) = (Vec::new(), Vec::new());
    // Where a jump or a short jump was written, by virtual address: its
    // end, by its start (no two overlap).
    let mut written: BTreeMap<u64, u64> = BTreeMap::new();
    let at = |v: usize| v as u64 - VIRTUAL_BASE;
    for &Site {
        vaddr,
        kind,
        function,
    } in sites
    {
        let Some((off, seg)) = exec_offset(segments, vaddr, 2) else {
            continue;
        };
        let expect: &[u8] = match kind {
            SiteKind::Syscall => &[0x0f, 0x05],
            SiteKind::Cpuid => &[0x0f, 0xa2],
        };
        if bytes.get(off as usize..off as usize + 2) != Some(expect) {
            continue;
        }
        let site_at = (VIRTUAL_BASE + vaddr) as usize;
        let ret = site_at + 2;
        let stub_at = stub_base + used;
        let size = kind.slots() * STUB_STRIDE;
        if used + size > stub_len {
            break;
        }
        // Jumps of two sites never share a byte. No thread runs the
        // program yet: a cpuid may take the jump itself.
        let free = |a: usize, n: usize| {
            let (a, e) = (at(a), at(a) + n as u64);
            written.range(..e).next_back().is_none_or(|(_, &t)| t <= a)
        };
        let site = (site_at, kind);
        let find = |padding: bool| {
            let (lo, hi, from_boundary) = window(seg, vaddr, function, padding);
            let file_lo = (seg.offset + (lo - seg.vaddr)) as usize;
            let lo_at = (VIRTUAL_BASE + lo) as usize;
            // The original bytes: a jump's leftovers would throw the
            // decoding out of step.
            let window = &bytes[file_lo..file_lo + (hi - lo) as usize];
            let decoded = if from_boundary {
                site::decode_from_boundary(window, lo_at, site_at)
            } else {
                site::decode(window, lo_at, site_at)
            }?;
            Plan::find(&decoded, window, lo_at, site, free, |_| true, true)
        };
        // Most sites have what to move before them, in their function.
        let plan = find(false).or_else(|| function.and_then(|_| find(true)));
        let Some(plan) = plan else {
            continue;
        };
        let (Some(code), Some(jumps)) = (
            plan.stub(site, stub_at, stub_base),
            plan.jumps(site_at, stub_at),
        ) else {
            continue;
        };
        if code.len() > size {
            continue;
        }
        let mappable = |a: usize, n: usize| exec_offset(segments, at(a), n as u64).is_some();
        if jumps.iter().any(|(a, j)| !mappable(*a, j.len())) {
            continue;
        }
        tracing::trace!(
            "prepatching {kind:?} at {vaddr:#x}: jumps {:x?}, stub at {:#x}",
            jumps.iter().map(|(a, j)| (at(*a), j)).collect::<Vec<_>>(),
            at(stub_at) as i64
        );
        for (a, j) in &jumps {
            let Some((o, _)) = exec_offset(segments, at(*a), j.len() as u64) else {
                continue;
            };
            let o = o as usize..o as usize + j.len();
            patched.push((at(*a), bytes[o.clone()].to_vec()));
            jumps_at.push((o.start, j.clone()));
            written.insert(at(*a), at(*a) + j.len() as u64);
        }
        stubs[used..used + code.len()].copy_from_slice(&code);
        used += size;
        rets.push(at(ret));
    }
    if rets.is_empty() {
        return None;
    }
    Some(Planned {
        jumps: jumps_at,
        stubs,
        patched,
        rets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sites learned at traps.
    fn learned_sites(sites: &[(u64, SiteKind)]) -> Vec<Site> {
        sites
            .iter()
            .map(|&(vaddr, kind)| Site {
                vaddr,
                kind,
                function: None,
            })
            .collect()
    }

    /// A 2-page "program": one executable segment at vaddr 0x1000 (file
    /// offset 0x1000) holding `code` at 0x1100, after `push %rbx`es.
    fn program(code: &[u8]) -> (Vec<u8>, Vec<Segment>) {
        let mut bytes = vec![0x53u8; 0x2000];
        bytes[0x1100..0x1100 + code.len()].copy_from_slice(code);
        let seg = Segment {
            vaddr: 0x1000,
            offset: 0x1000,
            filesz: 0x1000,
            exec: true,
        };
        (bytes, vec![seg])
    }

    #[test]
    fn a_learned_syscall_site_is_prepatched_with_its_stub() {
        // mov $0x27,%eax; syscall; cpuid (at 0x1107)
        let (bytes, segs) = program(&[0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x0f, 0xa2]);
        let sites = [(0x1105, SiteKind::Syscall)];
        let v = build(&bytes, &segs, 0x1000, &learned_sites(&sites)).expect("a variant");
        assert_eq!(v.patched, [(0x1100, vec![0xb8, 0x27, 0, 0, 0])]);
        assert_eq!(v.rets, [0x1107]);
        let patched = v.pages.bytes();
        assert_eq!(patched[0x1100], 0xe9, "a jmp at the mov");
        let rel = i32::from_le_bytes(patched[0x1101..0x1105].try_into().unwrap());
        let stub = 0x1105 + rel as i64;
        assert_eq!(stub, 0x1000 - v.stub_len as i64 + STUB_STRIDE as i64);
        let stubs = v.stubs.bytes();
        assert_eq!(stubs[..8], fastpath::entry_address().to_le_bytes());
        assert_eq!(stubs[STUB_STRIDE..STUB_STRIDE + 5], [0xb8, 0x27, 0, 0, 0]);
        assert_eq!(
            patched[0x1105..0x1109],
            [0x0f, 0x05, 0x0f, 0xa2],
            "the rest as it was"
        );
    }

    #[test]
    fn sites_whose_instruction_differs_are_left_alone() {
        let (bytes, segs) = program(&[0xb8, 0x27, 0, 0, 0, 0x0f, 0x05]);
        // Not a cpuid there; not in an executable segment.
        let sites = [(0x1105, SiteKind::Cpuid), (0x105, SiteKind::Syscall)];
        assert!(build(&bytes, &segs, 0x1000, &learned_sites(&sites)).is_none());
    }

    #[test]
    fn a_jump_written_nearby_does_not_throw_the_decoding_out_of_step() {
        // From glibc's get_common_indices: two cpuid sites 45 bytes apart;
        // the first one's jump leaves a byte of `mov %edx,...(%rip)`, in
        // which the second one's decoding would go astray and put its jump
        // inside `mov $0xd,%eax`.
        let code = [
            0x89, 0x1d, 0x6d, 0x34, 0x0c, 0x00, 0x89, 0x15, 0x6f, 0x34, 0x0c, 0x00, 0x0f, 0xa2,
            0x89, 0x05, 0xfb, 0x34, 0x0c, 0x00, 0x89, 0x1d, 0xf9, 0x34, 0x0c, 0x00, 0x89, 0x0d,
            0xf7, 0x34, 0x0c, 0x00, 0x89, 0x15, 0xf5, 0x34, 0x0c, 0x00, 0x83, 0x3d, 0x12, 0x34,
            0x0c, 0x00, 0x0c, 0x7e, 0x24, 0xb8, 0x0d, 0, 0, 0, 0xb9, 0x01, 0, 0, 0, 0x0f, 0xa2,
        ];
        let (bytes, segs) = program(&code);
        let sites = [(0x110c, SiteKind::Cpuid), (0x1139, SiteKind::Cpuid)];
        let v = build(&bytes, &segs, 0x1000, &learned_sites(&sites)).expect("a variant");
        let starts: Vec<u64> = v.patched.iter().map(|p| p.0).collect();
        assert_eq!(starts, [0x1106, 0x1134], "each jump at an instruction");
    }

    /// A function known from unwind tables.
    fn function(start: u64, end: u64, next: u64) -> Option<Function> {
        Some(Function { start, end, next })
    }

    #[test]
    fn a_known_function_bounds_the_decoded_window() {
        let seg = Segment {
            vaddr: 0x1000,
            offset: 0x1000,
            filesz: 0x4000,
            exec: true,
        };
        // From the function's start to its end, and with the padding a
        // short jump from the site reaches, up to the next function.
        let far = u64::MAX;
        assert_eq!(
            window(&seg, 0x1200, function(0x1180, 0x1300, far), true),
            (0x1180, 0x1300, true)
        );
        assert_eq!(
            window(&seg, 0x1200, function(0x1180, 0x1210, far), true),
            (0x1180, 0x1202 + PADDING_REACH, true)
        );
        assert_eq!(
            window(&seg, 0x1200, function(0x1180, 0x1210, 0x1220), true),
            (0x1180, 0x1220, true)
        );
        assert_eq!(
            window(&seg, 0x1200, function(0x1180, 0x1210, far), false),
            (0x1180, 0x1210, true)
        );
        // A function starting too far back or ending too far on, or none
        // known: the general window, whose start is not known to be a
        // boundary.
        let general = (
            0x3000 - site::DECODE_BEFORE as u64,
            0x3002 + site::DECODE_AFTER as u64,
            false,
        );
        assert_eq!(
            window(&seg, 0x3000, function(0x1000, 0x3100, far), true),
            general
        );
        assert_eq!(
            window(&seg, 0x3000, function(0x2f00, 0x5000, far), true),
            general
        );
        assert_eq!(window(&seg, 0x3000, None, false), general);
    }

    /// [`program`] with `filler` instead of `push %rbx` before the code.
    fn program_after(filler: u8, code: &[u8]) -> (Vec<u8>, Vec<Segment>) {
        let (mut bytes, segs) = program(code);
        bytes[0x1000..0x1100].fill(filler);
        (bytes, segs)
    }

    #[test]
    fn a_site_found_in_a_known_function_is_decoded_from_its_start() {
        // After 5-byte `mov $imm,%eax` instructions that run into it (so
        // that no decoding from before falls in step at the site): mov
        // $0x27,%eax; syscall; ret, as its own function.
        let code = [0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3];
        let (bytes, segs) = program_after(0xb8, &code);
        let learned = Site {
            vaddr: 0x1105,
            kind: SiteKind::Syscall,
            function: None,
        };
        assert!(build(&bytes, &segs, 0x1000, &[learned]).is_none());
        let found = Site {
            function: function(0x1100, 0x1108, 0x1110),
            ..learned
        };
        let v = build(&bytes, &segs, 0x1000, &[found]).expect("a variant");
        assert_eq!(v.patched, [(0x1100, vec![0xb8, 0x27, 0, 0, 0])]);
        assert_eq!(v.rets, [0x1107]);
    }

    #[test]
    fn padding_is_only_looked_for_before_the_next_function() {
        // mov %rsi,%r10; mov %rdi,%rdx; syscall; ret (nothing of 5 bytes
        // to move), then int3 padding.
        let mut code = vec![0x49, 0x89, 0xf2, 0x48, 0x89, 0xfa, 0x0f, 0x05, 0xc3];
        code.extend_from_slice(&[0xcc; 7]);
        let (bytes, segs) = program(&code);
        let site = |next| Site {
            vaddr: 0x1106,
            kind: SiteKind::Syscall,
            function: function(0x1100, 0x1109, next),
        };
        let v = build(&bytes, &segs, 0x1000, &[site(0x1110)]).expect("a variant");
        let mut starts: Vec<u64> = v.patched.iter().map(|p| p.0).collect();
        starts.sort_unstable();
        assert_eq!(starts, [0x1106, 0x1109], "a short jump into the padding");
        // The same bytes as the start of the next function are no padding.
        assert!(build(&bytes, &segs, 0x1000, &[site(0x1109)]).is_none());
    }
}
