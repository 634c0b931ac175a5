//! ramfs: a file system kept in LibOS memory (`/tmp`, `/dev/shm`), lost when
//! the LibOS ends.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use data::FileData;

use super::vfs::{
    check_name, new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, RenameFlags, SetMetadata,
};
use super::{FileType, Stat, Timespec};
use crate::budget::{self, Budget};
use crate::sync::lock;
use crate::{Errno, Result};

mod data;

/// `TMPFS_MAGIC`: the ramfs is what Linux mounts as tmpfs (`/tmp`,
/// `/dev/shm`), with a size limit, and says so to `statfs`.
const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Largest file (so that a runaway writer gets `EFBIG`, not an abort).
const MAX_FILE_SIZE: u64 = 1 << 40;

/// A ramfs instance.
pub struct RamFs {
    dev: u64,
    next_ino: AtomicU64,
    root: Mutex<Option<Arc<RamInode>>>,
    budget: Arc<Budget>,
    this: Weak<RamFs>,
    /// Mounted (or remounted) read-only.
    read_only: std::sync::atomic::AtomicBool,
}

impl RamFs {
    /// A new, empty ramfs whose root has permission bits `perm`, whose
    /// file contents are charged to the LibOS kernel budget.
    pub fn new(perm: u32) -> Arc<RamFs> {
        Self::with_budget(perm, budget::kernel().clone())
    }

    /// A new, empty ramfs whose file contents are charged to `budget`.
    pub fn with_budget(perm: u32, budget: Arc<Budget>) -> Arc<RamFs> {
        let fs = Arc::new_cyclic(|this| RamFs {
            dev: new_dev(),
            next_ino: AtomicU64::new(1),
            root: Mutex::new(None),
            budget,
            this: this.clone(),
            read_only: std::sync::atomic::AtomicBool::new(false),
        });
        let root = fs.new_inode(FileType::Directory, perm, 0, Content::Dir(BTreeMap::new()));
        lock(&root.meta).nlink = 2;
        *lock(&fs.root) = Some(root);
        fs
    }

    fn new_inode(&self, kind: FileType, perm: u32, rdev: u64, content: Content) -> Arc<RamInode> {
        let now = Timespec::now();
        Arc::new_cyclic(|this| RamInode {
            fs: self.this.clone(),
            this: this.clone(),
            ino: self.next_ino.fetch_add(1, Ordering::Relaxed),
            kind,
            meta: Mutex::new(Meta {
                perm: perm & 0o7777,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev,
                atime: now,
                mtime: now,
                ctime: now,
                xattrs: BTreeMap::new(),
            }),
            content: Mutex::new(content),
        })
    }
}

impl FileSystem for RamFs {
    fn root(&self) -> InodeRef {
        lock(&self.root)
            .clone()
            .expect("ramfs root set at creation")
    }

    fn dev(&self) -> u64 {
        self.dev
    }

    fn type_name(&self) -> &'static str {
        "ramfs"
    }

    fn read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    fn set_read_only(&self, read_only: bool) -> Result<()> {
        self.read_only.store(read_only, Ordering::Relaxed);
        Ok(())
    }

    fn stats(&self) -> FsStats {
        let limit = self.budget.limit();
        let mut stats = FsStats {
            magic: TMPFS_MAGIC,
            block_size: 4096,
            ..FsStats::default()
        };
        if limit != u64::MAX {
            stats.blocks = limit / 4096;
            stats.free_blocks = limit.saturating_sub(self.budget.used()) / 4096;
        }
        stats
    }
}

struct Meta {
    perm: u32,
    nlink: u64,
    uid: u32,
    gid: u32,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    /// Extended attributes.
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Most bytes of extended attribute names and values one inode holds.
const XATTR_BYTES: usize = 65536;

enum Content {
    File(FileData),
    Dir(BTreeMap<Vec<u8>, Arc<RamInode>>),
    Symlink(Vec<u8>),
    Other,
}

/// A ramfs inode.
pub struct RamInode {
    fs: Weak<RamFs>,
    this: Weak<RamInode>,
    ino: u64,
    kind: FileType,
    meta: Mutex<Meta>,
    content: Mutex<Content>,
}

impl RamInode {
    fn fs_arc(&self) -> Result<Arc<RamFs>> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }

