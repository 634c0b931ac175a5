//! On-disk geometry: block size, block references, tree keys and shapes.

/// Size of every block, plaintext and ciphertext alike.
pub(crate) const BLOCK_SIZE: usize = 4096;
/// [`BLOCK_SIZE`] as a `u64`.
pub(crate) const BS: u64 = BLOCK_SIZE as u64;
/// Bytes of an encoded [`Ref`].
pub(crate) const REF_SIZE: usize = 36;
/// Child references per index block.
pub(crate) const FANOUT: u64 = (BLOCK_SIZE / REF_SIZE) as u64;
/// Tallest block tree (levels, counting the leaves).
pub(crate) const MAX_HEIGHT: u8 = 5;
/// Physical blocks 0 and 1 hold the two superblock slots.
pub(crate) const SUPER_BLOCKS: u64 = 2;
/// Object id of the inode table.
pub(crate) const TABLE_OBJ: u64 = u64::MAX - 1;
/// Object id of the allocation bitmap.
pub(crate) const BITMAP_OBJ: u64 = u64::MAX;
/// Bits (physical blocks) described by one bitmap leaf.
pub(crate) const BITS_PER_BLOCK: u64 = BS * 8;
/// Largest file size: what a tree of [`MAX_HEIGHT`] can address.
pub(crate) const MAX_FILE_SIZE: u64 = FANOUT * FANOUT * FANOUT * FANOUT * BS;

/// Where a block lives and how to authenticate it: the parent's view of a child.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ref {
    /// Physical block number; 0 means "no block" (a hole).
    pub addr: u64,
    /// AES-GCM nonce the block was sealed with.
    pub nonce: [u8; 12],
    /// AES-GCM tag of the block.
    pub tag: [u8; 16],
}

impl Ref {
    /// The hole.
    pub const NONE: Ref = Ref {
        addr: 0,
        nonce: [0; 12],
        tag: [0; 16],
    };

    /// Whether this is the hole.
    pub fn is_none(&self) -> bool {
        self.addr == 0
    }

    /// Writes the 36-byte encoding into `out[..36]`.
    pub fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.addr.to_le_bytes());
        out[8..20].copy_from_slice(&self.nonce);
        out[20..36].copy_from_slice(&self.tag);
    }

    /// Reads the 36-byte encoding from `src[..36]`.
    pub fn decode(src: &[u8]) -> Ref {
        let mut r = Ref::NONE;
        r.addr = get_u64(src, 0);
        r.nonce.copy_from_slice(&src[8..20]);
        r.tag.copy_from_slice(&src[20..36]);
        r
    }

    /// Reads the reference in child slot `slot` of an index block.
    pub fn in_slot(block: &[u8], slot: usize) -> Ref {
        Ref::decode(&block[slot * REF_SIZE..(slot + 1) * REF_SIZE])
    }

    /// Writes the reference into child slot `slot` of an index block.
    pub fn put_slot(&self, block: &mut [u8], slot: usize) {
        self.encode(&mut block[slot * REF_SIZE..(slot + 1) * REF_SIZE]);
    }
}

/// The logical position of a block: object, level (0 = leaves) and index in level.
/// The order (object, level, index) writes children before their parents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    /// Inode number, [`TABLE_OBJ`] or [`BITMAP_OBJ`].
    pub obj: u64,
    /// 0 for leaves (data), higher for index blocks.
    pub level: u8,
    /// Position within the level, counted from the left.
    pub idx: u64,
}

impl Key {
    /// A leaf key.
    pub fn leaf(obj: u64, idx: u64) -> Key {
        Key { obj, level: 0, idx }
    }

    /// The index block holding this block's reference.
    pub fn parent(&self) -> Key {
        Key {
            obj: self.obj,
            level: self.level + 1,
            idx: self.idx / FANOUT,
        }
    }

    /// The slot of this block's reference in its parent.
    pub fn slot(&self) -> usize {
        (self.idx % FANOUT) as usize
    }

    /// The `slot`-th child of this index block.
    pub fn child(&self, slot: usize) -> Key {
        Key {
            obj: self.obj,
            level: self.level - 1,
            idx: self.idx * FANOUT + slot as u64,
        }
    }

    /// Additional authenticated data binding a block to its position.
    pub fn aad(&self) -> [u8; 17] {
        let mut a = [0u8; 17];
        a[..8].copy_from_slice(&self.obj.to_le_bytes());
        a[8] = self.level;
        a[9..].copy_from_slice(&self.idx.to_le_bytes());
        a
    }

    /// Human-readable description for error messages.
    pub fn describe(&self) -> String {
        let what = match self.obj {
            TABLE_OBJ => "inode table".to_string(),
            BITMAP_OBJ => "allocation bitmap".to_string(),
            ino => format!("inode {ino}"),
        };
        if self.level == 0 {
            format!("block {} of {what}", self.idx)
        } else {
            format!("index block {} (level {}) of {what}", self.idx, self.level)
        }
    }
}

/// The root of an object's block tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObjRoot {
    /// Reference to the top block.
    pub r: Ref,
    /// Levels in the tree, leaves included (0 = empty).
    pub height: u8,
}

/// Leaves under one block of `level` (FANOUT^level), saturating.
pub(crate) fn span(level: u8) -> u64 {
    FANOUT.saturating_pow(u32::from(level))
}

/// Leaves a tree of `height` can hold.
pub(crate) fn capacity(height: u8) -> u64 {
    if height == 0 {
        0
    } else {
        span(height - 1)
    }
}

/// The smallest height holding `leaves` leaves.
pub(crate) fn height_for(leaves: u64) -> u8 {
    let mut h = 0;
    while capacity(h) < leaves {
        h += 1;
    }
    h
}

/// Little-endian u16 at `off`.
pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// Little-endian u32 at `off`.
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Little-endian u64 at `off`.
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Stores `v` little-endian at `off`.
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Stores `v` little-endian at `off`.
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Stores `v` little-endian at `off`.
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
