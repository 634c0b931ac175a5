//! Host files and directories: the part of the host interface that file
//! systems use (the image file, the encrypted FS's file, hostfs trees).
//!
//! Directory handles only ever act on one name inside themselves, and
//! opening a path below a directory uses `openat2` with `RESOLVE_BENEATH`
//! and `RESOLVE_NO_SYMLINKS`, so nothing the LibOS asks can reach outside a
//! hostfs root, whatever links the host tree contains. Every value the host
//! returns is checked (counts, file types, time ranges).

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::errno::Errno;

fn io_errno(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

/// A file name inside a directory: one component, no NUL, not `.`/`..`.
fn component(name: &[u8]) -> Result<CString, Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    CString::new(name).map_err(|_| Errno::EINVAL)
}

fn check_rc(rc: libc::c_int) -> Result<(), Errno> {
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The kernel's `struct open_how` (for `openat2`).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

/// The type of a host file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// FIFO.
    Fifo,
    /// Socket.
    Socket,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
}

/// Metadata of a host file (validated).
#[derive(Clone, Copy, Debug)]
pub struct HostStat {
    /// File type.
    pub kind: HostKind,
    /// Permission bits (`0o7777`).
    pub perm: u32,
    /// Inode number.
    pub ino: u64,
    /// Link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number of a device file.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Access, modification and change times: (seconds, nanoseconds).
    pub times: [(i64, u32); 3],
}

fn host_stat(st: &libc::stat) -> Result<HostStat, Errno> {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => HostKind::Regular,
        libc::S_IFDIR => HostKind::Directory,
        libc::S_IFLNK => HostKind::Symlink,
        libc::S_IFIFO => HostKind::Fifo,
        libc::S_IFSOCK => HostKind::Socket,
        libc::S_IFCHR => HostKind::CharDevice,
        libc::S_IFBLK => HostKind::BlockDevice,
        _ => return Err(Errno::EIO),
    };
    let t = |s: i64, ns: i64| (s, ns.clamp(0, 999_999_999) as u32);
    Ok(HostStat {
        kind,
        perm: st.st_mode & 0o7777,
        ino: st.st_ino,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
        times: [
            t(st.st_atime, st.st_atime_nsec),
            t(st.st_mtime, st.st_mtime_nsec),
            t(st.st_ctime, st.st_ctime_nsec),
        ],
    })
}

fn fstatat(dirfd: i32, name: &CString, flags: i32) -> Result<HostStat, Errno> {
    // SAFETY: an all-zero `stat` is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` is a valid out-buffer.
    check_rc(unsafe { libc::fstatat(dirfd, name.as_ptr(), &mut st, flags) })?;
    host_stat(&st)
}

