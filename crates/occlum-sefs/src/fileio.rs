//! Reading, writing and truncating file data.
//!
//! Requests covering at least [`DIRECT_MIN`] whole blocks bypass the cache:
//! writes seal the blocks straight into freshly allocated contiguous runs (one
//! host write per run), reads fetch physically contiguous runs with one host
//! read and decrypt in the caller's buffer. Smaller pieces go through the cache.

use crate::error::{corrupted, Error, Result};
use crate::layout::{Key, Ref, BLOCK_SIZE, BS, MAX_FILE_SIZE};
use crate::store::Store;
use crate::types::Ino;

/// Whole blocks a request needs to take the direct path.
const DIRECT_MIN: u64 = 16;
/// Longest run sealed and written by one direct host write.
const DIRECT_WRITE_RUN: u64 = 256;
/// Longest run fetched by one direct host read.
const DIRECT_READ_RUN: usize = 1024;
/// Blocks fetched by one read-ahead on a sequential cache miss.
const READ_AHEAD: u64 = 32;

impl Store {
    /// Fails with `NoSpace` if `blocks` more blocks would exceed the capacity.
    pub fn check_space(&self, blocks: u64) -> Result<()> {
        if self.sb.used + self.pending_free.count() + blocks > self.capacity_blocks {
            return Err(Error::NoSpace);
        }
        Ok(())
    }

    /// Writes `data` at `off` into inode `ino`'s blocks and grows its size.
    pub fn write_data(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let end = off
            .checked_add(data.len() as u64)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(Error::FileTooBig)?;
        self.check_space((data.len() as u64).div_ceil(BS) + 1)?;
        self.ensure_height(ino, end.div_ceil(BS))?;
        let mut pos = off;
        while pos < end {
            let block = pos / BS;
            let boff = (pos % BS) as usize;
            let src = &data[(pos - off) as usize..];
            if boff == 0 {
                let full = (end - pos) / BS;
                if full >= DIRECT_MIN {
                    self.write_direct(ino, block, &src[..(full * BS) as usize])?;
                    pos += full * BS;
                    continue;
                }
            }
            let n = (BS - boff as u64).min(end - pos) as usize;
            self.write_cached(Key::leaf(ino, block), boff, &src[..n])?;
            pos += n as u64;
        }
        let mut inode = self.inode(ino)?;
        inode.size = inode.size.max(end);
        self.write_inode(ino, &inode)
    }

    fn write_cached(&mut self, key: Key, boff: usize, src: &[u8]) -> Result<()> {
        if src.len() == BLOCK_SIZE && self.cache.peek(&key).is_none() {
            let exists = !self.block_ref(key)?.is_none();
            let mut buf = self.cache.take_buf();
            buf.copy_from_slice(src);
            self.cache.insert(key, buf, exists);
            return self.modify(key, |_| ());
        }
        self.modify(key, |d| d[boff..boff + src.len()].copy_from_slice(src))
    }

    fn write_direct(&mut self, ino: Ino, first: u64, data: &[u8]) -> Result<()> {
        let n = data.len() as u64 / BS;
        let mut buf = Vec::new();
        let mut done = 0;
        while done < n {
            let (start, len) = self.alloc_run((n - done).min(DIRECT_WRITE_RUN))?;
            let keys: Vec<Key> = (0..len).map(|i| Key::leaf(ino, first + done + i)).collect();
            buf.clear();
            buf.extend_from_slice(&data[(done * BS) as usize..((done + len) * BS) as usize]);
            let refs = self.seal_buf(&keys, start, &mut buf)?;
            self.host_write(start * BS, &buf)?;
            for (key, r) in keys.into_iter().zip(refs) {
                let old = self.block_ref(key)?;
                let existed = !old.is_none() || self.cache.exists(&key);
                if !old.is_none() {
                    self.free_block(old.addr)?;
                }
                self.cache.remove(&key);
                if !existed {
                    self.account(ino, 1)?;
                }
                self.set_ref(key, r)?;
            }
            done += len;
        }
        Ok(())
    }

