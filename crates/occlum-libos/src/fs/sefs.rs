//! The encrypted writable file system (`occlum_sefs`) as a LibOS file
//! system: one host file holding AES-GCM blocks under a MAC tree, so the
//! host sees neither contents nor names, and any change made outside the
//! LibOS fails reads with `EIO`. `fsync`, `sync` and the end of the LibOS
//! commit it (crash-consistent).

use std::any::Any;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use occlum_pal::host_fs::{HostFile, OpenOptions};
use occlum_sefs::{
    Attr, Env, Error, FileKind, Ino, Options, RenameFlags as SefsRename, Sefs, SetAttr, Storage,
};

use super::vfs::{
    check_name, new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, RenameFlags, SetMetadata,
};
use super::{FileType, Stat, Timespec};
use crate::sync::lock;
use crate::{Errno, Result};

/// The `f_type` that `statfs` reports for the encrypted file system.
const SEFS_MAGIC: u64 = 0x5345_4653;

/// The host file, through the host interface.
struct HostStorage(HostFile);

fn io_err(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.0)
}

impl Storage for HostStorage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_exact_at(offset, buf).map_err(io_err)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all_at(offset, buf).map_err(io_err)
    }

    fn len(&self) -> std::io::Result<u64> {
        self.0.stat().map(|s| s.size).map_err(io_err)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len).map_err(io_err)
    }

    fn sync(&self) -> std::io::Result<()> {
        self.0.sync(true).map_err(io_err)
    }
}

/// Time and randomness from the host interface.
struct LibosEnv;

impl Env for LibosEnv {
    fn now(&self) -> occlum_sefs::Timespec {
        let t = Timespec::now();
        occlum_sefs::Timespec {
            sec: t.sec,
            nsec: t.nsec,
        }
    }

    fn fill_random(&self, buf: &mut [u8]) {
        if occlum_pal::host::getrandom(buf).is_err() {
            tracing::error!("no randomness from the host for the encrypted file system");
        }
    }
}

/// A mounted encrypted file system.
pub struct SefsFs {
    dev: u64,
    fs: Sefs,
    /// Live inode objects per inode number, so that an unlinked file is
    /// released only when nothing uses it any more.
    users: Mutex<HashMap<Ino, usize>>,
    this: Weak<SefsFs>,
}

fn errno(e: Error) -> Errno {
    if let Error::Corrupted(what) = &e {
        tracing::error!(
            "encrypted file system: integrity check failed ({what}); reading it gives EIO"
        );
    }
    Errno(e.errno())
}

/// The host files of the encrypted file systems this LibOS has open: a
/// second mount of one would wait forever for the lock the first holds.
fn open_files() -> &'static Mutex<std::collections::HashSet<std::path::PathBuf>> {
    static FILES: OnceLock<Mutex<std::collections::HashSet<std::path::PathBuf>>> = OnceLock::new();
    FILES.get_or_init(Mutex::default)
}

impl SefsFs {
    /// Opens the encrypted file system in the host file `path` with `key`,
    /// creating an empty one only if the file is new or empty: a damaged
    /// file is refused, never formatted over.
    pub fn open(path: &Path, key: [u8; 32]) -> std::result::Result<Arc<SefsFs>, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = HostFile::open(
            path,
            OpenOptions {
                write: true,
                create: true,
                mode: 0o600,
                ..OpenOptions::default()
            },
        )
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let canonical = std::fs::canonicalize(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if !lock(open_files()).insert(canonical) {
            return Err(format!(
                "{} is mounted twice; one encrypted file system can be mounted once",
                path.display()
            ));
        }
        if file.lock_exclusive(false).is_err() {
            eprintln!(
                "occlum: waiting for another LibOS that uses {}",
                path.display()
            );
            file.lock_exclusive(true)
                .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        }
        let storage: Arc<dyn Storage> = Arc::new(HostStorage(file));
        let env: Arc<dyn Env> = Arc::new(LibosEnv);
        let fs = match Sefs::open(storage.clone(), key, env.clone(), Options::default()) {
            Ok(fs) => fs,
            Err(Error::NotFormatted) => Sefs::format(storage, key, env, Options::default())
                .map_err(|e| format!("cannot create the encrypted file system {}: {e}", path.display()))?,
            Err(Error::BadKeyOrCorrupted) => {
                return Err(format!(
                    "cannot open the encrypted file system {}: wrong key (the instance was signed by another key, or built with another --image-key) or its data was altered",
                    path.display()
                ))
            }
            Err(e @ Error::Corrupted(_)) => {
                return Err(format!(
                    "cannot open the encrypted file system {}: {e}; nothing was changed: restore the file from a backup, or remove it to start with an empty file system",
                    path.display()
                ))
            }
            Err(e) => return Err(format!("cannot open the encrypted file system {}: {e}", path.display())),
        };
        Ok(Arc::new_cyclic(|this| SefsFs {
            dev: new_dev(),
            fs,
            users: Mutex::new(HashMap::new()),
            this: this.clone(),
        }))
    }

