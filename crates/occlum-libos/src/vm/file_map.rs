//! File-backed mappings: a mapping's contents are read from the file when it
//! is made; a `MAP_SHARED` one writes its pages back to the file on `msync`,
//! `munmap` and when the address space goes. Pages wholly past the end of the
//! file stay inaccessible, and touching them gives `SIGBUS`, as on Linux.
//!
//! A shared mapping of a file kept in memory (ramfs: `/dev/shm`, `/tmp`,
//! memfds) maps the file's own pages instead (`live`): every process and
//! `read`/`write` see one copy, and the host raises `SIGBUS` past the end.
//! Shared mappings of other files are copies, one per process, until
//! written back.

use crate::fs::vfs::InodeRef;

/// One file-backed mapping.
#[derive(Clone)]
pub struct FileMap {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// Where the file's bytes end in the mapping (page aligned).
    pub valid_end: usize,
    /// The file.
    pub inode: InodeRef,
    /// The file offset of `start`.
    pub offset: u64,
    /// `MAP_SHARED`: changes go back to the file.
    pub shared: bool,
    /// The file was open for writing (`PROT_WRITE` may be added later).
    pub may_write: bool,
    /// The mapping is the file's own pages (shared memory): nothing to
    /// copy or write back.
    pub live: bool,
    /// The file's path when it was mapped (`/proc/[pid]/maps`).
    pub path: std::sync::Arc<[u8]>,
}

impl FileMap {
    /// The part of this mapping within `[start, end)`, or `None`.
    pub fn clip(&self, start: usize, end: usize) -> Option<FileMap> {
        let (s, e) = (self.start.max(start), self.end.min(end));
        (s < e).then(|| FileMap {
            start: s,
            end: e,
            valid_end: self.valid_end.clamp(s, e),
            offset: self.offset + (s - self.start) as u64,
            ..self.clone()
        })
    }
}

impl std::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileMap({:#x}..{:#x}, ino {}, offset {}, shared {})",
            self.start,
            self.end,
            self.inode.ino(),
            self.offset,
            self.shared
        )
    }
}
