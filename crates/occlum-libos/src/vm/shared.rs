//! Shared memory mappings (`MAP_SHARED` anonymous memory): one copy of the
//! pages, in a host memfd, seen by every process that maps it, a `fork`
//! child and its parent included.

use std::sync::Arc;

use occlum_pal::shared_mem::SharedMemory;
use occlum_pal::uspace::Prot;

use super::{owners, Placement, VmSpace};
use crate::{Errno, Result};

/// One range of an address space mapped from shared memory.
#[derive(Clone, Debug)]
pub struct SharedMap {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// The memory.
    pub mem: Arc<SharedMemory>,
    /// Offset in the memory of `start`.
    pub offset: u64,
}

/// Where a futex word lives: in one address space's private memory, or in
/// shared memory (then every mapping of it names the same futex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FutexKey(u64, u64);

impl VmSpace {
    /// Maps `len` bytes of new shared memory (`MAP_SHARED|MAP_ANONYMOUS`).
    pub fn map_shared_anon(
        &mut self,
        placement: Placement,
        len: usize,
        prot: Prot,
    ) -> Result<usize> {
        let len = super::page_up(len).ok_or(Errno::ENOMEM)?;
        let mem = Arc::new(SharedMemory::new(len as u64)?);
        self.map_shared(placement, len, prot, mem, 0)
    }

    /// Maps `len` bytes of `mem` from `offset` (a shared mapping of a file
    /// kept in shared memory, or of new anonymous memory).
    pub fn map_shared(
        &mut self,
        placement: Placement,
        len: usize,
        prot: Prot,
        mem: Arc<SharedMemory>,
        offset: u64,
    ) -> Result<usize> {
        let len = super::page_up(len).ok_or(Errno::ENOMEM)?;
        let addr = self.map(placement, len, prot)?;
        if let Err(e) = self.space.map_shared(addr, len, prot, &mem, offset) {
            let _ = self.unmap(addr, len);
            return Err(e);
        }
        self.shared.push(SharedMap {
            start: addr,
            end: addr + len,
            mem,
            offset,
        });
        Ok(addr)
    }

    /// Forgets the shared memory of `[start, end)` (unmapped or replaced).
    pub(super) fn forget_shared(&mut self, start: usize, end: usize) {
        if self.shared.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.shared.len() + 1);
        for m in self.shared.drain(..) {
            if m.end <= start || end <= m.start {
                kept.push(m);
                continue;
            }
            if m.start < start {
                kept.push(SharedMap {
                    end: start,
                    ..m.clone()
                });
            }
            if end < m.end {
                kept.push(SharedMap {
                    start: end,
                    offset: m.offset + (end - m.start) as u64,
                    ..m
                });
            }
        }
        self.shared = kept;
    }

    /// The shared memory mapped over all of `[start, end)`, if any.
    pub(super) fn shared_at(&self, start: usize, end: usize) -> Option<&SharedMap> {
        self.shared
            .iter()
            .find(|m| m.start <= start && end <= m.end)
    }

    /// Whether any part of `[start, end)` is shared memory.
    pub(super) fn overlaps_shared(&self, start: usize, end: usize) -> bool {
        self.shared.iter().any(|m| m.start < end && start < m.end)
    }

    /// `mremap` of shared memory: the same memory mapped at the new place
    /// (grown if asked; it must all be one mapping).
    pub(super) fn remap_shared(
        &mut self,
        old: usize,
        old_len: usize,
        new_len: usize,
        dst: usize,
        prot: Prot,
    ) -> Result<usize> {
        let m = self
            .shared_at(old, old + old_len)
            .cloned()
            .ok_or(Errno::EFAULT)?;
        let offset = m.offset + (old - m.start) as u64;
        let need = offset + new_len as u64;
        if need > m.mem.size()? {
            m.mem.set_size(need)?;
        }
        if dst != old {
            self.unmap(old, old_len)?;
        } else if new_len < old_len {
            self.unmap(old + new_len, old_len - new_len)?;
            return Ok(old);
        }
        let (map_from, map_len) = if dst == old {
            (old + old_len, new_len - old_len)
        } else {
            (dst, new_len)
        };
        let map_offset = offset + (map_from - dst) as u64;
        if !owners::lock().claim_fixed(map_from, map_from + map_len, self.domain.owner()) {
            return Err(Errno::ENOMEM);
        }
        self.space
            .map_shared(map_from, map_len, prot, &m.mem, map_offset)?;
        self.vmas.remove(map_from, map_from + map_len);
        self.vmas.insert(map_from, map_from + map_len, prot);
        self.forget_shared(dst, dst + new_len);
        self.shared.push(SharedMap {
            start: dst,
            end: dst + new_len,
            mem: m.mem,
            offset,
        });
        Ok(dst)
    }

    /// The futex that the word at `addr` is.
    pub fn futex_key(&self, addr: u64) -> FutexKey {
        let a = addr as usize;
        match self.shared.iter().find(|m| m.start <= a && a < m.end) {
            Some(m) => FutexKey(1 << 63 | m.mem.id(), m.offset + (a - m.start) as u64),
            None => FutexKey(u64::from(self.id), addr),
        }
    }
}

impl FutexKey {
    /// The key of a futex word outside any address space (none is known).
    pub fn plain(addr: u64) -> FutexKey {
        FutexKey(0, addr)
    }
}
