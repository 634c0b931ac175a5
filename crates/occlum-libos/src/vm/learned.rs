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
//! same bytes, and the instruction there is checked again (the copy is
//! made by `prepatch.rs`). Shared libraries that a dynamic loader maps are
//! learned and prepatched the same way (`library.rs`). Shared code (those
//! libraries and interpreters) is also searched for sites before its first
//! run (`scan.rs`), so that even its first process finds them prepatched.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use occlum_pal::fastpath;
use occlum_pal::sealed::SealedPages;

use super::plan::SiteKind;
use super::prepatch::{self, Site};
use super::scan;
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
/// Largest shared object searched for sites before it runs (`scan.rs`):
/// its copy costs about 1 ms per 1.5 MB at its first mapping, which pays
/// for itself in a C library (its start-up's sites would trap once each),
/// not in a large library that makes few syscalls itself.
const MAX_SCANNED: usize = 4 << 20;
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

/// Where a program image's parts are, as the loader reads them.
pub struct Layout {
    /// Its loadable segments.
    pub segments: Vec<Segment>,
    /// Its lowest page (before the load bias).
    pub lo: u64,
    /// Where its `.eh_frame_hdr` is (`PT_GNU_EH_FRAME`): address and size.
    pub eh_frame_hdr: Option<(u64, u64)>,
}

impl Layout {
    /// Whether every part lies below 2^47 (user space), so that the
    /// analysis's addresses cannot overflow on a file's odd values.
    fn fits(&self) -> bool {
        const TOP: u64 = 1 << 47;
        let below = |at: u64, len: u64| at.checked_add(len).is_some_and(|e| e <= TOP);
        self.segments.iter().all(|s| below(s.vaddr, s.filesz))
            && self.eh_frame_hdr.is_none_or(|(at, len)| below(at, len))
    }
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
    /// Whether its code was searched for sites (`scan.rs`).
    scanned: bool,
    /// The functions holding the sites found so, by site.
    functions: HashMap<u64, scan::Function>,
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

/// The prepatched copy of `file` (a program image laid out as `layout`)
/// for the sites learned so far, made now if sites were learned since the
/// last copy; `None` if none were. The sites of `shared` code (libraries
/// and interpreters, which many programs run and each run would otherwise
/// find by trapping) are searched for at its first copy (`scan.rs`).
pub fn variant(file: &Arc<SealedPages>, layout: &Layout, shared: bool) -> Option<Arc<Variant>> {
    if !fastpath::enabled() || file.len() > MAX_FILE || !layout.fits() {
        return None;
    }
    if shared && file.len() <= MAX_SCANNED {
        scan_once(file, layout);
    }
    let sites: Vec<Site> = {
        let mut files = lock(&FILES);
        let entry = files.get_or_insert_with(HashMap::new).get_mut(&file.id())?;
        if entry.sites.len() == entry.built_with || entry.builds >= MAX_BUILDS {
            return entry.variant.clone();
        }
        entry.built_with = entry.sites.len();
        entry.builds += 1;
        let functions = &entry.functions;
        entry
            .sites
            .iter()
            .map(|&(vaddr, kind)| Site {
                vaddr,
                kind,
                function: functions.get(&vaddr).copied(),
            })
            .collect()
    };
    let built = prepatch::build(file.bytes(), &layout.segments, layout.lo, &sites).map(Arc::new);
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

/// How many sites a search of `bytes` (shared code laid out as `layout`)
/// finds, and how many of them its prepatched copy would take (no copy is
/// made): the search and the planning on bytes an attacker may control.
pub fn search_and_plan(bytes: &[u8], layout: &Layout) -> (usize, usize) {
    if !layout.fits() {
        return (0, 0);
    }
    let sites: Vec<Site> = scan::sites(bytes, layout)
        .into_iter()
        .map(|(vaddr, kind, function)| Site {
            vaddr,
            kind,
            function: Some(function),
        })
        .collect();
    let taken = prepatch::planned(bytes, &layout.segments, layout.lo, &sites);
    (sites.len(), taken)
}

/// Adds the sites found in `file`'s code (`scan.rs`) to those learned, the
/// first time it is asked.
fn scan_once(file: &SealedPages, layout: &Layout) {
    {
        let mut files = lock(&FILES);
        let entry = files
            .get_or_insert_with(HashMap::new)
            .entry(file.id())
            .or_default();
        if std::mem::replace(&mut entry.scanned, true) {
            return;
        }
    }
    let began = std::time::Instant::now();
    let found = scan::sites(file.bytes(), layout);
    tracing::debug!(
        "found {} sites in the code of a shared object of {} bytes in {:?}",
        found.len(),
        file.len(),
        began.elapsed()
    );
    let mut files = lock(&FILES);
    let entry = files
        .get_or_insert_with(HashMap::new)
        .entry(file.id())
        .or_default();
    // `cpuid` runs on the CPU unless the LibOS serves it.
    let cpuid = occlum_pal::cpuid::enabled();
    for (vaddr, kind, function) in found {
        if kind == SiteKind::Cpuid && !cpuid {
            continue;
        }
        if entry.sites.len() >= MAX_SITES {
            break;
        }
        entry.sites.insert((vaddr, kind));
        entry.functions.insert(vaddr, function);
    }
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

    #[test]
    fn parts_beyond_user_space_are_not_analysed() {
        // A segment near the top of the address space (`ElfImage::parse`
        // takes it): the analysis's addresses would overflow.
        let bytes = vec![0x0f, 0x05, 0xc3, 0];
        let layout = Layout {
            segments: vec![Segment {
                vaddr: u64::MAX - 0x1000,
                offset: 0,
                filesz: 4,
                exec: true,
            }],
            lo: u64::MAX - 0x1fff,
            eh_frame_hdr: Some((u64::MAX - 0x1000, 4)),
        };
        assert!(!layout.fits());
        assert_eq!(search_and_plan(&bytes, &layout), (0, 0));
    }
}
