//! `mount` and `umount2` for the file systems a program may create by
//! itself: `ramfs`/`tmpfs`, `proc`, `devtmpfs`. File systems backed by the
//! host or by keys (hostfs, sefs, the union) come from `Occlum.json` only.

use super::{lookup_at, SyscallCtx, AT_FDCWD};
use crate::fs::vfs::{self, FileSystem};
use crate::fs::{devfs, procfs, ramfs::RamFs, FileType};
use crate::user;
use crate::{Errno, Result};

const MS_RDONLY: u64 = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_SILENT: u64 = 0x8000;
const MS_REMOUNT: u64 = 32;
const MS_NOATIME: u64 = 0x400;
const MS_RELATIME: u64 = 0x20_0000;
/// Flags accepted and ignored (they restrict what the LibOS does not grant).
const MS_IGNORED: u64 = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SILENT | MS_NOATIME | MS_RELATIME;
/// The magic that old callers put in the high bits of the flags.
const MS_MGC_MSK: u64 = 0xffff_0000_0000_0000 | 0xc0ed_0000;

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;

pub(in crate::syscall) fn sys_mount(
    ctx: &mut SyscallCtx<'_, '_>,
    source: u64,
    target: u64,
    fstype: u64,
    flags: u64,
    _data: u64,
) -> Result<u64> {
    let flags = if flags & 0xffff_0000 == 0xc0ed_0000 {
        flags & !MS_MGC_MSK
    } else {
        flags
    };
    if flags & MS_REMOUNT != 0 {
        if flags & !(MS_IGNORED | MS_RDONLY | MS_REMOUNT) != 0 {
            return Err(Errno::EINVAL);
        }
        // Only the mode of a file system a program mounted (ramfs/tmpfs)
        // changes; the target must be the root of a mount.
        let at = lookup_at(ctx, AT_FDCWD as u64, target, true, false)?.location()?;
        let fs = at.inode().fs();
        if fs.root().ino() != at.inode().ino() {
            return Err(Errno::EINVAL);
        }
        fs.set_read_only(flags & MS_RDONLY != 0)?;
        return Ok(0);
    }
    if flags & !(MS_IGNORED | MS_RDONLY) != 0 {
        // Bind mounts, moves and propagation changes.
        return Err(Errno::EINVAL);
    }
    let fstype = user::read_cstring(fstype, 256)?;
    let source = if source == 0 {
        b"none".to_vec()
    } else {
        user::read_cstring(source, 4096)?
    };
    let at = lookup_at(ctx, AT_FDCWD as u64, target, true, false)?.location()?;
    if at.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let fs: std::sync::Arc<dyn FileSystem> = match &fstype[..] {
        b"ramfs" | b"tmpfs" => RamFs::new(0o1777),
        b"proc" => procfs::new(),
        b"devtmpfs" | b"devfs" => devfs::new(),
        b"hostfs" | b"sefs" | b"unionfs" => return Err(Errno::EPERM),
        _ => return Err(Errno::ENODEV),
    };
    if flags & MS_RDONLY != 0 {
        // proc and devtmpfs are read-only where it matters anyway.
        let _ = fs.set_read_only(true);
    }
    vfs::mount(&at, fs, &String::from_utf8_lossy(&source))?;
    Ok(0)
}

pub(in crate::syscall) fn sys_umount2(
    ctx: &mut SyscallCtx<'_, '_>,
    target: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0
        || (flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let at = lookup_at(
        ctx,
        AT_FDCWD as u64,
        target,
        flags & UMOUNT_NOFOLLOW == 0,
        false,
    )?
    .location()?;
    vfs::unmount(&at)?;
    Ok(0)
}
