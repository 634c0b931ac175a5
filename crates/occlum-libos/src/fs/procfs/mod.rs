//! procfs: `/proc/self`, `/proc/[pid]/{exe,cwd,root,fd/,cmdline,environ,stat,
//! status,maps,mounts,comm}` and `/proc/{cpuinfo,meminfo,mounts,uptime,
//! loadavg,stat,filesystems}`, generated when opened, with what programs and
//! libcs read from them.

mod content;
mod snapshot;
mod sys;

use std::any::Any;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

pub(crate) use self::snapshot::Snapshot;
use super::vfs::{new_dev, DirEntry, FileSystem, FsStats, Inode, InodeRef, Location, PathNode};
use super::{FileRef, FileType, Stat, Timespec};
use crate::process::{self, Pid, Process};
use crate::{Errno, Result};

/// `PROC_SUPER_MAGIC`.
const PROC_MAGIC: u64 = 0x9fa0;

/// Files directly in `/proc`.
const GLOBAL_FILES: [&str; 7] = [
    "cpuinfo",
    "filesystems",
    "loadavg",
    "meminfo",
    "mounts",
    "stat",
    "uptime",
];
/// Files in `/proc/[pid]`.
const PID_FILES: [&str; 7] = [
    "cmdline", "comm", "environ", "maps", "mounts", "stat", "status",
];
/// Links in `/proc/[pid]`.
const PID_LINKS: [&str; 3] = ["cwd", "exe", "root"];

/// When the LibOS started (for `uptime` and start times).
pub(crate) fn boot_instant() -> Instant {
    static BOOT: OnceLock<Instant> = OnceLock::new();
    *BOOT.get_or_init(Instant::now)
}

