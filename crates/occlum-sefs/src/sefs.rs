//! The public, thread-safe handle.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::storage::Storage;
use crate::types::{
    Attr, DirEntry, FileKind, Ino, Options, RenameFlags, SetAttr, StatFs, ROOT_INO,
};

/// A mounted file system. Every method takes `&self`; calls are serialized by
/// an internal lock.
pub struct Sefs {
    fs: Mutex<Fs>,
}

impl Sefs {
    /// Writes a new, empty file system into `storage` (discarding its content):
    /// a root directory with mode 0o755 owned by 0:0.
    pub fn format(
        storage: Arc<dyn Storage>,
        key: [u8; 32],
        env: Arc<dyn Env>,
        opts: Options,
    ) -> Result<Sefs> {
        Ok(Sefs {
            fs: Mutex::new(Fs::format(storage, &key, env, &opts)?),
        })
    }

    /// Opens the file system in `storage` at its last commit. `NotFormatted`
    /// only if the storage is empty or its superblock slots were never
    /// written (a format cut short); `BadKeyOrCorrupted` for a wrong key or
    /// tampered superblocks; `Corrupted` for a non-empty storage that is too
    /// short or whose slots hold no superblock (never a reason to format
    /// over it).
    pub fn open(
        storage: Arc<dyn Storage>,
        key: [u8; 32],
        env: Arc<dyn Env>,
        opts: Options,
    ) -> Result<Sefs> {
        Ok(Sefs {
            fs: Mutex::new(Fs::open(storage, &key, env, &opts)?),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Fs> {
        match self.fs.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                g.store.poisoned = true;
                g
            }
        }
    }

    fn run<R>(&self, f: impl FnOnce(&mut Fs) -> Result<R>) -> Result<R> {
        let mut fs = self.lock();
        if fs.store.poisoned {
            return Err(Error::Io(std::io::Error::other(
                "file system unusable after an earlier host I/O failure",
            )));
        }
        let r = f(&mut fs)?;
        fs.store.evict()?;
        Ok(r)
    }

    /// The root directory.
    pub fn root(&self) -> Ino {
        ROOT_INO
    }

    /// The inode named `name` in directory `dir` ("." and ".." included).
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino> {
        self.run(|fs| fs.lookup(dir, name))
    }

    /// The attributes of `ino`.
    pub fn getattr(&self, ino: Ino) -> Result<Attr> {
        self.run(|fs| fs.getattr(ino))
    }

    /// Changes attributes (a size truncates or zero-extends); ctime is updated.
    pub fn setattr(&self, ino: Ino, set: &SetAttr) -> Result<Attr> {
        self.run(|fs| fs.setattr(ino, set))
    }

    /// Creates an inode of `kind` (not `Symlink`) as `name` in `dir`.
    /// Directories start with 2 links and add one to `dir`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        dir: Ino,
        name: &[u8],
        kind: FileKind,
        mode: u16,
        uid: u32,
        gid: u32,
        rdev: u64,
    ) -> Result<Ino> {
        if kind == FileKind::Symlink {
            return Err(Error::Invalid);
        }
        self.run(|fs| fs.create(dir, name, kind, mode, uid, gid, rdev))
    }

    /// Creates a symbolic link `name` in `dir` pointing at `target` (1..=4095 bytes).
    pub fn symlink(&self, dir: Ino, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Ino> {
        self.run(|fs| fs.symlink(dir, name, target, uid, gid))
    }

    /// The target of symlink `ino`.
    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>> {
        self.run(|fs| fs.readlink(ino))
    }

    /// Adds hard link `name` in `dir` to `ino` (`IsDir` for directories).
    pub fn link(&self, ino: Ino, dir: Ino, name: &[u8]) -> Result<()> {
        self.run(|fs| fs.link(ino, dir, name))
    }

    /// Removes the non-directory entry `name` from `dir`.
    pub fn unlink(&self, dir: Ino, name: &[u8]) -> Result<()> {
        self.run(|fs| fs.unlink(dir, name))
    }

    /// Removes the empty directory `name` from `dir`.
    pub fn rmdir(&self, dir: Ino, name: &[u8]) -> Result<()> {
        self.run(|fs| fs.rmdir(dir, name))
    }

    /// Moves `old_dir/old_name` to `new_dir/new_name` under Linux `rename(2)` rules.
    pub fn rename(
        &self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        self.run(|fs| fs.rename(old_dir, old_name, new_dir, new_name, flags))
    }

    /// Reads at `offset`; short at end of file, holes read as zeros.
    pub fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.run(|fs| fs.read(ino, offset, buf))
    }

    /// Writes at `offset`, extending the file; returns `buf.len()`.
    pub fn write(&self, ino: Ino, offset: u64, buf: &[u8]) -> Result<usize> {
        self.run(|fs| fs.write(ino, offset, buf))
    }

    /// The entries of `dir`, without "." and "..".
    pub fn readdir(&self, dir: Ino) -> Result<Vec<DirEntry>> {
        self.run(|fs| fs.readdir(dir))
    }

    /// Tells the file system nothing refers to `ino` any more; an inode with no
    /// links left is then freed. A no-op for linked or already freed inodes.
    pub fn release(&self, ino: Ino) -> Result<()> {
        self.run(|fs| fs.release(ino))
    }

    /// Commits: everything done before is durable when this returns.
    pub fn sync(&self) -> Result<()> {
        self.run(|fs| fs.commit())
    }

    /// Capacity and usage.
    pub fn statfs(&self) -> Result<StatFs> {
        self.run(|fs| Ok(fs.statfs()))
    }

    /// Walks the whole file system and verifies its structure: every reference
    /// authenticates, the bitmap matches the blocks in use, link counts, sizes
    /// and the free-inode list agree. Costs a read of all metadata.
    pub fn check(&self) -> Result<()> {
        self.run(|fs| fs.check())
    }
}