    fn touch(&self, modified: bool) {
        let now = Timespec::now();
        let mut m = lock(&self.meta);
        m.ctime = now;
        if modified {
            m.mtime = now;
        }
    }

    fn same_fs(&self, other: &InodeRef) -> Result<Arc<RamInode>> {
        let other = other
            .as_any()
            .downcast_ref::<RamInode>()
            .ok_or(Errno::EXDEV)?;
        if !Weak::ptr_eq(&self.fs, &other.fs) {
            return Err(Errno::EXDEV);
        }
        other.this.upgrade().ok_or(Errno::ENOENT)
    }

    fn insert(
        &self,
        name: &[u8],
        kind: FileType,
        perm: u32,
        rdev: u64,
        content: Content,
    ) -> Result<InodeRef> {
        check_name(name)?;
        let fs = self.fs_arc()?;
        let mut c = lock(&self.content);
        let Content::Dir(entries) = &mut *c else {
            return Err(Errno::ENOTDIR);
        };
        if lock(&self.meta).nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let inode = fs.new_inode(kind, perm, rdev, content);
        if kind == FileType::Directory {
            lock(&inode.meta).nlink = 2;
            lock(&self.meta).nlink += 1;
        }
        entries.insert(name.to_vec(), inode.clone());
        drop(c);
        self.touch(true);
        Ok(inode)
    }

    fn is_empty_dir(&self) -> bool {
        matches!(&*lock(&self.content), Content::Dir(e) if e.is_empty())
    }
}

/// Locks two directories' contents in a fixed order (by inode number).
fn lock_two<'a>(
    a: &'a RamInode,
    b: &'a RamInode,
) -> (
    std::sync::MutexGuard<'a, Content>,
    Option<std::sync::MutexGuard<'a, Content>>,
) {
    if a.ino == b.ino {
        return (lock(&a.content), None);
    }
    if a.ino < b.ino {
        let ga = lock(&a.content);
        let gb = lock(&b.content);
        (ga, Some(gb))
    } else {
        let gb = lock(&b.content);
        let ga = lock(&a.content);
        (ga, Some(gb))
    }
}

