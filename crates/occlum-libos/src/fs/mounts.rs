//! The file systems mounted at boot, as `Occlum.json`'s `mount` list
//! describes them (translated by the CLI).

use std::path::PathBuf;
use std::sync::Arc;

use super::imagefs::{self, ImageFs};
use super::sefs::{self, SefsFs};
use super::vfs::{self, FileSystem};
use super::{devfs, hostfs, ramfs::RamFs, unionfs};
use crate::budget::Budget;

/// One file system to create.
#[derive(Clone, Debug)]
pub enum FsSpec {
    /// A host directory (`hostfs`).
    HostFs {
        /// The host directory.
        source: PathBuf,
        /// Refuse changes (`EROFS`).
        read_only: bool,
    },
    /// A file system in LibOS memory (`ramfs`): its contents are charged to
    /// a budget of `size` bytes of its own, or without one to the LibOS
    /// kernel budget.
    RamFs {
        /// `options.size` of the mount.
        size: Option<u64>,
    },
    /// Device files (`devfs`).
    DevFs,
    /// Process information (`procfs`).
    ProcFs,
    /// The encrypted writable file system in one host file.
    Sefs {
        /// The host file.
        file: PathBuf,
        /// The key.
        key: crate::keys::Key,
    },
    /// A union of a read-only lower and a writable upper file system.
    Union {
        /// The read-only layer (the image).
        lower: Box<FsSpec>,
        /// The writable layer.
        upper: Box<FsSpec>,
    },
    /// The integrity-protected image (read-only).
    Image {
        /// The image file on the host.
        file: PathBuf,
        /// Its expected root hash (from the signed configuration).
        root_hash: [u8; 32],
    },
}

/// One mount: a file system and where it goes.
#[derive(Clone, Debug)]
pub struct MountSpec {
    /// Absolute mount point; `/` must come first.
    pub target: String,
    /// The file system.
    pub fs: FsSpec,
}

fn create(spec: &FsSpec) -> Result<Arc<dyn FileSystem>, String> {
    Ok(match spec {
        FsSpec::HostFs { source, read_only } => {
            let fs = hostfs::HostFs::new(source, *read_only)
                .map_err(|e| format!("hostfs {}: {e}", source.display()))?;
            hostfs::file_system(fs)
        }
        FsSpec::RamFs { size: None } => RamFs::new(0o1777),
        FsSpec::RamFs { size: Some(n) } => {
            RamFs::with_budget(0o1777, Budget::new("options.size of the ramfs mount", *n))
        }
        FsSpec::DevFs => devfs::new(),
        FsSpec::ProcFs => super::procfs::new(),
        FsSpec::Image { file, root_hash } => imagefs::file_system(ImageFs::open(file, *root_hash)?),
        FsSpec::Sefs { file, key } => sefs::file_system(SefsFs::open(file, key.0)?),
        FsSpec::Union { lower, upper } => unionfs::new(create(lower)?, create(upper)?),
    })
}

/// Mounts every file system of `specs` (the first one at `/`).
pub fn mount_all(specs: &[MountSpec]) -> Result<(), String> {
    let Some((root, rest)) = specs.split_first() else {
        return Err("no root file system configured".into());
    };
    if root.target != "/" {
        return Err(format!(
            "the first mount must be `/`, not `{}`",
            root.target
        ));
    }
    vfs::mount_root(create(&root.fs)?, "rootfs");
    let top = vfs::root().map_err(|e| format!("the root file system: {e}"))?;
    for m in rest {
        let fs = create(&m.fs)?;
        let at = vfs::resolve(&top, m.target.as_bytes(), true)
            .map_err(|e| format!("mount point {}: {e}", m.target))?;
        vfs::mount(&at, fs, source_name(&m.fs))
            .map_err(|e| format!("mount point {}: {e}", m.target))?;
    }
    Ok(())
}

fn source_name(spec: &FsSpec) -> &'static str {
    match spec {
        FsSpec::HostFs { .. } => "hostfs",
        FsSpec::RamFs { .. } => "ramfs",
        FsSpec::DevFs => "devfs",
        FsSpec::ProcFs => "proc",
        FsSpec::Image { .. } => "image",
        FsSpec::Sefs { .. } => "sefs",
        FsSpec::Union { .. } => "unionfs",
    }
}
