//! `/dev/pts`: one character device `N` for each pseudo-terminal pair whose
//! master is open (see `fs/pty`). Opening `N` opens the pair's terminal end.

use std::any::Any;
use std::sync::{Arc, Weak};

use super::{dev_of, fs_of, stat, DevFs};
use crate::fs::pty::{self, Pty};
use crate::fs::vfs::{DirEntry, FileSystem, Inode, InodeRef, SetMetadata};
use crate::fs::{FileRef, FileType, Stat, Timespec};
use crate::{Errno, Result};

/// The `/dev/pts` directory.
pub(super) struct PtsDir {
    fs: Weak<DevFs>,
    ino: u64,
    created: Timespec,
}

impl PtsDir {
    pub(super) fn new(fs: Weak<DevFs>, ino: u64, created: Timespec) -> PtsDir {
        PtsDir { fs, ino, created }
    }
}

impl Inode for PtsDir {
    fn kind(&self) -> FileType {
        FileType::Directory
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let mut s = stat(&self.fs, self.ino, FileType::Directory, 0o755, self.created);
        s.nlink = 2;
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        let index = std::str::from_utf8(name)
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()) && (*s == "0" || !s.starts_with('0')))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or(Errno::ENOENT)?;
        let pty = pty::find(index).ok_or(Errno::ENOENT)?;
        Ok(Arc::new(PtsNode {
            fs: self.fs.clone(),
            pty: Arc::downgrade(&pty),
            ino: pty.terminal_stat().ino,
        }))
    }

    fn create(&self, _: &[u8], _: FileType, _: u32, _: u64) -> Result<InodeRef> {
        Err(Errno::EACCES)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.lookup(name)?;
        Err(Errno::EPERM)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        Ok(pty::indices()
            .into_iter()
            .map(|i| DirEntry {
                name: i.to_string().into_bytes(),
                ino: pty::PTS_INO_BASE + u64::from(i),
                kind: FileType::CharDevice,
            })
            .collect())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `/dev/pts/N`.
struct PtsNode {
    fs: Weak<DevFs>,
    pty: Weak<Pty>,
    ino: u64,
}

impl PtsNode {
    /// The pair, while its master is open (`EIO` after: the node is gone).
    fn pty(&self) -> Result<Arc<Pty>> {
        self.pty.upgrade().ok_or(Errno::EIO)
    }
}

impl Inode for PtsNode {
    fn kind(&self) -> FileType {
        FileType::CharDevice
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn metadata(&self) -> Result<Stat> {
        let mut s = self.pty()?.terminal_stat();
        s.dev = dev_of(&self.fs);
        Ok(s)
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        fs_of(&self.fs)
    }

    fn set_metadata(&self, set: &SetMetadata) -> Result<()> {
        self.pty()?.set_owner_perm(set.uid, set.perm);
        Ok(())
    }

    fn open(&self, flags: u32) -> Result<Option<FileRef>> {
        Ok(Some(self.pty()?.open_terminal(flags)?))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
