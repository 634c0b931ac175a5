//! The file-system operations over the block layer.

use std::sync::Arc;

use crate::crypto::Crypto;
use crate::dir::{check_name, DirIndexes};
use crate::env::Env;
use crate::error::{corrupted, Error, Result};
use crate::inode::{Inode, INODES_PER_BLOCK};
use crate::layout::{BLOCK_SIZE, BS, SUPER_BLOCKS, TABLE_OBJ};
use crate::storage::Storage;
use crate::store::{internal, Store};
use crate::superblock::{Slot, Super};
use crate::types::{
    Attr, DirEntry, FileKind, Ino, Options, RenameFlags, SetAttr, StatFs, Timespec, ROOT_INO,
};

/// Longest symlink target.
const MAX_SYMLINK: usize = 4095;
/// Seconds after which a read refreshes atime even if it is newer than mtime.
const RELATIME_SECS: i64 = 24 * 3600;

/// The whole file system's mutable state.
pub(crate) struct Fs {
    /// The block layer.
    pub store: Store,
    /// Directory name indexes.
    pub dirs: DirIndexes,
}

fn crypto_threads(opts: &Options) -> usize {
    opts.crypto_threads.clamp(1, 8)
}

impl Fs {
    fn build(
        storage: Arc<dyn Storage>,
        key: &[u8; 32],
        env: Arc<dyn Env>,
        opts: &Options,
        sb: Super,
    ) -> Fs {
        let crypto = Crypto::new(key, crypto_threads(opts));
        let store = Store::new(
            storage,
            env,
            crypto,
            sb,
            opts.cache_bytes / BLOCK_SIZE,
            opts.capacity_bytes / BS,
        );
        Fs {
            store,
            dirs: DirIndexes::new((opts.cache_bytes / 32) as u64),
        }
    }

    /// Writes a new, empty file system.
    pub fn format(
        storage: Arc<dyn Storage>,
        key: &[u8; 32],
        env: Arc<dyn Env>,
        opts: &Options,
    ) -> Result<Fs> {
        storage.set_len(0)?;
        let sb = Super {
            nblocks: SUPER_BLOCKS,
            used: SUPER_BLOCKS,
            ninodes: ROOT_INO + 1,
            nfiles: 1,
            ..Super::default()
        };
        let mut fs = Fs::build(storage, key, env, opts, sb);
        let s = &mut fs.store;
        s.grow_to(SUPER_BLOCKS)?;
        s.set_bits(0, SUPER_BLOCKS, true)?;
        s.ensure_height(TABLE_OBJ, 1)?;
        let now = s.env.now();
        let root = Inode {
            kind: Some(FileKind::Directory),
            mode: 0o755,
            nlink: 2,
            atime: now,
            mtime: now,
            ctime: now,
            link: ROOT_INO,
            ..Inode::default()
        };
        s.write_inode(ROOT_INO, &root)?;
        fs.commit()?;
        Ok(fs)
    }

    /// Opens an existing file system at its newest authentic commit.
    pub fn open(
        storage: Arc<dyn Storage>,
        key: &[u8; 32],
        env: Arc<dyn Env>,
        opts: &Options,
    ) -> Result<Fs> {
        let len = storage.len()?;
        if len == 0 {
            return Err(Error::NotFormatted);
        }
        if len < SUPER_BLOCKS * BS {
            return Err(corrupted(format!(
                "the file holds {len} bytes, less than its {} bytes of superblocks (truncated)",
                SUPER_BLOCKS * BS
            )));
        }
        let crypto = Crypto::new(key, 1);
        let mut best: Option<Super> = None;
        let mut any_magic = false;
        let mut all_zero = true;
        for slot in 0..SUPER_BLOCKS as u32 {
            let mut block = vec![0u8; BLOCK_SIZE];
            storage.read_at(u64::from(slot) * BS, &mut block)?;
            all_zero &= block.iter().all(|&b| b == 0);
            match Super::unseal(&crypto, slot, &block) {
                Slot::Empty => {}
                Slot::Invalid => any_magic = true,
                Slot::Valid(sb) => {
                    any_magic = true;
                    if best.as_ref().is_none_or(|b| sb.seq > b.seq) {
                        best = Some(sb);
                    }
                }
            }
        }
        let sb = match best {
            Some(sb) => sb,
            None if any_magic => return Err(Error::BadKeyOrCorrupted),
            // `format` writes the superblocks last: slots that were never
            // written mean a format that did not finish (a crash on first
            // use), not a file system that held data.
            None if all_zero => return Err(Error::NotFormatted),
            None => {
                return Err(corrupted(
                    "neither superblock is present, though the file is not empty (overwritten)",
                ))
            }
        };
        sb.validate()?;
        let reclaim = sb.orphans > 0;
        let mut fs = Fs::build(storage, key, env, opts, sb);
        if reclaim {
            fs.reclaim_orphans()?;
        }
        Ok(fs)
    }