impl Inode for RamInode {
    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let fs = self.fs_arc()?;
        let (size, held) = match &*lock(&self.content) {
            Content::File(d) => (d.len(), d.allocated()),
            Content::Dir(e) => {
                let n = 4096.max(e.len() as u64 * 32);
                (n, n)
            }
            Content::Symlink(t) => (t.len() as u64, t.len() as u64),
            Content::Other => (0, 0),
        };
        let m = lock(&self.meta);
        Ok(Stat {
            dev: fs.dev,
            ino: self.ino,
            kind: self.kind,
            perm: m.perm,
            nlink: m.nlink,
            rdev: m.rdev,
            size,
            blksize: 4096,
            blocks: Some(held.div_ceil(4096) * 8),
            uid: m.uid,
            gid: m.gid,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        })
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        match self.fs.upgrade() {
            Some(fs) => fs,
            None => RamFs::new(0o755),
        }
    }

    fn set_metadata(&self, set: &SetMetadata) -> Result<()> {
        let mut m = lock(&self.meta);
        if let Some(p) = set.perm {
            m.perm = p & 0o7777;
        }
        if let Some(u) = set.uid {
            m.uid = u;
        }
        if let Some(g) = set.gid {
            m.gid = g;
        }
        if let Some(t) = set.atime {
            m.atime = t;
        }
        if let Some(t) = set.mtime {
            m.mtime = t;
        }
        m.ctime = Timespec::now();
        Ok(())
    }

    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        lock(&self.meta)
            .xattrs
            .get(name)
            .cloned()
            .ok_or(Errno::ENODATA)
    }

    fn set_xattr(&self, name: &[u8], value: &[u8], create: bool, replace: bool) -> Result<()> {
        let mut m = lock(&self.meta);
        let present = m.xattrs.contains_key(name);
        if create && present {
            return Err(Errno::EEXIST);
        }
        if replace && !present {
            return Err(Errno::ENODATA);
        }
        let used: usize = m
            .xattrs
            .iter()
            .filter(|(n, _)| n.as_slice() != name)
            .map(|(n, v)| n.len() + v.len())
            .sum();
        if used + name.len() + value.len() > XATTR_BYTES {
            return Err(Errno::ENOSPC);
        }
        m.xattrs.insert(name.to_vec(), value.to_vec());
        m.ctime = Timespec::now();
        Ok(())
    }

    fn list_xattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(lock(&self.meta).xattrs.keys().cloned().collect())
    }

    fn remove_xattr(&self, name: &[u8]) -> Result<()> {
        let mut m = lock(&self.meta);
        m.xattrs.remove(name).ok_or(Errno::ENODATA)?;
        m.ctime = Timespec::now();
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match &*lock(&self.content) {
            Content::File(d) => d.read(offset, buf),
            _ => Err(self.not_data()),
        }
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        let n = {
            let mut c = lock(&self.content);
            let Content::File(d) = &mut *c else {
                return Err(self.not_data());
            };
            let end = offset.checked_add(buf.len() as u64).ok_or(Errno::EFBIG)?;
            if end > MAX_FILE_SIZE {
                return Err(Errno::EFBIG);
            }
            d.write(offset, buf)?
        };
        self.touch(true);
        Ok(n)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let (n, end) = {
            let mut c = lock(&self.content);
            let Content::File(d) = &mut *c else {
                return Err(self.not_data());
            };
            if d.len() + buf.len() as u64 > MAX_FILE_SIZE {
                return Err(Errno::EFBIG);
            }
            let n = d.write(d.len(), buf)?;
            (n, d.len())
        };
        self.touch(true);
        Ok((n, end))
    }

    fn shared_memory(&self) -> Result<Option<Arc<occlum_pal::shared_mem::SharedMemory>>> {
        match &mut *lock(&self.content) {
            Content::File(d) => d.shared_memory().map(Some),
            _ => Ok(None),
        }
    }

    fn resize(&self, len: u64) -> Result<()> {
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        match &mut *lock(&self.content) {
            Content::File(d) => d.set_len(len)?,
            _ => return Err(self.not_data()),
        }
        self.touch(true);
        Ok(())
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        match &*lock(&self.content) {
            Content::Dir(e) => e
                .get(name)
                .map(|i| i.clone() as InodeRef)
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn create(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<InodeRef> {
        let content = match kind {
            FileType::Regular => Content::File(FileData::new(self.fs_arc()?.budget.clone())),
            FileType::Directory => Content::Dir(BTreeMap::new()),
            FileType::Symlink => return Err(Errno::EINVAL),
            _ => Content::Other,
        };
        self.insert(name, kind, perm, rdev, content)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<InodeRef> {
        self.insert(
            name,
            FileType::Symlink,
            0o777,
            0,
            Content::Symlink(target.to_vec()),
        )
    }

    fn link(&self, name: &[u8], inode: &InodeRef) -> Result<()> {
        check_name(name)?;
        let target = self.same_fs(inode)?;
        if target.kind == FileType::Directory {
            return Err(Errno::EPERM);
        }
        {
            let mut c = lock(&self.content);
            let Content::Dir(entries) = &mut *c else {
                return Err(Errno::ENOTDIR);
            };
            if entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            let mut m = lock(&target.meta);
            if m.nlink == 0 {
                return Err(Errno::ENOENT);
            }
            m.nlink += 1;
            entries.insert(name.to_vec(), target.clone());
        }
        target.touch(false);
        self.touch(true);
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let victim = {
            let mut c = lock(&self.content);
            let Content::Dir(entries) = &mut *c else {
                return Err(Errno::ENOTDIR);
            };
            let v = entries.get(name).ok_or(Errno::ENOENT)?;
            if v.kind == FileType::Directory {
                return Err(Errno::EISDIR);
            }
            entries.remove(name).ok_or(Errno::ENOENT)?
        };
        lock(&victim.meta).nlink -= 1;
        victim.touch(false);
        self.touch(true);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let victim = {
            let mut c = lock(&self.content);
            let Content::Dir(entries) = &mut *c else {
                return Err(Errno::ENOTDIR);
            };
            let v = entries.get(name).ok_or(Errno::ENOENT)?;
            if v.kind != FileType::Directory {
                return Err(Errno::ENOTDIR);
            }
            if !v.is_empty_dir() {
                return Err(Errno::ENOTEMPTY);
            }
            entries.remove(name).ok_or(Errno::ENOENT)?
        };
        lock(&victim.meta).nlink = 0;
        lock(&self.meta).nlink -= 1;
        self.touch(true);
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: RenameFlags) -> Result<()> {
        check_name(new)?;
        let new_dir = self.same_fs(new_dir)?;
        let (mut src_guard, mut dst_guard) = lock_two(self, &new_dir);
        let moving = match &*src_guard {
            Content::Dir(e) => e.get(old).cloned().ok_or(Errno::ENOENT)?,
            _ => return Err(Errno::ENOTDIR),
        };
        let dst_entries = match dst_guard.as_deref_mut().unwrap_or(&mut *src_guard) {
            Content::Dir(e) => e,
            _ => return Err(Errno::ENOTDIR),
        };
        let existing = dst_entries.get(new).cloned();
        if flags.exchange {
            let other = existing.ok_or(Errno::ENOENT)?;
            dst_entries.insert(new.to_vec(), moving.clone());
            let src_entries = match &mut *src_guard {
                Content::Dir(e) => e,
                _ => return Err(Errno::ENOTDIR),
            };
            src_entries.insert(old.to_vec(), other.clone());
            if self.ino != new_dir.ino && moving.kind != other.kind {
                let (into_new, into_old) = if moving.kind == FileType::Directory {
                    (1i64, -1i64)
                } else {
                    (-1, 1)
                };
                adjust_nlink(&new_dir, into_new);
                adjust_nlink(self, into_old);
            }
            drop(src_guard);
            drop(dst_guard);
            moving.touch(false);
            other.touch(false);
            return Ok(());
        }
        if let Some(ex) = &existing {
            if Arc::ptr_eq(ex, &moving) {
                return Ok(());
            }
            if flags.no_replace {
                return Err(Errno::EEXIST);
            }
            match (
                moving.kind == FileType::Directory,
                ex.kind == FileType::Directory,
            ) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                // The target is the source's own directory (`d/e` onto `d`):
                // not empty, it holds the source (and its lock is ours).
                (true, true) if ex.ino == self.ino => return Err(Errno::ENOTEMPTY),
                (true, true) if !ex.is_empty_dir() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        dst_entries.insert(new.to_vec(), moving.clone());
        let src_entries = match &mut *src_guard {
            Content::Dir(e) => e,
            _ => return Err(Errno::ENOTDIR),
        };
        src_entries.remove(old);
        drop(src_guard);
        drop(dst_guard);
        let is_dir = moving.kind == FileType::Directory;
        if let Some(ex) = existing {
            if ex.kind == FileType::Directory {
                lock(&ex.meta).nlink = 0;
                adjust_nlink(&new_dir, -1);
            } else {
                lock(&ex.meta).nlink -= 1;
            }
            ex.touch(false);
        }
        if is_dir && self.ino != new_dir.ino {
            adjust_nlink(self, -1);
            adjust_nlink(&new_dir, 1);
        }
        moving.touch(false);
        self.touch(true);
        new_dir.touch(true);
        Ok(())
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        match &*lock(&self.content) {
            Content::Dir(e) => Ok(e
                .iter()
                .map(|(name, i)| DirEntry {
                    name: name.clone(),
                    ino: i.ino,
                    kind: i.kind,
                })
                .collect()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        match &*lock(&self.content) {
            Content::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn adjust_nlink(dir: &RamInode, by: i64) {
    let mut m = lock(&dir.meta);
    m.nlink = (m.nlink as i64 + by).max(0) as u64;
}
