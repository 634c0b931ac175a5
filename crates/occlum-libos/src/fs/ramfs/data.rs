//! The contents of a ramfs file: a sparse set of pages, each charged to the
//! file system's memory budget when first written. Holes (never written,
//! or made by extending the size) read as zeros and cost nothing, so
//! `ftruncate` to a huge size is cheap, as on Linux's tmpfs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::budget::Budget;
use crate::{Errno, Result};

/// Page size of the store.
const PAGE: u64 = 4096;

/// A sparse byte array with a logical length.
pub(super) struct FileData {
    len: u64,
    pages: BTreeMap<u64, Box<[u8]>>,
    budget: Arc<Budget>,
}

impl FileData {
    /// An empty file charged to `budget`.
    pub fn new(budget: Arc<Budget>) -> FileData {
        FileData {
            len: 0,
            pages: BTreeMap::new(),
            budget,
        }
    }

    /// The logical length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes of pages actually held.
    pub fn allocated(&self) -> u64 {
        self.pages.len() as u64 * PAGE
    }

    /// Reads from `offset` into `buf`; the count stops at the end of file.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = buf
            .len()
            .min((self.len - offset).min(usize::MAX as u64) as usize);
        let buf = &mut buf[..n];
        buf.fill(0);
        let end = offset + n as u64;
        for (&idx, page) in self.pages.range(offset / PAGE..end.div_ceil(PAGE)) {
            let page_start = idx * PAGE;
            let from = offset.max(page_start);
            let to = end.min(page_start + PAGE);
            buf[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&page[(from - page_start) as usize..(to - page_start) as usize]);
        }
        n
    }

    /// Writes `buf` at `offset`, growing the length if needed. When the
    /// budget runs out part way, the bytes written so far count (a short
    /// write); with none written, `ENOSPC`.
    pub fn write(&mut self, offset: u64, buf: &[u8]) -> Result<usize> {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let idx = pos / PAGE;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE as usize - in_page).min(buf.len() - done);
            let page = match self.pages.entry(idx) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    if !self.budget.try_charge(PAGE) {
                        break;
                    }
                    e.insert(vec![0u8; PAGE as usize].into_boxed_slice())
                }
            };
            page[in_page..in_page + n].copy_from_slice(&buf[done..done + n]);
            done += n;
        }
        if done == 0 && !buf.is_empty() {
            return Err(Errno::ENOSPC);
        }
        self.len = self.len.max(offset + done as u64);
        Ok(done)
    }

    /// Sets the length: pages past it are freed, and the bytes past it in
    /// its last page are zeroed so that a later extension reads zeros.
    pub fn set_len(&mut self, len: u64) {
        if len < self.len {
            let keep = len.div_ceil(PAGE);
            let freed = self.pages.split_off(&keep);
            self.budget.uncharge(freed.len() as u64 * PAGE);
            if !len.is_multiple_of(PAGE) {
                if let Some(page) = self.pages.get_mut(&(len / PAGE)) {
                    page[(len % PAGE) as usize..].fill(0);
                }
            }
        }
        self.len = len;
    }
}

impl Drop for FileData {
    fn drop(&mut self) {
        self.budget.uncharge(self.allocated());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(limit: u64) -> FileData {
        FileData::new(Budget::new("test", limit))
    }

    #[test]
    fn huge_length_costs_nothing_and_reads_zeros() {
        let mut d = data(PAGE);
        d.set_len(1 << 36);
        assert_eq!(d.len(), 1 << 36);
        assert_eq!(d.allocated(), 0);
        let mut buf = [1u8; 10];
        assert_eq!(d.read((1 << 36) - 4, &mut buf), 4);
        assert_eq!(buf[..4], [0; 4]);
    }

    #[test]
    fn write_across_pages_and_read_back() {
        let mut d = data(1 << 20);
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        assert_eq!(d.write(100, &bytes).unwrap(), bytes.len());
        assert_eq!(d.len(), 10_100);
        let mut back = vec![0u8; 10_200];
        assert_eq!(d.read(0, &mut back), 10_100);
        assert_eq!(&back[..100], &[0u8; 100][..]);
        assert_eq!(&back[100..10_100], &bytes[..]);
    }

    #[test]
    fn budget_gives_short_write_then_enospc_and_is_returned() {
        let budget = Budget::new("test", 2 * PAGE);
        let mut d = FileData::new(budget.clone());
        assert_eq!(
            d.write(0, &[7u8; 3 * PAGE as usize]).unwrap(),
            2 * PAGE as usize
        );
        assert_eq!(d.write(2 * PAGE, &[7u8; 10]), Err(Errno::ENOSPC));
        assert_eq!(budget.used(), 2 * PAGE);
        d.set_len(PAGE + 1);
        assert_eq!(budget.used(), 2 * PAGE);
        d.set_len(10);
        assert_eq!(budget.used(), PAGE);
        d.set_len(PAGE);
        let mut b = [9u8; 4];
        d.read(10, &mut b);
        assert_eq!(b, [0; 4], "bytes past a shrink read as zeros after growth");
        drop(d);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn write_far_out_takes_one_page() {
        let mut d = data(PAGE);
        assert_eq!(d.write((1 << 40) - 1, b"x").unwrap(), 1);
        assert_eq!(d.len(), 1 << 40);
        assert_eq!(d.allocated(), PAGE);
    }
}
