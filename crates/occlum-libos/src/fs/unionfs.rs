//! unionfs: a writable upper file system over a read-only lower one, as
//! Occlum's unionfs and Linux overlayfs do. `/` of the LibOS is the
//! integrity-protected image (lower) under the encrypted, persistent file
//! system (upper).
//!
//! Conventions kept in the upper (persistent across runs):
//! - a whiteout (a character device with `rdev` 0) hides the lower entry of
//!   the same name;
//! - a directory holding [`OPAQUE_MARKER`] (an empty regular file) is opaque:
//!   the lower directory of the same name is not merged into it;
//! - names starting with [`RESERVED_PREFIX`] belong to the union (the marker
//!   and the temporary names copy-up builds under before renaming into
//!   place): programs never see them and cannot create them (`EPERM`).
//!
//! Before anything that exists only in the lower changes, it is copied up:
//! the missing parent directories first, then the file (data, mode, owner,
//! times) or symbolic link, built under a temporary name and renamed into
//! place so that a crash never leaves a half-copied file. The union inode
//! object then forwards to the upper copy, so files opened before the
//! copy-up see the new data.
//!
//! Inode numbers: the lower's for anything whose name has a lower entry
//! (also after copy-up), `upper ino | 1 << 62` for upper-only files. Within
//! a run a file keeps its number across renames and links, and a file
//! created over a whiteout gets a number of its own (the hidden lower file
//! may live on under another name); after a restart the names decide.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::vfs::{
    check_name, new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, RenameFlags, SetMetadata,
};
use super::{FileRef, FileType, Stat, Timespec, O_ACCMODE, O_RDWR, O_TRUNC, O_WRONLY};
use crate::sync::lock;
use crate::{Errno, Result};

/// `OVERLAYFS_SUPER_MAGIC`, the `f_type` that `statfs` reports.
const UNIONFS_MAGIC: u64 = 0x794c_7630;
/// Set in the inode number of files that exist only in the upper.
const UPPER_INO_BIT: u64 = 1 << 62;
/// Names in the upper starting with this belong to the union.
pub const RESERVED_PREFIX: &[u8] = b".wh..wh.";
/// The entry that makes an upper directory opaque.
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// Prefix of the temporary names copy-up and whiteout replacement use.
const TMP_PREFIX: &str = ".wh..wh..tmp.";
/// Copy-up reads and writes data in chunks of this size.
const COPY_CHUNK: usize = 64 * 1024;
/// Attempts at finding an unused temporary name.
const TMP_ATTEMPTS: usize = 8;
/// Dead entries tolerated in a directory's child cache before pruning.
const PRUNE_MIN: usize = 64;

/// A union of `upper` (writable) over `lower` (read-only).
pub fn new(lower: Arc<dyn FileSystem>, upper: Arc<dyn FileSystem>) -> Arc<dyn FileSystem> {
    let now = Timespec::now();
    let seed = (now.sec as u64).wrapping_mul(1_000_000_007) ^ u64::from(now.nsec);
    Arc::new(UnionFs(Arc::new(Shared {
        dev: new_dev(),
        lower,
        upper,
        root: Mutex::new(Weak::new()),
        origins: Mutex::new(HashMap::new()),
        next_tmp: AtomicU64::new(seed),
    })))
}

/// What the union's inodes share.
struct Shared {
    dev: u64,
    lower: Arc<dyn FileSystem>,
    upper: Arc<dyn FileSystem>,
    /// The root inode while anything holds it (children hold their parents).
    root: Mutex<Weak<UnionInode>>,
    /// Union inode numbers of upper inodes that were copied up, renamed or
    /// linked in this run, by upper inode number.
    origins: Mutex<HashMap<u64, u64>>,
    next_tmp: AtomicU64,
}

impl Shared {
    fn root(self: &Arc<Self>) -> Arc<UnionInode> {
        let mut root = lock(&self.root);
        if let Some(r) = root.upgrade() {
            return r;
        }
        let upper = self.upper.root();
        let lower = self.lower.root();
        let opaque = is_opaque(&upper).unwrap_or(false);
        let node = UnionInode::new(
            self.clone(),
            lower.ino(),
            FileType::Directory,
            State {
                upper: Some(upper),
                lower: (!opaque).then_some(lower),
                parent: None,
                name: Vec::new(),
                detached: false,
            },
        );
        *root = Arc::downgrade(&node);
        node
    }

    /// The union inode number of an entry with these layers.
    fn ino_for(&self, upper: Option<&InodeRef>, lower: Option<&InodeRef>) -> u64 {
        match (upper, lower) {
            (Some(u), lower) => {
                let uino = u.ino();
                if let Some(&ino) = lock(&self.origins).get(&uino) {
                    return ino;
                }
                lower.map_or(uino | UPPER_INO_BIT, |l| l.ino())
            }
            (None, Some(l)) => l.ino(),
            (None, None) => 0,
        }
    }

    fn note_origin(&self, upper_ino: u64, ino: u64) {
        lock(&self.origins).insert(upper_ino, ino);
    }

    /// Drops the origin of `victim` once no name links it any more (its
    /// inode number may then be reused).
    fn forget_if_gone(&self, victim: Option<&InodeRef>) {
        let Some(v) = victim else { return };
        match v.metadata() {
            Ok(st) if st.nlink > 0 => {}
            _ => {
                lock(&self.origins).remove(&v.ino());
            }
        }
    }

    /// Creates something under a fresh temporary name with `make`.
    fn with_tmp(&self, make: impl Fn(&[u8]) -> Result<InodeRef>) -> Result<(Vec<u8>, InodeRef)> {
        for _ in 0..TMP_ATTEMPTS {
            let n = self.next_tmp.fetch_add(1, Ordering::Relaxed);
            let name = format!("{TMP_PREFIX}{n:x}").into_bytes();
            match make(&name) {
                Err(Errno::EEXIST) => continue,
                r => return r.map(|i| (name, i)),
            }
        }
        Err(Errno::EEXIST)
    }
}

/// The union as a [`FileSystem`].
struct UnionFs(Arc<Shared>);

impl FileSystem for UnionFs {
    fn root(&self) -> InodeRef {
        self.0.root()
    }

    fn dev(&self) -> u64 {
        self.0.dev
    }

    fn type_name(&self) -> &'static str {
        "unionfs"
    }

    fn stats(&self) -> FsStats {
        FsStats {
            magic: UNIONFS_MAGIC,
            ..self.0.upper.stats()
        }
    }

    fn sync(&self) -> Result<()> {
        self.0.upper.sync()
    }
}

/// What a name in a union directory refers to in each layer.
#[derive(Default)]
struct Entry {
    /// The upper entry, unless it is a whiteout.
    upper: Option<InodeRef>,
    /// Whether the upper holds a whiteout for the name.
    whiteout: bool,
    /// The lower entry (hidden if `whiteout`).
    lower: Option<InodeRef>,
}

impl Entry {
    /// The type of what the union shows, if it shows anything.
    fn visible(&self) -> Option<FileType> {
        match (&self.upper, &self.lower) {
            (Some(u), _) => Some(u.kind()),
            (None, Some(l)) if !self.whiteout => Some(l.kind()),
            _ => None,
        }
    }

    fn lower_is_dir(&self) -> bool {
        self.lower
            .as_ref()
            .is_some_and(|l| l.kind() == FileType::Directory)
    }
}

/// The changing part of a union inode.
struct State {
    /// The upper inode, once there is one.
    upper: Option<InodeRef>,
    /// The lower inode: for directories the one merged in (`None` when
    /// opaque), for other files the copy-up source.
    lower: Option<InodeRef>,
    /// The directory the inode was reached from (`None` for the root).
    parent: Option<Arc<UnionInode>>,
    /// Its name there.
    name: Vec<u8>,
    /// Removed from the union (unlinked, or replaced by a rename).
    detached: bool,
}

/// Child inodes by name (weak: the cache never keeps an inode alive).
#[derive(Default)]
struct Children {
    map: HashMap<Vec<u8>, Weak<UnionInode>>,
    prune_at: usize,
}

/// A union inode: one per visible path while anything holds it.
struct UnionInode {
    fs: Arc<Shared>,
    this: Weak<UnionInode>,
    ino: u64,
    kind: FileType,
    state: Mutex<State>,
    /// Held while copying this inode up, and by operations that remove or
    /// replace its name (so that a copy-up never resurrects it).
    copy_lock: Mutex<()>,
    /// Serializes the name operations of this directory.
    ops: Mutex<()>,
    children: Mutex<Children>,
}

