//! Switching an address space out of the user region and back in (see
//! `domain.rs`), and the copy of an address space that a `fork` child gets.
//!
//! Private pages move with `mremap` (page-table entries, not bytes). Shared
//! memory and sealed pages do not move: they are unmapped when the space
//! leaves and mapped again when it comes back, since they live in host
//! memfds that every mapping of them shares.

use occlum_pal::parked::ParkedPages;

use super::{private_pieces, VmSpace, NEXT_ID};
use crate::{Errno, Result};

use std::sync::atomic::{AtomicUsize, Ordering};

/// A mapping of sealed pages: (start, end, protection, sealed pages id,
/// offset in them).
pub(super) type SealedMap = (usize, usize, u32, u64, usize);

/// Bytes of memory that fork copies hold, in all: at most the size of the
/// user region (`resource_limits.user_space_size`), so that fork bombs and
/// large forks end with `ENOMEM` for the guest instead of exhausting the
/// host.
pub(super) static FORK_COPIES: AtomicUsize = AtomicUsize::new(0);

impl VmSpace {
    /// The ranges whose pages do not move: shared memory, sealed pages and
    /// file pages past the end of the file (inaccessible, empty).
    fn unmoved_ranges(&self) -> Vec<(usize, usize)> {
        let mut r: Vec<(usize, usize)> = self.shared.iter().map(|m| (m.start, m.end)).collect();
        r.extend(self.backings.iter().map(|b| (b.start, b.end)));
        r.extend(
            self.file_maps
                .iter()
                .filter(|m| m.valid_end < m.end)
                .map(|m| (m.valid_end, m.end)),
        );
        r
    }

    /// The private pieces of every mapping, with their protection.
    fn private_ranges(&self) -> Vec<(usize, usize, u32)> {
        let unmoved = self.unmoved_ranges();
        self.vmas
            .iter()
            .flat_map(|v| {
                private_pieces(v.start, v.end, &unmoved)
                    .into_iter()
                    .map(move |(s, e)| (s, e, v.prot))
            })
            .collect()
    }

    /// Moves the space out of the region (its domain's next member comes
    /// in); returns the ranges it leaves, still mapped (empty, or shared
    /// memory and sealed pages), for [`VmSpace::clear_vacated`] once the
    /// next member is in. On failure the space stays in the region, whole.
    pub(super) fn park_out(&mut self) -> Result<Vec<(usize, usize)>> {
        if self.parked.is_some() {
            return Ok(Vec::new());
        }
        let mut parked: Vec<ParkedPages> = Vec::new();
        let private = self.private_ranges();
        for &(s, e, _) in &private {
            match self.space.park(s, e - s) {
                Ok(p) => parked.extend(p),
                Err(err) => {
                    for p in parked {
                        if let Err(e) = self.space.unpark(p) {
                            tracing::error!("cannot put back parked pages: {e}");
                        }
                    }
                    return Err(err);
                }
            }
        }
        self.parked = Some(parked);
        let mut vacated: Vec<(usize, usize)> = private.iter().map(|&(s, e, _)| (s, e)).collect();
        vacated.extend(self.unmoved_ranges());
        Ok(vacated)
    }

    /// Makes the parts of `vacated` (left by the member switched out) that
    /// this space does not map inaccessible again.
    pub(super) fn clear_vacated(&self, vacated: &[(usize, usize)]) {
        let mine: Vec<(usize, usize)> = self.vmas.iter().map(|v| (v.start, v.end)).collect();
        for &(s, e) in vacated {
            for (a, b) in private_pieces(s, e, &mine) {
                if let Err(err) = self.space.unmap(a, b - a) {
                    tracing::error!("cannot clear {a:#x}..{b:#x} of the user region: {err}");
                }
            }
        }
    }

    /// Its mappings of sealed pages, as the region holds them while it is
    /// in: (start, end, protection, sealed pages id, offset).
    pub(super) fn sealed_maps(&self) -> Vec<SealedMap> {
        let mut out = Vec::new();
        for v in self.vmas.iter() {
            for b in &self.backings {
                let (s, e) = (b.start.max(v.start), b.end.min(v.end));
                if s < e {
                    out.push((s, e, v.prot, b.pages.id(), b.offset + (s - b.start)));
                }
            }
        }
        out
    }

