//! Physical block allocation over the allocation bitmap (itself a block tree).
//!
//! A set bit means "referenced by the current tree". Blocks freed since the last
//! commit that the commit still references sit in `pending_free` and are skipped
//! until the next commit is durable; blocks allocated and freed again before a
//! commit are reusable at once.

use crate::error::Result;
use crate::layout::{Key, BITMAP_OBJ, BITS_PER_BLOCK, SUPER_BLOCKS};
use crate::store::{internal, Store};

fn word(d: &[u8], w: usize) -> u64 {
    crate::layout::get_u64(d, w * 8)
}

/// The first clear bit in `lo..hi` of a bitmap block.
fn first_zero(d: &[u8], lo: usize, hi: usize) -> Option<usize> {
    let mut i = lo;
    while i < hi {
        let w = word(d, i / 64) | ((1u64 << (i % 64)) - 1);
        if w == u64::MAX {
            i = (i / 64 + 1) * 64;
            continue;
        }
        let bit = (i / 64) * 64 + (!w).trailing_zeros() as usize;
        return (bit < hi).then_some(bit);
    }
    None
}

/// How many clear bits follow from `lo` (stopping at `hi`).
fn zero_run(d: &[u8], lo: usize, hi: usize) -> usize {
    let mut i = lo;
    while i < hi {
        let w = word(d, i / 64) >> (i % 64);
        if w == 0 {
            i = (i / 64 + 1) * 64;
            continue;
        }
        i += w.trailing_zeros() as usize;
        break;
    }
    i.min(hi) - lo
}

impl Store {
    /// Extends the bitmap to cover `nblocks` physical blocks.
    pub fn grow_to(&mut self, nblocks: u64) -> Result<()> {
        self.sb.nblocks = nblocks;
        self.ensure_height(BITMAP_OBJ, nblocks.div_ceil(BITS_PER_BLOCK))
    }

    /// Sets or clears the bits of `start..start + len`.
    pub fn set_bits(&mut self, start: u64, len: u64, value: bool) -> Result<()> {
        let mut b = start;
        let end = start + len;
        while b < end {
            let leaf = b / BITS_PER_BLOCK;
            let lo = (b % BITS_PER_BLOCK) as usize;
            let hi = (end - leaf * BITS_PER_BLOCK).min(BITS_PER_BLOCK) as usize;
            self.modify(Key::leaf(BITMAP_OBJ, leaf), |d| {
                for i in lo..hi {
                    if value {
                        d[i / 8] |= 1 << (i % 8);
                    } else {
                        d[i / 8] &= !(1 << (i % 8));
                    }
                }
            })?;
            b = leaf * BITS_PER_BLOCK + hi as u64;
        }
        Ok(())
    }

    /// Whether physical block `b` is marked in use.
    pub fn is_allocated(&mut self, b: u64) -> Result<bool> {
        let i = (b % BITS_PER_BLOCK) as usize;
        self.with_block(Key::leaf(BITMAP_OBJ, b / BITS_PER_BLOCK), |d| {
            d[i / 8] & (1 << (i % 8)) != 0
        })
    }

    /// Releases physical block `addr` from the current tree.
    pub fn free_block(&mut self, addr: u64) -> Result<()> {
        if addr < SUPER_BLOCKS || addr >= self.sb.nblocks || !self.is_allocated(addr)? {
            return Err(internal(&format!("freeing unallocated host block {addr}")));
        }
        self.set_bits(addr, 1, false)?;
        self.sb.used -= 1;
        if !self.fresh.remove(addr) {
            self.pending_free.insert(addr, 1);
        }
        Ok(())
    }

    /// The first allocatable block in `from..to`.
    fn find_free(&mut self, from: u64, to: u64) -> Result<Option<u64>> {
        let mut b = from;
        while b < to {
            let leaf = b / BITS_PER_BLOCK;
            let lo = (b % BITS_PER_BLOCK) as usize;
            let hi = (to - leaf * BITS_PER_BLOCK).min(BITS_PER_BLOCK) as usize;
            let found = self.with_block(Key::leaf(BITMAP_OBJ, leaf), |d| first_zero(d, lo, hi))?;
            let Some(i) = found else {
                b = leaf * BITS_PER_BLOCK + hi as u64;
                continue;
            };
            let c = leaf * BITS_PER_BLOCK + i as u64;
            match self.pending_free.next_from(c) {
                Some((s, e)) if s <= c => b = e,
                _ => return Ok(Some(c)),
            }
        }
        Ok(None)
    }

    /// Length of the allocatable run at `start`, at most `want`, below `limit`.
    fn free_run_len(&mut self, start: u64, want: u64, limit: u64) -> Result<u64> {
        let pending_cap = self
            .pending_free
            .next_from(start)
            .map_or(u64::MAX, |(s, _)| s);
        let end = start.saturating_add(want).min(limit).min(pending_cap);
        let mut b = start;
        while b < end {
            let leaf = b / BITS_PER_BLOCK;
            let lo = (b % BITS_PER_BLOCK) as usize;
            let hi = (end - leaf * BITS_PER_BLOCK).min(BITS_PER_BLOCK) as usize;
            let z = self.with_block(Key::leaf(BITMAP_OBJ, leaf), |d| zero_run(d, lo, hi))?;
            b += z as u64;
            if lo + z < hi {
                break;
            }
        }
        Ok(b - start)
    }

    /// Allocates a run of 1..=`want` physically contiguous blocks (next fit,
    /// growing the host file when nothing is free); returns (start, length).
    pub fn alloc_run(&mut self, want: u64) -> Result<(u64, u64)> {
        let want = want.max(1);
        let nb = self.sb.nblocks;
        let cursor = self.cursor.clamp(SUPER_BLOCKS, nb);
        let found = match self.find_free(cursor, nb)? {
            Some(s) => Some(s),
            None => self.find_free(SUPER_BLOCKS, cursor)?,
        };
        let (start, len) = match found {
            Some(s) => {
                let len = self.free_run_len(s, want, nb)?;
                if s + len == nb && len < want {
                    self.grow_to(s + want)?;
                    (s, want)
                } else {
                    (s, len)
                }
            }
            None => {
                self.grow_to(nb + want)?;
                (nb, want)
            }
        };
        if len == 0 {
            return Err(internal("allocator found an empty run"));
        }
        self.set_bits(start, len, true)?;
        self.sb.used += len;
        self.fresh.insert(start, len);
        self.cursor = start + len;
        Ok((start, len))
    }
}

#[cfg(test)]
mod tests {
    use super::{first_zero, zero_run};

    #[test]
    fn bit_scans() {
        let mut d = vec![0u8; 4096];
        d[0] = 0b0000_0111;
        d[9] = 0x80;
        assert_eq!(first_zero(&d, 0, 32768), Some(3));
        assert_eq!(zero_run(&d, 3, 32768), 76);
        d.fill(0xff);
        assert_eq!(first_zero(&d, 5, 32768), None);
        d[4095] = 0x7f;
        assert_eq!(first_zero(&d, 0, 32768), Some(32767));
        assert_eq!(first_zero(&d, 0, 32767), None);
        assert_eq!(zero_run(&d, 32767, 32768), 1);
    }
}
