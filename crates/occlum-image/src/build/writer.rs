//! Streams content blocks into the image file while building the hash tree.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::format::{BLOCK, BLOCK_SIZE, FANOUT, HASH_LEN};
use crate::hash::{leaf_hash, node_hash, root_hash, Hash};
use crate::header::Header;

/// Content bytes buffered before one positioned write.
const FLUSH_BYTES: usize = 1 << 20;

/// Writes content blocks sequentially from block 1, level-0 nodes as they fill up, and the
/// upper tree levels plus the header at the end.
pub(crate) struct ImageWriter<'a> {
    out: &'a File,
    header: Header,
    next_leaf: u64,
    pending: Vec<u8>,
    node: Vec<u8>,
    level0: Vec<Hash>,
}

fn internal(msg: &str) -> io::Error {
    io::Error::other(format!("internal layout error: {msg}"))
}

impl<'a> ImageWriter<'a> {
    /// Starts writing an image with the planned `header` layout into `out`.
    pub fn new(out: &'a File, header: Header) -> Self {
        ImageWriter {
            out,
            header,
            next_leaf: 0,
            pending: Vec::with_capacity(FLUSH_BYTES + BLOCK_SIZE),
            node: Vec::with_capacity(BLOCK_SIZE),
            level0: Vec::new(),
        }
    }

    /// Appends `data` as content blocks, zero padding a trailing partial block.
    pub fn push_padded(&mut self, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(BLOCK_SIZE) {
            if chunk.len() == BLOCK_SIZE {
                self.push_block(chunk)?;
            } else {
                let mut block = [0u8; BLOCK_SIZE];
                block[..chunk.len()].copy_from_slice(chunk);
                self.push_block(&block)?;
            }
        }
        Ok(())
    }

    fn push_block(&mut self, block: &[u8]) -> io::Result<()> {
        if self.next_leaf >= self.header.geom.leaves {
            return Err(internal("more content than planned"));
        }
        let h = leaf_hash(self.next_leaf, block);
        self.next_leaf += 1;
        self.pending.extend_from_slice(block);
        if self.pending.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        self.node.extend_from_slice(&h);
        if self.node.len() == BLOCK_SIZE {
            self.finish_level0_node()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let blocks = (self.pending.len() / BLOCK_SIZE) as u64;
        let first_block = 1 + self.next_leaf - blocks;
        self.out.write_all_at(&self.pending, first_block * BLOCK)?;
        self.pending.clear();
        Ok(())
    }

    fn write_node(&self, level: u32, index: u64, node: &[u8]) -> io::Result<Hash> {
        let block = self
            .header
            .geom
            .node_block(level, index)
            .ok_or_else(|| internal("node out of range"))?;
        self.out.write_all_at(node, block * BLOCK)?;
        Ok(node_hash(level, index, node))
    }

    fn finish_level0_node(&mut self) -> io::Result<()> {
        self.node.resize(BLOCK_SIZE, 0);
        let h = self.write_node(0, self.level0.len() as u64, &self.node)?;
        self.level0.push(h);
        self.node.clear();
        Ok(())
    }

    /// Writes the remaining content, the upper tree levels and the header; returns the root hash.
    pub fn finish(mut self) -> io::Result<Hash> {
        self.flush()?;
        if self.next_leaf != self.header.geom.leaves {
            return Err(internal("less content than planned"));
        }
        if !self.node.is_empty() {
            self.finish_level0_node()?;
        }
        let mut hashes = std::mem::take(&mut self.level0);
        for level in 1..self.header.geom.levels() {
            let mut next = Vec::with_capacity(hashes.len().div_ceil(FANOUT as usize));
            for (i, chunk) in hashes.chunks(FANOUT as usize).enumerate() {
                let mut node = vec![0u8; BLOCK_SIZE];
                for (slot, h) in node.chunks_exact_mut(HASH_LEN).zip(chunk) {
                    slot.copy_from_slice(h);
                }
                next.push(self.write_node(level, i as u64, &node)?);
            }
            hashes = next;
        }
        match hashes.as_slice() {
            [top] => self.header.top_hash = *top,
            _ => return Err(internal("tree does not end in one top node")),
        }
        let block = self.header.encode();
        self.out.write_all_at(&block, 0)?;
        Ok(root_hash(&block))
    }
}
