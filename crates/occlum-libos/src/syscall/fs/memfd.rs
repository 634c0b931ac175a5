//! `memfd_create`: an anonymous file in LibOS memory, and `close_range`.

use std::sync::{Arc, OnceLock};

use super::SyscallCtx;
use crate::fs::ramfs::RamFs;
use crate::fs::vfs::{FileSystem, PathNode};
use crate::fs::{FileType, InodeFile, O_LARGEFILE, O_RDWR};
use crate::user;
use crate::{Errno, Result};

const MFD_CLOEXEC: u64 = 1;
const MFD_ALLOW_SEALING: u64 = 2;
const MFD_HUGETLB: u64 = 4;
const MFD_NOEXEC_SEAL: u64 = 8;
const MFD_EXEC: u64 = 0x10;
/// Longest name (`NAME_MAX` less the `memfd:` prefix).
const MFD_NAME_MAX: usize = 249;

/// The ramfs holding memfd files (each unlinked at once).
fn memfd_fs() -> &'static Arc<RamFs> {
    static FS: OnceLock<Arc<RamFs>> = OnceLock::new();
    FS.get_or_init(|| RamFs::new(0o1777))
}

pub(in crate::syscall) fn sys_memfd_create(
    ctx: &mut SyscallCtx<'_, '_>,
    name: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & (MFD_NOEXEC_SEAL | MFD_EXEC) == MFD_NOEXEC_SEAL | MFD_EXEC
    {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let name = user::read_cstring(name, MFD_NAME_MAX + 1).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    let dir = memfd_fs().root();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = format!(
        "memfd-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let inode = dir.create(tmp.as_bytes(), FileType::Regular, 0o777, 0)?;
    dir.unlink(tmp.as_bytes())?;
    let mut shown = b"memfd:".to_vec();
    shown.extend_from_slice(&name);
    shown.extend_from_slice(b" (deleted)");
    let loc = PathNode::child(&PathNode::root(dir), &shown, inode);
    let f = InodeFile::new(loc, O_RDWR | O_LARGEFILE);
    ctx.install(f, flags & MFD_CLOEXEC != 0)
}

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// `close_range(first, last, flags)`: closes (or marks close-on-exec) every
/// open descriptor in `first..=last`.
pub(in crate::syscall) fn sys_close_range(
    ctx: &mut SyscallCtx<'_, '_>,
    first: u32,
    last: u32,
    flags: u64,
) -> Result<u64> {
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let fds: Vec<i32> = ctx
        .process()
        .files()
        .fds()
        .into_iter()
        .filter(|&fd| fd as u32 >= first && fd as u32 <= last)
        .collect();
    for fd in fds {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            ctx.process().files().set_close_on_exec(fd, true)?;
        } else if let Ok(f) = ctx.process().files().remove(fd) {
            super::lock::closed(ctx, &f);
        }
    }
    Ok(0)
}
