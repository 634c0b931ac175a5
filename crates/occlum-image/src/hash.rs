//! The domain-separated SHA-256 hashes of leaves, tree nodes and the root.

use sha2::{Digest, Sha256};

use crate::format::HASH_LEN;

/// A SHA-256 hash.
pub(crate) type Hash = [u8; HASH_LEN];

const LEAF_TAG: &[u8] = b"occlum-image/v1/leaf\0";
const NODE_TAG: &[u8] = b"occlum-image/v1/node\0";
const ROOT_TAG: &[u8] = b"occlum-image/v1/root\0";

/// Hash of content block `leaf` (0-based leaf index, i.e. image block `leaf + 1`).
pub(crate) fn leaf_hash(leaf: u64, block: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(LEAF_TAG);
    h.update(leaf.to_le_bytes());
    h.update(block);
    h.finalize().into()
}

/// Hash of tree node `index` on `level` (level 0 holds leaf hashes).
pub(crate) fn node_hash(level: u32, index: u64, block: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(NODE_TAG);
    h.update(level.to_le_bytes());
    h.update(index.to_le_bytes());
    h.update(block);
    h.finalize().into()
}

/// The image root hash: commits to the whole header block, which holds the top node hash.
pub(crate) fn root_hash(header_block: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(ROOT_TAG);
    h.update(header_block);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_bind_position_and_domain() {
        let block = [7u8; 64];
        assert_ne!(leaf_hash(0, &block), leaf_hash(1, &block));
        assert_ne!(node_hash(0, 0, &block), node_hash(1, 0, &block));
        assert_ne!(node_hash(0, 0, &block), node_hash(0, 1, &block));
        assert_ne!(leaf_hash(0, &block), node_hash(0, 0, &block));
        assert_ne!(root_hash(&block), leaf_hash(0, &block));
    }
}
