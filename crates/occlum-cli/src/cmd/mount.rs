//! `occlum mount [--image-key FILE] DIR`: the instance's root file system
//! (the integrity-protected image under the encrypted writable layer) on
//! the host as a FUSE file system, read-write, through the LibOS's own
//! file-system code. It runs until `umount DIR` (or Ctrl-C); then every
//! change is synced, and the next `occlum run` sees it. The files stay
//! encrypted in the instance: only the mount point shows them.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use fuser::{
    FileAttr, FileType as FuseType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
    FUSE_ROOT_ID,
};
use occlum_libos::fs::vfs::{self, InodeRef, RenameFlags, SetMetadata};
use occlum_libos::fs::{FileType, Stat, Timespec};

use super::run::{boot_config, verified_identity};
use crate::instance::Instance;

const TTL: Duration = Duration::from_secs(1);

/// The mounted tree: FUSE inode numbers for the LibOS's inodes.
struct RootFs {
    inodes: HashMap<u64, InodeRef>,
    /// `(file system device, inode number)` to FUSE number.
    numbers: HashMap<(u64, u64), u64>,
    next: u64,
}

fn errno(e: occlum_libos::Errno) -> i32 {
    e.as_syscall_ret().wrapping_neg() as i32
}

fn time(t: Timespec) -> SystemTime {
    UNIX_EPOCH + Duration::new(t.sec.max(0) as u64, t.nsec)
}

fn timespec(t: TimeOrNow) -> Timespec {
    let t = match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    };
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos(),
    }
}

fn kind(k: FileType) -> FuseType {
    match k {
        FileType::Regular => FuseType::RegularFile,
        FileType::Directory => FuseType::Directory,
        FileType::CharDevice => FuseType::CharDevice,
        FileType::BlockDevice => FuseType::BlockDevice,
        FileType::Fifo => FuseType::NamedPipe,
        FileType::Socket => FuseType::Socket,
        FileType::Symlink => FuseType::Symlink,
    }
}

fn attr(ino: u64, s: &Stat) -> FileAttr {
    FileAttr {
        ino,
        size: s.size,
        blocks: s.size.div_ceil(512),
        atime: time(s.atime),
        mtime: time(s.mtime),
        ctime: time(s.ctime),
        crtime: time(s.ctime),
        kind: kind(s.kind),
        perm: (s.perm & 0o7777) as u16,
        nlink: s.nlink as u32,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev as u32,
        blksize: s.blksize as u32,
        flags: 0,
    }
}

impl RootFs {
    fn new(root: InodeRef) -> RootFs {
        let mut fs = RootFs {
            inodes: HashMap::new(),
            numbers: HashMap::new(),
            next: FUSE_ROOT_ID + 1,
        };
        fs.numbers
            .insert((root.fs().dev(), root.ino()), FUSE_ROOT_ID);
        fs.inodes.insert(FUSE_ROOT_ID, root);
        fs
    }

    fn get(&self, ino: u64) -> Result<&InodeRef, i32> {
        self.inodes.get(&ino).ok_or(libc_enoent())
    }

    /// The FUSE number of `inode` (made on first sight) and its attributes.
    fn entry(&mut self, inode: InodeRef) -> Result<FileAttr, i32> {
        let key = (inode.fs().dev(), inode.ino());
        let n = match self.numbers.get(&key) {
            Some(&n) => n,
            None => {
                let n = self.next;
                self.next += 1;
                self.numbers.insert(key, n);
                n
            }
        };
        let st = inode.metadata().map_err(errno)?;
        self.inodes.insert(n, inode);
        Ok(attr(n, &st))
    }
}

fn libc_enoent() -> i32 {
    2
}

