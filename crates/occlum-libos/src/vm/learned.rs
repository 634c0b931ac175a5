//! Sites learned per program file: a program started again comes with the
//! sites its earlier runs rewrote already rewritten.
//!
//! Every process rewrites the sites it traps at (`rewrite.rs`), which costs
//! it a trap (and for `cpuid`, a VM exit) per site first. Sites in a
//! program image loaded from sealed pages (`fs/program.rs`) are remembered
//! by their virtual address in the image. When the program is loaded
//! again, the loader maps a prepatched copy of the file instead (sealed as
//! well, so every process shares it) with the stubs in sealed pages at a
//! fixed place just below the image: the jumps' and stubs' displacements
//! depend only on where sites and stubs lie relative to each other, not on
//! where the image lands. The copy is made by the same analysis as a
//! rewrite in a process, on the file's bytes, so a site is rewritten in it
//! only where it would be in a running process; the address of a learned
//! site is one the kernel reported as an instruction boundary in these
//! same bytes, and the instruction there is checked again. Shared
//! libraries that a dynamic loader maps are learned and prepatched the same
//! way (`library.rs`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use occlum_pal::fastpath;
use occlum_pal::sealed::SealedPages;

use super::plan::{Plan, SiteKind, STUB_STRIDE};
use super::{page_up, site};
use crate::sync::lock;

/// A program whose armed starts find no `cpuid` fault is armed again at
/// every this many starts.
const REARM_EVERY: u64 = 16;
/// Most sites remembered per file.
const MAX_SITES: usize = 4096;
/// Most prepatched copies made of one file (each when more sites were
/// learned since the last).
const MAX_BUILDS: u32 = 4;
/// Largest file copied (larger programs keep rewriting per process).
const MAX_FILE: usize = 64 << 20;
/// Where the analysis places the image (any page-aligned address far from
/// 0 does: only relative positions matter).
const VIRTUAL_BASE: u64 = 1 << 40;

/// A loadable segment of a program image, as the loader reads it.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Virtual address (before the load bias).
    pub vaddr: u64,
    /// File offset.
    pub offset: u64,
    /// Bytes from the file.
    pub filesz: u64,
    /// Whether it is executable.
    pub exec: bool,
}

/// A prepatched copy of a program file and its stubs.
pub struct Variant {
    /// The file's bytes with the jumps written.
    pub pages: Arc<SealedPages>,
    /// The stub pages, mapped `stub_len` bytes below the image's lowest
    /// page; the first 8 bytes hold the direct entry's address.
    pub stubs: Arc<SealedPages>,
    /// Bytes of stub pages.
    pub stub_len: usize,
    /// Virtual addresses (before the load bias) where jumps were written,
    /// with the bytes they replaced.
    pub patched: Vec<(u64, Vec<u8>)>,
    /// Virtual addresses after each rewritten instruction.
    pub rets: Vec<u64>,
}

#[derive(Default)]
struct FileSites {
    /// Times it was loaded as a program.
    starts: u64,
    /// Starts that served `cpuid` from faults.
    armed_starts: u64,
    /// `cpuid` faults in its processes since the last armed start.
    cpuid_faults: u64,
    sites: BTreeSet<(u64, SiteKind)>,
    variant: Option<Arc<Variant>>,
    built_with: usize,
    builds: u32,
}

static FILES: Mutex<Option<HashMap<u64, FileSites>>> = Mutex::new(None);

/// Counts a start of the program whose sealed pages are `file`; returns
/// whether this start serves `cpuid` from faults: a program started before
/// (its sites are then worth rewriting: a later run comes with them
/// rewritten), unless its last such start saw no `cpuid` fault (a musl
/// program never runs one; a glibc program's sites may all come
/// prepatched): in a VM every switch between a host thread with CPUID
/// faulting and one without writes an MSR, which is a costly exit.
pub fn started(file: u64) -> bool {
    let mut files = lock(&FILES);
    let entry = files
        .get_or_insert_with(HashMap::new)
        .entry(file)
        .or_default();
    entry.starts += 1;
    // Now and then again, for sites a quiet start did not reach.
    let again = entry.starts.is_multiple_of(REARM_EVERY);
    let arm = entry.starts > 1 && (entry.armed_starts == 0 || entry.cpuid_faults > 0 || again);
    if arm {
        entry.armed_starts += 1;
        entry.cpuid_faults = 0;
    }
    arm
}

/// Counts a `cpuid` fault in a process started from `file` with faulting.
pub fn cpuid_faulted(file: u64) {
    if let Some(entry) = lock(&FILES).get_or_insert_with(HashMap::new).get_mut(&file) {
        entry.cpuid_faults += 1;
    }
}

/// Remembers that the instruction at virtual address `vaddr` of the
/// program file whose sealed pages are `file` was rewritten.
pub(super) fn learn(file: u64, vaddr: u64, kind: SiteKind) {
    let mut files = lock(&FILES);
    let sites = &mut files
        .get_or_insert_with(HashMap::new)
        .entry(file)
        .or_default()
        .sites;
    if sites.len() < MAX_SITES {
        sites.insert((vaddr, kind));
    }
}

