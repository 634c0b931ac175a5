//! hostfs: a directory of the host mounted into the LibOS for exchanging
//! plain (unprotected) files. Symbolic links inside it are resolved by the
//! VFS, never by the host, and every host access stays below the mount's
//! source directory (see `occlum_pal::host_fs`).
//!
//! Nothing a guest does through hostfs gives anyone on the host more rights:
//! set-user-ID and set-group-ID bits and changes of ownership are kept by
//! the LibOS (per host inode, until it ends) and never reach the host file,
//! which keeps the host's owner and only the plain permission bits.

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use occlum_pal::host_fs::{HostDir, HostFile, HostKind, HostStat, OpenOptions};

use super::vfs::{
    check_name, new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, RenameFlags, SetMetadata,
};
use super::{FileType, Stat, Timespec};
use crate::sync::lock;
use crate::{Errno, Result};

/// The `f_type` that `statfs` reports for hostfs.
const HOSTFS_MAGIC: u64 = 0x486f_7374;

/// Set-user-ID and set-group-ID bits: never set on a host file.
const SET_ID_BITS: u32 = 0o6000;

/// What the LibOS shows of a host file instead of the host's own values.
#[derive(Clone, Copy, Debug, Default)]
struct Shadow {
    uid: Option<u32>,
    gid: Option<u32>,
    set_id_bits: u32,
}

/// A hostfs mount.
pub struct HostFs {
    dev: u64,
    root: HostDir,
    read_only: bool,
    /// Ownership and set-ID bits the guest gave host files, by host inode.
    shadows: Mutex<HashMap<u64, Shadow>>,
}

impl HostFs {
    /// Mounts the host directory `source`.
    pub fn new(source: &Path, read_only: bool) -> Result<Arc<HostFs>> {
        let root = HostDir::open(source)?;
        Ok(Arc::new(HostFs {
            dev: new_dev(),
            root,
            read_only,
            shadows: Mutex::new(HashMap::new()),
        }))
    }

    /// Records the guest's set-ID bits of `perm` and ownership for host
    /// inode `ino`; returns the bits to give the host file.
    fn shadow(
        &self,
        ino: u64,
        perm: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Option<u32> {
        let mut shadows = lock(&self.shadows);
        let s = shadows.entry(ino).or_default();
        if let Some(p) = perm {
            s.set_id_bits = p & SET_ID_BITS;
        }
        s.uid = uid.or(s.uid);
        s.gid = gid.or(s.gid);
        perm.map(|p| p & !SET_ID_BITS)
    }

    fn inode(self: &Arc<Self>, rel: Vec<u8>, st: &HostStat) -> Result<InodeRef> {
        Ok(Arc::new(HostInode {
            fs: self.clone(),
            rel,
            kind: kind_of(st.kind),
            ino: st.ino,
            file: Mutex::new(None),
            dir: Mutex::new(None),
        }))
    }
}

fn kind_of(k: HostKind) -> FileType {
    match k {
        HostKind::Regular => FileType::Regular,
        HostKind::Directory => FileType::Directory,
        HostKind::Symlink => FileType::Symlink,
        HostKind::Fifo => FileType::Fifo,
        HostKind::Socket => FileType::Socket,
        HostKind::CharDevice => FileType::CharDevice,
        HostKind::BlockDevice => FileType::BlockDevice,
    }
}

struct RootFs(Arc<HostFs>);

/// The hostfs mount as a [`FileSystem`].
pub fn file_system(fs: Arc<HostFs>) -> Arc<dyn FileSystem> {
    Arc::new(RootFs(fs))
}

impl FileSystem for RootFs {
    fn root(&self) -> InodeRef {
        let st = self.0.root.stat();
        Arc::new(HostInode {
            fs: self.0.clone(),
            rel: Vec::new(),
            kind: FileType::Directory,
            ino: st.map(|s| s.ino).unwrap_or(1),
            file: Mutex::new(None),
            dir: Mutex::new(None),
        })
    }

    fn dev(&self) -> u64 {
        self.0.dev
    }

    fn type_name(&self) -> &'static str {
        "hostfs"
    }

    fn stats(&self) -> FsStats {
        FsStats {
            magic: HOSTFS_MAGIC,
            block_size: 4096,
            ..FsStats::default()
        }
    }

    fn read_only(&self) -> bool {
        self.0.read_only
    }
}