impl Filesystem for RootFs {
    fn destroy(&mut self) {
        if let Err(e) = vfs::sync_all() {
            eprintln!("occlum mount: syncing the file system: {e}");
        }
    }

    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let r = self
            .get(parent)
            .and_then(|d| d.lookup(name.as_bytes()).map_err(errno))
            .and_then(|i| self.entry(i));
        match r {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match self.get(ino).and_then(|i| i.metadata().map_err(errno)) {
            Ok(st) => reply.attr(&TTL, &attr(ino, &st)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let r = self.get(ino).and_then(|i| {
            if let Some(len) = size {
                i.resize(len).map_err(errno)?;
            }
            let set = SetMetadata {
                perm: mode.map(|m| m & 0o7777),
                uid,
                gid,
                atime: atime.map(timespec),
                mtime: mtime.map(timespec),
            };
            if set.perm.is_some()
                || uid.is_some()
                || gid.is_some()
                || atime.is_some()
                || mtime.is_some()
            {
                i.set_metadata(&set).map_err(errno)?;
            }
            i.metadata().map_err(errno)
        });
        match r {
            Ok(st) => reply.attr(&TTL, &attr(ino, &st)),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        match self.get(ino).and_then(|i| i.read_link().map_err(errno)) {
            Ok(t) => reply.data(&t),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self
            .get(parent)
            .and_then(|d| {
                d.create(
                    name.as_bytes(),
                    FileType::Directory,
                    mode & !umask & 0o7777,
                    0,
                )
                .map_err(errno)
            })
            .and_then(|i| self.entry(i));
        match r {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        match self
            .get(parent)
            .and_then(|d| d.unlink(name.as_bytes()).map_err(errno))
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        match self
            .get(parent)
            .and_then(|d| d.rmdir(name.as_bytes()).map_err(errno))
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let r = self
            .get(parent)
            .and_then(|d| {
                d.symlink(link_name.as_bytes(), target.as_os_str().as_bytes())
                    .map_err(errno)
            })
            .and_then(|i| self.entry(i));
        match r {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: u32,
        reply: ReplyEmpty,
    ) {
        let flags = RenameFlags {
            no_replace: flags & 1 != 0,
            exchange: flags & 2 != 0,
        };
        let r = self.get(newparent).cloned().and_then(|to| {
            self.get(parent).and_then(|from| {
                from.rename(name.as_bytes(), &to, newname.as_bytes(), flags)
                    .map_err(errno)
            })
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, _flags: i32, reply: ReplyOpen) {
        match self.get(ino) {
            Ok(_) => reply.opened(0, 0),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock: Option<u64>,
        reply: ReplyData,
    ) {
        let mut buf = vec![0u8; size as usize];
        match self
            .get(ino)
            .and_then(|i| i.read_at(offset.max(0) as u64, &mut buf).map_err(errno))
        {
            Ok(n) => reply.data(&buf[..n]),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock: Option<u64>,
        reply: ReplyWrite,
    ) {
        match self
            .get(ino)
            .and_then(|i| i.write_at(offset.max(0) as u64, data).map_err(errno))
        {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, datasync: bool, reply: ReplyEmpty) {
        match self.get(ino).and_then(|i| i.sync(datasync).map_err(errno)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let entries = match self.get(ino).and_then(|d| d.read_dir().map_err(errno)) {
            Ok(e) => e,
            Err(e) => return reply.error(e),
        };
        let mut all = vec![
            (ino, FuseType::Directory, b".".to_vec()),
            (ino, FuseType::Directory, b"..".to_vec()),
        ];
        all.extend(
            entries
                .into_iter()
                .map(|e| (e.ino + 1_000_000, kind(e.kind), e.name)),
        );
        for (i, (n, k, name)) in all.into_iter().enumerate().skip(offset.max(0) as usize) {
            if reply.add(n, (i + 1) as i64, k, OsStr::from_bytes(&name)) {
                break;
            }
        }
        reply.ok();
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let r = self
            .get(parent)
            .and_then(|d| {
                d.create(
                    name.as_bytes(),
                    FileType::Regular,
                    mode & !umask & 0o7777,
                    0,
                )
                .map_err(errno)
            })
            .and_then(|i| self.entry(i));
        match r {
            Ok(a) => reply.created(&TTL, &a, 0, 0, 0),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        match self.get(FUSE_ROOT_ID) {
            Ok(root) => {
                let s = root.fs().stats();
                reply.statfs(
                    s.blocks,
                    s.free_blocks,
                    s.free_blocks,
                    s.files,
                    s.free_files,
                    s.block_size as u32,
                    255,
                    s.block_size as u32,
                );
            }
            Err(e) => reply.error(e),
        }
    }
}

/// Mounts the instance's root at `dir` until it is unmounted. With
/// `image_key` (a file from `occlum gen-image-key`), the instance must have
/// been built with that key.
pub fn mount(dir: &Path, image_key: Option<&Path>) -> Result<u8> {
    let inst = Instance::current()?;
    if crate::service::connect(&inst).is_ok() {
        bail!(
            "the instance's enclave is running (`occlum start`): stop it first with `occlum stop`"
        );
    }
    let id = verified_identity(&inst)?;
    if let Some(path) = image_key {
        let key = super::keys::read_image_key(path)?;
        match &id.image_key {
            Some(k) if *k == key => {}
            Some(_) => bail!(
                "--image-key {}: not the key this instance was built with",
                path.display()
            ),
            None => bail!(
                "--image-key {}: this instance was built without --image-key (its files are sealed to its signer); mount it without the option",
                path.display()
            ),
        }
    }
    if id.config.kms.as_ref().is_some_and(|k| k.root_key.is_some()) {
        bail!(
            "the encrypted root's key comes from the key broker (Occlum.json field `kms.root_key`), which gives it only to the enclave: `occlum mount` cannot open it"
        );
    }
    let boot = boot_config(&inst, &id)?;
    let root = boot
        .mounts
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("build/Occlum.json: no root file system"))?;
    occlum_libos::fs::mounts::mount_all(&[root]).map_err(|e| anyhow!("{e}"))?;
    let top = vfs::root().map_err(|e| anyhow!("the root file system: {e}"))?;
    let fs = RootFs::new(top.inode().clone());
    let options = [
        MountOption::FSName("occlum".into()),
        MountOption::Subtype("occlum".into()),
        MountOption::RW,
        MountOption::DefaultPermissions,
    ];
    eprintln!(
        "occlum mount: the instance's root is at {}; `umount {}` ends it",
        dir.display(),
        dir.display()
    );
    fuser::mount2(fs, dir, &options)
        .map_err(|e| anyhow!("cannot mount at {}: {e}", dir.display()))?;
    vfs::sync_all().map_err(|e| anyhow!("syncing the file system: {e}"))?;
    Ok(0)
}