impl UnionInode {
    fn new(fs: Arc<Shared>, ino: u64, kind: FileType, state: State) -> Arc<UnionInode> {
        Arc::new_cyclic(|this| UnionInode {
            fs,
            this: this.clone(),
            ino,
            kind,
            state: Mutex::new(state),
            copy_lock: Mutex::new(()),
            ops: Mutex::new(()),
            children: Mutex::new(Children::default()),
        })
    }

    fn upper(&self) -> Option<InodeRef> {
        lock(&self.state).upper.clone()
    }

    fn parent(&self) -> Option<Arc<UnionInode>> {
        lock(&self.state).parent.clone()
    }

    /// The directory's (upper, merged lower).
    fn layers(&self) -> (Option<InodeRef>, Option<InodeRef>) {
        let s = lock(&self.state);
        (s.upper.clone(), s.lower.clone())
    }

    /// The inode that holds the data now: the upper one if any.
    fn effective(&self) -> Result<InodeRef> {
        let s = lock(&self.state);
        s.upper
            .clone()
            .or_else(|| s.lower.clone())
            .ok_or(Errno::EIO)
    }

    fn check_dir(&self) -> Result<()> {
        if self.kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        Ok(())
    }

    /// Another inode of this union.
    fn same_union(&self, other: &InodeRef) -> Result<Arc<UnionInode>> {
        let other = other
            .as_any()
            .downcast_ref::<UnionInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&self.fs, &other.fs) {
            return Err(Errno::EXDEV);
        }
        other.this.upgrade().ok_or(Errno::ENOENT)
    }

    /// What `name` refers to in each layer of this directory.
    fn entry(&self, name: &[u8]) -> Result<Entry> {
        self.check_dir()?;
        let mut e = Entry::default();
        if is_reserved(name) {
            return Ok(e);
        }
        let (upper, lower) = self.layers();
        if let Some(u) = find(upper.as_ref(), name)? {
            if is_whiteout(&u)? {
                e.whiteout = true;
            } else {
                e.upper = Some(u);
            }
        }
        e.lower = find(lower.as_ref(), name)?;
        Ok(e)
    }

    /// The union inode of the visible entry `name`.
    fn lookup_node(&self, name: &[u8]) -> Result<Arc<UnionInode>> {
        let e = self.entry(name)?;
        if e.visible().is_none() {
            return Err(Errno::ENOENT);
        }
        self.child(name, &e)
    }

    /// The cached union inode for `name` if it still matches `e`, else a new
    /// one (cached).
    fn child(&self, name: &[u8], e: &Entry) -> Result<Arc<UnionInode>> {
        if let Some(c) = self.cached(name, e) {
            return Ok(c);
        }
        let node = self.make_child(name, e)?;
        let mut ch = lock(&self.children);
        if let Some(c) = ch.map.get(name).and_then(Weak::upgrade) {
            if matches(&c, e) {
                return Ok(c);
            }
        }
        insert_child(&mut ch, name, &node);
        Ok(node)
    }

    fn cached(&self, name: &[u8], e: &Entry) -> Option<Arc<UnionInode>> {
        let c = lock(&self.children).map.get(name).and_then(Weak::upgrade)?;
        matches(&c, e).then_some(c)
    }

    fn make_child(&self, name: &[u8], e: &Entry) -> Result<Arc<UnionInode>> {
        let kind = e.visible().ok_or(Errno::ENOENT)?;
        let lower = match (&e.upper, &e.lower) {
            (Some(u), Some(l))
                if u.kind() == FileType::Directory && l.kind() == FileType::Directory =>
            {
                (!is_opaque(u)?).then(|| l.clone())
            }
            (Some(_), _) => None,
            (None, l) => l.clone(),
        };
        let ino = self.fs.ino_for(e.upper.as_ref(), e.lower.as_ref());
        Ok(UnionInode::new(
            self.fs.clone(),
            ino,
            kind,
            State {
                upper: e.upper.clone(),
                lower,
                parent: self.this.upgrade(),
                name: name.to_vec(),
                detached: false,
            },
        ))
    }

    /// Caches `node` as `name`, replacing what was there.
    fn put_child(&self, name: &[u8], node: &Arc<UnionInode>) {
        insert_child(&mut lock(&self.children), name, node);
    }

    fn take_child(&self, name: &[u8]) -> Option<Arc<UnionInode>> {
        lock(&self.children)
            .map
            .remove(name)
            .and_then(|w| w.upgrade())
    }

    fn detach(&self) {
        lock(&self.state).detached = true;
    }

    /// Copies this inode (after the missing parent directories) into the
    /// upper, with its data unless `data` is false; its upper inode.
    fn copy_up_with(&self, data: bool) -> Result<InodeRef> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        let mut pending = Vec::new();
        let mut cur = self.parent();
        loop {
            let Some(dir) = cur else {
                return Err(Errno::EIO);
            };
            if dir.upper().is_some() {
                break;
            }
            cur = dir.parent();
            pending.push(dir);
        }
        for dir in pending.iter().rev() {
            dir.copy_up_one(true)?;
        }
        self.copy_up_one(data)?;
        self.upper().ok_or(Errno::EIO)
    }

    fn copy_up(&self) -> Result<InodeRef> {
        self.copy_up_with(true)
    }

    /// Copies this inode up, its parent being in the upper already.
    fn copy_up_one(&self, data: bool) -> Result<()> {
        let _g = lock(&self.copy_lock);
        let (lower, parent, name) = {
            let s = lock(&self.state);
            if s.upper.is_some() {
                return Ok(());
            }
            if s.detached {
                return Err(Errno::ENOENT);
            }
            match (&s.lower, &s.parent) {
                (Some(l), Some(p)) => (l.clone(), p.clone(), s.name.clone()),
                _ => return Err(Errno::EIO),
            }
        };
        let pu = parent.upper().ok_or(Errno::EIO)?;
        let st = lower.metadata()?;
        let kind = self.kind;
        if kind == FileType::CharDevice && st.rdev == 0 {
            return Err(Errno::EPERM);
        }
        let target = match kind {
            FileType::Symlink => lower.read_link()?,
            _ => Vec::new(),
        };
        let (tmp, new) = self.fs.with_tmp(|t| match kind {
            FileType::Symlink => pu.symlink(t, &target),
            FileType::Directory => pu.create(t, kind, 0o700, 0),
            FileType::Regular => pu.create(t, kind, 0o600, 0),
            _ => pu.create(t, kind, st.perm, st.rdev),
        })?;
        let placed = (|| {
            if kind == FileType::Regular && data {
                copy_data(&lower, &new)?;
            }
            let set = SetMetadata {
                perm: (kind != FileType::Symlink).then_some(st.perm),
                uid: Some(st.uid),
                gid: Some(st.gid),
                atime: Some(st.atime),
                mtime: Some(st.mtime),
            };
            match new.set_metadata(&set) {
                Err(_) if kind == FileType::Symlink => {}
                r => r?,
            }
            let flags = RenameFlags {
                no_replace: true,
                exchange: false,
            };
            pu.rename(&tmp, &pu, &name, flags)
        })();
        if let Err(e) = placed {
            remove_quietly(&pu, &tmp);
            return Err(e);
        }
        self.fs.note_origin(new.ino(), self.ino);
        let mut s = lock(&self.state);
        s.upper = Some(new);
        if kind != FileType::Directory {
            s.lower = None;
        }
        Ok(())
    }

    /// Copies this inode and, for a directory, everything visible below it
    /// into the upper.
    fn copy_up_tree(&self) -> Result<()> {
        self.copy_up()?;
        if self.kind != FileType::Directory {
            return Ok(());
        }
        let mut stack = match self.this.upgrade() {
            Some(me) => vec![me],
            None => return Err(Errno::ENOENT),
        };
        while let Some(dir) = stack.pop() {
            if dir.layers().1.is_none() {
                continue;
            }
            for d in dir.read_dir()? {
                let child = match dir.lookup_node(&d.name) {
                    Ok(c) => c,
                    Err(Errno::ENOENT) => continue,
                    Err(e) => return Err(e),
                };
                match child.copy_up() {
                    Ok(_) => {}
                    Err(Errno::ENOENT) => continue,
                    Err(e) => return Err(e),
                }
                if child.kind == FileType::Directory {
                    stack.push(child);
                }
            }
        }
        Ok(())
    }

    /// Forgets the lower directories merged into this directory and every
    /// cached one below (after it moved: its upper now holds everything).
    fn drop_lower_tree(&self) {
        if self.kind != FileType::Directory {
            return;
        }
        lock(&self.state).lower = None;
        let mut stack: Vec<Arc<UnionInode>> = self.live_children();
        while let Some(n) = stack.pop() {
            if n.kind == FileType::Directory {
                lock(&n.state).lower = None;
                stack.extend(n.live_children());
            }
        }
    }

    fn live_children(&self) -> Vec<Arc<UnionInode>> {
        lock(&self.children)
            .map
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Data operations go to the upper copy (made now) for regular files.
    fn data_target(&self, data: bool) -> Result<InodeRef> {
        match self.kind {
            FileType::Regular => self.copy_up_with(data),
            _ => self.effective(),
        }
    }

    /// Adds `name` (not visible now) of type `kind`, made in the upper by
    /// `make`.
    fn add(
        &self,
        name: &[u8],
        kind: FileType,
        make: impl Fn(&InodeRef, &[u8]) -> Result<InodeRef>,
    ) -> Result<InodeRef> {
        self.check_dir()?;
        check_name(name)?;
        if is_reserved(name) {
            return Err(Errno::EPERM);
        }
        let _ops = lock(&self.ops);
        let e = self.entry(name)?;
        if e.visible().is_some() {
            return Err(Errno::EEXIST);
        }
        let udir = self.copy_up()?;
        let opaque = kind == FileType::Directory && e.lower_is_dir();
        let new = if e.whiteout || opaque {
            // Built aside, then renamed over the whiteout.
            let (tmp, new) = self.fs.with_tmp(|t| make(&udir, t))?;
            let placed = (|| {
                if opaque {
                    mark_opaque(&new)?;
                }
                let replace_whiteout = e.whiteout && kind != FileType::Directory;
                if e.whiteout && !replace_whiteout {
                    udir.unlink(name)?;
                }
                let flags = RenameFlags {
                    no_replace: !replace_whiteout,
                    exchange: false,
                };
                udir.rename(&tmp, &udir, name, flags)
            })();
            if let Err(err) = placed {
                remove_quietly(&udir, &tmp);
                return Err(err);
            }
            new
        } else {
            make(&udir, name)?
        };
        // A new file: its own number, not that of the hidden lower entry
        // (which may live on under another name or in an open file).
        let ino = new.ino() | UPPER_INO_BIT;
        if e.lower.is_some() {
            self.fs.note_origin(new.ino(), ino);
        } else {
            lock(&self.fs.origins).remove(&new.ino());
        }
        let node = UnionInode::new(
            self.fs.clone(),
            ino,
            new.kind(),
            State {
                upper: Some(new),
                lower: None,
                parent: self.this.upgrade(),
                name: name.to_vec(),
                detached: false,
            },
        );
        self.put_child(name, &node);
        Ok(node)
    }

    /// Removes `name` (a directory if `dir`) from the union.
    fn remove(&self, name: &[u8], dir: bool) -> Result<()> {
        self.check_dir()?;
        let _ops = lock(&self.ops);
        let node = self.lookup_node(name)?;
        check_remove_kind(node.kind, dir)?;
        let udir = self.copy_up()?;
        let _cl = lock(&node.copy_lock);
        let e = self.entry(name)?;
        check_remove_kind(e.visible().ok_or(Errno::ENOENT)?, dir)?;
        if dir && !node.read_dir()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        match (&e.upper, e.lower.is_some()) {
            (Some(u), _) if dir => {
                purge_hidden(u)?;
                udir.rmdir(name)?;
                if e.lower.is_some() {
                    make_whiteout(&udir, name)?;
                }
            }
            (Some(_), true) => {
                let (tmp, _) = self.fs.with_tmp(|t| whiteout_at(&udir, t))?;
                if let Err(err) = udir.rename(&tmp, &udir, name, RenameFlags::default()) {
                    remove_quietly(&udir, &tmp);
                    return Err(err);
                }
            }
            (Some(_), false) => udir.unlink(name)?,
            (None, true) => make_whiteout(&udir, name)?,
            (None, false) => return Err(Errno::ENOENT),
        }
        node.detach();
        self.take_child(name);
        self.fs.forget_if_gone(e.upper.as_ref());
        Ok(())
    }

    fn do_rename(
        &self,
        old: &[u8],
        new_dir: &InodeRef,
        new: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        self.check_dir()?;
        check_name(new)?;
        if is_reserved(new) {
            return Err(Errno::EPERM);
        }
        if flags.exchange && flags.no_replace {
            return Err(Errno::EINVAL);
        }
        let nd = self.same_union(new_dir)?;
        nd.check_dir()?;
        let _ops = lock_two(self, &nd);
        let m = self.lookup_node(old)?;
        let t = match nd.lookup_node(new) {
            Ok(t) => Some(t),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        match &t {
            Some(t) if Arc::ptr_eq(t, &m) || t.ino == m.ino => return Ok(()),
            Some(_) if flags.no_replace => return Err(Errno::EEXIST),
            None if flags.exchange => return Err(Errno::ENOENT),
            _ => {}
        }
        if m.kind == FileType::Directory && is_ancestor(&m, &nd) {
            return Err(Errno::EINVAL);
        }
        if let (Some(t), true) = (&t, flags.exchange) {
            if t.kind == FileType::Directory && is_ancestor(t, self) {
                return Err(Errno::EINVAL);
            }
        }
        let m_dir = m.kind == FileType::Directory;
        if let (Some(t), false) = (&t, flags.exchange) {
            match (m_dir, t.kind == FileType::Directory) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !t.read_dir()?.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        m.copy_up_tree()?;
        if let (Some(t), true) = (&t, flags.exchange) {
            t.copy_up_tree()?;
        }
        let su = self.copy_up()?;
        let nu = nd.copy_up()?;
        let _tl = t.as_ref().map(|t| lock(&t.copy_lock));
        let old_e = self.entry(old)?;
        let new_e = nd.entry(new)?;
        let mu = old_e.upper.clone().ok_or(Errno::ENOENT)?;
        if flags.exchange {
            let tu = new_e.upper.clone().ok_or(Errno::ENOENT)?;
            if m_dir && new_e.lower_is_dir() {
                mark_opaque(&mu)?;
            }
            if tu.kind() == FileType::Directory && old_e.lower_is_dir() {
                mark_opaque(&tu)?;
            }
            su.rename(old, &nu, new, flags)?;
            self.fs.note_origin(mu.ino(), m.ino);
            self.take_child(old);
            nd.take_child(new);
            if let Some(t) = &t {
                self.fs.note_origin(tu.ino(), t.ino);
                self.put_child(old, t);
                set_place(t, self.this.upgrade(), old);
                t.drop_lower_tree();
            }
        } else {
            if m_dir && new_e.lower_is_dir() {
                mark_opaque(&mu)?;
            }
            match &new_e.upper {
                Some(tu) if tu.kind() == FileType::Directory => purge_hidden(tu)?,
                None if new_e.whiteout && m_dir => nu.unlink(new)?,
                _ => {}
            }
            su.rename(old, &nu, new, RenameFlags::default())?;
            self.fs.note_origin(mu.ino(), m.ino);
            self.take_child(old);
            if let Some(t) = &t {
                t.detach();
            }
            nd.take_child(new);
            self.fs.forget_if_gone(new_e.upper.as_ref());
            if old_e.lower.is_some() {
                make_whiteout(&su, old)?;
            }
        }
        nd.put_child(new, &m);
        set_place(&m, Some(nd.clone()), new);
        m.drop_lower_tree();
        Ok(())
    }
}

impl Inode for UnionInode {
    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let (eff, gone, merged) = {
            let s = lock(&self.state);
            let gone = s.detached && s.upper.is_none();
            let merged = !s.detached && s.upper.is_some() && s.lower.is_some();
            (s.upper.clone().or_else(|| s.lower.clone()), gone, merged)
        };
        let mut st = eff.ok_or(Errno::EIO)?.metadata()?;
        st.dev = self.fs.dev;
        st.ino = self.ino;
        if gone {
            st.nlink = 0;
        } else if merged && self.kind == FileType::Directory {
            // Unknown, as overlayfs reports it for merged directories.
            st.nlink = 1;
        }
        Ok(st)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        Arc::new(UnionFs(self.fs.clone()))
    }

    fn immutable_source(&self) -> Option<InodeRef> {
        let s = lock(&self.state);
        if s.upper.is_some() || self.kind != FileType::Regular {
            return None;
        }
        let lower = s.lower.clone()?;
        if lower.fs().read_only() {
            Some(lower)
        } else {
            lower.immutable_source()
        }
    }

    fn set_metadata(&self, set: &SetMetadata) -> Result<()> {
        self.copy_up()?.set_metadata(set)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.effective()?.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        self.data_target(true)?.write_at(offset, buf)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.data_target(true)?.append(buf)
    }

    fn resize(&self, len: u64) -> Result<()> {
        self.data_target(len != 0)?.resize(len)
    }

    fn sync(&self, data_only: bool) -> Result<()> {
        match self.upper() {
            Some(u) => u.sync(data_only),
            None => Ok(()),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        Ok(self.lookup_node(name)?)
    }

    fn create(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<InodeRef> {
        match kind {
            FileType::Symlink => return Err(Errno::EINVAL),
            // That is how the upper spells a whiteout.
            FileType::CharDevice if rdev == 0 => return Err(Errno::EPERM),
            _ => {}
        }
        self.add(name, kind, |dir, n| dir.create(n, kind, perm, rdev))
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<InodeRef> {
        self.add(name, FileType::Symlink, |dir, n| dir.symlink(n, target))
    }

    fn link(&self, name: &[u8], inode: &InodeRef) -> Result<()> {
        self.check_dir()?;
        check_name(name)?;
        if is_reserved(name) {
            return Err(Errno::EPERM);
        }
        let src = self.same_union(inode)?;
        if src.kind == FileType::Directory {
            return Err(Errno::EPERM);
        }
        let _ops = lock(&self.ops);
        let e = self.entry(name)?;
        if e.visible().is_some() {
            return Err(Errno::EEXIST);
        }
        let su = src.copy_up()?;
        let udir = self.copy_up()?;
        if e.whiteout {
            let (tmp, _) = self.fs.with_tmp(|t| {
                udir.link(t, &su)?;
                Ok(su.clone())
            })?;
            if let Err(err) = udir.rename(&tmp, &udir, name, RenameFlags::default()) {
                remove_quietly(&udir, &tmp);
                return Err(err);
            }
        } else {
            udir.link(name, &su)?;
        }
        self.fs.note_origin(su.ino(), src.ino);
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.remove(name, false)
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.remove(name, true)
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: RenameFlags) -> Result<()> {
        self.do_rename(old, new_dir, new, flags)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        self.check_dir()?;
        let (upper, lower) = self.layers();
        let lower_entries: Vec<DirEntry> = match &lower {
            Some(l) => l
                .read_dir()?
                .into_iter()
                .filter(|d| !is_reserved(&d.name))
                .collect(),
            None => Vec::new(),
        };
        let lower_inos: HashMap<&[u8], u64> =
            lower_entries.iter().map(|d| (&d.name[..], d.ino)).collect();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut from_upper = Vec::new();
        if let Some(u) = &upper {
            for d in u.read_dir()? {
                if is_reserved(&d.name) {
                    continue;
                }
                if d.kind == FileType::CharDevice {
                    match u.lookup(&d.name) {
                        Ok(i) if is_whiteout(&i)? => {
                            seen.insert(d.name);
                            continue;
                        }
                        Ok(_) => {}
                        Err(Errno::ENOENT) => continue,
                        Err(e) => return Err(e),
                    }
                }
                seen.insert(d.name.clone());
                from_upper.push(d);
            }
        }
        let mut out = Vec::with_capacity(from_upper.len() + lower_entries.len());
        {
            let origins = lock(&self.fs.origins);
            for d in from_upper {
                let ino = match origins.get(&d.ino) {
                    Some(&o) => o,
                    None => lower_inos
                        .get(&d.name[..])
                        .copied()
                        .unwrap_or(d.ino | UPPER_INO_BIT),
                };
                out.push(DirEntry { ino, ..d });
            }
        }
        for d in lower_entries {
            if !seen.contains(&d.name) {
                out.push(d);
            }
        }
        Ok(out)
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        self.effective()?.read_link()
    }

    fn open(&self, flags: u32) -> Result<Option<FileRef>> {
        let acc = flags & O_ACCMODE;
        let writes = acc == O_WRONLY || acc == O_RDWR;
        if self.kind == FileType::Regular && (writes || flags & O_TRUNC != 0) {
            // Truncating: no need to copy the data.
            self.copy_up_with(flags & O_TRUNC == 0)?;
        }
        self.effective()?.open(flags)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Whether cached inode `c` still stands for entry `e`.
fn matches(c: &UnionInode, e: &Entry) -> bool {
    let s = lock(&c.state);
    if s.detached {
        return false;
    }
    match (&s.upper, &e.upper) {
        (Some(a), Some(b)) => a.ino() == b.ino() && c.kind == b.kind(),
        // Copied up since `e` was read.
        (Some(_), None) => !e.whiteout && e.lower.as_ref().is_some_and(|l| l.ino() == c.ino),
        (None, None) => match (&s.lower, &e.lower) {
            (Some(a), Some(b)) => a.ino() == b.ino() && c.kind == b.kind(),
            _ => false,
        },
        (None, Some(_)) => false,
    }
}

fn insert_child(ch: &mut Children, name: &[u8], node: &Arc<UnionInode>) {
    ch.map.insert(name.to_vec(), Arc::downgrade(node));
    if ch.map.len() > ch.prune_at.max(PRUNE_MIN) {
        ch.map.retain(|_, w| w.strong_count() > 0);
        ch.prune_at = ch.map.len() * 2;
    }
}

fn set_place(node: &UnionInode, parent: Option<Arc<UnionInode>>, name: &[u8]) {
    let mut s = lock(&node.state);
    s.parent = parent;
    s.name = name.to_vec();
}

/// Whether `dir` is `node` or lies below it.
fn is_ancestor(node: &Arc<UnionInode>, dir: &UnionInode) -> bool {
    if std::ptr::eq(Arc::as_ptr(node), dir) {
        return true;
    }
    let mut cur = dir.parent();
    while let Some(d) = cur {
        if Arc::ptr_eq(&d, node) {
            return true;
        }
        cur = d.parent();
    }
    false
}

/// Locks the name operations of two directories, in address order.
fn lock_two<'a>(
    a: &'a UnionInode,
    b: &'a UnionInode,
) -> (MutexGuard<'a, ()>, Option<MutexGuard<'a, ()>>) {
    let (pa, pb) = (a as *const UnionInode, b as *const UnionInode);
    if pa == pb {
        return (lock(&a.ops), None);
    }
    if pa < pb {
        let ga = lock(&a.ops);
        (ga, Some(lock(&b.ops)))
    } else {
        let gb = lock(&b.ops);
        (lock(&a.ops), Some(gb))
    }
}

fn check_remove_kind(kind: FileType, dir: bool) -> Result<()> {
    match (kind == FileType::Directory, dir) {
        (true, false) => Err(Errno::EISDIR),
        (false, true) => Err(Errno::ENOTDIR),
        _ => Ok(()),
    }
}

fn is_reserved(name: &[u8]) -> bool {
    name.starts_with(RESERVED_PREFIX)
}

/// `name` in `dir` (if there is a `dir`), `None` if absent.
fn find(dir: Option<&InodeRef>, name: &[u8]) -> Result<Option<InodeRef>> {
    let Some(dir) = dir else { return Ok(None) };
    match dir.lookup(name) {
        Ok(i) => Ok(Some(i)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_whiteout(i: &InodeRef) -> Result<bool> {
    Ok(i.kind() == FileType::CharDevice && i.metadata()?.rdev == 0)
}

fn is_opaque(udir: &InodeRef) -> Result<bool> {
    Ok(find(Some(udir), OPAQUE_MARKER)?.is_some())
}

fn whiteout_at(udir: &InodeRef, name: &[u8]) -> Result<InodeRef> {
    udir.create(name, FileType::CharDevice, 0, 0)
}

fn make_whiteout(udir: &InodeRef, name: &[u8]) -> Result<()> {
    whiteout_at(udir, name).map(drop)
}

fn mark_opaque(udir: &InodeRef) -> Result<()> {
    match udir.create(OPAQUE_MARKER, FileType::Regular, 0o600, 0) {
        Ok(_) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the whiteouts, the opaque marker and leftover temporaries from
/// an upper directory (before removing or replacing it).
fn purge_hidden(udir: &InodeRef) -> Result<()> {
    for d in udir.read_dir()? {
        if is_reserved(&d.name) {
            remove_entry(udir, &d.name)?;
        } else if d.kind == FileType::CharDevice {
            if let Some(i) = find(Some(udir), &d.name)? {
                if is_whiteout(&i)? {
                    udir.unlink(&d.name)?;
                }
            }
        }
    }
    Ok(())
}

/// Removes `name` from `dir`; a directory with what is directly in it.
fn remove_entry(dir: &InodeRef, name: &[u8]) -> Result<()> {
    let i = dir.lookup(name)?;
    if i.kind() != FileType::Directory {
        return dir.unlink(name);
    }
    for d in i.read_dir()? {
        if d.kind == FileType::Directory {
            i.rmdir(&d.name)?;
        } else {
            i.unlink(&d.name)?;
        }
    }
    dir.rmdir(name)
}

/// Best-effort cleanup of a temporary after a failure.
fn remove_quietly(dir: &InodeRef, name: &[u8]) {
    if remove_entry(dir, name).is_err() {
        tracing::warn!(
            "unionfs: cannot remove temporary {}",
            String::from_utf8_lossy(name)
        );
    }
}

/// Copies the data of `src` into `dst`, chunk by chunk.
fn copy_data(src: &InodeRef, dst: &InodeRef) -> Result<()> {
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut off = 0u64;
    loop {
        let n = src.read_at(off, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut done = 0;
        while done < n {
            let w = dst.write_at(off + done as u64, &buf[done..n])?;
            if w == 0 {
                return Err(Errno::EIO);
            }
            done += w;
        }
        off += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::ramfs::RamFs;

    /// Lower layout: /etc/{hosts,passwd}, /bin/{busybox,sh -> busybox},
    /// /usr/lib/libc.so (200 KB), /usr/bin/ls -> ../../bin/busybox,
    /// /data/{a,b}, /data/sub/c, /empty/.
    fn lower_fs() -> Arc<RamFs> {
        let fs = RamFs::new(0o755);
        let root = fs.root();
        let etc = root.create(b"etc", FileType::Directory, 0o750, 0).unwrap();
        etc.set_metadata(&SetMetadata {
            uid: Some(11),
            gid: Some(12),
            ..SetMetadata::default()
        })
        .unwrap();
        let hosts = etc.create(b"hosts", FileType::Regular, 0o640, 0).unwrap();
        hosts.write_at(0, b"127.0.0.1 localhost\n").unwrap();
        hosts
            .set_metadata(&SetMetadata {
                uid: Some(5),
                gid: Some(6),
                mtime: Some(Timespec { sec: 1000, nsec: 7 }),
                ..SetMetadata::default()
            })
            .unwrap();
        let passwd = etc.create(b"passwd", FileType::Regular, 0o644, 0).unwrap();
        passwd.write_at(0, b"root:x:0:0\n").unwrap();
        let bin = root.create(b"bin", FileType::Directory, 0o755, 0).unwrap();
        let bb = bin.create(b"busybox", FileType::Regular, 0o755, 0).unwrap();
        bb.write_at(0, b"\x7fELF").unwrap();
        bin.symlink(b"sh", b"busybox").unwrap();
        let usr = root.create(b"usr", FileType::Directory, 0o755, 0).unwrap();
        let lib = usr.create(b"lib", FileType::Directory, 0o755, 0).unwrap();
        let libc = lib.create(b"libc.so", FileType::Regular, 0o755, 0).unwrap();
        libc.write_at(0, &big_data()).unwrap();
        let ubin = usr.create(b"bin", FileType::Directory, 0o755, 0).unwrap();
        ubin.symlink(b"ls", b"../../bin/busybox").unwrap();
        let data = root.create(b"data", FileType::Directory, 0o755, 0).unwrap();
        for n in [&b"a"[..], b"b"] {
            let f = data.create(n, FileType::Regular, 0o644, 0).unwrap();
            f.write_at(0, n).unwrap();
        }
        let sub = data.create(b"sub", FileType::Directory, 0o755, 0).unwrap();
        sub.create(b"c", FileType::Regular, 0o644, 0).unwrap();
        root.create(b"empty", FileType::Directory, 0o755, 0)
            .unwrap();
        fs
    }

    fn big_data() -> Vec<u8> {
        (0..200_000u32).map(|i| (i % 251) as u8).collect()
    }

    struct Setup {
        lower: Arc<dyn FileSystem>,
        upper: Arc<dyn FileSystem>,
        union: Arc<dyn FileSystem>,
    }

    impl Setup {
        fn new() -> Setup {
            let lower: Arc<dyn FileSystem> = lower_fs();
            let upper: Arc<dyn FileSystem> = RamFs::new(0o755);
            let union = new(lower.clone(), upper.clone());
            Setup {
                lower,
                upper,
                union,
            }
        }

        /// The same layers mounted again (as after a restart).
        fn remount(&self) -> Arc<dyn FileSystem> {
            new(self.lower.clone(), self.upper.clone())
        }

        fn u(&self, path: &str) -> Result<InodeRef> {
            walk(&self.union.root(), path)
        }

        fn l(&self, path: &str) -> Result<InodeRef> {
            walk(&self.lower.root(), path)
        }

        fn up(&self, path: &str) -> Result<InodeRef> {
            walk(&self.upper.root(), path)
        }
    }

    fn walk(root: &InodeRef, path: &str) -> Result<InodeRef> {
        let mut cur = root.clone();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            cur = cur.lookup(c.as_bytes())?;
        }
        Ok(cur)
    }

    fn read_all(i: &InodeRef) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = i.read_at(out.len() as u64, &mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn names(dir: &InodeRef) -> Vec<String> {
        let mut v: Vec<String> = dir
            .read_dir()
            .unwrap()
            .into_iter()
            .map(|d| String::from_utf8_lossy(&d.name).into_owned())
            .collect();
        v.sort();
        v
    }

    fn is_whiteout_at(dir: &InodeRef, name: &[u8]) -> bool {
        dir.lookup(name)
            .map(|i| i.kind() == FileType::CharDevice && i.metadata().is_ok_and(|s| s.rdev == 0))
            .unwrap_or(false)
    }

    #[test]
    fn reads_the_lower() {
        let s = Setup::new();
        assert_eq!(s.union.type_name(), "unionfs");
        assert!(!s.union.read_only());
        let hosts = s.u("/etc/hosts").unwrap();
        assert_eq!(read_all(&hosts), b"127.0.0.1 localhost\n");
        let st = hosts.metadata().unwrap();
        assert_eq!(st.dev, s.union.dev());
        assert_ne!(st.dev, s.lower.dev());
        assert_eq!(st.ino, s.l("/etc/hosts").unwrap().ino());
        assert_eq!((st.perm, st.uid, st.gid), (0o640, 5, 6));
        assert_eq!(hosts.fs().dev(), s.union.dev());
        let sh = s.u("/bin/sh").unwrap();
        assert_eq!(sh.kind(), FileType::Symlink);
        assert_eq!(sh.read_link().unwrap(), b"busybox");
        assert_eq!(s.u("/nope").err(), Some(Errno::ENOENT));
        assert_eq!(s.u("/etc/hosts/x").err(), Some(Errno::ENOTDIR));
        assert_eq!(
            s.u("/etc").unwrap().write_at(0, b"x").err(),
            Some(Errno::EISDIR)
        );
        // Reading copies nothing up.
        assert!(names(&s.upper.root()).is_empty());
    }

    #[test]
    fn write_copies_up_and_keeps_the_lower() {
        let s = Setup::new();
        let hosts = s.u("/etc/hosts").unwrap();
        let ino = hosts.ino();
        hosts.write_at(0, b"10.0.0.99").unwrap();
        assert_eq!(read_all(&hosts), b"10.0.0.99 localhost\n");
        assert_eq!(
            read_all(&s.l("/etc/hosts").unwrap()),
            b"127.0.0.1 localhost\n"
        );
        let up = s.up("/etc/hosts").unwrap();
        assert_eq!(read_all(&up), b"10.0.0.99 localhost\n");
        let ust = up.metadata().unwrap();
        assert_eq!((ust.perm, ust.uid, ust.gid), (0o640, 5, 6));
        // The parent came up with its mode and owner.
        let etc = s.up("/etc").unwrap().metadata().unwrap();
        assert_eq!((etc.perm, etc.uid, etc.gid), (0o750, 11, 12));
        // Only what was needed came up.
        assert_eq!(names(&s.up("/etc").unwrap()), ["hosts"]);
        // Same inode number, now and on a fresh lookup, and after a restart.
        assert_eq!(hosts.ino(), ino);
        assert_eq!(s.u("/etc/hosts").unwrap().metadata().unwrap().ino, ino);
        let again = walk(&s.remount().root(), "/etc/hosts").unwrap();
        assert_eq!(again.ino(), ino);
        assert_eq!(read_all(&again), b"10.0.0.99 localhost\n");
    }

    #[test]
    fn large_file_copy_up_keeps_all_data() {
        let s = Setup::new();
        let libc = s.u("/usr/lib/libc.so").unwrap();
        libc.append(b"tail").unwrap();
        let mut want = big_data();
        want.extend_from_slice(b"tail");
        assert_eq!(read_all(&libc), want);
        assert_eq!(read_all(&s.up("/usr/lib/libc.so").unwrap()), want);
        assert_eq!(read_all(&s.l("/usr/lib/libc.so").unwrap()), big_data());
    }

    #[test]
    fn open_for_writing_copies_up_and_truncate_skips_data() {
        let s = Setup::new();
        let passwd = s.u("/etc/passwd").unwrap();
        passwd.open(0).unwrap();
        assert_eq!(s.up("/etc").err(), Some(Errno::ENOENT));
        passwd.open(O_RDWR).unwrap();
        assert_eq!(read_all(&s.up("/etc/passwd").unwrap()), b"root:x:0:0\n");
        let hosts = s.u("/etc/hosts").unwrap();
        hosts.open(O_WRONLY | O_TRUNC).unwrap();
        hosts.resize(0).unwrap();
        assert_eq!(read_all(&hosts), b"");
        assert_eq!(s.up("/etc/hosts").unwrap().metadata().unwrap().size, 0);
        assert_eq!(read_all(&s.l("/etc/hosts").unwrap()).len(), 20);
    }

    #[test]
    fn handle_opened_before_copy_up_sees_new_data() {
        let s = Setup::new();
        let reader = s.u("/etc/passwd").unwrap();
        assert_eq!(read_all(&reader), b"root:x:0:0\n");
        let writer = s.u("/etc/passwd").unwrap();
        writer.open(O_WRONLY).unwrap();
        writer.write_at(0, b"toor").unwrap();
        assert_eq!(read_all(&reader), b"toor:x:0:0\n");
        assert_eq!(reader.ino(), writer.ino());
        assert_eq!(reader.metadata().unwrap().size, 11);
    }

    #[test]
    fn metadata_changes_copy_up() {
        let s = Setup::new();
        let hosts = s.u("/etc/hosts").unwrap();
        let ino = hosts.ino();
        hosts
            .set_metadata(&SetMetadata {
                perm: Some(0o600),
                uid: Some(42),
                ..SetMetadata::default()
            })
            .unwrap();
        let st = hosts.metadata().unwrap();
        assert_eq!((st.perm, st.uid, st.gid, st.ino), (0o600, 42, 6, ino));
        assert_eq!(st.mtime, Timespec { sec: 1000, nsec: 7 });
        assert_eq!(read_all(&hosts), b"127.0.0.1 localhost\n");
        let lst = s.l("/etc/hosts").unwrap().metadata().unwrap();
        assert_eq!((lst.perm, lst.uid), (0o640, 5));
        // A symbolic link comes up with its target.
        let sh = s.u("/bin/sh").unwrap();
        sh.set_metadata(&SetMetadata {
            uid: Some(9),
            ..SetMetadata::default()
        })
        .unwrap();
        let up = s.up("/bin/sh").unwrap();
        assert_eq!(up.read_link().unwrap(), b"busybox");
        assert_eq!(up.metadata().unwrap().uid, 9);
        // A directory too, without its contents.
        s.u("/usr")
            .unwrap()
            .set_metadata(&SetMetadata {
                perm: Some(0o700),
                ..SetMetadata::default()
            })
            .unwrap();
        assert_eq!(s.u("/usr").unwrap().metadata().unwrap().perm, 0o700);
        assert!(names(&s.up("/usr").unwrap()).is_empty());
        assert_eq!(names(&s.u("/usr").unwrap()), ["bin", "lib"]);
    }

    #[test]
    fn unlink_hides_the_lower_and_recreate_works() {
        let s = Setup::new();
        let etc = s.u("/etc").unwrap();
        let held = etc.lookup(b"passwd").unwrap();
        etc.unlink(b"passwd").unwrap();
        assert_eq!(etc.lookup(b"passwd").err(), Some(Errno::ENOENT));
        assert_eq!(names(&etc), ["hosts"]);
        assert_eq!(etc.unlink(b"passwd").err(), Some(Errno::ENOENT));
        assert_eq!(read_all(&s.l("/etc/passwd").unwrap()), b"root:x:0:0\n");
        assert!(is_whiteout_at(&s.up("/etc").unwrap(), b"passwd"));
        // The open file still reads; it has no links, and cannot come back.
        assert_eq!(read_all(&held), b"root:x:0:0\n");
        assert_eq!(held.metadata().unwrap().nlink, 0);
        assert_eq!(held.write_at(0, b"x").err(), Some(Errno::ENOENT));
        assert_eq!(etc.lookup(b"passwd").err(), Some(Errno::ENOENT));
        // Recreate: a new, empty file.
        let f = etc.create(b"passwd", FileType::Regular, 0o600, 0).unwrap();
        assert_eq!(read_all(&f), b"");
        f.write_at(0, b"new").unwrap();
        assert_eq!(read_all(&etc.lookup(b"passwd").unwrap()), b"new");
        assert_eq!(names(&etc), ["hosts", "passwd"]);
        assert_eq!(
            etc.create(b"passwd", FileType::Regular, 0o600, 0).err(),
            Some(Errno::EEXIST)
        );
        // Unlinking a copied-up lower file leaves a whiteout too.
        etc.lookup(b"hosts").unwrap().write_at(0, b"x").unwrap();
        etc.unlink(b"hosts").unwrap();
        assert!(is_whiteout_at(&s.up("/etc").unwrap(), b"hosts"));
        assert_eq!(names(&etc), ["passwd"]);
        // An upper-only file leaves nothing.
        etc.create(b"tmp", FileType::Regular, 0o600, 0).unwrap();
        etc.unlink(b"tmp").unwrap();
        assert!(s.up("/etc/tmp").is_err());
        assert_eq!(
            names(&walk(&s.remount().root(), "/etc").unwrap()),
            ["passwd"]
        );
    }

    #[test]
    fn rmdir_needs_an_empty_merged_view_and_mkdir_over_it_is_opaque() {
        let s = Setup::new();
        let root = s.union.root();
        let data = root.lookup(b"data").unwrap();
        assert_eq!(root.rmdir(b"data").err(), Some(Errno::ENOTEMPTY));
        // Upper empty, lower not: still not empty.
        data.create(b"x", FileType::Regular, 0o644, 0).unwrap();
        data.unlink(b"x").unwrap();
        assert_eq!(root.rmdir(b"data").err(), Some(Errno::ENOTEMPTY));
        assert_eq!(root.rmdir(b"etc").err(), Some(Errno::ENOTEMPTY));
        assert_eq!(root.unlink(b"data").err(), Some(Errno::EISDIR));
        assert_eq!(data.rmdir(b"a").err(), Some(Errno::ENOTDIR));
        data.unlink(b"a").unwrap();
        data.unlink(b"b").unwrap();
        data.lookup(b"sub").unwrap().unlink(b"c").unwrap();
        data.rmdir(b"sub").unwrap();
        assert!(names(&data).is_empty());
        root.rmdir(b"data").unwrap();
        assert_eq!(root.lookup(b"data").err(), Some(Errno::ENOENT));
        assert_eq!(data.metadata().unwrap().nlink, 0);
        assert!(is_whiteout_at(&s.upper.root(), b"data"));
        assert!(s.l("/data/sub/c").is_ok());
        // A lower-only empty directory.
        root.rmdir(b"empty").unwrap();
        assert!(!names(&root).contains(&"empty".to_string()));
        // mkdir over the whited-out lower directory: empty, opaque.
        let d = root.create(b"data", FileType::Directory, 0o700, 0).unwrap();
        assert!(names(&d).is_empty());
        assert_eq!(d.lookup(b"a").err(), Some(Errno::ENOENT));
        assert_eq!(d.lookup(OPAQUE_MARKER).err(), Some(Errno::ENOENT));
        assert!(s.up("/data").unwrap().lookup(OPAQUE_MARKER).is_ok());
        assert_eq!(d.metadata().unwrap().perm, 0o700);
        let r2 = s.remount().root();
        assert!(names(&walk(&r2, "/data").unwrap()).is_empty());
        assert_eq!(walk(&r2, "/data/a").err(), Some(Errno::ENOENT));
        // And it can be removed again.
        root.rmdir(b"data").unwrap();
        assert_eq!(root.lookup(b"data").err(), Some(Errno::ENOENT));
    }

    #[test]
    fn merged_read_dir() {
        let s = Setup::new();
        let data = s.u("/data").unwrap();
        data.create(b"c", FileType::Regular, 0o644, 0).unwrap();
        data.unlink(b"b").unwrap();
        data.lookup(b"a").unwrap().write_at(0, b"A").unwrap();
        data.symlink(b"l", b"a").unwrap();
        data.create(b"dev", FileType::CharDevice, 0o600, 0x0103)
            .unwrap();
        let list = data.read_dir().unwrap();
        let mut got: Vec<(String, FileType)> = list
            .iter()
            .map(|d| (String::from_utf8_lossy(&d.name).into_owned(), d.kind))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            [
                ("a".to_string(), FileType::Regular),
                ("c".to_string(), FileType::Regular),
                ("dev".to_string(), FileType::CharDevice),
                ("l".to_string(), FileType::Symlink),
                ("sub".to_string(), FileType::Directory),
            ]
        );
        // Each entry's inode number is the one lookup gives, all distinct.
        let mut inos = HashSet::new();
        for d in &list {
            assert_eq!(data.lookup(&d.name).unwrap().ino(), d.ino);
            assert!(inos.insert(d.ino));
        }
        assert_eq!(
            data.lookup(b"a").unwrap().ino(),
            s.l("/data/a").unwrap().ino()
        );
        let c = data.lookup(b"c").unwrap();
        assert_eq!(c.ino(), s.up("/data/c").unwrap().ino() | UPPER_INO_BIT);
        assert_eq!(
            data.lookup(b"dev").unwrap().metadata().unwrap().rdev,
            0x0103
        );
        // Whiteouts and the reserved names cannot be made.
        assert_eq!(
            data.create(b"w", FileType::CharDevice, 0o600, 0).err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            data.create(OPAQUE_MARKER, FileType::Regular, 0o600, 0)
                .err(),
            Some(Errno::EPERM)
        );
        assert_eq!(
            s.union.root().read_dir().unwrap().len(),
            s.lower.root().read_dir().unwrap().len()
        );
    }

    #[test]
    fn rename_lower_file() {
        let s = Setup::new();
        let etc = s.u("/etc").unwrap();
        let ino = etc.lookup(b"hosts").unwrap().ino();
        let root = s.union.root();
        etc.rename(b"hosts", &root, b"hosts.bak", RenameFlags::default())
            .unwrap();
        assert_eq!(etc.lookup(b"hosts").err(), Some(Errno::ENOENT));
        let moved = root.lookup(b"hosts.bak").unwrap();
        assert_eq!(read_all(&moved), b"127.0.0.1 localhost\n");
        assert_eq!(moved.ino(), ino);
        assert_eq!(names(&etc), ["passwd"]);
        assert!(s.l("/etc/hosts").is_ok());
        assert!(s.l("/hosts.bak").is_err());
        // Over another lower file, in a lower-only directory.
        let bin = s.u("/bin").unwrap();
        root.rename(b"hosts.bak", &bin, b"busybox", RenameFlags::default())
            .unwrap();
        assert_eq!(
            read_all(&bin.lookup(b"busybox").unwrap()),
            b"127.0.0.1 localhost\n"
        );
        assert_eq!(read_all(&s.l("/bin/busybox").unwrap()), b"\x7fELF");
        assert_eq!(names(&bin), ["busybox", "sh"]);
        let r2 = s.remount().root();
        assert_eq!(walk(&r2, "/etc/hosts").err(), Some(Errno::ENOENT));
        assert_eq!(walk(&r2, "/hosts.bak").err(), Some(Errno::ENOENT));
        assert_eq!(
            read_all(&walk(&r2, "/bin/busybox").unwrap()),
            b"127.0.0.1 localhost\n"
        );
    }

    #[test]
    fn rename_lower_directory_tree() {
        let s = Setup::new();
        let root = s.union.root();
        let usr = root.lookup(b"usr").unwrap();
        let ino = usr.ino();
        let libc_ino = s.u("/usr/lib/libc.so").unwrap().ino();
        let opt = root.create(b"opt", FileType::Directory, 0o755, 0).unwrap();
        root.rename(b"usr", &opt, b"usr2", RenameFlags::default())
            .unwrap();
        assert_eq!(root.lookup(b"usr").err(), Some(Errno::ENOENT));
        assert_eq!(usr.ino(), ino);
        let check = |r: &InodeRef| {
            assert_eq!(
                read_all(&walk(r, "/opt/usr2/lib/libc.so").unwrap()),
                big_data()
            );
            assert_eq!(
                walk(r, "/opt/usr2/bin/ls").unwrap().read_link().unwrap(),
                b"../../bin/busybox"
            );
            assert_eq!(names(&walk(r, "/opt/usr2").unwrap()), ["bin", "lib"]);
            assert_eq!(walk(r, "/usr").err(), Some(Errno::ENOENT));
        };
        check(&root);
        assert_eq!(s.u("/opt/usr2").unwrap().ino(), ino);
        assert_eq!(s.u("/opt/usr2/lib/libc.so").unwrap().ino(), libc_ino);
        check(&s.remount().root());
        assert!(s.l("/usr/lib/libc.so").is_ok());
        // The moved tree is writable where it is now.
        let lib = s.u("/opt/usr2/lib").unwrap();
        lib.unlink(b"libc.so").unwrap();
        assert!(names(&lib).is_empty());
    }

    #[test]
    fn rename_directory_over_merged_directory() {
        let s = Setup::new();
        let root = s.union.root();
        let newdir = root
            .create(b"newdir", FileType::Directory, 0o755, 0)
            .unwrap();
        newdir.create(b"z", FileType::Regular, 0o644, 0).unwrap();
        // /data is empty in the upper but not in the lower.
        let data = root.lookup(b"data").unwrap();
        data.create(b"tmp", FileType::Regular, 0o644, 0).unwrap();
        data.unlink(b"tmp").unwrap();
        assert_eq!(
            root.rename(b"newdir", &root, b"data", RenameFlags::default())
                .err(),
            Some(Errno::ENOTEMPTY)
        );
        assert_eq!(
            root.rename(b"newdir", &root, b"bin", RenameFlags::default())
                .err(),
            Some(Errno::ENOTEMPTY)
        );
        let etc = s.u("/etc").unwrap();
        assert_eq!(
            root.rename(b"newdir", &etc, b"hosts", RenameFlags::default())
                .err(),
            Some(Errno::ENOTDIR)
        );
        assert_eq!(
            etc.rename(b"hosts", &root, b"usr", RenameFlags::default())
                .err(),
            Some(Errno::EISDIR)
        );
        assert_eq!(
            root.rename(b"newdir", &newdir, b"in", RenameFlags::default())
                .err(),
            Some(Errno::EINVAL)
        );
        // Over the (merged-)empty lower directory: lower contents stay hidden.
        root.rename(b"newdir", &root, b"empty", RenameFlags::default())
            .unwrap();
        assert_eq!(names(&s.u("/empty").unwrap()), ["z"]);
        let sub = s.u("/data/sub").unwrap();
        sub.unlink(b"c").unwrap();
        let d2 = root.create(b"d2", FileType::Directory, 0o755, 0).unwrap();
        d2.create(b"y", FileType::Regular, 0o644, 0).unwrap();
        data.rename(b"sub", &root, b"sub", RenameFlags::default())
            .unwrap();
        assert!(names(&s.u("/sub").unwrap()).is_empty());
        root.rename(b"d2", &root, b"sub", RenameFlags::default())
            .unwrap();
        assert_eq!(names(&s.u("/sub").unwrap()), ["y"]);
        assert_eq!(names(&data), ["a", "b"]);
        let r2 = s.remount().root();
        assert_eq!(names(&walk(&r2, "/sub").unwrap()), ["y"]);
        assert_eq!(names(&walk(&r2, "/empty").unwrap()), ["z"]);
        assert_eq!(names(&walk(&r2, "/data").unwrap()), ["a", "b"]);
    }

    #[test]
    fn rename_flags() {
        let s = Setup::new();
        let etc = s.u("/etc").unwrap();
        let no_replace = RenameFlags {
            no_replace: true,
            exchange: false,
        };
        let exchange = RenameFlags {
            no_replace: false,
            exchange: true,
        };
        assert_eq!(
            etc.rename(b"hosts", &etc, b"passwd", no_replace).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(
            etc.rename(b"hosts", &etc, b"nothing", exchange).err(),
            Some(Errno::ENOENT)
        );
        etc.rename(b"hosts", &etc, b"passwd", exchange).unwrap();
        assert_eq!(
            read_all(&etc.lookup(b"passwd").unwrap()),
            b"127.0.0.1 localhost\n"
        );
        assert_eq!(read_all(&etc.lookup(b"hosts").unwrap()), b"root:x:0:0\n");
        assert_eq!(
            read_all(&s.l("/etc/hosts").unwrap()),
            b"127.0.0.1 localhost\n"
        );
        // A file and a merged directory trade places.
        let root = s.union.root();
        root.rename(b"data", &etc, b"hosts", exchange).unwrap();
        assert_eq!(s.u("/data").unwrap().kind(), FileType::Regular);
        assert_eq!(names(&s.u("/etc/hosts").unwrap()), ["a", "b", "sub"]);
        let r2 = s.remount().root();
        assert_eq!(names(&walk(&r2, "/etc/hosts").unwrap()), ["a", "b", "sub"]);
        assert_eq!(read_all(&walk(&r2, "/data").unwrap()), b"root:x:0:0\n");
        // Moving onto itself does nothing.
        etc.rename(b"passwd", &etc, b"passwd", RenameFlags::default())
            .unwrap();
        assert!(etc.lookup(b"passwd").is_ok());
    }

    #[test]
    fn hard_links_of_lower_files() {
        let s = Setup::new();
        let root = s.union.root();
        let hosts = s.u("/etc/hosts").unwrap();
        root.link(b"hosts2", &hosts).unwrap();
        let h2 = root.lookup(b"hosts2").unwrap();
        assert_eq!(h2.ino(), hosts.ino());
        h2.write_at(0, b"X").unwrap();
        assert_eq!(read_all(&hosts)[0], b'X');
        assert_eq!(hosts.metadata().unwrap().nlink, 2);
        assert_eq!(read_all(&s.l("/etc/hosts").unwrap())[0], b'1');
        let list = root.read_dir().unwrap();
        let e = list.iter().find(|d| d.name == b"hosts2").unwrap();
        assert_eq!(e.ino, hosts.ino());
        assert_eq!(root.link(b"hosts2", &hosts).err(), Some(Errno::EEXIST));
        assert_eq!(
            root.link(b"x", &s.u("/etc").unwrap()).err(),
            Some(Errno::EPERM)
        );
        let other = s.lower.root().lookup(b"etc").unwrap();
        assert_eq!(root.link(b"y", &other).err(), Some(Errno::EXDEV));
        // Over a whiteout.
        let etc = s.u("/etc").unwrap();
        etc.unlink(b"passwd").unwrap();
        etc.link(b"passwd", &h2).unwrap();
        assert_eq!(read_all(&etc.lookup(b"passwd").unwrap())[0], b'X');
    }

    #[test]
    fn symlink_over_whiteout_and_fresh_names() {
        let s = Setup::new();
        let bin = s.u("/bin").unwrap();
        bin.unlink(b"sh").unwrap();
        assert_eq!(bin.lookup(b"sh").err(), Some(Errno::ENOENT));
        let l = bin.symlink(b"sh", b"/bin/bash").unwrap();
        assert_eq!(l.read_link().unwrap(), b"/bin/bash");
        assert_eq!(
            bin.lookup(b"sh").unwrap().read_link().unwrap(),
            b"/bin/bash"
        );
        assert_eq!(bin.symlink(b"sh", b"x").err(), Some(Errno::EEXIST));
        assert_eq!(bin.symlink(b"busybox", b"x").err(), Some(Errno::EEXIST));
        // Nothing reserved shows in the upper listing of the union.
        assert_eq!(names(&bin), ["busybox", "sh"]);
        assert!(names(&s.up("/bin").unwrap())
            .iter()
            .all(|n| !n.starts_with(".wh..wh..tmp")));
    }

    #[test]
    fn inode_numbers_stay_unique_when_names_are_reused() {
        let s = Setup::new();
        let data = s.u("/data").unwrap();
        let a_ino = data.lookup(b"a").unwrap().ino();
        // Log rotation: rename, then create the old name again.
        data.rename(b"a", &data, b"a.1", RenameFlags::default())
            .unwrap();
        let fresh = data.create(b"a", FileType::Regular, 0o644, 0).unwrap();
        let rotated = data.lookup(b"a.1").unwrap();
        assert_eq!(rotated.ino(), a_ino);
        assert_ne!(fresh.ino(), a_ino);
        assert_eq!(data.lookup(b"a").unwrap().ino(), fresh.ino());
        let list = data.read_dir().unwrap();
        let inos: HashSet<u64> = list.iter().map(|d| d.ino).collect();
        assert_eq!(inos.len(), list.len());
        for d in &list {
            assert_eq!(data.lookup(&d.name).unwrap().ino(), d.ino);
        }
        // After a restart the numbers are still distinct.
        let d2 = walk(&s.remount().root(), "/data").unwrap();
        let (x, y) = (d2.lookup(b"a").unwrap(), d2.lookup(b"a.1").unwrap());
        assert_ne!(x.ino(), y.ino());
        assert_eq!(read_all(&y), b"a");
        assert_eq!(read_all(&x), b"");
    }

    #[test]
    fn concurrent_writers_copy_up_once() {
        let s = Setup::new();
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let root = s.union.root();
                std::thread::spawn(move || {
                    let f = walk(&root, "/usr/lib/libc.so").unwrap();
                    f.open(O_RDWR).unwrap();
                    f.write_at(u64::from(i) * 1000, &[0xee]).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got = read_all(&s.u("/usr/lib/libc.so").unwrap());
        let mut want = big_data();
        for i in 0..8 {
            want[i * 1000] = 0xee;
        }
        assert_eq!(got, want);
        assert_eq!(names(&s.up("/usr/lib").unwrap()), ["libc.so"]);
        assert_eq!(names(&s.up("/usr").unwrap()), ["lib"]);
    }

    #[test]
    fn merged_directories_report_unknown_link_count() {
        let s = Setup::new();
        let data = s.u("/data").unwrap();
        assert_eq!(data.metadata().unwrap().nlink, 3);
        data.create(b"n", FileType::Regular, 0o644, 0).unwrap();
        assert_eq!(data.metadata().unwrap().nlink, 1);
        let sub = data.lookup(b"sub").unwrap();
        sub.unlink(b"c").unwrap();
        data.rmdir(b"sub").unwrap();
        assert_eq!(sub.metadata().unwrap().nlink, 0);
    }

    #[test]
    fn statistics_and_sync() {
        let s = Setup::new();
        assert_eq!(s.union.stats().magic, UNIONFS_MAGIC);
        assert_eq!(s.union.stats().block_size, s.upper.stats().block_size);
        s.union.sync().unwrap();
        s.u("/etc/hosts").unwrap().sync(false).unwrap();
        assert_eq!(s.union.root().ino(), s.lower.root().ino());
    }
}
