//! The encrypted, integrity-protected, crash-consistent file system kept in one
//! untrusted host file: the writable layer of the LibOS root file system.
//!
//! # On-disk format
//!
//! The host file is an array of 4 KiB blocks. Blocks 0 and 1 are the superblock
//! slots: plaintext magic `OCLMSEFS`, format version, slot number and nonce,
//! then an AES-256-GCM sealed body (sequence number, block/inode counters, free
//! inode list head, orphan count, and the roots of the inode table and of the
//! allocation bitmap). Every other block is AES-256-GCM ciphertext of exactly
//! 4096 bytes whose 36-byte reference (address, random 96-bit nonce, tag) lives
//! in its parent, so the whole file is a MAC tree rooted in the superblock. The
//! associated data of a block is its logical position (object, level, index),
//! so blocks cannot be moved between places.
//!
//! Objects are radix trees of blocks (113 references per index block, up to 5
//! levels, so files up to ~666 GB): each inode's data, the inode table
//! (128-byte records, 32 per block, free records chained into a list), and the
//! allocation bitmap (one bit per host block). Directories are files of packed
//! entries (`ino`, kind, name), with an in-memory name-hash index per recently
//! used directory. File names, sizes, the directory structure and all contents
//! are encrypted.
//!
//! Reads and writes of 16 or more whole blocks bypass the block cache: writes
//! seal into freshly allocated contiguous runs with one host write per 1 MiB,
//! reads fetch physically contiguous runs with one host read; smaller accesses
//! go through the cache (with read-ahead on sequential misses). Access times
//! follow `relatime`.
//!
//! # Crash consistency
//!
//! Blocks are copy-on-write: a dirty block, when evicted from the cache or at
//! `sync`, goes to a block that the last durable superblock does not reference.
//! Blocks that the durable state references are freed in the bitmap but kept
//! out of reuse until the next commit is durable. `sync` writes all dirty
//! blocks, syncs the host file, writes the new superblock (sequence + 1) into
//! the slot holding the older one, and syncs again. At open the authentic slot
//! with the highest sequence wins; whatever a crash left unsynced is either
//! unreferenced garbage or a torn superblock that fails authentication, so the
//! file system shows the last completed `sync` (or the one in flight, if its
//! superblock landed). The free-space state is the bitmap in that tree, so
//! mounting reads only the two superblock slots; inodes left unlinked but
//! unreleased are counted in the superblock and, if any, found by a scan of the
//! inode table and reclaimed at open.
//!
//! # Threat model limits
//!
//! Confidentiality and integrity hold against a host that reads or changes the
//! file: any change to a block the file system uses fails authentication
//! (`BadKeyOrCorrupted` at open, `Corrupted` on the affected access) rather
//! than yielding wrong data; changes to free space are simply never read. The host
//! can still see the file size and access pattern, and it can roll the whole
//! file back to an older synced state (or destroy the newest superblock slot,
//! which rolls back one commit): freshness would need a trusted monotonic
//! counter, which this crate does not have. Nonces are random, so one key should
//! seal well under 2^32 blocks. A host I/O failure makes the mounted instance
//! refuse further calls (the state on disk stays the last commit).
#![forbid(unsafe_code)]

mod alloc;
mod cache;
mod check;
mod crypto;
mod dir;
mod env;
mod error;
mod fileio;
mod flush;
mod fs;
mod inode;
mod layout;
mod mem_storage;
mod rangeset;
mod sefs;
mod storage;
mod store;
mod superblock;
mod tree;
mod types;

pub use env::{Env, StdEnv};
pub use error::{Error, Result};
pub use mem_storage::{MemStorage, CRASH_GRANULE};
pub use sefs::Sefs;
pub use storage::{FileStorage, Storage};
pub use types::{
    Attr, DirEntry, FileKind, Ino, Options, RenameFlags, SetAttr, StatFs, Timespec, ROOT_INO,
};
