//! The virtual file system: inodes and file systems, the mount table, path
//! resolution, and each process's working directory and umask.

mod inode;
mod mount;
mod path;

pub use inode::{
    check_name, DirEntry, FileSystem, FsStats, Inode, InodeRef, RenameFlags, SetMetadata, NAME_MAX,
};
pub use mount::{cross, list as mounts, mount, mount_root, new_dev, root, sync_all, unmount};
pub use path::{resolve, resolve_parent, Location, Parent, PathNode, PATH_MAX};

use crate::Result;

/// A process's view of the file tree: root and working directory, umask.
#[derive(Clone)]
pub struct FsContext {
    /// The root directory set by `chroot` (`None`: the LibOS's root).
    pub root: Option<Location>,
    /// The working directory.
    pub cwd: Location,
    /// The file mode creation mask.
    pub umask: u32,
}

/// The root directory of the calling process (`chroot`), else the
/// LibOS's root.
pub fn process_root() -> crate::Result<Location> {
    let chosen = crate::process::current().and_then(|t| t.process().fs().root.clone());
    match chosen {
        Some(r) => Ok(r),
        None => root(),
    }
}

/// `path` as the calling process sees it: relative to its root
/// (`chroot`); a place outside that root is marked `(unreachable)`, as
/// Linux's `getcwd` does.
pub fn visible_path(loc: &Location) -> Vec<u8> {
    let path = loc.path();
    let Some(root) = crate::process::current().and_then(|t| t.process().fs().root.clone()) else {
        return path;
    };
    let top = root.path();
    if path == top {
        return b"/".to_vec();
    }
    match path.strip_prefix(top.as_slice()) {
        Some(rest) if rest.first() == Some(&b'/') => rest.to_vec(),
        _ => [&b"(unreachable)"[..], &path].concat(),
    }
}

impl FsContext {
    /// A context at `/` with umask 022.
    pub fn new() -> Result<FsContext> {
        Ok(FsContext {
            root: None,
            cwd: root()?,
            umask: 0o022,
        })
    }
}