/// The `[atime, mtime]` pair of `utimensat`/`futimens`: (seconds,
/// nanoseconds), or `None` for `UTIME_OMIT`.
fn utimes(atime: Option<(i64, u32)>, mtime: Option<(i64, u32)>) -> [libc::timespec; 2] {
    let ts = |t: Option<(i64, u32)>| match t {
        Some((s, ns)) => libc::timespec {
            tv_sec: s,
            tv_nsec: ns as i64,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    [ts(atime), ts(mtime)]
}

/// How to open a host file.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    /// Open for writing too.
    pub write: bool,
    /// Create the file if missing (with `mode`).
    pub create: bool,
    /// With `create`: fail with `EEXIST` if it exists.
    pub exclusive: bool,
    /// Truncate to zero length.
    pub truncate: bool,
    /// Permission bits for a created file.
    pub mode: u32,
}

impl OpenOptions {
    fn flags(&self) -> i32 {
        let mut f = libc::O_CLOEXEC | libc::O_NOFOLLOW;
        f |= if self.write {
            libc::O_RDWR
        } else {
            libc::O_RDONLY
        };
        if self.create {
            f |= libc::O_CREAT;
        }
        if self.exclusive {
            f |= libc::O_EXCL;
        }
        if self.truncate {
            f |= libc::O_TRUNC;
        }
        f
    }
}

/// An open host file.
pub struct HostFile(File);

impl HostFile {
    /// Opens the host file at `path` (a host path chosen by the LibOS's
    /// configuration, never by a user program).
    pub fn open(path: &Path, opts: OpenOptions) -> Result<HostFile, Errno> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `cpath` is NUL-terminated.
        let fd = unsafe { libc::open(cpath.as_ptr(), opts.flags(), opts.mode) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(HostFile(File::from(unsafe { OwnedFd::from_raw_fd(fd) })))
    }

    /// Reads at `offset`; returns the count (0 at end of file).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match self.0.read_at(buf, offset) {
                Ok(n) if n <= buf.len() => return Ok(n),
                Ok(_) => return Err(Errno::EIO),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_errno(e)),
            }
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset` (`EIO` at a short read).
    pub fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> Result<(), Errno> {
        while !buf.is_empty() {
            let n = self.read_at(offset, buf)?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            offset += n as u64;
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`.
    pub fn write_all_at(&self, offset: u64, buf: &[u8]) -> Result<(), Errno> {
        self.0.write_all_at(buf, offset).map_err(io_errno)
    }

    /// Writes at `offset`; returns the count written.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        loop {
            match self.0.write_at(buf, offset) {
                Ok(n) if n <= buf.len() => return Ok(n),
                Ok(_) => return Err(Errno::EIO),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_errno(e)),
            }
        }
    }

    /// Truncates or extends the file.
    pub fn set_len(&self, len: u64) -> Result<(), Errno> {
        self.0.set_len(len).map_err(io_errno)
    }

    /// Makes the file durable (`fdatasync` if `data_only`, else `fsync`).
    pub fn sync(&self, data_only: bool) -> Result<(), Errno> {
        if data_only {
            self.0.sync_data().map_err(io_errno)
        } else {
            self.0.sync_all().map_err(io_errno)
        }
    }

    /// Allocates space for `len` bytes at `offset` (`fallocate` mode 0).
    pub fn allocate(&self, offset: u64, len: u64) -> Result<(), Errno> {
        // SAFETY: no memory is passed.
        check_rc(unsafe { libc::fallocate(self.0.as_raw_fd(), 0, offset as i64, len as i64) })
    }

    /// The file's metadata.
    pub fn stat(&self) -> Result<HostStat, Errno> {
        fstatat(self.0.as_raw_fd(), &CString::default(), libc::AT_EMPTY_PATH)
    }

    /// Sets the file's permission bits.
    pub fn chmod(&self, perm: u32) -> Result<(), Errno> {
        // SAFETY: no memory is passed.
        check_rc(unsafe { libc::fchmod(self.0.as_raw_fd(), perm & 0o7777) })
    }

    /// Sets the access and modification times: (seconds, nanoseconds), or
    /// `None` to leave one unchanged.
    pub fn set_times(
        &self,
        atime: Option<(i64, u32)>,
        mtime: Option<(i64, u32)>,
    ) -> Result<(), Errno> {
        let times = utimes(atime, mtime);
        // SAFETY: `times` holds two timespecs.
        check_rc(unsafe { libc::futimens(self.0.as_raw_fd(), times.as_ptr()) })
    }

    /// Takes an exclusive lock on the file, held until it is closed (so two
    /// LibOS instances never write one file system at once); without
    /// `wait`, fails with `EWOULDBLOCK` if another holds it.
    pub fn lock_exclusive(&self, wait: bool) -> Result<(), Errno> {
        let op = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        loop {
            // SAFETY: no memory is passed.
            let rc = unsafe { libc::flock(self.0.as_raw_fd(), op) };
            match check_rc(rc) {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }
}

/// One entry of a host directory.
pub struct HostDirEntry {
    /// Its name (one component).
    pub name: Vec<u8>,
    /// Its type, when the host reports it.
    pub kind: Option<HostKind>,
    /// Its inode number.
    pub ino: u64,
}

/// An open host directory: a hostfs root or a directory below one.
pub struct HostDir(OwnedFd);

impl HostDir {
    /// Opens the host directory at `path` (from the LibOS's configuration).
    pub fn open(path: &Path) -> Result<HostDir, Errno> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `cpath` is NUL-terminated.
        let fd = unsafe {
            libc::open(
                cpath.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(HostDir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens `rel` (a relative path of plain components) below this
    /// directory; no component may be a symbolic link or leave the tree.
    fn open_beneath(&self, rel: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        if rel.starts_with(b"/") || rel.split(|&b| b == b'/').any(|c| c == b"..") {
            return Err(Errno::EACCES);
        }
        let crel =
            CString::new(if rel.is_empty() { b"." } else { rel }).map_err(|_| Errno::EINVAL)?;
        let how = OpenHow {
            flags: (flags | libc::O_CLOEXEC) as u64,
            mode: if flags & libc::O_CREAT != 0 {
                mode as u64
            } else {
                0
            },
            resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        // SAFETY: `crel` is NUL-terminated; `how` is a valid open_how of the given size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.0.as_raw_fd(),
                crel.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd < 0 {
            return Err(match Errno::last() {
                // A symbolic link or an escape on the way: never followed.
                Errno::EXDEV | Errno::ELOOP => Errno::EACCES,
                e => e,
            });
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    /// Opens the directory `rel` below this one.
    pub fn open_dir(&self, rel: &[u8]) -> Result<HostDir, Errno> {
        self.open_beneath(rel, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map(HostDir)
    }

    /// Opens the file `name` in this directory.
    pub fn open_file(&self, name: &[u8], opts: OpenOptions) -> Result<HostFile, Errno> {
        component(name)?;
        let fd = self.open_beneath(name, opts.flags(), opts.mode & 0o7777)?;
        let f = HostFile(File::from(fd));
        if f.stat()?.kind != HostKind::Regular {
            return Err(Errno::EACCES);
        }
        Ok(f)
    }

    /// This directory's metadata.
    pub fn stat(&self) -> Result<HostStat, Errno> {
        fstatat(self.0.as_raw_fd(), &CString::default(), libc::AT_EMPTY_PATH)
    }

    /// The metadata of `name` in this directory (a final link is not followed).
    pub fn stat_at(&self, name: &[u8]) -> Result<HostStat, Errno> {
        fstatat(
            self.0.as_raw_fd(),
            &component(name)?,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    }

    /// The entries of this directory, without `.` and `..`.
    pub fn read_dir(&self) -> Result<Vec<HostDirEntry>, Errno> {
        let fd = self.open_beneath(b"", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let dir =
            std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(io_errno)?;
        let mut out = Vec::new();
        for e in dir {
            let e = e.map_err(io_errno)?;
            let name = e.file_name().into_encoded_bytes();
            if name.is_empty() || name.contains(&b'/') || name.len() > 255 {
                continue;
            }
            let kind = e.file_type().ok().map(|t| {
                use std::os::unix::fs::FileTypeExt;
                if t.is_dir() {
                    HostKind::Directory
                } else if t.is_symlink() {
                    HostKind::Symlink
                } else if t.is_fifo() {
                    HostKind::Fifo
                } else if t.is_socket() {
                    HostKind::Socket
                } else if t.is_char_device() {
                    HostKind::CharDevice
                } else if t.is_block_device() {
                    HostKind::BlockDevice
                } else {
                    HostKind::Regular
                }
            });
            let ino = std::os::unix::fs::DirEntryExt::ino(&e);
            out.push(HostDirEntry { name, kind, ino });
        }
        Ok(out)
    }

    /// Creates directory `name`.
    pub fn mkdir(&self, name: &[u8], perm: u32) -> Result<(), Errno> {
        let c = component(name)?;
        // SAFETY: `c` is NUL-terminated.
        check_rc(unsafe { libc::mkdirat(self.0.as_raw_fd(), c.as_ptr(), perm & 0o7777) })
    }

    /// Creates a FIFO, socket or device node `name` (`mknodat`).
    pub fn mknod(&self, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
        let c = component(name)?;
        // SAFETY: `c` is NUL-terminated.
        check_rc(unsafe { libc::mknodat(self.0.as_raw_fd(), c.as_ptr(), mode, rdev) })
    }

    /// Removes `name`: a directory if `dir`, else any other file.
    pub fn unlink(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let c = component(name)?;
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        // SAFETY: `c` is NUL-terminated.
        check_rc(unsafe { libc::unlinkat(self.0.as_raw_fd(), c.as_ptr(), flags) })
    }

    /// Renames `name` to `to_name` in `to` (`renameat2` flags).
    pub fn rename(
        &self,
        name: &[u8],
        to: &HostDir,
        to_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let (a, b) = (component(name)?, component(to_name)?);
        // SAFETY: both names are NUL-terminated.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                self.0.as_raw_fd(),
                a.as_ptr(),
                to.0.as_raw_fd(),
                b.as_ptr(),
                flags,
            )
        };
        check_rc(rc as libc::c_int)
    }

    /// Makes `to_name` in `to` a new link to `name`.
    pub fn link(&self, name: &[u8], to: &HostDir, to_name: &[u8]) -> Result<(), Errno> {
        let (a, b) = (component(name)?, component(to_name)?);
        // SAFETY: both names are NUL-terminated; links are not followed.
        check_rc(unsafe {
            libc::linkat(
                self.0.as_raw_fd(),
                a.as_ptr(),
                to.0.as_raw_fd(),
                b.as_ptr(),
                0,
            )
        })
    }

    /// Creates symbolic link `name` with text `target` (never followed by the host on our behalf).
    pub fn symlink(&self, name: &[u8], target: &[u8]) -> Result<(), Errno> {
        let c = component(name)?;
        let t = CString::new(target).map_err(|_| Errno::EINVAL)?;
        // SAFETY: both strings are NUL-terminated.
        check_rc(unsafe { libc::symlinkat(t.as_ptr(), self.0.as_raw_fd(), c.as_ptr()) })
    }

    /// The text of symbolic link `name`.
    pub fn read_link(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let c = component(name)?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: `c` is NUL-terminated; `buf` is writable for its length.
        let rc = unsafe {
            libc::readlinkat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(rc).map_err(|_| Errno::last())?;
        if n > buf.len() {
            return Err(Errno::EIO);
        }
        buf.truncate(n);
        Ok(buf)
    }

    /// Sets the permission bits of `name` (never through a link).
    pub fn chmod(&self, name: &[u8], perm: u32) -> Result<(), Errno> {
        let fd = self.open_beneath(
            &component(name)?.into_bytes(),
            libc::O_PATH | libc::O_NOFOLLOW,
            0,
        )?;
        let proc_path =
            CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `proc_path` is NUL-terminated; it names exactly the inode
        // `fd` holds (a symbolic link was refused when opening it).
        check_rc(unsafe { libc::chmod(proc_path.as_ptr(), perm & 0o7777) })
    }

    /// Sets the access and modification times of `name`: (seconds,
    /// nanoseconds), or `None` to leave one unchanged.
    pub fn set_times(
        &self,
        name: &[u8],
        atime: Option<(i64, u32)>,
        mtime: Option<(i64, u32)>,
    ) -> Result<(), Errno> {
        let c = component(name)?;
        let times = utimes(atime, mtime);
        // SAFETY: `c` is NUL-terminated; `times` holds two timespecs.
        check_rc(unsafe {
            libc::utimensat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
    }
}
