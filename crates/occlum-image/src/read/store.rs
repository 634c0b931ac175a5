//! Verified block access: fetches blocks from the untrusted device and checks them against
//! the hash tree from the (already verified) top node down, caching what it verified.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use super::cache::ClockCache;
use super::dev::{read_full, ReadAt};
use crate::format::{BLOCK, BLOCK_SIZE, FANOUT, HASH_LEN};
use crate::geometry::Geometry;
use crate::hash::{leaf_hash, node_hash, Hash};

/// Most content blocks fetched with one `read_at` call.
const MAX_RUN: u64 = 256;
/// Bytes a direct read fetches and verifies at a time (they stay in the
/// CPU's cache in between).
pub(crate) const PIECE: usize = 256 << 10;
/// Direct reads from this size on are shared by two threads.
const SPLIT_AT: usize = 1 << 20;

/// A low-level failure: a block that is missing or fails verification, or a host I/O error.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Image block that is missing or does not match its hash.
    Bad(u64),
    /// The device reported an error.
    Io(io::Error),
}

/// Verified, cached access to content blocks.
pub(crate) struct Store {
    dev: Arc<dyn ReadAt>,
    geom: Geometry,
    top: Arc<[u8]>,
    nodes: Mutex<ClockCache>,
    blocks: Mutex<ClockCache>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads `count` whole blocks starting at image block `first`.
fn read_raw(dev: &dyn ReadAt, first: u64, count: u64) -> Result<Vec<u8>, Fault> {
    let len = count.checked_mul(BLOCK).ok_or(Fault::Bad(first))?;
    let offset = first.checked_mul(BLOCK).ok_or(Fault::Bad(first))?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| Fault::Bad(first))?];
    let got = read_full(dev, offset, &mut buf).map_err(Fault::Io)?;
    if got < buf.len() {
        return Err(Fault::Bad(first + (got / BLOCK_SIZE) as u64));
    }
    Ok(buf)
}

/// The hash stored in `slot` of a verified node block.
fn child_hash(node: &[u8], slot: u64) -> Option<Hash> {
    let off = usize::try_from(slot).ok()?.checked_mul(HASH_LEN)?;
    node.get(off..off + HASH_LEN)?.try_into().ok()
}

impl Store {
    /// Reads and verifies the top node against `top_hash`.
    pub fn open(
        dev: Arc<dyn ReadAt>,
        geom: Geometry,
        top_hash: Hash,
        block_cache: usize,
        node_cache: usize,
    ) -> Result<Store, Fault> {
        let level = geom.top_level();
        let blk = geom.node_block(level, 0).ok_or(Fault::Bad(0))?;
        let raw = read_raw(&*dev, blk, 1)?;
        if node_hash(level, 0, &raw) != top_hash {
            return Err(Fault::Bad(blk));
        }
        Ok(Store {
            dev,
            geom,
            top: raw.into(),
            nodes: Mutex::new(ClockCache::new(node_cache)),
            blocks: Mutex::new(ClockCache::new(block_cache)),
        })
    }

    /// Returns verified node `index` of `level`, verifying its ancestors as needed.
    fn node(&self, level: u32, index: u64) -> Result<Arc<[u8]>, Fault> {
        let top = self.geom.top_level();
        let blk = self.geom.node_block(level, index).ok_or(Fault::Bad(0))?;
        if level == top {
            return Ok(self.top.clone());
        }
        if let Some(node) = lock(&self.nodes).get(blk) {
            return Ok(node);
        }
        let parent = self.node(level + 1, index / FANOUT)?;
        let expected = child_hash(&parent, index % FANOUT).ok_or(Fault::Bad(blk))?;
        let raw = read_raw(&*self.dev, blk, 1)?;
        if node_hash(level, index, &raw) != expected {
            return Err(Fault::Bad(blk));
        }
        let node: Arc<[u8]> = raw.into();
        lock(&self.nodes).insert(blk, node.clone());
        Ok(node)
    }