    fn inode(&self, ino: Ino, kind: FileType) -> Result<InodeRef> {
        let fs = self.this.upgrade().ok_or(Errno::ENOENT)?;
        *lock(&self.users).entry(ino).or_default() += 1;
        Ok(Arc::new(SefsInode { fs, ino, kind }))
    }

    /// Releases `ino` if it has no links left and no inode object uses it
    /// (checked and done under the lock that creating inode objects takes,
    /// so a concurrent lookup cannot get an inode being released).
    fn release_if_unused(&self, ino: Ino) {
        let users = lock(&self.users);
        if users.get(&ino).copied().unwrap_or(0) > 0 {
            return;
        }
        if self.fs.getattr(ino).is_ok_and(|a| a.nlink == 0) {
            let _ = self.fs.release(ino);
        }
        drop(users);
    }
}

/// The mounted encrypted file system as a [`FileSystem`].
pub fn file_system(fs: Arc<SefsFs>) -> Arc<dyn FileSystem> {
    Arc::new(Mounted(fs))
}

struct Mounted(Arc<SefsFs>);

impl FileSystem for Mounted {
    fn root(&self) -> InodeRef {
        let root = self.0.fs.root();
        match self.0.inode(root, FileType::Directory) {
            Ok(i) => i,
            Err(_) => super::ramfs::RamFs::new(0o755).root(),
        }
    }

    fn dev(&self) -> u64 {
        self.0.dev
    }

    fn type_name(&self) -> &'static str {
        "sefs"
    }

    fn stats(&self) -> FsStats {
        match self.0.fs.statfs() {
            Ok(s) => FsStats {
                magic: SEFS_MAGIC,
                block_size: s.block_size as u64,
                blocks: s.total_blocks,
                free_blocks: s.free_blocks,
                files: s.files,
                free_files: s.free_files,
            },
            Err(_) => FsStats {
                magic: SEFS_MAGIC,
                block_size: 4096,
                ..FsStats::default()
            },
        }
    }

    fn sync(&self) -> Result<()> {
        self.0.fs.sync().map_err(errno)
    }
}

impl Drop for SefsFs {
    fn drop(&mut self) {
        let _ = self.fs.sync();
    }
}

fn kind_of(k: FileKind) -> FileType {
    match k {
        FileKind::Regular => FileType::Regular,
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
        FileKind::Fifo => FileType::Fifo,
        FileKind::Socket => FileType::Socket,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::BlockDevice => FileType::BlockDevice,
    }
}

fn sefs_kind(k: FileType) -> FileKind {
    match k {
        FileType::Regular => FileKind::Regular,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        FileType::Fifo => FileKind::Fifo,
        FileType::Socket => FileKind::Socket,
        FileType::CharDevice => FileKind::CharDevice,
        FileType::BlockDevice => FileKind::BlockDevice,
    }
}

fn ts(t: occlum_sefs::Timespec) -> Timespec {
    Timespec {
        sec: t.sec,
        nsec: t.nsec,
    }
}

fn sefs_ts(t: Timespec) -> occlum_sefs::Timespec {
    occlum_sefs::Timespec {
        sec: t.sec,
        nsec: t.nsec,
    }
}

struct SefsInode {
    fs: Arc<SefsFs>,
    ino: Ino,
    kind: FileType,
}

impl Drop for SefsInode {
    fn drop(&mut self) {
        let last = {
            let mut users = lock(&self.fs.users);
            let n = users.entry(self.ino).or_default();
            *n = n.saturating_sub(1);
            if *n == 0 {
                users.remove(&self.ino);
                true
            } else {
                false
            }
        };
        if last {
            self.fs.release_if_unused(self.ino);
        }
    }
}

impl SefsInode {
    fn attr(&self) -> Result<Attr> {
        self.fs.fs.getattr(self.ino).map_err(errno)
    }

