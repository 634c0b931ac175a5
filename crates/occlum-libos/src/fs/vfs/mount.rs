//! The mount table: which file system covers which directory. All LibOS
//! processes share one mount namespace, as in Occlum.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::inode::{FileSystem, InodeRef};
use super::path::{Location, PathNode};
use crate::sync::{read_shared, write_shared};
use crate::{Errno, Result};

/// One mounted file system.
pub struct Mount {
    /// The file system.
    pub fs: Arc<dyn FileSystem>,
    /// Where it is mounted (absolute path).
    pub target: String,
    /// What `/proc/mounts` shows as its source.
    pub source: String,
}

#[derive(Default)]
struct Table {
    root: Option<Location>,
    /// Mounted file systems by the (device, inode) of the directory they cover.
    covered: HashMap<(u64, u64), Arc<Mount>>,
    /// In mount order.
    list: Vec<Arc<Mount>>,
}

static TABLE: RwLock<Option<Table>> = RwLock::new(None);

fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    let mut t = write_shared(&TABLE);
    f(t.get_or_insert_with(Table::default))
}

/// A fresh device number for a new file system instance.
pub fn new_dev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x30);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Mounts `fs` as `/` (once, at boot).
pub fn mount_root(fs: Arc<dyn FileSystem>, source: &str) {
    with_table(|t| {
        t.root = Some(PathNode::root(fs.root()));
        t.list.push(Arc::new(Mount {
            fs,
            target: "/".into(),
            source: source.into(),
        }));
    });
}

/// The root directory.
pub fn root() -> Result<Location> {
    let t = read_shared(&TABLE);
    t.as_ref().and_then(|t| t.root.clone()).ok_or(Errno::ENOENT)
}

/// Mounts `fs` over the directory at `at`.
pub fn mount(at: &Location, fs: Arc<dyn FileSystem>, source: &str) -> Result<()> {
    let dir = at.inode();
    if dir.kind() != super::super::FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let key = (dir.fs().dev(), dir.ino());
    let target = String::from_utf8_lossy(&at.path()).into_owned();
    with_table(|t| {
        let m = Arc::new(Mount {
            fs,
            target,
            source: source.into(),
        });
        // Mounting again on the same directory stacks: the newest wins.
        let key = match t.covered.get(&key) {
            Some(top) => {
                let root = top.fs.root();
                (top.fs.dev(), root.ino())
            }
            None => key,
        };
        t.covered.insert(key, m.clone());
        t.list.push(m);
        Ok(())
    })
}

/// Unmounts the file system whose root is `at`; `EINVAL` if `at` is not a
/// mount point, `EBUSY` for `/` or when another mount sits on top of it.
pub fn unmount(at: &Location) -> Result<()> {
    let root = at.inode();
    let dev = root.fs().dev();
    with_table(|t| {
        let i = t
            .list
            .iter()
            .rposition(|m| m.fs.dev() == dev && m.fs.root().ino() == root.ino())
            .ok_or(Errno::EINVAL)?;
        if i == 0 || t.covered.keys().any(|(d, _)| *d == dev) {
            return Err(Errno::EBUSY);
        }
        let m = t.list.remove(i);
        t.covered.retain(|_, v| !Arc::ptr_eq(v, &m));
        Ok(())
    })
}

/// What covers `inode`: the root of the file system mounted on it, or
/// `inode` itself.
pub fn cross(inode: InodeRef) -> InodeRef {
    let t = read_shared(&TABLE);
    let Some(t) = t.as_ref() else { return inode };
    if t.covered.is_empty() || inode.kind() != super::super::FileType::Directory {
        return inode;
    }
    let mut cur = inode;
    while let Some(m) = t.covered.get(&(cur.fs().dev(), cur.ino())) {
        cur = m.fs.root();
    }
    cur
}

/// Every mount, in mount order: (source, target, file-system type, read-only).
pub fn list() -> Vec<(String, String, &'static str, bool)> {
    let t = read_shared(&TABLE);
    t.as_ref()
        .map(|t| {
            t.list
                .iter()
                .map(|m| {
                    (
                        m.source.clone(),
                        m.target.clone(),
                        m.fs.type_name(),
                        m.fs.read_only(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Makes every mounted file system durable (`sync`).
pub fn sync_all() -> Result<()> {
    let fss: Vec<Arc<dyn FileSystem>> = {
        let t = read_shared(&TABLE);
        t.as_ref()
            .map(|t| t.list.iter().map(|m| m.fs.clone()).collect())
            .unwrap_or_default()
    };
    let mut result = Ok(());
    for fs in fss {
        if let Err(e) = fs.sync() {
            result = Err(e);
        }
    }
    result
}
