//! The set of mappings of an address space, kept sorted and non-overlapping.

use std::collections::BTreeMap;

use occlum_pal::uspace::Prot;

/// One mapping: `[start, end)` with one protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// `PROT_*` bits.
    pub prot: Prot,
}

/// Sorted, non-overlapping mappings; neighbours with equal protection are merged.
#[derive(Clone, Debug, Default)]
pub struct VmaSet {
    map: BTreeMap<usize, Vma>,
}

impl VmaSet {
    /// All mappings in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    fn overlapping(&self, start: usize, end: usize) -> impl Iterator<Item = &Vma> {
        let first = self
            .map
            .range(..=start)
            .next_back()
            .filter(|(_, v)| v.end > start)
            .map(|(k, _)| *k)
            .unwrap_or(start);
        self.map.range(first..end).map(|(_, v)| v)
    }

    /// The mappings that overlap `[start, end)`.
    pub fn overlapping_vmas(&self, start: usize, end: usize) -> Vec<Vma> {
        self.overlapping(start, end).copied().collect()
    }

    /// Whether any mapping overlaps `[start, end)`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        self.overlapping(start, end).next().is_some()
    }

    /// Whether `[start, end)` is mapped without holes.
    pub fn covers(&self, start: usize, end: usize) -> bool {
        self.covers_with(start, end, 0)
    }

    /// Whether `[start, end)` is mapped without holes, all of it with
    /// exactly protection `prot`.
    pub fn covers_exactly(&self, start: usize, end: usize, prot: Prot) -> bool {
        let mut cur = start;
        for v in self.overlapping(start, end) {
            if v.start > cur || v.prot != prot {
                return false;
            }
            cur = v.end;
            if cur >= end {
                return true;
            }
        }
        false
    }

    /// Whether `[start, end)` is mapped without holes, all of it with every
    /// protection bit in `prot`.
    pub fn covers_with(&self, start: usize, end: usize, prot: Prot) -> bool {
        let mut cur = start;
        for v in self.overlapping(start, end) {
            if v.start > cur || v.prot & prot != prot {
                return false;
            }
            cur = v.end;
            if cur >= end {
                return true;
            }
        }
        cur >= end
    }

    /// The mapping that contains `addr`.
    pub fn containing(&self, addr: usize) -> Option<Vma> {
        self.map
            .range(..=addr)
            .next_back()
            .map(|(_, v)| *v)
            .filter(|v| v.end > addr)
    }

    /// Removes `[start, end)` from the set, splitting mappings at the edges.
    /// Returns the removed pieces.
    pub fn remove(&mut self, start: usize, end: usize) -> Vec<(usize, usize)> {
        let hit: Vec<Vma> = self.overlapping(start, end).copied().collect();
        let mut removed = Vec::with_capacity(hit.len());
        for v in hit {
            self.map.remove(&v.start);
            if v.start < start {
                self.map.insert(v.start, Vma { end: start, ..v });
            }
            if v.end > end {
                self.map.insert(end, Vma { start: end, ..v });
            }
            removed.push((v.start.max(start), v.end.min(end)));
        }
        removed
    }

    /// Inserts `[start, end)`, which must be free, merging with equal neighbours.
    pub fn insert(&mut self, start: usize, end: usize, prot: Prot) {
        let mut vma = Vma { start, end, prot };
        if let Some(prev) = self.containing(start.wrapping_sub(1)) {
            if prev.end == start && prev.prot == prot {
                self.map.remove(&prev.start);
                vma.start = prev.start;
            }
        }
        if let Some(next) = self.map.get(&end).copied() {
            if next.prot == prot {
                self.map.remove(&next.start);
                vma.end = next.end;
            }
        }
        self.map.insert(vma.start, vma);
    }

    /// The highest free range of `len` bytes inside `[lo, hi)`.
    pub fn find_free_top_down(&self, lo: usize, hi: usize, len: usize) -> Option<usize> {
        let mut top = hi;
        for v in self.map.range(..hi).rev().map(|(_, v)| v) {
            if v.end <= top && top - v.end >= len && top - len >= lo {
                return Some(top - len);
            }
            top = top.min(v.start);
            if top < lo.saturating_add(len) {
                return None;
            }
        }
        (top >= lo && top - lo >= len).then(|| top - len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_merge_and_search() {
        let mut s = VmaSet::default();
        s.insert(0x1000, 0x5000, 3);
        s.remove(0x2000, 0x3000);
        assert!(s.covers(0x1000, 0x2000) && !s.covers(0x1000, 0x4000));
        assert_eq!(s.containing(0x3000).map(|v| v.start), Some(0x3000));
        s.insert(0x2000, 0x3000, 3);
        assert_eq!(s.iter().count(), 1, "equal neighbours merge");
        assert_eq!(s.find_free_top_down(0, 0x8000, 0x2000), Some(0x6000));
        assert_eq!(s.find_free_top_down(0x1000, 0x6000, 0x1000), Some(0x5000));
        assert_eq!(s.find_free_top_down(0x1000, 0x5000, 0x1000), None);
        s.insert(0x5000, 0x6000, 1);
        assert!(s.covers_with(0x1000, 0x6000, 1) && !s.covers_with(0x1000, 0x6000, 2));
        assert!(s.covers_with(0x1000, 0x5000, 3) && !s.covers_with(0x1000, 0x7000, 1));
    }
}
