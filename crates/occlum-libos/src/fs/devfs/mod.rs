//! devfs: `/dev` with the devices programs expect (`null`, `zero`, `full`,
//! `random`, `urandom`, `tty`, `ptmx`), the `stdin`/`stdout`/`stderr`/`fd`
//! links into `/proc/self/fd`, `pts` (the pseudo-terminals' terminal ends),
//! `shm`, a ramfs, and the SGX devices `sgx` and `attestation` (`sgx.rs`).

mod pts;
mod sgx;

pub use sgx::SgxDevice;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use super::ramfs::RamFs;
use super::vfs::{new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, SetMetadata};
use super::{FileType, Stat, Timespec};
use crate::{Errno, Result};

/// `DEVFS_SUPER_MAGIC` (Linux's devtmpfs reports tmpfs' value).
const TMPFS_MAGIC: u64 = 0x0102_1994;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Device {
    Null,
    Zero,
    Full,
    Random,
    /// The controlling terminal: the host's, when stdin is a terminal.
    Tty,
    /// The pseudo-terminal multiplexer: each open makes a new pair.
    Ptmx,
    /// SGX reports, keys and quotes (ioctls of the original Occlum).
    Sgx,
}

/// The first inode number of `/dev/attestation`'s nodes.
const ATTESTATION_INO_BASE: u64 = 0x1000;

/// The devfs instance.
struct DevFs {
    dev: u64,
    root: Arc<DevDir>,
    /// `/dev/shm` (its inodes only hold the file system weakly).
    _shm: Arc<RamFs>,
}

/// The devices of the LibOS by number, as `mknod` names them.
const DEVICES: [(&[u8], Device, u64, u64); 8] = [
    (b"null", Device::Null, 1, 3),
    (b"zero", Device::Zero, 1, 5),
    (b"full", Device::Full, 1, 7),
    (b"random", Device::Random, 1, 8),
    (b"urandom", Device::Random, 1, 9),
    (b"tty", Device::Tty, 5, 0),
    (b"ptmx", Device::Ptmx, 5, 2),
    (b"sgx", Device::Sgx, 10, 125),
];

/// The name under `/dev` of the device of type `kind` and number `rdev`.
pub fn name_of(kind: FileType, rdev: u64) -> Option<&'static [u8]> {
    let (major, minor) = ((rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & !0xff));
    DEVICES
        .iter()
        .find(|d| kind == FileType::CharDevice && d.2 == major && d.3 == minor)
        .map(|d| d.0)
}

/// Whether `inode` is one of devfs' devices.
pub fn is_device(inode: &InodeRef) -> bool {
    inode.as_any().is::<DevNode>()
}

/// A new devfs.
pub fn new() -> Arc<dyn FileSystem> {
    Arc::new_cyclic(|fs: &Weak<DevFs>| {
        let created = Timespec::now();
        let mut entries: BTreeMap<&'static [u8], InodeRef> = BTreeMap::new();
        let mut ino = 2;
        let mut next = || {
            ino += 1;
            ino
        };
        for (name, device, major, minor) in DEVICES {
            let node = DevNode {
                fs: fs.clone(),
                ino: next(),
                device,
                rdev: (major << 8) | minor,
                created,
            };
            entries.insert(name, Arc::new(node));
        }
        for (name, target) in [
            (&b"stdin"[..], &b"/proc/self/fd/0"[..]),
            (b"stdout", b"/proc/self/fd/1"),
            (b"stderr", b"/proc/self/fd/2"),
            (b"fd", b"/proc/self/fd"),
        ] {
            let link = DevLink {
                fs: fs.clone(),
                ino: next(),
                target,
                created,
            };
            entries.insert(name, Arc::new(link));
        }
        let pts = pts::PtsDir::new(fs.clone(), next(), created);
        entries.insert(b"pts", Arc::new(pts));
        let attestation = sgx::AttestNode::dir(fs.clone(), ATTESTATION_INO_BASE, created);
        entries.insert(b"attestation", Arc::new(attestation));
        let shm = RamFs::new(0o1777);
        entries.insert(b"shm", shm.root());
        DevFs {
            _shm: shm,
            dev: new_dev(),
            root: Arc::new(DevDir {
                fs: fs.clone(),
                entries,
                created,
            }),
        }
    })
}

impl FileSystem for DevFs {
    fn root(&self) -> InodeRef {
        self.root.clone()
    }

    fn dev(&self) -> u64 {
        self.dev
    }

