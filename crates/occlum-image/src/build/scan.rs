//! Walks the host source tree into an in-memory inode list (breadth first, names sorted).

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fs::{self, FileType, Metadata};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::BuildError;
use crate::attr::{FileKind, Ino};
use crate::format::ROOT_INO;

/// What an inode holds.
pub(crate) enum Content {
    /// A regular file; its data is streamed from this host path later.
    File(PathBuf),
    /// A directory with its entries sorted by name.
    Dir(Vec<Entry>),
    /// A symlink with its verbatim target.
    Symlink(Vec<u8>),
}

impl Content {
    /// The file kind of this content.
    pub fn kind(&self) -> FileKind {
        match self {
            Content::File(_) => FileKind::Regular,
            Content::Dir(_) => FileKind::Directory,
            Content::Symlink(_) => FileKind::Symlink,
        }
    }
}

/// One directory entry of the scanned tree.
pub(crate) struct Entry {
    pub name: Vec<u8>,
    pub ino: Ino,
}

/// One scanned inode; inode `n` is `Scan::nodes[n - 1]`.
pub(crate) struct Node {
    pub content: Content,
    pub mode: u16,
    /// Data size for files (from `lstat`; re-checked while streaming).
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
    pub nlink: u32,
    /// Directory holding the canonical (first seen) name; the root is its own parent.
    pub parent: Ino,
    /// Index of the canonical name in the parent's entries.
    pub parent_entry: u32,
}

/// The scanned tree.
pub(crate) struct Scan {
    pub nodes: Vec<Node>,
    pub skipped: Vec<(PathBuf, &'static str)>,
}

fn node(md: &Metadata, content: Content, parent: Ino, parent_entry: u32) -> Node {
    let size = match &content {
        Content::File(_) => md.len(),
        Content::Symlink(t) => t.len() as u64,
        Content::Dir(_) => 0,
    };
    Node {
        content,
        mode: (md.mode() & 0o7777) as u16,
        size,
        mtime_sec: md.mtime(),
        mtime_nsec: md.mtime_nsec().clamp(0, 999_999_999) as u32,
        nlink: 1,
        parent,
        parent_entry,
    }
}

fn special_kind(ft: &FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO not supported in images"
    } else if ft.is_socket() {
        "socket not supported in images"
    } else if ft.is_block_device() {
        "block device not supported in images"
    } else if ft.is_char_device() {
        "character device not supported in images"
    } else {
        "unknown file type"
    }
}

fn too_big(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} exceeds the image format limits"),
    )
}

/// Scans `source`, skipping special files and the `(dev, ino)` pairs in `exclude`.
pub(crate) fn scan(source: &Path, exclude: &[(u64, u64)]) -> Result<Scan, BuildError> {
    let md = fs::metadata(source).map_err(|e| BuildError::new(source, "reading metadata of", e))?;
    if !md.is_dir() {
        let e = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
        return Err(BuildError::new(source, "opening source directory", e));
    }
    let mut nodes = vec![node(&md, Content::Dir(Vec::new()), ROOT_INO, 0)];
    let mut skipped = Vec::new();
    let mut links: HashMap<(u64, u64), Ino> = HashMap::new();
    let mut seen_dirs = HashSet::from([(md.dev(), md.ino())]);
    let mut queue = VecDeque::from([(ROOT_INO, source.to_path_buf())]);
    while let Some((dir_ino, dir_path)) = queue.pop_front() {
        let mut names = Vec::new();
        let rd = fs::read_dir(&dir_path)
            .map_err(|e| BuildError::new(&dir_path, "reading directory", e))?;
        for entry in rd {
            let entry = entry.map_err(|e| BuildError::new(&dir_path, "reading directory", e))?;
            names.push(entry.file_name().into_vec());
        }
        names.sort();
        let mut entries: Vec<Entry> = Vec::with_capacity(names.len());
        let mut subdirs: u32 = 0;
        for name in names {
            let path = dir_path.join(OsStr::from_bytes(&name));
            let md = fs::symlink_metadata(&path)
                .map_err(|e| BuildError::new(&path, "reading metadata of", e))?;
            let key = (md.dev(), md.ino());
            if exclude.contains(&key) {
                continue;
            }
            if name.len() > usize::from(u16::MAX) {
                return Err(BuildError::new(
                    &path,
                    "adding",
                    too_big("file name length"),
                ));
            }
            let entry_index = u32::try_from(entries.len())
                .map_err(|_| BuildError::new(&dir_path, "adding", too_big("directory size")))?;
            let ft = md.file_type();
            if !ft.is_dir() && md.nlink() > 1 {
                if let Some(&ino) = links.get(&key) {
                    if let Some(n) = nodes.get_mut((ino - 1) as usize) {
                        n.nlink = n.nlink.saturating_add(1);
                    }
                    entries.push(Entry { name, ino });
                    continue;
                }
            }
            if ft.is_dir() && !seen_dirs.insert(key) {
                let e = io::Error::new(io::ErrorKind::InvalidData, "directory cycle (bind mount?)");
                return Err(BuildError::new(&path, "entering", e));
            }
            let content = if ft.is_dir() {
                subdirs = subdirs.saturating_add(1);
                Content::Dir(Vec::new())
            } else if ft.is_file() {
                Content::File(path.clone())
            } else if ft.is_symlink() {
                let target = fs::read_link(&path)
                    .map_err(|e| BuildError::new(&path, "reading symlink", e))?;
                Content::Symlink(target.into_os_string().into_vec())
            } else {
                skipped.push((path, special_kind(&ft)));
                continue;
            };
            let ino = nodes.len() as Ino + 1;
            nodes.push(node(&md, content, dir_ino, entry_index));
            if ft.is_dir() {
                queue.push_back((ino, path));
            } else if md.nlink() > 1 {
                links.insert(key, ino);
            }
            entries.push(Entry { name, ino });
        }
        if let Some(dir) = nodes.get_mut((dir_ino - 1) as usize) {
            dir.nlink = subdirs.saturating_add(2);
            dir.content = Content::Dir(entries);
        }
    }
    Ok(Scan { nodes, skipped })
}
