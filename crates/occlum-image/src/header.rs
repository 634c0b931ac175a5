//! The header block (image block 0): encoding and consistency-checked decoding.

use crate::format::{
    blocks_for, get_hash, get_u32, get_u64, put, BLOCK_SIZE, HASH_LEN, INODE_SIZE, ROOT_INO,
};
use crate::geometry::Geometry;
use crate::hash::Hash;

/// Magic bytes at the start of every image.
pub(crate) const MAGIC: [u8; 8] = *b"OCLMIMG\0";
/// Format version written by this crate.
pub(crate) const VERSION: u32 = 1;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_BLOCK_SIZE: usize = 12;
const OFF_LEAVES: usize = 16;
const OFF_DATA_BLOCKS: usize = 24;
const OFF_META_START: usize = 32;
const OFF_META_LEN: usize = 40;
const OFF_INODES: usize = 48;
const OFF_ROOT_INO: usize = 56;
const OFF_TREE_START: usize = 64;
const OFF_LEVELS: usize = 72;
const OFF_TOTAL_BLOCKS: usize = 80;
const OFF_TOP_HASH: usize = 88;

/// Decoded header fields plus the derived tree geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Number of file-data blocks (image blocks `1..=data_blocks`).
    pub data_blocks: u64,
    /// Length of the metadata byte stream.
    pub meta_len: u64,
    /// Number of inodes in the inode table.
    pub inode_count: u64,
    /// Hash of the top tree node.
    pub top_hash: Hash,
    /// Tree geometry derived from the leaf count.
    pub geom: Geometry,
}

impl Header {
    /// Lays out an image with the given region sizes; `None` if it cannot be represented.
    pub fn new(data_blocks: u64, meta_len: u64, inode_count: u64) -> Option<Header> {
        if inode_count == 0 || inode_count.checked_mul(INODE_SIZE as u64)? > meta_len {
            return None;
        }
        let leaves = data_blocks.checked_add(blocks_for(meta_len))?;
        Some(Header {
            data_blocks,
            meta_len,
            inode_count,
            top_hash: [0; HASH_LEN],
            geom: Geometry::new(leaves)?,
        })
    }

    /// First image block of the metadata region.
    pub fn meta_start(&self) -> u64 {
        1 + self.data_blocks
    }

    /// Encodes the full header block (zero padded).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK_SIZE];
        put(&mut b, OFF_MAGIC, &MAGIC);
        put(&mut b, OFF_VERSION, &VERSION.to_le_bytes());
        put(&mut b, OFF_BLOCK_SIZE, &(BLOCK_SIZE as u32).to_le_bytes());
        put(&mut b, OFF_LEAVES, &self.geom.leaves.to_le_bytes());
        put(&mut b, OFF_DATA_BLOCKS, &self.data_blocks.to_le_bytes());
        put(&mut b, OFF_META_START, &self.meta_start().to_le_bytes());
        put(&mut b, OFF_META_LEN, &self.meta_len.to_le_bytes());
        put(&mut b, OFF_INODES, &self.inode_count.to_le_bytes());
        put(&mut b, OFF_ROOT_INO, &ROOT_INO.to_le_bytes());
        put(
            &mut b,
            OFF_TREE_START,
            &(1 + self.geom.leaves).to_le_bytes(),
        );
        put(&mut b, OFF_LEVELS, &self.geom.levels().to_le_bytes());
        put(
            &mut b,
            OFF_TOTAL_BLOCKS,
            &self.geom.total_blocks.to_le_bytes(),
        );
        put(&mut b, OFF_TOP_HASH, &self.top_hash);
        b
    }

    /// Decodes a header block, checking that every redundant field matches the derived layout.
    pub fn decode(b: &[u8]) -> Result<Header, String> {
        if b.len() != BLOCK_SIZE {
            return Err("header block has the wrong size".into());
        }
        if b.get(OFF_MAGIC..OFF_MAGIC + MAGIC.len()) != Some(&MAGIC[..]) {
            return Err("bad magic: not an Occlum image".into());
        }
        let version = get_u32(b, OFF_VERSION);
        if version != VERSION {
            return Err(format!("unsupported format version {version}"));
        }
        if get_u32(b, OFF_BLOCK_SIZE) != BLOCK_SIZE as u32 {
            return Err("unsupported block size".into());
        }
        let mut h = Header::new(
            get_u64(b, OFF_DATA_BLOCKS),
            get_u64(b, OFF_META_LEN),
            get_u64(b, OFF_INODES),
        )
        .ok_or("impossible region sizes")?;
        h.top_hash = get_hash(b, OFF_TOP_HASH);
        if h.encode() != b {
            return Err("inconsistent or non-canonical header fields".into());
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_rejects_inconsistency() {
        let mut h = Header::new(10, 4096 * 3 + 5, 7).unwrap();
        h.top_hash = [9; 32];
        let b = h.encode();
        assert_eq!(Header::decode(&b).unwrap(), h);
        for off in [0, 8, 12, 16, 32, 56, 64, 72, 80, 200, 4095] {
            let mut bad = b.clone();
            bad[off] ^= 1;
            assert!(Header::decode(&bad).is_err(), "offset {off}");
        }
        assert!(Header::decode(&b[..100]).is_err());
        assert!(Header::new(0, 10, 1).is_none());
        assert!(Header::new(0, 64, 0).is_none());
    }
}
