//! Process and thread syscalls of a single-threaded process: exit, ids,
//! thread-pointer set-up, resource limits.

use super::SyscallCtx;
use crate::process::{ExitStatus, Rlimit};
use crate::user;
use crate::{Errno, Result};

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
/// Highest user address on x86_64 (47-bit address space).
const TASK_SIZE: u64 = (1 << 47) - 4096;

pub(super) fn sys_exit(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    // The only thread of the process: its exit ends the process.
    ctx.exit_process(ExitStatus::Exited(a[0] as u8));
    Ok(0)
}

pub(super) fn sys_exit_group(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    ctx.exit_process(ExitStatus::Exited(a[0] as u8));
    Ok(0)
}

pub(super) fn sys_getpid(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Ok(ctx.process().pid() as u64)
}

pub(super) fn sys_getppid(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Ok(ctx.process().ppid() as u64)
}

pub(super) fn sys_gettid(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Ok(ctx.thread().tid() as u64)
}

/// `getuid`, `geteuid`, `getgid`, `getegid`: programs run as root inside the
/// LibOS, as in Occlum.
pub(super) fn sys_getid(_: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Ok(0)
}

pub(super) fn sys_set_tid_address(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    ctx.thread().set_clear_child_tid(a[0]);
    Ok(ctx.thread().tid() as u64)
}

pub(super) fn sys_set_robust_list(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    ctx.thread().set_robust_list(a[0]);
    Ok(0)
}

/// Restartable sequences are not offered; both libcs then do without.
pub(super) fn sys_rseq(_: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Err(Errno::ENOSYS)
}

/// `fork` cannot copy an address space that all LibOS processes share.
pub(super) fn sys_fork(ctx: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    tracing::warn!(
        "{}: fork() is not supported inside the LibOS; use posix_spawn() or vfork()+exec",
        ctx.process().exe_path()
    );
    Err(Errno::ENOSYS)
}

pub(super) fn sys_arch_prctl(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    match a[0] {
        ARCH_SET_FS => {
            if a[1] >= TASK_SIZE {
                return Err(Errno::EPERM);
            }
            ctx.frame().set_user_fs(a[1]);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = ctx.frame().user_fs();
            user::write_u64(a[1], fs)?;
            Ok(0)
        }
        // GS base belongs to the platform layer (it locates the thread block).
        ARCH_SET_GS => Err(Errno::EPERM),
        ARCH_GET_GS => {
            user::write_u64(a[1], 0)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn write_rlimit(addr: u64, l: Rlimit) -> Result<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&l.cur.to_le_bytes());
    b[8..].copy_from_slice(&l.max.to_le_bytes());
    user::write_bytes(addr, &b)
}

fn read_rlimit(addr: u64) -> Result<Rlimit> {
    let b = user::read_bytes(addr, 16)?;
    Ok(Rlimit {
        cur: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
        max: u64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
    })
}

pub(super) fn sys_prlimit64(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (pid, resource, new, old) = (a[0] as i32, a[1], a[2], a[3]);
    if pid != 0 && pid != ctx.process().pid() {
        return Err(Errno::ESRCH);
    }
    let new = if new != 0 {
        Some(read_rlimit(new)?)
    } else {
        None
    };
    let mut limits = ctx.process().rlimits();
    let current = limits.get(resource)?;
    if let Some(n) = new {
        limits.set(resource, n)?;
    }
    if old != 0 {
        write_rlimit(old, current)?;
    }
    Ok(0)
}

pub(super) fn sys_getrlimit(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let l = ctx.process().rlimits().get(a[0])?;
    write_rlimit(a[1], l)?;
    Ok(0)
}

pub(super) fn sys_setrlimit(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let new = read_rlimit(a[1])?;
    ctx.process().rlimits().set(a[0], new)?;
    Ok(0)
}