/// The prepatched copy of `file` (a program image with `segments`, the
/// lowest at `lo`) for the sites learned so far, made now if sites were
/// learned since the last copy; `None` if none were.
pub fn variant(file: &Arc<SealedPages>, segments: &[Segment], lo: u64) -> Option<Arc<Variant>> {
    if !fastpath::enabled() || file.len() > MAX_FILE {
        return None;
    }
    let sites: Vec<(u64, SiteKind)> = {
        let mut files = lock(&FILES);
        let entry = files.get_or_insert_with(HashMap::new).get_mut(&file.id())?;
        if entry.sites.len() == entry.built_with || entry.builds >= MAX_BUILDS {
            return entry.variant.clone();
        }
        entry.built_with = entry.sites.len();
        entry.builds += 1;
        entry.sites.iter().copied().collect()
    };
    let built = build(file.bytes(), segments, lo, &sites).map(Arc::new);
    let mut files = lock(&FILES);
    let entry = files
        .get_or_insert_with(HashMap::new)
        .entry(file.id())
        .or_default();
    if built.is_some() {
        entry.variant = built;
    }
    entry.variant.clone()
}

/// The file offset of the `len` bytes at virtual address `vaddr`, if they
/// lie in one executable segment's file bytes; with that segment.
fn exec_offset(segments: &[Segment], vaddr: u64, len: u64) -> Option<(u64, &Segment)> {
    segments
        .iter()
        .find(|s| s.exec && s.vaddr <= vaddr && vaddr + len <= s.vaddr + s.filesz)
        .map(|s| (s.offset + (vaddr - s.vaddr), s))
}

/// Makes the prepatched copy of `bytes` for `sites` (in address order).
fn build(
    bytes: &[u8],
    segments: &[Segment],
    lo: u64,
    sites: &[(u64, SiteKind)],
) -> Option<Variant> {
    let slots: usize = sites.iter().map(|s| s.1.slots()).sum();
    let stub_len = page_up((slots + 1) * STUB_STRIDE)?;
    let stub_base = (VIRTUAL_BASE + lo) as usize - stub_len;
    let mut file = bytes.to_vec();
    let mut stubs = vec![0u8; stub_len];
    stubs[..8].copy_from_slice(&fastpath::entry_address().to_le_bytes());
    let mut used = STUB_STRIDE;
    let (mut patched, mut rets) = (Vec::new(), Vec::new());
    // Where a jump or a short jump was written, by virtual address.
    let mut written: Vec<(u64, u64)> = Vec::new();
    let at = |v: usize| v as u64 - VIRTUAL_BASE;
    for &(vaddr, kind) in sites {
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
        let seg_lo = VIRTUAL_BASE + seg.vaddr;
        let seg_hi = seg_lo + seg.filesz;
        let site_at = (VIRTUAL_BASE + vaddr) as usize;
        let lo_at = (site_at as u64 - site::DECODE_BEFORE as u64).max(seg_lo) as usize;
        let hi_at = (site_at as u64 + 2 + site::DECODE_AFTER as u64).min(seg_hi) as usize;
        let file_lo = (seg.offset + (lo_at as u64 - seg_lo)) as usize;
        // The original bytes: a jump's leftovers would throw the decoding
        // out of step.
        let window = &bytes[file_lo..file_lo + (hi_at - lo_at)];
        let Some(decoded) = site::decode(window, lo_at, site_at) else {
            continue;
        };
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
            !written.iter().any(|&(s, t)| s < e && a < t)
        };
        let site = (site_at, kind);
        let Some(plan) = Plan::find(&decoded, window, lo_at, site, free, |_| true, true) else {
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
            file[o].copy_from_slice(j);
            written.push((at(*a), at(*a) + j.len() as u64));
        }
        stubs[used..used + code.len()].copy_from_slice(&code);
        used += size;
        rets.push(at(ret));
    }
    if rets.is_empty() {
        return None;
    }
    let pages = match SealedPages::new(&file) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            tracing::debug!("cannot seal a prepatched program: {e}");
            return None;
        }
    };
    let stubs = Arc::new(SealedPages::new(&stubs).ok()?);
    tracing::debug!(
        "prepatched a program: {} of {} learned sites, {stub_len} bytes of stubs",
        rets.len(),
        sites.len()
    );
    Some(Variant {
        pages,
        stubs,
        stub_len,
        patched,
        rets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuid_faulting_stays_on_only_while_it_finds_cpuids() {
        // A musl-like program: its first armed start sees no cpuid.
        let quiet = u64::MAX - 1;
        assert!(!started(quiet), "a first start is not armed");
        assert!(started(quiet), "the second start learns");
        assert!(!started(quiet), "no cpuid seen: no more faulting");
        for _ in 4..REARM_EVERY {
            assert!(!started(quiet));
        }
        assert!(started(quiet), "armed again now and then");
        assert!(!started(quiet));
        // A program whose starts keep faulting (sites in a library).
        let busy = u64::MAX - 2;
        assert!(!started(busy));
        assert!(started(busy));
        cpuid_faulted(busy);
        assert!(started(busy), "it faulted: armed again");
        assert!(!started(busy), "the last armed start was quiet");
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
        let v = build(&bytes, &segs, 0x1000, &sites).expect("a variant");
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
        assert!(build(&bytes, &segs, 0x1000, &sites).is_none());
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
        let v = build(&bytes, &segs, 0x1000, &sites).expect("a variant");
        let starts: Vec<u64> = v.patched.iter().map(|p| p.0).collect();
        assert_eq!(starts, [0x1106, 0x1134], "each jump at an instruction");
    }
}
