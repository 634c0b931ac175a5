//! The integrity-protected, read-only image format.
//!
//! `occlum build` packs the instance's `image/` directory into one image file with
//! [`build_image`]. At run time the LibOS opens it through the untrusted host with
//! [`Image::open`]: every block it hands out has been checked against a SHA-256 Merkle
//! tree whose root hash comes from signed enclave metadata. A mismatch yields
//! [`ImageError::Corrupted`] naming the affected file, never wrong data.
//!
//! # On-disk layout (version 1)
//!
//! All integers are little-endian; the image is a sequence of 4 KiB blocks.
//!
//! ```text
//! block 0            header, zero padded
//! blocks 1..=D       file data: one block-aligned extent per regular file, in inode order,
//!                    last block zero padded (empty files have no extent)
//! blocks D+1..=D+M   metadata stream (M = ceil(meta_len / 4096)), zero padded:
//!                    inode table (64-byte records, inode n at (n-1)*64; root is inode 1),
//!                    then directory tables and symlink targets
//! then               hash tree: all level-0 nodes, then level 1, ..., the single top node
//! ```
//!
//! Header fields (byte offsets): magic `OCLMIMG\0` @0, version u32 @8, block size u32 @12,
//! leaves u64 @16 (= D + M), D u64 @24, metadata start block u64 @32, meta_len u64 @40,
//! inode count u64 @48, root ino u64 @56, tree start block u64 @64, tree levels u32 @72,
//! total blocks u64 @80, top-node hash @88. Redundant fields must match the values derived
//! from D, meta_len and the inode count, and the rest of the block must be zero.
//!
//! A directory table is `count u64`, then `count` 16-byte records sorted by name
//! (`ino u64, name_off u32, name_len u16, kind u8, 0u8`; `name_off` relative to the table),
//! then the names (raw bytes). See `records.rs` for the inode record.
//!
//! # Hash tree
//!
//! * leaf `i` (image block `i + 1`): `SHA256("occlum-image/v1/leaf\0" || i u64 || block)`
//! * node `j` of level `l`: a block of 128 child hashes (unused slots zero),
//!   hashed as `SHA256("occlum-image/v1/node\0" || l u32 || j u64 || block)`;
//!   level 0 holds leaf hashes, the top level has exactly one node
//! * root hash: `SHA256("occlum-image/v1/root\0" || header block)`; the header holds the
//!   top-node hash, so the root commits to the header, the geometry and every block.
//!
//! Building is deterministic: entries are sorted by name, inodes are numbered breadth
//! first, owners are recorded as 0, and no build-time data is stored.
#![forbid(unsafe_code)]

mod attr;
mod build;
mod format;
mod geometry;
mod hash;
mod header;
mod read;
mod records;

#[cfg(test)]
mod tests;

pub use attr::{Attr, DirEntry, FileKind, Ino};
pub use build::{build_image, BuildError, BuildReport};
pub use format::{BLOCK_SIZE, ROOT_INO};
pub use read::{Image, ImageError, ReadAt, DEFAULT_CACHE_BYTES};