    /// Frees inodes left with no links (by a crash or a missing `release`).
    fn reclaim_orphans(&mut self) -> Result<()> {
        for ino in ROOT_INO + 1..self.store.sb.ninodes {
            if self.store.sb.orphans == 0 {
                break;
            }
            let inode = self.store.read_inode(ino)?;
            if inode.kind.is_some() && inode.nlink == 0 {
                self.free_inode(ino)?;
                self.store.sb.orphans -= 1;
            }
            if ino % INODES_PER_BLOCK == 0 {
                self.store.evict()?;
            }
        }
        Ok(())
    }

    /// Commits everything so far.
    pub fn commit(&mut self) -> Result<()> {
        self.store.commit()
    }

    fn now(&self) -> Timespec {
        self.store.env.now()
    }

    /// Reads inode `ino`, modifies it with `f`, writes it back.
    fn update(&mut self, ino: Ino, f: impl FnOnce(&mut Inode)) -> Result<Inode> {
        let mut inode = self.store.inode(ino)?;
        f(&mut inode);
        self.store.write_inode(ino, &inode)?;
        Ok(inode)
    }

    /// Reads a directory inode (`NotDir` otherwise).
    fn dir_inode(&mut self, dir: Ino) -> Result<Inode> {
        let inode = self.store.inode(dir)?;
        if inode.kind()? != FileKind::Directory {
            return Err(Error::NotDir);
        }
        Ok(inode)
    }

    /// A directory that may still receive entries (not removed).
    fn live_dir(&mut self, dir: Ino) -> Result<Inode> {
        let inode = self.dir_inode(dir)?;
        if inode.nlink == 0 {
            return Err(Error::NotFound);
        }
        Ok(inode)
    }

    fn touch_dir(&mut self, dir: Ino, now: Timespec, nlink_delta: i64) -> Result<()> {
        let mut inode = self.store.inode(dir)?;
        inode.nlink = u32::try_from(i64::from(inode.nlink) + nlink_delta)
            .map_err(|_| internal("directory link count out of range"))?;
        inode.mtime = now;
        inode.ctime = now;
        self.store.write_inode(dir, &inode)
    }

    fn alloc_inode(&mut self, inode: &Inode) -> Result<Ino> {
        let sb = &self.store.sb;
        let ino = if sb.free_ino_head != 0 {
            let ino = sb.free_ino_head;
            let free = self.store.read_inode(ino)?;
            if free.kind.is_some() || free.link >= self.store.sb.ninodes {
                return Err(corrupted(format!("free inode list broken at inode {ino}")));
            }
            self.store.sb.free_ino_head = free.link;
            ino
        } else {
            let ino = sb.ninodes;
            self.store
                .ensure_height(TABLE_OBJ, ino / INODES_PER_BLOCK + 1)?;
            self.store.sb.ninodes += 1;
            ino
        };
        self.store.write_inode(ino, inode)?;
        self.store.sb.nfiles += 1;
        Ok(ino)
    }

    fn free_inode(&mut self, ino: Ino) -> Result<()> {
        self.store.truncate_tree(ino, 0)?;
        self.store.cache.remove_obj(ino);
        self.dirs.forget(ino);
        let free = Inode {
            link: self.store.sb.free_ino_head,
            ..Inode::default()
        };
        self.store.write_inode(ino, &free)?;
        self.store.sb.free_ino_head = ino;
        self.store.sb.nfiles -= 1;
        Ok(())
    }

