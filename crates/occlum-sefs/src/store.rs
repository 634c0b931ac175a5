//! The block layer: cached, sealed block trees over the host storage.
//!
//! Every object (a file's data, the inode table, the allocation bitmap) is a
//! radix tree of 4 KiB blocks whose references live in the parent block (or,
//! for the top block, in the inode or the superblock). The cache overlays the
//! on-disk tree: a cached block is always the newest version of its position.

use std::sync::Arc;

use crate::cache::BlockCache;
use crate::crypto::{Crypto, NONCE_LEN};
use crate::env::Env;
use crate::error::{corrupted, Error, Result};
use crate::layout::{span, Key, ObjRoot, Ref, BITMAP_OBJ, BLOCK_SIZE, BS, TABLE_OBJ};
use crate::rangeset::RangeSet;
use crate::storage::Storage;
use crate::superblock::Super;

/// The block layer's state.
pub(crate) struct Store {
    /// The host file.
    pub storage: Arc<dyn Storage>,
    /// Clock and randomness.
    pub env: Arc<dyn Env>,
    /// The keyed cipher.
    pub crypto: Crypto,
    /// The superblock of the state being built (committed by `commit`).
    pub sb: Super,
    /// The superblock of the last durable commit.
    pub committed: Super,
    /// Decrypted blocks.
    pub cache: BlockCache,
    /// Blocks the last commit references but the current tree does not:
    /// free only once the next commit is durable.
    pub pending_free: RangeSet,
    /// Blocks allocated since the last commit (not referenced by it).
    pub fresh: RangeSet,
    /// Where the next allocation search starts.
    pub cursor: u64,
    /// Notional capacity in blocks.
    pub capacity_blocks: u64,
    /// Set after a host I/O failure: the in-memory state can no longer be trusted
    /// to match what reached the host, so every later call fails.
    pub poisoned: bool,
}

/// An internal inconsistency (a bug or corrupted metadata).
pub(crate) fn internal(what: &str) -> Error {
    corrupted(format!("inconsistent metadata: {what}"))
}

impl Store {
    /// A store over `storage` at the committed state `sb`.
    pub fn new(
        storage: Arc<dyn Storage>,
        env: Arc<dyn Env>,
        crypto: Crypto,
        sb: Super,
        cache_blocks: usize,
        capacity_blocks: u64,
    ) -> Store {
        Store {
            storage,
            env,
            crypto,
            committed: sb.clone(),
            sb,
            cache: BlockCache::new(cache_blocks),
            pending_free: RangeSet::default(),
            fresh: RangeSet::default(),
            cursor: crate::layout::SUPER_BLOCKS,
            capacity_blocks,
            poisoned: false,
        }
    }

    /// Writes to the host; a failure poisons the store.
    pub fn host_write(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        self.storage.write_at(offset, buf).map_err(|e| {
            self.poisoned = true;
            Error::Io(e)
        })
    }

    /// Syncs the host file; a failure poisons the store.
    pub fn host_sync(&mut self) -> Result<()> {
        self.storage.sync().map_err(|e| {
            self.poisoned = true;
            Error::Io(e)
        })
    }

    /// `n` fresh random nonces.
    pub fn nonces(&self, n: usize) -> Vec<[u8; NONCE_LEN]> {
        let mut raw = vec![0u8; n * NONCE_LEN];
        self.env.fill_random(&mut raw);
        raw.chunks(NONCE_LEN)
            .map(|c| {
                let mut a = [0u8; NONCE_LEN];
                a.copy_from_slice(c);
                a
            })
            .collect()
    }

    /// The root of object `obj`.
    pub fn root(&mut self, obj: u64) -> Result<ObjRoot> {
        match obj {
            TABLE_OBJ => Ok(self.sb.table),
            BITMAP_OBJ => Ok(self.sb.bitmap),
            ino => Ok(self.read_inode(ino)?.root),
        }
    }

    /// Replaces the root of object `obj`.
    pub fn set_root(&mut self, obj: u64, root: ObjRoot) -> Result<()> {
        match obj {
            TABLE_OBJ => self.sb.table = root,
            BITMAP_OBJ => self.sb.bitmap = root,
            ino => {
                let mut inode = self.read_inode(ino)?;
                inode.root = root;
                self.write_inode(ino, &inode)?;
            }
        }
        Ok(())
    }

    /// Adds `delta` to a file's allocated-block count (no-op for internal objects).
    pub fn account(&mut self, obj: u64, delta: i64) -> Result<()> {
        if obj == TABLE_OBJ || obj == BITMAP_OBJ {
            return Ok(());
        }
        let mut inode = self.read_inode(obj)?;
        inode.blocks = inode
            .blocks
            .checked_add_signed(delta)
            .ok_or_else(|| internal("negative block count"))?;
        self.write_inode(obj, &inode)
    }

    /// Whether `key` is the top block of a tree of `root`.
    pub fn is_top(key: &Key, root: &ObjRoot) -> bool {
        root.height > 0 && key.level == root.height - 1 && key.idx == 0
    }

    /// Whether `key` lies inside a tree of `root`.
    pub fn in_tree(key: &Key, root: &ObjRoot) -> bool {
        root.height > 0 && key.level < root.height && key.idx < span(root.height - 1 - key.level)
    }