/// A file or directory of a hostfs mount, named by its path below the root.
pub struct HostInode {
    fs: Arc<HostFs>,
    rel: Vec<u8>,
    kind: FileType,
    ino: u64,
    file: Mutex<Option<Arc<HostFile>>>,
    /// The directory, once opened (it outlives renames and removal).
    dir: Mutex<Option<Arc<HostDir>>>,
}

impl HostInode {
    fn writable(&self) -> Result<()> {
        if self.fs.read_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    fn dir(&self) -> Result<Arc<HostDir>> {
        if self.kind != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let mut d = lock(&self.dir);
        if let Some(d) = &*d {
            return Ok(d.clone());
        }
        let opened = Arc::new(self.fs.root.open_dir(&self.rel)?);
        *d = Some(opened.clone());
        Ok(opened)
    }

    /// The parent directory and this inode's name in it.
    fn parent(&self) -> Result<(HostDir, &[u8])> {
        match self.rel.iter().rposition(|&b| b == b'/') {
            Some(i) => Ok((self.fs.root.open_dir(&self.rel[..i])?, &self.rel[i + 1..])),
            None if self.rel.is_empty() => Err(Errno::EBUSY),
            None => Ok((self.fs.root.open_dir(b"")?, &self.rel[..])),
        }
    }

    fn child_rel(&self, name: &[u8]) -> Vec<u8> {
        if self.rel.is_empty() {
            return name.to_vec();
        }
        let mut r = self.rel.clone();
        r.push(b'/');
        r.extend_from_slice(name);
        r
    }

    fn host_stat(&self) -> Result<HostStat> {
        if let Some(f) = &*lock(&self.file) {
            return f.stat();
        }
        if let Some(d) = &*lock(&self.dir) {
            return d.stat();
        }
        if self.rel.is_empty() {
            return self.fs.root.stat();
        }
        let (dir, name) = self.parent()?;
        dir.stat_at(name)
    }

    fn file(&self) -> Result<Arc<HostFile>> {
        if self.kind != FileType::Regular {
            return Err(self.not_data());
        }
        let mut f = lock(&self.file);
        if let Some(f) = &*f {
            return Ok(f.clone());
        }
        let (dir, name) = self.parent()?;
        let write = !self.fs.read_only;
        let opened = match dir.open_file(
            name,
            OpenOptions {
                write,
                ..Default::default()
            },
        ) {
            Err(Errno::EACCES) if write => dir.open_file(name, OpenOptions::default()),
            r => r,
        };
        let opened = Arc::new(opened?);
        *f = Some(opened.clone());
        Ok(opened)
    }

    fn same_fs<'a>(&self, other: &'a InodeRef) -> Result<&'a HostInode> {
        let o = other
            .as_any()
            .downcast_ref::<HostInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&o.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(o)
    }
}