    /// Takes one link from `ino`; at zero it becomes an orphan awaiting `release`.
    fn drop_link(&mut self, ino: Ino, now: Timespec, all: bool) -> Result<()> {
        let inode = self.update(ino, |i| {
            i.nlink = if all { 0 } else { i.nlink.saturating_sub(1) };
            i.ctime = now;
        })?;
        if inode.nlink == 0 {
            self.store.sb.orphans += 1;
        }
        Ok(())
    }

    /// Whether `a` is `d` or one of its ancestors.
    fn is_ancestor(&mut self, a: Ino, d: Ino) -> Result<bool> {
        let mut cur = d;
        for _ in 0..self.store.sb.ninodes {
            if cur == a {
                return Ok(true);
            }
            if cur == ROOT_INO {
                return Ok(false);
            }
            cur = self.store.inode(cur)?.link;
        }
        Err(corrupted(format!(
            "directory parent chain of inode {d} loops"
        )))
    }

    /// See [`crate::Sefs::lookup`].
    pub fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Ino> {
        let inode = self.dir_inode(dir)?;
        match name {
            b"." => return Ok(dir),
            b".." => return Ok(inode.link),
            _ => check_name(name)?,
        }
        Ok(self.dir_find(dir, name)?.ok_or(Error::NotFound)?.ino)
    }

    /// See [`crate::Sefs::getattr`].
    pub fn getattr(&mut self, ino: Ino) -> Result<Attr> {
        self.store.inode(ino)?.attr(ino)
    }

    /// See [`crate::Sefs::setattr`].
    pub fn setattr(&mut self, ino: Ino, set: &SetAttr) -> Result<Attr> {
        let now = self.now();
        let kind = self.store.inode(ino)?.kind()?;
        if let Some(size) = set.size {
            match kind {
                FileKind::Regular => self.store.truncate_data(ino, size)?,
                FileKind::Directory => return Err(Error::IsDir),
                _ => return Err(Error::Invalid),
            }
        }
        let inode = self.update(ino, |i| {
            if set.size.is_some() {
                i.mtime = now;
            }
            if let Some(mode) = set.mode {
                i.mode = mode & 0o7777;
            }
            if let Some(uid) = set.uid {
                i.uid = uid;
            }
            if let Some(gid) = set.gid {
                i.gid = gid;
            }
            if let Some(t) = set.atime {
                i.atime = t;
            }
            if let Some(t) = set.mtime {
                i.mtime = t;
            }
            i.ctime = now;
        })?;
        inode.attr(ino)
    }