    /// Reads up to `buf.len()` bytes at `off` of inode `ino` whose size is `size`.
    pub fn read_data(&mut self, ino: Ino, size: u64, off: u64, buf: &mut [u8]) -> Result<usize> {
        if off >= size {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(size - off);
        let end = off + n;
        let mut pos = off;
        while pos < end {
            let block = pos / BS;
            let boff = (pos % BS) as usize;
            let dst = &mut buf[(pos - off) as usize..];
            if boff == 0 {
                let full = (end - pos) / BS;
                if full >= DIRECT_MIN {
                    self.read_direct(ino, block, &mut dst[..(full * BS) as usize])?;
                    pos += full * BS;
                    continue;
                }
            }
            let k = (BS - boff as u64).min(end - pos) as usize;
            let ahead = READ_AHEAD.min(size.div_ceil(BS) - block);
            self.read_cached(Key::leaf(ino, block), boff, &mut dst[..k], ahead)?;
            pos += k as u64;
        }
        Ok(n as usize)
    }

    /// Copies part of leaf `key` out through the cache; on a miss that looks
    /// sequential (block 0, or the previous block is cached) it first fetches
    /// up to `ahead` physically contiguous blocks with one host read.
    fn read_cached(&mut self, key: Key, boff: usize, dst: &mut [u8], ahead: u64) -> Result<()> {
        if self.cache.peek(&key).is_none() {
            let r = self.block_ref(key)?;
            if r.is_none() {
                dst.fill(0);
                return Ok(());
            }
            let sequential =
                key.idx == 0 || self.cache.peek(&Key::leaf(key.obj, key.idx - 1)).is_some();
            if sequential && ahead > 1 {
                self.read_ahead(key, r, ahead)?;
            }
        }
        self.with_block(key, |d| dst.copy_from_slice(&d[boff..boff + dst.len()]))
    }

    /// Caches leaf `key` (at `r`) and the uncached leaves after it that follow
    /// it on the host, up to `count` blocks, fetched with one host read.
    fn read_ahead(&mut self, key: Key, r: Ref, count: u64) -> Result<()> {
        let refs = self.leaf_refs(key.obj, key.idx + 1, count - 1)?;
        let mut keys = vec![key];
        let mut run = vec![r];
        for (i, next) in refs.into_iter().enumerate() {
            let k = Key::leaf(key.obj, key.idx + 1 + i as u64);
            if next.addr != r.addr + 1 + i as u64 || self.cache.peek(&k).is_some() {
                break;
            }
            keys.push(k);
            run.push(next);
        }
        let mut buf = vec![0u8; keys.len() * BLOCK_SIZE];
        self.storage.read_at(r.addr * BS, &mut buf)?;
        for ((k, r), block) in keys.iter().zip(&run).zip(buf.chunks_mut(BLOCK_SIZE)) {
            if !self.crypto.open_block(k, r, block) {
                if *k == key {
                    return Err(corrupted(format!(
                        "{} (host block {})",
                        k.describe(),
                        r.addr
                    )));
                }
                break;
            }
            let mut data = self.cache.take_buf();
            data.copy_from_slice(block);
            self.cache.insert(*k, data, true);
        }
        Ok(())
    }

    fn read_direct(&mut self, ino: Ino, first: u64, dst: &mut [u8]) -> Result<()> {
        let n = dst.len() / BLOCK_SIZE;
        let refs = self.leaf_refs(ino, first, n as u64)?;
        let mut i = 0;
        while i < n {
            let key = Key::leaf(ino, first + i as u64);
            let block = &mut dst[i * BLOCK_SIZE..(i + 1) * BLOCK_SIZE];
            if let Some(entry) = self.cache.get(&key) {
                block.copy_from_slice(&entry.data);
                i += 1;
                continue;
            }
            if refs[i].is_none() {
                block.fill(0);
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < n
                && j - i < DIRECT_READ_RUN
                && refs[j].addr == refs[i].addr + (j - i) as u64
                && self.cache.peek(&Key::leaf(ino, first + j as u64)).is_none()
            {
                j += 1;
            }
            let region = &mut dst[i * BLOCK_SIZE..j * BLOCK_SIZE];
            self.storage.read_at(refs[i].addr * BS, region)?;
            let keys: Vec<Key> = (i..j).map(|b| Key::leaf(ino, first + b as u64)).collect();
            if let Err(bad) = self.crypto.open_blocks(&keys, &refs[i..j], region) {
                region.fill(0);
                return Err(corrupted(format!(
                    "{} (host block {})",
                    keys[bad].describe(),
                    refs[i + bad].addr
                )));
            }
            i = j;
        }
        Ok(())
    }

    /// Sets inode `ino`'s size, freeing blocks past a smaller size and zeroing
    /// the tail of the new last block.
    pub fn truncate_data(&mut self, ino: Ino, size: u64) -> Result<()> {
        if size > MAX_FILE_SIZE {
            return Err(Error::FileTooBig);
        }
        let old = self.inode(ino)?.size;
        if size < old {
            self.truncate_tree(ino, size.div_ceil(BS))?;
            let tail = (size % BS) as usize;
            let key = Key::leaf(ino, size / BS);
            if tail != 0 && (self.cache.exists(&key) || !self.block_ref(key)?.is_none()) {
                self.modify(key, |d| d[tail..].fill(0))?;
            }
        }
        let mut inode = self.inode(ino)?;
        inode.size = size;
        self.write_inode(ino, &inode)
    }
}
