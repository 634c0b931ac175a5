//! Snapshots of an address space, for `fork`: the child runs on the
//! parent's memory while the parent waits, and when the child execs or ends,
//! the parent's memory is put back exactly as it was.
//!
//! (All processes share one address region, so a child cannot get a copy of
//! its parent's memory at the same addresses while the parent runs too;
//! the parent waits, as for `vfork`, which is what a shell's
//! fork-then-exec needs.)

use super::vmas::Vma;
use super::{Backing, FileMap};

/// The saved state of an address space.
pub struct Snapshot {
    pub(super) vmas: Vec<Vma>,
    /// The pages that were ever touched and are not all zero: (address,
    /// contents); every other page of the mappings reads as zero, but for
    /// the sealed ones in `backings`.
    pub(super) pages: Vec<(usize, Box<[u8]>)>,
    pub(super) brk: (usize, usize, usize),
    pub(super) stack: Option<(usize, usize)>,
    pub(super) file_maps: Vec<FileMap>,
    pub(super) shared: Vec<(usize, usize)>,
    pub(super) backings: Vec<Backing>,
}

impl Snapshot {
    /// Bytes saved.
    pub fn size(&self) -> usize {
        self.pages.iter().map(|(_, p)| p.len()).sum()
    }
}