    /// See [`crate::Sefs::create`].
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: FileKind,
        mode: u16,
        uid: u32,
        gid: u32,
        rdev: u64,
    ) -> Result<Ino> {
        check_name(name)?;
        let parent = self.live_dir(dir)?;
        if self.dir_find(dir, name)?.is_some() {
            return Err(Error::Exists);
        }
        let is_dir = kind == FileKind::Directory;
        if is_dir && parent.nlink == u32::MAX {
            return Err(Error::Invalid);
        }
        let now = self.now();
        let inode = Inode {
            kind: Some(kind),
            mode: mode & 0o7777,
            uid,
            gid,
            nlink: if is_dir { 2 } else { 1 },
            rdev,
            atime: now,
            mtime: now,
            ctime: now,
            link: if is_dir { dir } else { 0 },
            ..Inode::default()
        };
        let ino = self.alloc_inode(&inode)?;
        self.dir_add(dir, name, ino, kind)?;
        self.touch_dir(dir, now, i64::from(is_dir))?;
        Ok(ino)
    }

    /// See [`crate::Sefs::symlink`].
    pub fn symlink(
        &mut self,
        dir: Ino,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<Ino> {
        if target.is_empty() {
            return Err(Error::NotFound);
        }
        if target.len() > MAX_SYMLINK {
            return Err(Error::NameTooLong);
        }
        let ino = self.create(dir, name, FileKind::Symlink, 0o777, uid, gid, 0)?;
        self.store.write_data(ino, 0, target)?;
        Ok(ino)
    }

    /// See [`crate::Sefs::readlink`].
    pub fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>> {
        let inode = self.store.inode(ino)?;
        if inode.kind()? != FileKind::Symlink {
            return Err(Error::Invalid);
        }
        let len = usize::try_from(inode.size)
            .ok()
            .filter(|&l| l <= MAX_SYMLINK)
            .ok_or_else(|| corrupted(format!("symlink inode {ino} has size {}", inode.size)))?;
        let mut buf = vec![0u8; len];
        self.store.read_data(ino, inode.size, 0, &mut buf)?;
        Ok(buf)
    }

    /// See [`crate::Sefs::link`].
    pub fn link(&mut self, ino: Ino, dir: Ino, name: &[u8]) -> Result<()> {
        check_name(name)?;
        let inode = self.store.inode(ino)?;
        if inode.kind()? == FileKind::Directory {
            return Err(Error::IsDir);
        }
        self.live_dir(dir)?;
        if self.dir_find(dir, name)?.is_some() {
            return Err(Error::Exists);
        }
        if inode.nlink == 0 {
            return Err(Error::NotFound);
        }
        if inode.nlink == u32::MAX {
            return Err(Error::Invalid);
        }
        let now = self.now();
        self.dir_add(dir, name, ino, inode.kind()?)?;
        self.update(ino, |i| {
            i.nlink += 1;
            i.ctime = now;
        })?;
        self.touch_dir(dir, now, 0)
    }

    /// See [`crate::Sefs::unlink`].
    pub fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<()> {
        check_name(name)?;
        self.dir_inode(dir)?;
        let found = self.dir_find(dir, name)?.ok_or(Error::NotFound)?;
        if found.kind == FileKind::Directory {
            return Err(Error::IsDir);
        }
        let now = self.now();
        self.dir_remove(dir, name)?;
        self.drop_link(found.ino, now, false)?;
        self.touch_dir(dir, now, 0)
    }

    /// See [`crate::Sefs::rmdir`].
    pub fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<()> {
        check_name(name)?;
        self.dir_inode(dir)?;
        let found = self.dir_find(dir, name)?.ok_or(Error::NotFound)?;
        if found.kind != FileKind::Directory {
            return Err(Error::NotDir);
        }
        if !self.dir_is_empty(found.ino)? {
            return Err(Error::NotEmpty);
        }
        let now = self.now();
        self.dir_remove(dir, name)?;
        self.drop_link(found.ino, now, true)?;
        self.touch_dir(dir, now, -1)
    }

    /// See [`crate::Sefs::rename`].
    pub fn rename(
        &mut self,
        od: Ino,
        on: &[u8],
        nd: Ino,
        nn: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        check_name(on)?;
        check_name(nn)?;
        if flags.noreplace && flags.exchange {
            return Err(Error::Invalid);
        }
        self.dir_inode(od)?;
        self.live_dir(nd)?;
        let src = self.dir_find(od, on)?.ok_or(Error::NotFound)?;
        let dst = self.dir_find(nd, nn)?;
        let src_dir = src.kind == FileKind::Directory;
        if od == nd && on == nn {
            return if flags.noreplace {
                Err(Error::Exists)
            } else {
                Ok(())
            };
        }
        let now = self.now();
        if flags.exchange {
            let dst = dst.ok_or(Error::NotFound)?;
            let dst_dir = dst.kind == FileKind::Directory;
            if od != nd
                && ((src_dir && self.is_ancestor(src.ino, nd)?)
                    || (dst_dir && self.is_ancestor(dst.ino, od)?))
            {
                return Err(Error::Invalid);
            }
            self.dir_retarget(od, &src, dst.ino, dst.kind)?;
            self.dir_retarget(nd, &dst, src.ino, src.kind)?;
            if od != nd {
                if src_dir {
                    self.update(src.ino, |i| i.link = nd)?;
                }
                if dst_dir {
                    self.update(dst.ino, |i| i.link = od)?;
                }
            }
            let shift = if od != nd {
                i64::from(dst_dir) - i64::from(src_dir)
            } else {
                0
            };
            for ino in [src.ino, dst.ino] {
                self.update(ino, |i| i.ctime = now)?;
            }
            self.touch_dir(od, now, shift)?;
            return self.touch_dir(nd, now, -shift);
        }
        if let Some(dst) = &dst {
            if flags.noreplace {
                return Err(Error::Exists);
            }
            if dst.ino == src.ino {
                return Ok(());
            }
            match (src_dir, dst.kind == FileKind::Directory) {
                (true, false) => return Err(Error::NotDir),
                (false, true) => return Err(Error::IsDir),
                (true, true) if !self.dir_is_empty(dst.ino)? => return Err(Error::NotEmpty),
                _ => {}
            }
        }
        if src_dir && self.is_ancestor(src.ino, nd)? {
            return Err(Error::Invalid);
        }
        let replaced_dir = dst.as_ref().is_some_and(|d| d.kind == FileKind::Directory);
        if src_dir && od != nd && !replaced_dir && self.store.inode(nd)?.nlink == u32::MAX {
            return Err(Error::Invalid);
        }
        match &dst {
            Some(d) => self.dir_retarget(nd, d, src.ino, src.kind)?,
            None => self.dir_add(nd, nn, src.ino, src.kind)?,
        }
        self.dir_remove(od, on)?;
        if let Some(d) = &dst {
            self.drop_link(d.ino, now, replaced_dir)?;
        }
        let moved = src_dir && od != nd;
        self.update(src.ino, |i| {
            if moved {
                i.link = nd;
            }
            i.ctime = now;
        })?;
        self.touch_dir(od, now, -i64::from(moved))?;
        self.touch_dir(nd, now, i64::from(moved) - i64::from(replaced_dir))
    }

    /// See [`crate::Sefs::read`].
    pub fn read(&mut self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.store.inode(ino)?;
        match inode.kind()? {
            FileKind::Regular => {}
            FileKind::Directory => return Err(Error::IsDir),
            _ => return Err(Error::Invalid),
        }
        let n = self.store.read_data(ino, inode.size, off, buf)?;
        let now = self.now();
        if inode.atime <= inode.mtime
            || inode.atime <= inode.ctime
            || now.sec - inode.atime.sec >= RELATIME_SECS
        {
            self.update(ino, |i| i.atime = now)?;
        }
        Ok(n)
    }

    /// See [`crate::Sefs::write`].
    pub fn write(&mut self, ino: Ino, off: u64, buf: &[u8]) -> Result<usize> {
        match self.store.inode(ino)?.kind()? {
            FileKind::Regular => {}
            FileKind::Directory => return Err(Error::IsDir),
            _ => return Err(Error::Invalid),
        }
        self.store.write_data(ino, off, buf)?;
        let now = self.now();
        self.update(ino, |i| {
            i.mtime = now;
            i.ctime = now;
        })?;
        Ok(buf.len())
    }

    /// See [`crate::Sefs::readdir`].
    pub fn readdir(&mut self, dir: Ino) -> Result<Vec<DirEntry>> {
        self.dir_inode(dir)?;
        self.dir_list(dir)
    }

    /// See [`crate::Sefs::release`].
    pub fn release(&mut self, ino: Ino) -> Result<()> {
        let inode = match self.store.read_inode(ino) {
            Err(Error::NotFound) => return Ok(()),
            r => r?,
        };
        if inode.kind.is_none() || inode.nlink > 0 {
            return Ok(());
        }
        self.free_inode(ino)?;
        self.store.sb.orphans = self
            .store
            .sb
            .orphans
            .checked_sub(1)
            .ok_or_else(|| internal("orphan count underflow"))?;
        Ok(())
    }

    /// See [`crate::Sefs::statfs`].
    pub fn statfs(&self) -> StatFs {
        let s = &self.store;
        let total = s.capacity_blocks;
        StatFs {
            block_size: BLOCK_SIZE as u32,
            total_blocks: total,
            free_blocks: total.saturating_sub(s.sb.used + s.pending_free.count()),
            files: s.sb.nfiles,
            free_files: total.saturating_sub(s.sb.nfiles),
            name_max: 255,
        }
    }
}