    /// Reads content blocks `first..` (image block numbers) straight into
    /// `dst` (whole blocks) and verifies them there, bypassing the cache: a
    /// large read (a program being loaded) then costs no copies or
    /// allocations. Pieces of [`PIECE`] bytes are read and hashed in turn
    /// (hashed while in the CPU's cache), and a read of [`SPLIT_AT`] bytes
    /// or more is shared with a second thread. On error, which of `dst`'s
    /// bytes were verified is not said: use none of them.
    pub fn read_direct(&self, first: u64, dst: &mut [u8]) -> Result<(), Fault> {
        let count = (dst.len() / BLOCK_SIZE) as u64;
        let end = first.checked_add(count).ok_or(Fault::Bad(first))?;
        if first == 0 || end > self.geom.leaves + 1 || !dst.len().is_multiple_of(BLOCK_SIZE) {
            return Err(Fault::Bad(first));
        }
        if dst.len() < SPLIT_AT {
            return self.read_pieces(first, dst);
        }
        let half = dst.len() / 2 / BLOCK_SIZE * BLOCK_SIZE;
        let (a, b) = dst.split_at_mut(half);
        let second = first + (half / BLOCK_SIZE) as u64;
        // The second half goes to whichever thread takes it: the helper,
        // or this one if no helper could start.
        let rest = Mutex::new(Some(b));
        let read_rest = || match lock(&rest).take() {
            Some(b) => self.read_pieces(second, b),
            None => Ok(()),
        };
        std::thread::scope(|s| {
            let helper = std::thread::Builder::new()
                .name("occlum-verify".into())
                .spawn_scoped(s, read_rest);
            let ra = self.read_pieces(first, a);
            let rb = match helper {
                Ok(h) => h.join().unwrap_or(Err(Fault::Bad(second))),
                Err(_) => read_rest(),
            };
            ra.and(rb)
        })
    }

    /// Reads and verifies `dst` (whole blocks from image block `first`) a
    /// piece at a time.
    fn read_pieces(&self, first: u64, dst: &mut [u8]) -> Result<(), Fault> {
        for (i, piece) in dst.chunks_mut(PIECE).enumerate() {
            let at = first + (i * PIECE / BLOCK_SIZE) as u64;
            let offset = at.checked_mul(BLOCK).ok_or(Fault::Bad(at))?;
            let got = read_full(&*self.dev, offset, piece).map_err(Fault::Io)?;
            if got < piece.len() {
                return Err(Fault::Bad(at + (got / BLOCK_SIZE) as u64));
            }
            self.verify_run(at, piece)?;
        }
        Ok(())
    }

    /// Checks whole content blocks `raw`, image blocks `first..`, against
    /// the hash tree.
    fn verify_run(&self, first: u64, raw: &[u8]) -> Result<(), Fault> {
        let mut node: Option<(u64, Arc<[u8]>)> = None;
        for (i, data) in raw.chunks_exact(BLOCK_SIZE).enumerate() {
            let b = first + i as u64;
            let leaf = b - 1;
            let node_index = leaf / FANOUT;
            let parent = match &node {
                Some((idx, n)) if *idx == node_index => n.clone(),
                _ => {
                    let n = self.node(0, node_index)?;
                    node = Some((node_index, n.clone()));
                    n
                }
            };
            let expected = child_hash(&parent, leaf % FANOUT).ok_or(Fault::Bad(b))?;
            if leaf_hash(leaf, data) != expected {
                return Err(Fault::Bad(b));
            }
        }
        Ok(())
    }

    /// Delivers verified content blocks `first..first + count` (image block numbers) to
    /// `sink` in order. Uncached runs are fetched with few large reads.
    pub fn read_blocks(
        &self,
        first: u64,
        count: u64,
        mut sink: impl FnMut(u64, &[u8]),
    ) -> Result<(), Fault> {
        let end = first.checked_add(count).ok_or(Fault::Bad(first))?;
        if first == 0 || end > self.geom.leaves + 1 {
            return Err(Fault::Bad(first));
        }
        let mut blk = first;
        while blk < end {
            if let Some(data) = lock(&self.blocks).get(blk) {
                sink(blk, &data);
                blk += 1;
                continue;
            }
            let mut run_end = blk + 1;
            {
                let cache = lock(&self.blocks);
                while run_end < end && run_end - blk < MAX_RUN && !cache.contains(run_end) {
                    run_end += 1;
                }
            }
            let raw = read_raw(&*self.dev, blk, run_end - blk)?;
            self.verify_run(blk, &raw)?;
            let mut verified = Vec::with_capacity((run_end - blk) as usize);
            for (i, data) in raw.chunks_exact(BLOCK_SIZE).enumerate() {
                let b = blk + i as u64;
                let block: Arc<[u8]> = Arc::from(data);
                sink(b, &block);
                verified.push((b, block));
            }
            let mut cache = lock(&self.blocks);
            for (b, block) in verified {
                cache.insert(b, block);
            }
            blk = run_end;
        }
        Ok(())
    }
}