    /// Puts the space back into the region. Its mappings of sealed pages
    /// that are among `in_place` (the outgoing member's: a fork child's
    /// program and libraries are its parent's) are there already.
    pub(super) fn park_in(&mut self, in_place: &[SealedMap]) -> Result<()> {
        let Some(parked) = self.parked.take() else {
            return Ok(());
        };
        let mut result = Ok(());
        for p in parked {
            if let Err(e) = self.space.unpark(p) {
                result = Err(e);
            }
        }
        for v in self.vmas.iter() {
            for b in &self.backings {
                let (s, e) = (b.start.max(v.start), b.end.min(v.end));
                let offset = b.offset + (s - b.start);
                if s < e && !in_place.contains(&(s, e, v.prot, b.pages.id(), offset)) {
                    let r = self.space.map_sealed(s, e - s, v.prot, &b.pages, offset);
                    result = result.and(r);
                }
            }
            for m in &self.shared {
                let (s, e) = (m.start.max(v.start), m.end.min(v.end));
                if s < e {
                    let offset = m.offset + (s - m.start) as u64;
                    let r = self.space.map_shared(s, e - s, v.prot, &m.mem, offset);
                    result = result.and(r);
                }
            }
        }
        for m in &self.file_maps {
            if m.valid_end < m.end {
                result = result.and(self.space.unmap(m.valid_end, m.end - m.valid_end));
            }
        }
        result
    }

    /// A copy of this address space for a `fork` child: same mappings,
    /// a copy of the private pages, the same shared memory; it joins this
    /// space's domain, parked.
    pub fn fork_copy(&self) -> Result<VmSpace> {
        if self.parked.is_some() {
            return Err(Errno::EFAULT);
        }
        let mut parked = Vec::new();
        for (s, e, prot) in self.private_ranges() {
            parked.push(self.space.copy_out(s, e - s, prot)?);
        }
        let bytes: usize = parked.iter().map(ParkedPages::copied).sum();
        let before = FORK_COPIES.fetch_add(bytes, Ordering::Relaxed);
        if before + bytes > self.space.size() {
            FORK_COPIES.fetch_sub(bytes, Ordering::Relaxed);
            return Err(Errno::ENOMEM);
        }
        self.domain.add_member();
        Ok(VmSpace {
            space: self.space,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            domain: self.domain.clone(),
            vmas: self.vmas.clone(),
            brk_start: self.brk_start,
            brk_cur: self.brk_cur,
            brk_limit: self.brk_limit,
            stack: self.stack,
            file_maps: self.file_maps.clone(),
            shared: self.shared.clone(),
            backings: self.backings.clone(),
            stubs: self.stubs.clone(),
            patched: self.patched.clone(),
            site_traps: self.site_traps.clone(),
            images: self.images.clone(),
            cpuid_faults: self.cpuid_faults,
            libraries: self.libraries.clone(),
            parked: Some(parked),
            copied: bytes,
        })
    }

    /// Writes `data` at `addr` of this space, in the region or parked.
    pub fn write_user(&self, addr: usize, data: &[u8]) -> Result<()> {
        let Some(parked) = &self.parked else {
            return self.space.write(addr, data);
        };
        for_each_piece(parked, addr, data.len(), |piece, at, range| {
            piece.write(at, &data[range])
        })
    }

    /// Reads `buf.len()` bytes at `addr` of this space, in the region or
    /// parked.
    pub fn read_user(&self, addr: usize, buf: &mut [u8]) -> Result<()> {
        let Some(parked) = &self.parked else {
            return self.space.read(addr, buf);
        };
        for_each_piece(parked, addr, buf.len(), |piece, at, range| {
            piece.read(at, &mut buf[range])
        })
    }
}

/// Calls `f` with each parked piece that `[addr, addr+len)` crosses, the
/// address in it and the matching range of the caller's buffer; `EFAULT` at
/// a hole.
fn for_each_piece(
    parked: &[ParkedPages],
    addr: usize,
    len: usize,
    mut f: impl FnMut(&ParkedPages, usize, std::ops::Range<usize>) -> Result<()>,
) -> Result<()> {
    let mut done = 0;
    while done < len {
        let at = addr.checked_add(done).ok_or(Errno::EFAULT)?;
        let piece = parked
            .iter()
            .find(|p| p.home() <= at && at - p.home() < p.len())
            .ok_or(Errno::EFAULT)?;
        let n = (piece.home() + piece.len() - at).min(len - done);
        f(piece, at, done..done + n)?;
        done += n;
    }
    Ok(())
}
