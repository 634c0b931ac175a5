//! `clone`, `fork`, `vfork` and `execve`: the flags and arguments; the
//! work is in `process::spawn` and `process::exec`.

use super::SyscallCtx;
use crate::boot::layout;
use crate::loader;
use crate::process::{self, StartContext, TidWords};
use crate::user;
use crate::{Errno, Result};

const CLONE_VM: u64 = 0x100;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;
/// Namespace and other flags the LibOS does not offer. (CLONE_FS,
/// CLONE_SYSVSEM, CLONE_PARENT, CLONE_PTRACE, CLONE_DETACHED, CLONE_UNTRACED
/// and the exit signal are accepted and need nothing: there is one file
/// system context and no ptrace.)
const CLONE_UNSUPPORTED: u64 = CLONE_PIDFD | CLONE_NEWNS | !0x7fff_ffff | 0x7e00_0000;

/// `fork`.
pub(super) fn sys_fork(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    fork(ctx, None, TidWords::default())
}

/// A `fork` child that starts where the caller returns (on `stack` if
/// given) with `rax` 0.
fn fork(ctx: &mut SyscallCtx<'_, '_>, stack: Option<u64>, tids: TidWords) -> Result<u64> {
    let mut regs = ctx.frame().regs();
    regs.rax = 0;
    if let Some(sp) = stack {
        regs.rsp = sp;
    }
    let start = StartContext {
        regs,
        fs: ctx.frame().user_fs(),
    };
    let thread = ctx.thread().clone();
    process::fork(&thread, start, tids).map(|pid| pid as u64)
}

/// glibc and musl fall back to `clone` when `clone3` is missing.
pub(super) fn sys_clone3(_: &mut SyscallCtx<'_, '_>, _cl_args: u64, _size: u64) -> Result<u64> {
    Err(Errno::ENOSYS)
}

pub(super) fn sys_vfork(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    vfork(ctx, None)
}

fn vfork(ctx: &mut SyscallCtx<'_, '_>, stack: Option<u64>) -> Result<u64> {
    let thread = ctx.thread().clone();
    process::vfork(&thread, ctx.frame(), stack)?;
    ctx.regs_replaced();
    Ok(0)
}

/// `clone(flags, stack, parent_tid, child_tid, tls)`.
pub(super) fn sys_clone(
    ctx: &mut SyscallCtx<'_, '_>,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> Result<u64> {
    if flags & CLONE_UNSUPPORTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
    {
        return Err(Errno::EINVAL);
    }
    let tids = TidWords {
        parent_set: (flags & CLONE_PARENT_SETTID != 0).then_some(ptid),
        child_set: (flags & CLONE_CHILD_SETTID != 0).then_some(ctid),
        child_clear: (flags & CLONE_CHILD_CLEARTID != 0).then_some(ctid),
    };
    let stack = (stack != 0).then_some(stack);
    if flags & CLONE_THREAD != 0 {
        let mut regs = ctx.frame().regs();
        regs.rax = 0;
        if let Some(sp) = stack {
            regs.rsp = sp;
        }
        let fs = if flags & CLONE_SETTLS != 0 {
            tls
        } else {
            ctx.frame().user_fs()
        };
        let thread = ctx.thread().clone();
        let tid = process::spawn_thread(&thread, StartContext { regs, fs }, tids)?;
        return Ok(tid as u64);
    }
    if flags & CLONE_VM != 0 && flags & CLONE_VFORK != 0 {
        if flags & (CLONE_SETTLS | CLONE_FILES) != 0 {
            return Err(Errno::EINVAL);
        }
        return vfork(ctx, stack);
    }
    if flags & (CLONE_VM | CLONE_SETTLS | CLONE_FILES | CLONE_VFORK) != 0 {
        return Err(Errno::EINVAL);
    }
    fork(ctx, stack, tids)
}

/// `execve(path, argv, envp)`.
pub(super) fn sys_execve(
    ctx: &mut SyscallCtx<'_, '_>,
    pathname: u64,
    argv: u64,
    envp: u64,
) -> Result<u64> {
    let path = user::read_cstring(pathname, user::MAX_STRING)?;
    let (argv, envp) =
        user::read_exec_args(argv, envp, loader::max_arg_bytes(layout().stack_size))?;
    let thread = ctx.thread().clone();
    process::execve(&thread, ctx.frame(), &path, argv, envp)?;
    ctx.regs_replaced();
    Ok(0)
}

/// `execveat`: the program at `dirfd` + path, or (`AT_EMPTY_PATH` with an
/// empty path) the file open at `dirfd` (`fexecve`). The program is
/// found again by its path, so a file open at `dirfd` that was since
/// unlinked or has no path (a memfd) cannot run (`ENOENT`).
pub(super) fn sys_execveat(
    ctx: &mut SyscallCtx<'_, '_>,
    dirfd: i32,
    pathname: u64,
    argv: u64,
    envp: u64,
    flags: u64,
) -> Result<u64> {
    const AT_FDCWD: i32 = -100;
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    const AT_EMPTY_PATH: u64 = 0x1000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = user::read_cstring(pathname, user::MAX_STRING)?;
    let path = if name.first() == Some(&b'/') {
        name
    } else if name.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    } else {
        let base = if dirfd == AT_FDCWD {
            ctx.process().fs().cwd.clone()
        } else {
            let f = ctx.process().files().get(dirfd)?;
            f.location().ok_or(Errno::ENOENT)?
        };
        if name.is_empty() {
            base.path()
        } else {
            if base.inode().kind() != crate::fs::FileType::Directory {
                return Err(Errno::ENOTDIR);
            }
            let mut p = base.path();
            if p.last() != Some(&b'/') {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            p
        }
    };
    if flags & AT_SYMLINK_NOFOLLOW != 0 {
        let root = crate::fs::vfs::root()?;
        let loc = crate::fs::vfs::resolve(&root, &path, false)?;
        if loc.inode().kind() == crate::fs::FileType::Symlink {
            return Err(Errno::ELOOP);
        }
    }
    let (argv, envp) =
        user::read_exec_args(argv, envp, loader::max_arg_bytes(layout().stack_size))?;
    let thread = ctx.thread().clone();
    process::execve(&thread, ctx.frame(), &path, argv, envp)?;
    ctx.regs_replaced();
    Ok(0)
}
