//! The integrity-protected image as a read-only file system: every block is
//! checked against the Merkle tree whose root hash the signed configuration
//! holds (`occlum_image`). A mismatch fails the read with `EIO` and logs the
//! file's path; wrong data never reaches a program.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use occlum_image::{FileKind, Image, ImageError, Ino, ReadAt};
use occlum_pal::host_fs::{HostFile, OpenOptions};

use super::vfs::{new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef};
use super::{FileType, Stat, Timespec};
use crate::{Errno, Result};

/// The `f_type` that `statfs` reports for the image.
const IMAGEFS_MAGIC: u64 = 0x4f43_494d;

/// The image file on the host, read through the host interface.
struct HostImage(HostFile);

impl ReadAt for HostImage {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read_at(offset, buf)
            .map_err(|e| std::io::Error::from_raw_os_error(e.0))
    }
}

/// A mounted image.
pub struct ImageFs {
    dev: u64,
    image: Image,
}

impl ImageFs {
    /// Opens the image file at `path`, whose root hash must be `root_hash`.
    pub fn open(path: &Path, root_hash: [u8; 32]) -> std::result::Result<Arc<ImageFs>, String> {
        let file = HostFile::open(path, OpenOptions::default())
            .map_err(|e| format!("cannot open the image {}: {e}", path.display()))?;
        let image = Image::open(Arc::new(HostImage(file)), root_hash)
            .map_err(|e| format!("the image {} is not the one signed: {e}", path.display()))?;
        Ok(Arc::new(ImageFs {
            dev: new_dev(),
            image,
        }))
    }

    fn inode(self: &Arc<Self>, ino: Ino) -> Result<InodeRef> {
        let attr = self.image.getattr(ino).map_err(|e| self.errno(e))?;
        Ok(Arc::new(ImageInode {
            fs: self.clone(),
            ino,
            kind: kind_of(attr.kind),
        }))
    }

    /// The errno for an image error; corruption is logged with the path.
    fn errno(&self, e: ImageError) -> Errno {
        if let ImageError::Corrupted { path, block, .. } = &e {
            tracing::error!(
                "image integrity check failed: {path} (block {block}); reading it gives EIO"
            );
        }
        Errno(e.errno())
    }
}

fn kind_of(k: FileKind) -> FileType {
    match k {
        FileKind::Regular => FileType::Regular,
        FileKind::Directory => FileType::Directory,
        FileKind::Symlink => FileType::Symlink,
    }
}

/// The mounted image as a [`FileSystem`].
pub fn file_system(fs: Arc<ImageFs>) -> Arc<dyn FileSystem> {
    Arc::new(Mounted(fs))
}

struct Mounted(Arc<ImageFs>);

impl FileSystem for Mounted {
    fn root(&self) -> InodeRef {
        Arc::new(ImageInode {
            fs: self.0.clone(),
            ino: self.0.image.root(),
            kind: FileType::Directory,
        })
    }

    fn dev(&self) -> u64 {
        self.0.dev
    }

    fn type_name(&self) -> &'static str {
        "imagefs"
    }

    fn stats(&self) -> FsStats {
        FsStats {
            magic: IMAGEFS_MAGIC,
            block_size: 4096,
            ..FsStats::default()
        }
    }

    fn read_only(&self) -> bool {
        true
    }
}

struct ImageInode {
    fs: Arc<ImageFs>,
    ino: Ino,
    kind: FileType,
}

impl Inode for ImageInode {
    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let a = self
            .fs
            .image
            .getattr(self.ino)
            .map_err(|e| self.fs.errno(e))?;
        let t = Timespec {
            sec: a.mtime_sec,
            nsec: a.mtime_nsec,
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            kind: kind_of(a.kind),
            perm: a.mode as u32 & 0o7777,
            nlink: a.nlink as u64,
            size: a.size,
            blksize: 4096,
            uid: a.uid,
            gid: a.gid,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        })
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        file_system(self.fs.clone())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if self.kind != FileType::Regular {
            return Err(self.not_data());
        }
        self.fs
            .image
            .read(self.ino, offset, buf)
            .map_err(|e| self.fs.errno(e))
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let ino = self
            .fs
            .image
            .lookup(self.ino, name)
            .map_err(|e| self.fs.errno(e))?;
        self.fs.inode(ino)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        let entries = self
            .fs
            .image
            .readdir(self.ino)
            .map_err(|e| self.fs.errno(e))?;
        Ok(entries
            .into_iter()
            .map(|e| DirEntry {
                name: e.name,
                ino: e.ino,
                kind: kind_of(e.kind),
            })
            .collect())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        self.fs
            .image
            .readlink(self.ino)
            .map_err(|e| self.fs.errno(e))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
