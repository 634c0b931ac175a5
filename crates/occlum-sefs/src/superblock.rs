//! The two superblock slots: sealed roots of the whole tree.

use crate::crypto::{Crypto, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::layout::{
    get_u32, get_u64, put_u32, put_u64, ObjRoot, Ref, BLOCK_SIZE, MAX_HEIGHT, REF_SIZE,
    SUPER_BLOCKS,
};

/// Plaintext magic at the start of each slot.
const MAGIC: [u8; 8] = *b"OCLMSEFS";
/// On-disk format version.
const VERSION: u32 = 1;
/// Plaintext header: magic, version, slot number, nonce.
const HEADER: usize = 8 + 4 + 4 + NONCE_LEN;
/// Length of the sealed body.
const BODY: usize = 7 * 8 + 2 * (REF_SIZE + 1);

/// The committed state's roots and counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Super {
    /// Commit sequence number, increasing by one per commit.
    pub seq: u64,
    /// Physical blocks covered by the bitmap (the host file's extent).
    pub nblocks: u64,
    /// Physical blocks referenced by the tree (superblocks included).
    pub used: u64,
    /// Inode table slots ever handed out (slot 0 is unused).
    pub ninodes: u64,
    /// Head of the free-inode list (0 = empty).
    pub free_ino_head: u64,
    /// Inodes with no links left that are not yet released.
    pub orphans: u64,
    /// Inodes in use.
    pub nfiles: u64,
    /// Root of the inode table.
    pub table: ObjRoot,
    /// Root of the allocation bitmap.
    pub bitmap: ObjRoot,
}

/// What a slot holds.
pub(crate) enum Slot {
    /// No magic: never written (or wiped).
    Empty,
    /// Magic present but the content does not authenticate.
    Invalid,
    /// An authentic superblock.
    Valid(Super),
}

fn put_root(b: &mut [u8], off: usize, root: &ObjRoot) {
    root.r.encode(&mut b[off..off + REF_SIZE]);
    b[off + REF_SIZE] = root.height;
}

fn get_root(b: &[u8], off: usize) -> ObjRoot {
    ObjRoot {
        r: Ref::decode(&b[off..off + REF_SIZE]),
        height: b[off + REF_SIZE],
    }
}

fn aad(slot: u32) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..8].copy_from_slice(&MAGIC);
    put_u32(&mut a, 8, VERSION);
    put_u32(&mut a, 12, slot);
    a
}

impl Super {
    /// The slot this superblock is written to (alternating with the sequence).
    pub fn slot(&self) -> u32 {
        (self.seq % SUPER_BLOCKS) as u32
    }

    fn encode_body(&self) -> [u8; BODY] {
        let mut b = [0u8; BODY];
        for (i, v) in [
            self.seq,
            self.nblocks,
            self.used,
            self.ninodes,
            self.free_ino_head,
            self.orphans,
            self.nfiles,
        ]
        .into_iter()
        .enumerate()
        {
            put_u64(&mut b, i * 8, v);
        }
        put_root(&mut b, 56, &self.table);
        put_root(&mut b, 56 + REF_SIZE + 1, &self.bitmap);
        b
    }

    fn decode_body(b: &[u8]) -> Super {
        Super {
            seq: get_u64(b, 0),
            nblocks: get_u64(b, 8),
            used: get_u64(b, 16),
            ninodes: get_u64(b, 24),
            free_ino_head: get_u64(b, 32),
            orphans: get_u64(b, 40),
            nfiles: get_u64(b, 48),
            table: get_root(b, 56),
            bitmap: get_root(b, 56 + REF_SIZE + 1),
        }
    }

    /// The sealed block to write into [`Super::slot`].
    pub fn seal(&self, crypto: &Crypto, nonce: [u8; NONCE_LEN]) -> Result<Vec<u8>> {
        let slot = self.slot();
        let mut out = vec![0u8; BLOCK_SIZE];
        out[..8].copy_from_slice(&MAGIC);
        put_u32(&mut out, 8, VERSION);
        put_u32(&mut out, 12, slot);
        out[16..HEADER].copy_from_slice(&nonce);
        let mut body = self.encode_body();
        let tag = crypto.seal(&nonce, &aad(slot), &mut body)?;
        out[HEADER..HEADER + BODY].copy_from_slice(&body);
        out[HEADER + BODY..HEADER + BODY + TAG_LEN].copy_from_slice(&tag);
        Ok(out)
    }

    /// Authenticates and decodes the block read from slot `slot`.
    pub fn unseal(crypto: &Crypto, slot: u32, block: &[u8]) -> Slot {
        if block.len() < HEADER + BODY + TAG_LEN || block[..8] != MAGIC {
            return Slot::Empty;
        }
        if get_u32(block, 8) != VERSION || get_u32(block, 12) != slot {
            return Slot::Invalid;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&block[16..HEADER]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&block[HEADER + BODY..HEADER + BODY + TAG_LEN]);
        let mut body = [0u8; BODY];
        body.copy_from_slice(&block[HEADER..HEADER + BODY]);
        if !crypto.open(&nonce, &tag, &aad(slot), &mut body) {
            return Slot::Invalid;
        }
        let sb = Super::decode_body(&body);
        if sb.slot() != slot {
            return Slot::Invalid;
        }
        Slot::Valid(sb)
    }

    /// Checks the invariants an authentic superblock must satisfy.
    pub fn validate(&self) -> Result<()> {
        let ok = self.nblocks >= SUPER_BLOCKS
            && self.used <= self.nblocks
            && self.ninodes >= 2
            && self.free_ino_head < self.ninodes
            && self.table.height <= MAX_HEIGHT
            && self.bitmap.height <= MAX_HEIGHT;
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupted(
                "superblock fields are inconsistent".into(),
            ))
        }
    }
}