    /// The on-disk reference of `key` as the current tree sees it (`NONE` for holes).
    pub fn block_ref(&mut self, key: Key) -> Result<Ref> {
        let root = self.root(key.obj)?;
        if !Self::in_tree(&key, &root) {
            return Ok(Ref::NONE);
        }
        if Self::is_top(&key, &root) {
            return Ok(root.r);
        }
        let parent = key.parent();
        let slot = key.slot();
        self.with_block(parent, |d| Ref::in_slot(d, slot))
    }

    /// Reads and authenticates block `key` at `r` into `buf`.
    pub fn read_block(&self, key: &Key, r: &Ref, buf: &mut [u8]) -> Result<()> {
        self.storage.read_at(r.addr * BS, buf)?;
        if self.crypto.open_block(key, r, buf) {
            Ok(())
        } else {
            buf.fill(0);
            Err(corrupted(format!(
                "{} (host block {})",
                key.describe(),
                r.addr
            )))
        }
    }

    /// Makes sure `key` is cached (a zero placeholder for a hole).
    pub fn ensure(&mut self, key: Key) -> Result<()> {
        if self.cache.get(&key).is_some() {
            return Ok(());
        }
        let r = self.block_ref(key)?;
        let mut buf = self.cache.take_buf();
        if !r.is_none() {
            self.read_block(&key, &r, &mut buf)?;
        }
        self.cache.insert(key, buf, !r.is_none());
        Ok(())
    }

    /// Runs `f` on the plaintext of `key`.
    pub fn with_block<R>(&mut self, key: Key, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        self.ensure(key)?;
        let entry = self
            .cache
            .get(&key)
            .ok_or_else(|| internal("cache entry vanished"))?;
        Ok(f(&entry.data))
    }

    /// Runs `f` on the plaintext of `key` and marks it dirty (creating it if a hole).
    pub fn modify<R>(&mut self, key: Key, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
        self.ensure(key)?;
        self.materialize(key)?;
        let entry = self
            .cache
            .get(&key)
            .ok_or_else(|| internal("cache entry vanished"))?;
        entry.dirty = true;
        Ok(f(&mut entry.data))
    }

    /// Turns a cached hole placeholder into an existing (dirty) block, together
    /// with any missing ancestors.
    fn materialize(&mut self, key: Key) -> Result<()> {
        let root = self.root(key.obj)?;
        if !Self::in_tree(&key, &root) {
            return Err(internal(&format!(
                "{} lies outside its tree",
                key.describe()
            )));
        }
        let entry = self
            .cache
            .get(&key)
            .ok_or_else(|| internal("cache entry vanished"))?;
        if entry.exists {
            return Ok(());
        }
        entry.exists = true;
        entry.dirty = true;
        self.account(key.obj, 1)?;
        if !Self::is_top(&key, &root) {
            let parent = key.parent();
            self.ensure(parent)?;
            self.materialize(parent)?;
        }
        Ok(())
    }

    /// Stores `r` as the reference of `key` (in its parent or the object root).
    pub fn set_ref(&mut self, key: Key, r: Ref) -> Result<()> {
        let root = self.root(key.obj)?;
        if Self::is_top(&key, &root) {
            return self.set_root(key.obj, ObjRoot { r, ..root });
        }
        let slot = key.slot();
        self.modify(key.parent(), |d| r.put_slot(d, slot))
    }

    /// Marks the holder of `key`'s reference dirty (its parent, or the inode).
    pub fn dirty_holder(&mut self, key: Key) -> Result<()> {
        let root = self.root(key.obj)?;
        if !Self::is_top(&key, &root) {
            return self.modify(key.parent(), |_| ());
        }
        if key.obj == TABLE_OBJ || key.obj == BITMAP_OBJ {
            return Ok(());
        }
        let (tkey, _) = crate::inode::inode_pos(key.obj);
        self.modify(tkey, |_| ())
    }

    /// Seals `keys`' cached plaintexts into `buf` (consecutive blocks) and returns
    /// their references, to be written at consecutive addresses from `addr`.
    pub fn seal_cached(&mut self, keys: &[Key], addr: u64, buf: &mut Vec<u8>) -> Result<Vec<Ref>> {
        buf.clear();
        for key in keys {
            let entry = self
                .cache
                .peek(key)
                .ok_or_else(|| internal("dirty block not cached"))?;
            buf.extend_from_slice(&entry.data);
        }
        self.seal_buf(keys, addr, buf)
    }

    /// Seals the consecutive plaintext blocks in `buf` (one per key) in place.
    pub fn seal_buf(&self, keys: &[Key], addr: u64, buf: &mut [u8]) -> Result<Vec<Ref>> {
        debug_assert_eq!(buf.len(), keys.len() * BLOCK_SIZE);
        let nonces = self.nonces(keys.len());
        let tags = self.crypto.seal_blocks(keys, &nonces, buf)?;
        Ok(nonces
            .into_iter()
            .zip(tags)
            .enumerate()
            .map(|(i, (nonce, tag))| Ref {
                addr: addr + i as u64,
                nonce,
                tag,
            })
            .collect())
    }
}