    /// The inode `find` names, counted as used before the lock that
    /// releasing takes is dropped (see `release_if_unused`), so a concurrent
    /// unlink cannot release it, or its number be reused, in between.
    fn child(&self, find: impl FnOnce(&Sefs) -> occlum_sefs::Result<Ino>) -> Result<InodeRef> {
        let mut users = lock(&self.fs.users);
        let ino = find(&self.fs.fs).map_err(errno)?;
        let kind = kind_of(self.fs.fs.getattr(ino).map_err(errno)?.kind);
        *users.entry(ino).or_default() += 1;
        drop(users);
        let fs = self.fs.this.upgrade().ok_or(Errno::ENOENT)?;
        Ok(Arc::new(SefsInode { fs, ino, kind }))
    }

    fn other<'a>(&self, i: &'a InodeRef) -> Result<&'a SefsInode> {
        let o = i.as_any().downcast_ref::<SefsInode>().ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&o.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(o)
    }
}

impl Inode for SefsInode {
    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let a = self.attr()?;
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            kind: kind_of(a.kind),
            perm: a.mode as u32 & 0o7777,
            nlink: a.nlink as u64,
            rdev: a.rdev,
            size: a.size,
            blksize: 4096,
            blocks: Some(a.blocks),
            uid: a.uid,
            gid: a.gid,
            atime: ts(a.atime),
            mtime: ts(a.mtime),
            ctime: ts(a.ctime),
        })
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        file_system(self.fs.clone())
    }

    fn set_metadata(&self, set: &SetMetadata) -> Result<()> {
        let s = SetAttr {
            mode: set.perm.map(|p| (p & 0o7777) as u16),
            uid: set.uid,
            gid: set.gid,
            size: None,
            atime: set.atime.map(sefs_ts),
            mtime: set.mtime.map(sefs_ts),
        };
        self.fs.fs.setattr(self.ino, &s).map(|_| ()).map_err(errno)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if self.kind != FileType::Regular {
            return Err(self.not_data());
        }
        self.fs.fs.read(self.ino, offset, buf).map_err(errno)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        if self.kind != FileType::Regular {
            return Err(self.not_data());
        }
        self.fs.fs.write(self.ino, offset, buf).map_err(errno)
    }

    fn resize(&self, len: u64) -> Result<()> {
        if self.kind != FileType::Regular {
            return Err(self.not_data());
        }
        let s = SetAttr {
            size: Some(len),
            ..SetAttr::default()
        };
        self.fs.fs.setattr(self.ino, &s).map(|_| ()).map_err(errno)
    }

    fn sync(&self, _data_only: bool) -> Result<()> {
        self.fs.fs.sync().map_err(errno)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        self.child(|fs| fs.lookup(self.ino, name))
    }

    fn create(&self, name: &[u8], kind: FileType, perm: u32, rdev: u64) -> Result<InodeRef> {
        check_name(name)?;
        let ino = self
            .fs
            .fs
            .create(
                self.ino,
                name,
                sefs_kind(kind),
                (perm & 0o7777) as u16,
                0,
                0,
                rdev,
            )
            .map_err(errno)?;
        self.fs.inode(ino, kind)
    }

    fn symlink(&self, name: &[u8], target: &[u8]) -> Result<InodeRef> {
        check_name(name)?;
        let ino = self
            .fs
            .fs
            .symlink(self.ino, name, target, 0, 0)
            .map_err(errno)?;
        self.fs.inode(ino, FileType::Symlink)
    }

    fn link(&self, name: &[u8], inode: &InodeRef) -> Result<()> {
        check_name(name)?;
        let target = self.other(inode)?;
        self.fs.fs.link(target.ino, self.ino, name).map_err(errno)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let victim = self.fs.fs.lookup(self.ino, name).map_err(errno)?;
        self.fs.fs.unlink(self.ino, name).map_err(errno)?;
        self.fs.release_if_unused(victim);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let victim = self.fs.fs.lookup(self.ino, name).map_err(errno)?;
        self.fs.fs.rmdir(self.ino, name).map_err(errno)?;
        self.fs.release_if_unused(victim);
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: RenameFlags) -> Result<()> {
        check_name(new)?;
        let to = self.other(new_dir)?;
        let replaced = self.fs.fs.lookup(to.ino, new).ok();
        let f = SefsRename {
            noreplace: flags.no_replace,
            exchange: flags.exchange,
        };
        self.fs
            .fs
            .rename(self.ino, old, to.ino, new, f)
            .map_err(errno)?;
        if let Some(r) = replaced {
            self.fs.release_if_unused(r);
        }
        Ok(())
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        Ok(self
            .fs
            .fs
            .readdir(self.ino)
            .map_err(errno)?
            .into_iter()
            .map(|e| DirEntry {
                name: e.name,
                ino: e.ino,
                kind: kind_of(e.kind),
            })
            .collect())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        self.fs.fs.readlink(self.ino).map_err(errno)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
