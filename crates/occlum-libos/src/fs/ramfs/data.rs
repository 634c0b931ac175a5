//! The contents of a ramfs file: a sparse set of pages, each charged to the
//! file system's memory budget when first written. Holes (never written,
//! or made by extending the size) read as zeros and cost nothing, so
//! `ftruncate` to a huge size is cheap, as on Linux's tmpfs.
//!
//! A file that is mapped shared (`/dev/shm` and friends) moves into shared
//! memory (a host memfd) for good: its mappings then are its pages, so every
//! process that maps it, and `read`/`write`, see one copy. Its whole length
//! is charged from then on.

use std::collections::BTreeMap;
use std::sync::Arc;

use occlum_pal::shared_mem::SharedMemory;

use crate::budget::Budget;
use crate::{Errno, Result};

/// Page size of the store.
const PAGE: u64 = 4096;

/// A sparse byte array with a logical length.
pub(super) struct FileData {
    len: u64,
    pages: BTreeMap<u64, Box<[u8]>>,
    budget: Arc<Budget>,
    /// Once mapped shared: the file's bytes (`pages` is empty then).
    shared: Option<Arc<SharedMemory>>,
}

/// Bytes charged for `len` bytes of shared memory: whole pages.
fn charge_of(len: u64) -> u64 {
    len.div_ceil(PAGE) * PAGE
}

impl FileData {
    /// An empty file charged to `budget`.
    pub fn new(budget: Arc<Budget>) -> FileData {
        FileData {
            len: 0,
            pages: BTreeMap::new(),
            budget,
            shared: None,
        }
    }

    /// The file's bytes as shared memory (moving them there on first use).
    pub fn shared_memory(&mut self) -> Result<Arc<SharedMemory>> {
        if let Some(m) = &self.shared {
            return Ok(m.clone());
        }
        let extra = charge_of(self.len).saturating_sub(self.allocated());
        if !self.budget.try_charge(extra) {
            return Err(Errno::ENOMEM);
        }
        let moved = SharedMemory::new(self.len).and_then(|mem| {
            for (&idx, page) in &self.pages {
                let keep = (self.len - idx * PAGE).min(PAGE) as usize;
                mem.write_at(idx * PAGE, &page[..keep])?;
            }
            Ok(mem)
        });
        let mem = match moved {
            Ok(m) => Arc::new(m),
            Err(e) => {
                self.budget.uncharge(extra);
                return Err(e);
            }
        };
        self.pages.clear();
        self.shared = Some(mem.clone());
        Ok(mem)
    }

    /// The logical length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes of pages actually held.
    pub fn allocated(&self) -> u64 {
        if self.shared.is_some() {
            return charge_of(self.len);
        }
        self.pages.len() as u64 * PAGE
    }

    /// Reads from `offset` into `buf`; the count stops at the end of file.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf
            .len()
            .min((self.len - offset).min(usize::MAX as u64) as usize);
        let buf = &mut buf[..n];
        buf.fill(0);
        if let Some(mem) = &self.shared {
            mem.read_at(offset, buf)?;
            return Ok(n);
        }
        let end = offset + n as u64;
        for (&idx, page) in self.pages.range(offset / PAGE..end.div_ceil(PAGE)) {
            let page_start = idx * PAGE;
            let from = offset.max(page_start);
            let to = end.min(page_start + PAGE);
            buf[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&page[(from - page_start) as usize..(to - page_start) as usize]);
        }
        Ok(n)
    }

    /// Writes `buf` at `offset`, growing the length if needed. When the
    /// budget runs out part way, the bytes written so far count (a short
    /// write); with none written, `ENOSPC`.
    pub fn write(&mut self, offset: u64, buf: &[u8]) -> Result<usize> {
        if let Some(mem) = &self.shared {
            let end = offset + buf.len() as u64;
            let extra = charge_of(end).saturating_sub(charge_of(self.len));
            if !self.budget.try_charge(extra) {
                return Err(Errno::ENOSPC);
            }
            if let Err(e) = mem.write_at(offset, buf) {
                self.budget.uncharge(extra);
                return Err(e);
            }
            self.len = self.len.max(end);
            return Ok(buf.len());
        }
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
    pub fn set_len(&mut self, len: u64) -> Result<()> {
        if let Some(mem) = &self.shared {
            let (old, new) = (charge_of(self.len), charge_of(len));
            if new > old && !self.budget.try_charge(new - old) {
                return Err(Errno::ENOSPC);
            }
            if let Err(e) = mem.set_size(len) {
                self.budget.uncharge(new.saturating_sub(old));
                return Err(e);
            }
            self.budget.uncharge(old.saturating_sub(new));
            self.len = len;
            return Ok(());
        }
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
        Ok(())
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
        d.set_len(1 << 36).unwrap();
        assert_eq!(d.len(), 1 << 36);
        assert_eq!(d.allocated(), 0);
        let mut buf = [1u8; 10];
        assert_eq!(d.read((1 << 36) - 4, &mut buf).unwrap(), 4);
        assert_eq!(buf[..4], [0; 4]);
    }

    #[test]
    fn write_across_pages_and_read_back() {
        let mut d = data(1 << 20);
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        assert_eq!(d.write(100, &bytes).unwrap(), bytes.len());
        assert_eq!(d.len(), 10_100);
        let mut back = vec![0u8; 10_200];
        assert_eq!(d.read(0, &mut back).unwrap(), 10_100);
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
        d.set_len(PAGE + 1).unwrap();
        assert_eq!(budget.used(), 2 * PAGE);
        d.set_len(10).unwrap();
        assert_eq!(budget.used(), PAGE);
        d.set_len(PAGE).unwrap();
        let mut b = [9u8; 4];
        d.read(10, &mut b).unwrap();
        assert_eq!(b, [0; 4], "bytes past a shrink read as zeros after growth");
        drop(d);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn shared_memory_keeps_the_bytes_and_charges_the_length() {
        let budget = Budget::new("test", 8 * PAGE);
        let mut d = FileData::new(budget.clone());
        d.write(PAGE + 5, b"hello").unwrap();
        let mem = d.shared_memory().unwrap();
        assert_eq!(budget.used(), 2 * PAGE);
        let mut b = [0u8; 5];
        assert_eq!(mem.read_at(PAGE + 5, &mut b).unwrap(), 5);
        assert_eq!(&b, b"hello");
        mem.write_at(0, b"HI").unwrap();
        assert_eq!(d.read(0, &mut b[..2]).unwrap(), 2);
        assert_eq!(&b[..2], b"HI", "writes through a mapping are the file's");
        d.write(3 * PAGE, b"x").unwrap();
        assert_eq!((d.len(), budget.used()), (3 * PAGE + 1, 4 * PAGE));
        assert_eq!(d.write(9 * PAGE, b"x"), Err(Errno::ENOSPC));
        d.set_len(10).unwrap();
        assert_eq!((mem.size().unwrap(), budget.used()), (10, PAGE));
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
