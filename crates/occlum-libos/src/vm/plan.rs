//! How a site is rewritten: where its jump goes and what its stub runs.
//! One choice, made on a site's decoded window (`site.rs`), for both a
//! running process (`rewrite.rs`) and a prepatched program (`learned.rs`).

use occlum_pal::fastpath;

use super::site::{self, Decoded};

/// Bytes per stub slot in a stub page (`site::MAX_MOVED` and 13 more for
/// a syscall); the first slot of a page holds the address of the direct
/// entry.
pub(super) const STUB_STRIDE: usize = 64;

/// What a rewritten site's instruction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum SiteKind {
    Syscall,
    Cpuid,
}

impl SiteKind {
    /// Stub slots one stub takes.
    pub(super) fn slots(self) -> usize {
        match self {
            SiteKind::Syscall => 1,
            SiteKind::Cpuid => (site::MAX_MOVED + fastpath::CPUID_STUB_EXTRA).div_ceil(STUB_STRIDE),
        }
    }
}

/// Where a site's jump goes.
pub(super) enum Plan {
    /// Over instructions before the site, which the stub runs first.
    Before(site::Moved),
    /// At padding at this address, reached by a short jump that replaces
    /// the site's instruction itself (`site::Decoded::find_padding`).
    Padding(usize),
    /// At a `cpuid` itself, over the instructions after it, which the
    /// stub runs, up to the address given (`site::Decoded::find_after`).
    After(site::Moved, usize),
}

impl Plan {
    /// How to rewrite the `kind` instruction at `site`, decoded in
    /// `window` (at `lo`): before it (where `prefer` accepts, if it can),
    /// else through padding, else, for a `cpuid` if `after` allows, over
    /// what follows it. `free(at, len)` says whether a jump may take
    /// `[at, at+len)` (it must not share a byte with another site's).
    pub(super) fn find(
        decoded: &Decoded,
        window: &[u8],
        lo: usize,
        (site, kind): (usize, SiteKind),
        free: impl Fn(usize, usize) -> bool,
        prefer: impl Fn(usize) -> bool,
        after: bool,
    ) -> Option<Plan> {
        let moved = decoded
            .find(window, lo, site, |a| free(a, 5) && prefer(a))
            .or_else(|| decoded.find(window, lo, site, |a| free(a, 5)));
        if let Some(m) = moved {
            return Some(Plan::Before(m));
        }
        let pad = decoded
            .find_padding(site)
            .filter(|&p| free(p, 5) && free(site, 2));
        if let Some(pad) = pad {
            return Some(Plan::Padding(pad));
        }
        if kind != SiteKind::Cpuid || !after || !free(site, 5) {
            return None;
        }
        let (m, end) = decoded.find_after(window, lo, site)?;
        Some(Plan::After(m, end))
    }

    /// Where the jump to the stub is written.
    pub(super) fn jump_at(&self, site: usize) -> usize {
        match self {
            Plan::Before(m) => m.start,
            Plan::Padding(pad) => *pad,
            Plan::After(..) => site,
        }
    }

    /// Whether the jump covers what came after the site's instruction: a
    /// thread stopped just after it would resume inside the jump.
    pub(super) fn covers_after(&self) -> bool {
        matches!(self, Plan::After(..))
    }

    /// The code of the stub at `at` (the direct entry's address at
    /// `slot`) for the `kind` instruction at `site`.
    pub(super) fn stub(
        &self,
        (site, kind): (usize, SiteKind),
        at: usize,
        slot: usize,
    ) -> Option<Vec<u8>> {
        let (ret, at64, slot) = (site as u64 + 2, at as u64, slot as u64);
        match (self, kind) {
            (Plan::Before(m), SiteKind::Syscall) => {
                fastpath::stub(at64, &m.relocated(at)?, ret, slot)
            }
            (Plan::Before(m), SiteKind::Cpuid) => {
                fastpath::cpuid_stub(at64, &m.relocated(at)?, &[], ret, slot)
            }
            (Plan::Padding(_), SiteKind::Syscall) => fastpath::stub_with_syscall(at64, ret, slot),
            (Plan::Padding(_), SiteKind::Cpuid) => fastpath::cpuid_stub(at64, &[], &[], ret, slot),
            (Plan::After(m, end), _) => {
                let after = m.relocated(fastpath::cpuid_stub_after(at64, 0) as usize)?;
                fastpath::cpuid_stub(at64, &[], &after, *end as u64, slot)
            }
        }
    }

    /// The jumps to write, in order, for a stub at `stub`: (address,
    /// bytes). Padding gets its jump before the site gets the short jump
    /// there.
    pub(super) fn jumps(&self, site: usize, stub: usize) -> Option<Vec<(usize, Vec<u8>)>> {
        let jump = |at: usize| Some((at, fastpath::jump(at as u64, stub as u64)?.to_vec()));
        Some(match self {
            Plan::Before(m) => vec![jump(m.start)?],
            Plan::Padding(pad) => vec![
                jump(*pad)?,
                (
                    site,
                    fastpath::short_jump(site as u64, *pad as u64)?.to_vec(),
                ),
            ],
            Plan::After(..) => vec![jump(site)?],
        })
    }
}