impl Inode for HostInode {
    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let st = self.host_stat()?;
        let t = |(sec, nsec): (i64, u32)| Timespec { sec, nsec };
        let shadow = lock(&self.fs.shadows).get(&st.ino).copied();
        let (perm, uid, gid) = match shadow {
            Some(s) => (
                (st.perm & !SET_ID_BITS) | s.set_id_bits,
                s.uid.unwrap_or(st.uid),
                s.gid.unwrap_or(st.gid),
            ),
            None => (st.perm, st.uid, st.gid),
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: st.ino,
            kind: kind_of(st.kind),
            perm,
            nlink: st.nlink,
            rdev: st.rdev,
            size: st.size,
            blksize: 4096,
            blocks: Some(st.blocks),
            uid,
            gid,
            atime: t(st.times[0]),
            mtime: t(st.times[1]),
            ctime: t(st.times[2]),
        })
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        file_system(self.fs.clone())
    }

    fn set_metadata(&self, set: &SetMetadata) -> Result<()> {
        self.writable()?;
        let host_perm = if set.perm.is_some() || set.uid.is_some() || set.gid.is_some() {
            let ino = self.host_stat()?.ino;
            self.fs.shadow(ino, set.perm, set.uid, set.gid)
        } else {
            None
        };
        // An open file is changed through its host descriptor: its name may
        // have been renamed, unlinked or reused since.
        let open = lock(&self.file).clone();
        if let Some(f) = open {
            if let Some(p) = host_perm {
                f.chmod(p)?;
            }
            if set.atime.is_some() || set.mtime.is_some() {
                let t = |t: Option<Timespec>| t.map(|t| (t.sec, t.nsec));
                f.set_times(t(set.atime), t(set.mtime))?;
            }
            return Ok(());
        }
        let (dir, name) = self.parent()?;
        if let Some(p) = host_perm {
            dir.chmod(name, p)?;
        }
        if set.atime.is_some() || set.mtime.is_some() {
            let t = |t: Option<Timespec>| t.map(|t| (t.sec, t.nsec));
            dir.set_times(name, t(set.atime), t(set.mtime))?;
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.file()?.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        self.writable()?;
        self.file()?.write_at(offset, buf)
    }

    fn resize(&self, len: u64) -> Result<()> {
        self.writable()?;
        self.file()?.set_len(len)
    }

    fn sync(&self, data_only: bool) -> Result<()> {
        if self.kind == FileType::Regular && !self.fs.read_only {
            self.file()?.sync(data_only)?;
        }
        Ok(())
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let dir = self.dir()?;
        let st = dir.stat_at(name)?;
        self.fs.inode(self.child_rel(name), &st)
    }

    fn create(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<InodeRef> {
        check_name(name)?;
        self.writable()?;
        let dir = self.dir()?;
        match kind {
            FileType::Regular => {
                let opts = OpenOptions {
                    write: true,
                    create: true,
                    exclusive: true,
                    mode: perm,
                    ..Default::default()
                };
                dir.open_file(name, opts)?;
            }
            FileType::Directory => dir.mkdir(name, perm)?,
            FileType::Symlink => return Err(Errno::EINVAL),
            // Device nodes would be real devices on the host.
            FileType::CharDevice | FileType::BlockDevice => return Err(Errno::EPERM),
            other => dir.mknod(name, other.mode_bits() | (perm & 0o1777), rdev)?,
        }
        // The host's umask applied to what was created: set the exact bits
        // (the set-ID ones only as the LibOS shows them).
        dir.chmod(name, perm & !SET_ID_BITS)?;
        let inode = self.lookup(name)?;
        if perm & SET_ID_BITS != 0 {
            self.fs.shadow(inode.ino(), Some(perm), None, None);
        }
        Ok(inode)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<InodeRef> {
        check_name(name)?;
        self.writable()?;
        self.dir()?.symlink(name, target)?;
        self.lookup(name)
    }

    fn link(&self, name: &[u8], inode: &InodeRef) -> Result<()> {
        check_name(name)?;
        self.writable()?;
        let src = self.same_fs(inode)?;
        let (sdir, sname) = src.parent()?;
        sdir.link(sname, &*self.dir()?, name)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.writable()?;
        let dir = self.dir()?;
        let st = dir.stat_at(name)?;
        if st.kind == HostKind::Directory {
            return Err(Errno::EISDIR);
        }
        dir.unlink(name, false)?;
        if st.nlink <= 1 {
            // The host may reuse the inode number for another file.
            lock(&self.fs.shadows).remove(&st.ino);
        }
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.writable()?;
        let dir = self.dir()?;
        let st = dir.stat_at(name)?;
        if st.kind != HostKind::Directory {
            return Err(Errno::ENOTDIR);
        }
        dir.unlink(name, true)?;
        lock(&self.fs.shadows).remove(&st.ino);
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: RenameFlags) -> Result<()> {
        check_name(new)?;
        self.writable()?;
        let to = self.same_fs(new_dir)?.dir()?;
        let f = if flags.no_replace {
            1
        } else if flags.exchange {
            2
        } else {
            0
        };
        self.dir()?.rename(old, &to, new, f)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        let dir = self.dir()?;
        let mut out = Vec::new();
        for e in dir.read_dir()? {
            let (name, ino) = (e.name, e.ino);
            let kind = match e.kind {
                Some(k) => kind_of(k),
                None => match dir.stat_at(&name) {
                    Ok(st) => kind_of(st.kind),
                    Err(_) => continue,
                },
            };
            out.push(DirEntry { name, ino, kind });
        }
        Ok(out)
    }

    fn open(&self, _flags: u32) -> Result<Option<crate::fs::FileRef>> {
        match self.kind {
            FileType::Regular => {
                self.file()?;
            }
            FileType::Directory => {
                self.dir()?;
            }
            _ => {}
        }
        Ok(None)
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        if self.kind != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        let (dir, name) = self.parent()?;
        dir.read_link(name)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
