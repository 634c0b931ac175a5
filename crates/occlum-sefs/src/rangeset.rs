//! A set of u64 values stored as disjoint half-open ranges.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent ranges `start..end`, keyed by start.
#[derive(Clone, Debug, Default)]
pub(crate) struct RangeSet {
    ranges: BTreeMap<u64, u64>,
    count: u64,
}

impl RangeSet {
    /// Number of values in the set.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.ranges.clear();
        self.count = 0;
    }

    /// The range containing `v`, if any.
    fn containing(&self, v: u64) -> Option<(u64, u64)> {
        self.ranges
            .range(..=v)
            .next_back()
            .map(|(&s, &e)| (s, e))
            .filter(|&(_, e)| v < e)
    }

    /// The first range that contains `v` or starts after it.
    pub fn next_from(&self, v: u64) -> Option<(u64, u64)> {
        self.containing(v)
            .or_else(|| self.ranges.range(v..).next().map(|(&s, &e)| (s, e)))
    }

    /// Adds `start..start + len`; the values must not be in the set yet.
    pub fn insert(&mut self, start: u64, len: u64) {
        if len == 0 {
            return;
        }
        let mut s = start;
        let mut e = start + len;
        if let Some((ps, pe)) = self.ranges.range(..=s).next_back().map(|(&a, &b)| (a, b)) {
            if pe == s {
                self.ranges.remove(&ps);
                s = ps;
            }
        }
        if let Some(ne) = self.ranges.get(&e).copied() {
            self.ranges.remove(&e);
            e = ne;
        }
        self.ranges.insert(s, e);
        self.count += len;
    }

    /// Removes `v`; returns whether it was present.
    pub fn remove(&mut self, v: u64) -> bool {
        let Some((s, e)) = self.containing(v) else {
            return false;
        };
        self.ranges.remove(&s);
        if s < v {
            self.ranges.insert(s, v);
        }
        if v + 1 < e {
            self.ranges.insert(v + 1, e);
        }
        self.count -= 1;
        true
    }

    /// Iterates over the ranges.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSet;

    #[test]
    fn insert_merge_remove() {
        let mut r = RangeSet::default();
        r.insert(10, 5);
        r.insert(15, 5);
        r.insert(5, 5);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(5, 20)]);
        assert_eq!(r.count(), 15);
        assert!(r.remove(12));
        assert!(!r.remove(12));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![(5, 12), (13, 20)]);
        assert_eq!(r.next_from(4), Some((5, 12)));
        assert_eq!(r.next_from(19), Some((13, 20)));
        assert_eq!(r.next_from(12), Some((13, 20)));
        assert_eq!(r.next_from(7), Some((5, 12)));
        assert_eq!(r.next_from(20), None);
        assert_eq!(r.count(), 14);
    }
}
