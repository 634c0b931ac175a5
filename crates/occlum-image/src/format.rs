//! On-disk constants and little-endian field helpers shared by the builder and the reader.

/// Size of every block of an image, in bytes.
pub const BLOCK_SIZE: usize = 4096;
/// [`BLOCK_SIZE`] as a `u64`, for offset arithmetic.
pub(crate) const BLOCK: u64 = BLOCK_SIZE as u64;
/// Length of a SHA-256 hash.
pub(crate) const HASH_LEN: usize = 32;
/// Child hashes per hash-tree node (one node fills one block).
pub(crate) const FANOUT: u64 = (BLOCK_SIZE / HASH_LEN) as u64;
/// Size of one inode record in the inode table.
pub(crate) const INODE_SIZE: usize = 64;
/// Size of one fixed-size directory-table record.
pub(crate) const DIRENT_SIZE: usize = 16;
/// Size of the directory-table header (the entry count).
pub(crate) const DIR_HEADER: usize = 8;
/// Inode number of the root directory.
pub const ROOT_INO: u64 = 1;

/// Number of blocks needed to hold `bytes` bytes.
pub(crate) fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK)
}

/// Copies `N` bytes at `off` out of `b`; bytes past the end of `b` read as zero.
fn take<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = off.checked_add(N).and_then(|end| b.get(off..end)) {
        out.copy_from_slice(src);
    }
    out
}

/// Reads a little-endian `u16` at `off`.
pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(take(b, off))
}

/// Reads a little-endian `u32` at `off`.
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(take(b, off))
}

/// Reads a little-endian `u64` at `off`.
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(take(b, off))
}

/// Reads a little-endian `i64` at `off`.
pub(crate) fn get_i64(b: &[u8], off: usize) -> i64 {
    i64::from_le_bytes(take(b, off))
}

/// Reads a 32-byte hash at `off`.
pub(crate) fn get_hash(b: &[u8], off: usize) -> [u8; HASH_LEN] {
    take(b, off)
}

/// Writes `bytes` into `b` at `off`; out-of-range writes are ignored.
pub(crate) fn put(b: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(dst) = off
        .checked_add(bytes.len())
        .and_then(|end| b.get_mut(off..end))
    {
        dst.copy_from_slice(bytes);
    }
}

/// Copies the overlap of `src` (covering bytes `src_start..`) into `dst` (covering `dst_start..`).
pub(crate) fn copy_overlap(dst: &mut [u8], dst_start: u64, src: &[u8], src_start: u64) {
    let lo = dst_start.max(src_start);
    let hi = (dst_start.saturating_add(dst.len() as u64))
        .min(src_start.saturating_add(src.len() as u64));
    if lo >= hi {
        return;
    }
    let n = (hi - lo) as usize;
    let d = (lo - dst_start) as usize;
    let s = (lo - src_start) as usize;
    if let (Some(dd), Some(ss)) = (dst.get_mut(d..d + n), src.get(s..s + n)) {
        dd.copy_from_slice(ss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_copies_only_the_intersection() {
        let mut dst = [0u8; 4];
        copy_overlap(&mut dst, 10, &[1, 2, 3, 4, 5, 6], 8);
        assert_eq!(dst, [3, 4, 5, 6]);
        let mut dst = [0u8; 4];
        copy_overlap(&mut dst, 10, &[1, 2], 13);
        assert_eq!(dst, [0, 0, 0, 1]);
        copy_overlap(&mut dst, 10, &[9], 100);
        assert_eq!(dst, [0, 0, 0, 1]);
    }

    #[test]
    fn short_reads_are_zero_not_panics() {
        assert_eq!(get_u64(&[1, 2], 0), 0);
        assert_eq!(get_u32(&[1, 0, 0, 0], usize::MAX), 0);
    }
}
