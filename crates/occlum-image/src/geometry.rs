//! Hash-tree geometry: how many nodes each level has and where they are stored.

use crate::format::{BLOCK, FANOUT};

/// Placement of the hash tree for an image with a given number of content blocks (leaves).
///
/// Leaves are image blocks `1..=leaves`; tree levels follow them in order, level 0 first,
/// the single top node last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Number of content blocks (data + metadata).
    pub leaves: u64,
    /// Node count of each level, level 0 first; the last entry is always 1.
    pub counts: Vec<u64>,
    /// First image block of each level.
    pub starts: Vec<u64>,
    /// Total image size in blocks (header + leaves + tree).
    pub total_blocks: u64,
}

impl Geometry {
    /// Computes the geometry; `None` if `leaves` is 0 or the image size would overflow.
    pub fn new(leaves: u64) -> Option<Geometry> {
        if leaves == 0 {
            return None;
        }
        let mut counts = Vec::new();
        let mut starts = Vec::new();
        let mut next = leaves.checked_add(1)?;
        let mut n = leaves;
        loop {
            n = n.div_ceil(FANOUT);
            counts.push(n);
            starts.push(next);
            next = next.checked_add(n)?;
            if n == 1 {
                break;
            }
        }
        next.checked_mul(BLOCK)?;
        Some(Geometry {
            leaves,
            counts,
            starts,
            total_blocks: next,
        })
    }

    /// Level of the single top node.
    pub fn top_level(&self) -> u32 {
        self.counts.len().saturating_sub(1) as u32
    }

    /// Number of tree levels.
    pub fn levels(&self) -> u32 {
        self.counts.len() as u32
    }

    /// Image block holding node `index` of `level`, if that node exists.
    pub fn node_block(&self, level: u32, index: u64) -> Option<u64> {
        let l = level as usize;
        if index < *self.counts.get(l)? {
            Some(self.starts.get(l)? + index)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_levels() {
        assert!(Geometry::new(0).is_none());
        let g = Geometry::new(1).unwrap();
        assert_eq!(
            (g.counts.clone(), g.starts.clone(), g.total_blocks),
            (vec![1], vec![2], 3)
        );
        let g = Geometry::new(128).unwrap();
        assert_eq!(g.counts, vec![1]);
        let g = Geometry::new(129).unwrap();
        assert_eq!(g.counts, vec![2, 1]);
        assert_eq!(g.starts, vec![130, 132]);
        assert_eq!(g.total_blocks, 133);
        assert_eq!(g.node_block(0, 1), Some(131));
        assert_eq!(g.node_block(0, 2), None);
        assert_eq!(g.node_block(2, 0), None);
        let g = Geometry::new(128 * 128 + 1).unwrap();
        assert_eq!(g.counts, vec![129, 2, 1]);
        assert!(Geometry::new(u64::MAX / 2).is_none());
    }
}