    fn type_name(&self) -> &'static str {
        "devtmpfs"
    }

    fn stats(&self) -> FsStats {
        FsStats {
            magic: TMPFS_MAGIC,
            block_size: 4096,
            ..FsStats::default()
        }
    }
}

fn fs_of(fs: &Weak<DevFs>) -> Arc<dyn FileSystem> {
    match fs.upgrade() {
        Some(fs) => fs,
        None => new(),
    }
}

fn dev_of(fs: &Weak<DevFs>) -> u64 {
    fs.upgrade().map_or(0, |f| f.dev)
}

fn stat(fs: &Weak<DevFs>, ino: u64, kind: FileType, perm: u32, t: Timespec) -> Stat {
    Stat {
        dev: dev_of(fs),
        ino,
        kind,
        perm,
        nlink: 1,
        blksize: 4096,
        atime: t,
        mtime: t,
        ctime: t,
        ..Stat::default()
    }
}

struct DevDir {
    fs: Weak<DevFs>,
    entries: BTreeMap<&'static [u8], InodeRef>,
    created: Timespec,
}

impl Inode for DevDir {
    fn kind(&self) -> FileType {
        FileType::Directory
    }

    fn ino(&self) -> u64 {
        2
    }

    fn metadata(&self) -> Result<Stat> {
        let mut s = stat(&self.fs, 2, FileType::Directory, 0o755, self.created);
        s.nlink = 3;
        s.size = 4096;
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        self.entries.get(name).cloned().ok_or(Errno::ENOENT)
    }

    fn create(&self, _: &[u8], _: FileType, _: u32, _: u64) -> Result<InodeRef> {
        Err(Errno::EPERM)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.lookup(name)?;
        Err(Errno::EPERM)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        Ok(self
            .entries
            .iter()
            .map(|(name, i)| DirEntry {
                name: name.to_vec(),
                ino: i.ino(),
                kind: i.kind(),
            })
            .collect())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct DevNode {
    fs: Weak<DevFs>,
    ino: u64,
    device: Device,
    rdev: u64,
    created: Timespec,
}

impl Inode for DevNode {
    fn kind(&self) -> FileType {
        FileType::CharDevice
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let mut s = stat(
            &self.fs,
            self.ino,
            FileType::CharDevice,
            0o666,
            self.created,
        );
        s.rdev = self.rdev;
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn set_metadata(&self, _: &SetMetadata) -> Result<()> {
        Ok(())
    }

    fn open(&self, flags: u32) -> Result<Option<super::FileRef>> {
        if self.device == Device::Ptmx {
            return Ok(Some(super::pty::open_master(dev_of(&self.fs), flags)?));
        }
        if self.device == Device::Sgx {
            return Ok(Some(sgx::open_sgx(self.metadata()?)));
        }
        if self.device != Device::Tty {
            return Ok(None);
        }
        // The caller's controlling terminal: a pseudo-terminal, or else the
        // host's terminal (when stdin is one).
        if let Some(t) = crate::process::current() {
            let sid = t.process().state().sid;
            if let Some(pty) = super::pty::controlling(sid) {
                return Ok(Some(pty.open_terminal(flags | super::O_NOCTTY)?));
            }
        }
        let stdin = super::HostStdio::new(0).ok_or(Errno::ENXIO)?;
        if super::File::tcgets(&stdin).is_err() {
            return Err(Errno::ENXIO);
        }
        Ok(Some(Arc::new(stdin)))
    }

    fn read_at(&self, _: u64, buf: &mut [u8]) -> Result<usize> {
        match self.device {
            Device::Null | Device::Tty | Device::Ptmx => Ok(0),
            Device::Sgx => Err(Errno::EPERM),
            Device::Zero | Device::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Device::Random => {
                occlum_pal::host::getrandom(buf)?;
                Ok(buf.len())
            }
        }
    }

    fn write_at(&self, _: u64, buf: &[u8]) -> Result<usize> {
        match self.device {
            Device::Full => Err(Errno::ENOSPC),
            Device::Sgx => Err(Errno::EPERM),
            _ => Ok(buf.len()),
        }
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        self.write_at(0, buf).map(|n| (n, 0))
    }

    fn resize(&self, _: u64) -> Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct DevLink {
    fs: Weak<DevFs>,
    ino: u64,
    target: &'static [u8],
    created: Timespec,
}

impl Inode for DevLink {
    fn kind(&self) -> FileType {
        FileType::Symlink
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let mut s = stat(&self.fs, self.ino, FileType::Symlink, 0o777, self.created);
        s.size = self.target.len() as u64;
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        Ok(self.target.to_vec())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