/// What a procfs inode is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Root,
    SelfLink,
    Global(&'static str),
    PidDir(Pid),
    PidFile(Pid, &'static str),
    PidLink(Pid, &'static str),
    FdDir(Pid),
    FdLink(Pid, i32),
    /// A directory (`""`: `/proc/sys` itself) or file below `/proc/sys`.
    Sys(&'static str),
}

struct ProcFs {
    dev: u64,
    this: Weak<ProcFs>,
    created: Timespec,
}

/// A new procfs.
pub fn new() -> Arc<dyn FileSystem> {
    boot_instant();
    Arc::new_cyclic(|this| ProcFs {
        dev: new_dev(),
        this: this.clone(),
        created: Timespec::now(),
    })
}

impl ProcFs {
    fn inode(&self, node: Node) -> InodeRef {
        Arc::new(ProcInode {
            fs: self.this.clone(),
            node,
            dev: self.dev,
            created: self.created,
        })
    }
}

impl FileSystem for ProcFs {
    fn root(&self) -> InodeRef {
        self.inode(Node::Root)
    }

    fn dev(&self) -> u64 {
        self.dev
    }

    fn type_name(&self) -> &'static str {
        "proc"
    }

    fn stats(&self) -> FsStats {
        FsStats {
            magic: PROC_MAGIC,
            block_size: 4096,
            ..FsStats::default()
        }
    }
}

struct ProcInode {
    fs: Weak<ProcFs>,
    node: Node,
    dev: u64,
    created: Timespec,
}

fn process(pid: Pid) -> Result<Arc<Process>> {
    process::get_process(pid)
        .filter(|p| p.state().zombie.is_none())
        .ok_or(Errno::ENOENT)
}

fn name_index(names: &[&str], name: &str) -> u64 {
    names
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| i as u64 + 1)
}

impl ProcInode {
    fn child(&self, node: Node) -> Result<InodeRef> {
        Ok(self.fs.upgrade().ok_or(Errno::ENOENT)?.inode(node))
    }

    fn entries(&self) -> Result<Vec<(Vec<u8>, Node)>> {
        Ok(match &self.node {
            Node::Root => {
                let mut out: Vec<(Vec<u8>, Node)> = GLOBAL_FILES
                    .iter()
                    .map(|n| (n.as_bytes().to_vec(), Node::Global(n)))
                    .collect();
                out.push((b"self".to_vec(), Node::SelfLink));
                out.push((b"sys".to_vec(), Node::Sys("")));
                for p in process::all_processes() {
                    if p.state().zombie.is_none() {
                        out.push((p.pid().to_string().into_bytes(), Node::PidDir(p.pid())));
                    }
                }
                out
            }
            Node::PidDir(pid) => {
                let pid = *pid;
                process(pid)?;
                let mut out: Vec<(Vec<u8>, Node)> = PID_FILES
                    .iter()
                    .map(|n| (n.as_bytes().to_vec(), Node::PidFile(pid, n)))
                    .collect();
                out.extend(
                    PID_LINKS
                        .iter()
                        .map(|n| (n.as_bytes().to_vec(), Node::PidLink(pid, n))),
                );
                out.push((b"fd".to_vec(), Node::FdDir(pid)));
                out
            }
            Node::Sys(path) if sys::is_dir(path) => sys::entries(path)
                .into_iter()
                .map(|(name, full)| (name.into_bytes(), Node::Sys(full)))
                .collect(),
            Node::FdDir(pid) => process(*pid)?
                .files()
                .fds()
                .into_iter()
                .map(|fd| (fd.to_string().into_bytes(), Node::FdLink(*pid, fd)))
                .collect(),
            _ => return Err(Errno::ENOTDIR),
        })
    }

    /// Where a magic link leads.
    fn target(&self) -> Result<Location> {
        match &self.node {
            Node::PidLink(pid, "cwd") => Ok(process(*pid)?.fs().cwd.clone()),
            Node::FdLink(pid, fd) => {
                let f = process(*pid)?.files().get(*fd).map_err(|_| Errno::ENOENT)?;
                Ok(match f.location() {
                    Some(loc) => loc,
                    None => PathNode::root(Arc::new(OpenFileInode(f))),
                })
            }
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Inode for ProcInode {
    fn kind(&self) -> FileType {
        match self.node {
            Node::Root | Node::PidDir(_) | Node::FdDir(_) => FileType::Directory,
            Node::SelfLink | Node::PidLink(..) | Node::FdLink(..) => FileType::Symlink,
            Node::Global(_) | Node::PidFile(..) => FileType::Regular,
            Node::Sys(path) if sys::is_dir(path) => FileType::Directory,
            Node::Sys(_) => FileType::Regular,
        }
    }

    fn ino(&self) -> u64 {
        let pid_part = |pid: Pid| (pid as u64) << 16;
        match &self.node {
            Node::Root => 1,
            Node::SelfLink => 2,
            Node::Global(n) => 16 + name_index(&GLOBAL_FILES, n),
            Node::PidDir(p) => pid_part(*p),
            Node::PidFile(p, n) => pid_part(*p) | name_index(&PID_FILES, n),
            Node::PidLink(p, n) => pid_part(*p) | 16 | name_index(&PID_LINKS, n),
            Node::FdDir(p) => pid_part(*p) | 32,
            Node::FdLink(p, fd) => pid_part(*p) | 0x1000 | (*fd as u64 & 0xfff),
            Node::Sys(path) => {
                256 + sys::FILES
                    .iter()
                    .position(|f| f.starts_with(path))
                    .map_or(0, |i| i as u64 * 8 + path.matches('/').count() as u64)
            }
        }
    }

    fn metadata(&self) -> Result<Stat> {
        let kind = self.kind();
        let (perm, nlink) = match kind {
            FileType::Directory => (0o555, 2),
            FileType::Symlink => (0o777, 1),
            _ => (0o444, 1),
        };
        let t = self.created;
        Ok(Stat {
            dev: self.dev,
            ino: self.ino(),
            kind,
            perm,
            nlink,
            blksize: 1024,
            atime: t,
            mtime: t,
            ctime: t,
            ..Stat::default()
        })
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        match self.fs.upgrade() {
            Some(fs) => fs,
            None => new(),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef> {
        if let Node::Root = self.node {
            if let Some(pid) = std::str::from_utf8(name)
                .ok()
                .and_then(|s| s.parse::<Pid>().ok())
            {
                process(pid)?;
                return self.child(Node::PidDir(pid));
            }
        }
        let node = self
            .entries()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, node)| node)
            .ok_or(Errno::ENOENT)?;
        self.child(node)
    }

    fn read_dir(&self) -> Result<Vec<DirEntry>> {
        let fs = self.fs.upgrade().ok_or(Errno::ENOENT)?;
        Ok(self
            .entries()?
            .into_iter()
            .map(|(name, node)| {
                let i = fs.inode(node);
                DirEntry {
                    name,
                    ino: i.ino(),
                    kind: i.kind(),
                }
            })
            .collect())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        match &self.node {
            Node::SelfLink => {
                let me = process::current().ok_or(Errno::ENOENT)?;
                Ok(me.process().pid().to_string().into_bytes())
            }
            Node::PidLink(pid, "exe") => Ok(process(*pid)?.exe_path().into_bytes()),
            Node::PidLink(pid, "root") => {
                let root = process(*pid)?.fs().root.clone();
                Ok(root.map_or(b"/".to_vec(), |r| super::vfs::visible_path(&r)))
            }
            Node::PidLink(..) => Ok(super::vfs::visible_path(&self.target()?)),
            Node::FdLink(pid, fd) => {
                let f = process(*pid)?.files().get(*fd).map_err(|_| Errno::ENOENT)?;
                Ok(match f.location() {
                    Some(loc) => super::vfs::visible_path(&loc),
                    None => f.describe().into_bytes(),
                })
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn follow_magic(&self) -> Option<Result<Location>> {
        match &self.node {
            Node::PidLink(_, "cwd") | Node::FdLink(..) => Some(self.target()),
            _ => None,
        }
    }

    fn open(&self, _flags: u32) -> Result<Option<FileRef>> {
        let data = match &self.node {
            Node::Global(name) => content::global(name)?,
            Node::PidFile(pid, name) => content::of_process(&process(*pid)?, name)?,
            Node::Sys(path) if !sys::is_dir(path) => {
                sys::read(path).ok_or(Errno::ENOENT)?.into_bytes()
            }
            _ => return Ok(None),
        };
        Ok(Some(Arc::new(Snapshot::new(data, self.metadata()?))))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open file without a place in the file tree (a pipe, a socket), reached
/// through `/proc/[pid]/fd/N`: opening it gives the same open file.
struct OpenFileInode(FileRef);

impl Inode for OpenFileInode {
    fn kind(&self) -> FileType {
        self.0.stat().map(|s| s.kind).unwrap_or_default()
    }

    fn ino(&self) -> u64 {
        self.0.stat().map(|s| s.ino).unwrap_or_default()
    }

    fn metadata(&self) -> Result<Stat> {
        self.0.stat()
    }

    fn fs(&self) -> Arc<dyn FileSystem> {
        new()
    }

    fn open(&self, _flags: u32) -> Result<Option<FileRef>> {
        Ok(Some(self.0.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
