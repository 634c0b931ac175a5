//! Lays out file data extents and serializes the metadata stream (inode table + tables).

use std::io;

use super::scan::{Content, Scan};
use crate::format::{blocks_for, DIRENT_SIZE, DIR_HEADER, INODE_SIZE};
use crate::records::{DirentRec, InodeRec};

/// The planned layout: metadata bytes and the number of data blocks.
pub(crate) struct Meta {
    /// The serialized metadata stream (not yet block padded).
    pub bytes: Vec<u8>,
    /// Number of file-data blocks; files are stored in inode order from block 1.
    pub data_blocks: u64,
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} exceeds the image format limits"),
    )
}

/// Per-inode values filled in while serializing tables.
#[derive(Clone, Copy, Default)]
struct Placement {
    extent: u64,
    size: u64,
    name_off: u64,
    name_len: u32,
}

/// Assigns data extents (in inode order) and serializes all metadata.
pub(crate) fn layout(scan: &Scan) -> io::Result<Meta> {
    let nodes = &scan.nodes;
    let mut place = vec![Placement::default(); nodes.len()];
    let mut next_block: u64 = 1;
    for (p, n) in place.iter_mut().zip(nodes) {
        p.size = n.size;
        if matches!(n.content, Content::File(_)) && n.size > 0 {
            p.extent = next_block;
            next_block = next_block
                .checked_add(blocks_for(n.size))
                .ok_or_else(|| too_big("total data size"))?;
        }
    }
    let table_len = nodes
        .len()
        .checked_mul(INODE_SIZE)
        .ok_or_else(|| too_big("inode count"))?;
    let mut bytes = vec![0u8; table_len];
    for (i, n) in nodes.iter().enumerate() {
        let ino = i as u64 + 1;
        let start = bytes.len() as u64;
        match &n.content {
            Content::File(_) => continue,
            Content::Symlink(target) => bytes.extend_from_slice(target),
            Content::Dir(entries) => {
                let names_start = DIR_HEADER + entries.len() * DIRENT_SIZE;
                let mut name_off = names_start;
                bytes.extend_from_slice(&(entries.len() as u64).to_le_bytes());
                for (idx, e) in entries.iter().enumerate() {
                    let child = nodes
                        .get((e.ino - 1) as usize)
                        .ok_or_else(|| too_big("inode number"))?;
                    let rec = DirentRec {
                        ino: e.ino,
                        name_off: u32::try_from(name_off)
                            .map_err(|_| too_big("directory table"))?,
                        name_len: u16::try_from(e.name.len())
                            .map_err(|_| too_big("file name length"))?,
                        kind: child.content.kind(),
                    };
                    bytes.extend_from_slice(&rec.encode());
                    if child.parent == ino && child.parent_entry as usize == idx {
                        if let Some(p) = place.get_mut((e.ino - 1) as usize) {
                            p.name_off = start + name_off as u64;
                            p.name_len = e.name.len() as u32;
                        }
                    }
                    name_off += e.name.len();
                }
                for e in entries {
                    bytes.extend_from_slice(&e.name);
                }
                place[i].size = bytes.len() as u64 - start;
            }
        }
        place[i].extent = start;
    }
    for (i, (n, p)) in nodes.iter().zip(&place).enumerate() {
        let rec = InodeRec {
            kind: n.content.kind(),
            mode: n.mode,
            nlink: n.nlink,
            uid: 0,
            gid: 0,
            size: p.size,
            mtime_sec: n.mtime_sec,
            mtime_nsec: n.mtime_nsec,
            name_len: p.name_len,
            extent: p.extent,
            parent: n.parent,
            name_off: p.name_off,
        };
        let off = i * INODE_SIZE;
        bytes[off..off + INODE_SIZE].copy_from_slice(&rec.encode());
    }
    Ok(Meta {
        bytes,
        data_blocks: next_block - 1,
    })
}
