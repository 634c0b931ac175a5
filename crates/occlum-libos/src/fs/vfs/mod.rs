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

/// A process's view of the file tree: working directory and umask.
#[derive(Clone)]
pub struct FsContext {
    /// The working directory.
    pub cwd: Location,
    /// The file mode creation mask.
    pub umask: u32,
}

impl FsContext {
    /// A context at `/` with umask 022.
    pub fn new() -> Result<FsContext> {
        Ok(FsContext {
            cwd: root()?,
            umask: 0o022,
        })
    }
}
