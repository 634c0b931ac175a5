//! Process and thread syscalls: exit, ids, process groups and sessions,
//! thread-pointer set-up, resource limits.

use std::sync::Arc;

use super::SyscallCtx;
use crate::abi::{self, UserPtr};
use crate::process::{self, ExitStatus, Process, Rlimit};
use crate::user;
use crate::{Errno, Result};

const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;
const ARCH_GET_GS: u64 = 0x1004;
/// Highest user address on x86_64 (47-bit address space).
const TASK_SIZE: u64 = (1 << 47) - 4096;

pub(super) fn sys_exit(ctx: &mut SyscallCtx<'_, '_>, status: u8) -> Result<u64> {
    process::exit_thread(ctx.thread(), status);
    Ok(0)
}

pub(super) fn sys_exit_group(ctx: &mut SyscallCtx<'_, '_>, status: u8) -> Result<u64> {
    process::exit_group(ctx.thread(), ExitStatus::Exited(status));
    Ok(0)
}

pub(super) fn sys_getpid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().pid() as u64)
}

pub(super) fn sys_getppid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().ppid() as u64)
}

pub(super) fn sys_gettid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.thread().tid() as u64)
}

/// The process `pid` names (0: the caller); `ESRCH` if none.
fn target(ctx: &SyscallCtx<'_, '_>, pid: i32) -> Result<Arc<Process>> {
    match pid {
        0 => Ok(ctx.process().clone()),
        p if p < 0 => Err(Errno::ESRCH),
        p => process::get_process(p).ok_or(Errno::ESRCH),
    }
}

pub(super) fn sys_getpgid(ctx: &mut SyscallCtx<'_, '_>, pid: i32) -> Result<u64> {
    Ok(target(ctx, pid)?.state().pgid as u64)
}

pub(super) fn sys_getpgrp(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(ctx.process().state().pgid as u64)
}

pub(super) fn sys_getsid(ctx: &mut SyscallCtx<'_, '_>, pid: i32) -> Result<u64> {
    Ok(target(ctx, pid)?.state().sid as u64)
}

/// `setpgid`: the caller or one of its children (that has not exec'd... the
/// LibOS does not track that), moved to a group of the same session.
pub(super) fn sys_setpgid(ctx: &mut SyscallCtx<'_, '_>, pid: i32, pgid: i32) -> Result<u64> {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = ctx.process().clone();
    let proc = target(ctx, pid)?;
    let is_self = Arc::ptr_eq(&proc, &me);
    if !is_self && !me.state().children.iter().any(|c| Arc::ptr_eq(c, &proc)) {
        return Err(Errno::ESRCH);
    }
    let my_sid = me.state().sid;
    let pgid = if pgid == 0 { proc.pid() } else { pgid };
    let (sid, is_leader, did_exec) = {
        let st = proc.state();
        (st.sid, st.sid == proc.pid(), st.did_exec)
    };
    if !is_self && did_exec {
        return Err(Errno::EACCES);
    }
    if sid != my_sid {
        return Err(Errno::EPERM);
    }
    if is_leader {
        return Err(Errno::EPERM);
    }
    if pgid != proc.pid() {
        // The group must exist in the caller's session.
        let exists = process::all_processes().iter().any(|p| {
            let st = p.state();
            st.pgid == pgid && st.sid == my_sid && st.zombie.is_none()
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    proc.state().pgid = pgid;
    Ok(0)
}

pub(super) fn sys_setsid(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    let me = ctx.process();
    let pid = me.pid();
    // A process group leader cannot start a session; nor can any process
    // while another uses its pid as a group id.
    let leads_group = process::all_processes()
        .iter()
        .any(|p| p.state().pgid == pid);
    if leads_group {
        return Err(Errno::EPERM);
    }
    let mut st = me.state();
    st.sid = pid;
    st.pgid = pid;
    Ok(pid as u64)
}

pub(super) fn sys_set_tid_address(ctx: &mut SyscallCtx<'_, '_>, tidptr: u64) -> Result<u64> {
    ctx.thread().set_clear_child_tid(tidptr);
    Ok(ctx.thread().tid() as u64)
}

pub(super) fn sys_set_robust_list(
    ctx: &mut SyscallCtx<'_, '_>,
    head: u64,
    len: u64,
) -> Result<u64> {
    if len != 24 {
        return Err(Errno::EINVAL);
    }
    ctx.thread().set_robust_list(head);
    Ok(0)
}

/// Restartable sequences are not offered; both libcs then do without.
pub(super) fn sys_rseq(
    _: &mut SyscallCtx<'_, '_>,
    _rseq: u64,
    _rseq_len: u64,
    _flags: u64,
    _sig: u64,
) -> Result<u64> {
    Err(Errno::ENOSYS)
}

pub(super) fn sys_arch_prctl(ctx: &mut SyscallCtx<'_, '_>, code: u64, addr: u64) -> Result<u64> {
    match code {
        ARCH_SET_FS => {
            if addr >= TASK_SIZE {
                return Err(Errno::EPERM);
            }
            ctx.frame().set_user_fs(addr);
            Ok(0)
        }
        ARCH_GET_FS => {
            let fs = ctx.frame().user_fs();
            user::write_u64(addr, fs)?;
            Ok(0)
        }
        ARCH_SET_GS => {
            if addr >= TASK_SIZE {
                return Err(Errno::EPERM);
            }
            ctx.frame().set_user_gs(addr);
            Ok(0)
        }
        ARCH_GET_GS => {
            let gs = ctx.frame().user_gs();
            user::write_u64(addr, gs)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn write_rlimit(addr: u64, l: Rlimit) -> Result<()> {
    UserPtr::new(addr).write(&abi::Rlimit {
        rlim_cur: l.cur,
        rlim_max: l.max,
    })
}

fn read_rlimit(addr: u64) -> Result<Rlimit> {
    let l = UserPtr::<abi::Rlimit>::new(addr).read()?;
    Ok(Rlimit {
        cur: l.rlim_cur,
        max: l.rlim_max,
    })
}

pub(super) fn sys_prlimit64(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: i32,
    resource: u64,
    new: u64,
    old: u64,
) -> Result<u64> {
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

pub(super) fn sys_getrlimit(ctx: &mut SyscallCtx<'_, '_>, resource: u64, rlim: u64) -> Result<u64> {
    let l = ctx.process().rlimits().get(resource)?;
    write_rlimit(rlim, l)?;
    Ok(0)
}

pub(super) fn sys_setrlimit(ctx: &mut SyscallCtx<'_, '_>, resource: u64, rlim: u64) -> Result<u64> {
    let new = read_rlimit(rlim)?;
    ctx.process().rlimits().set(resource, new)?;
    Ok(0)
}

/// `pidfd_open`: a file naming process `pid` (always close-on-exec).
pub(super) fn sys_pidfd_open(ctx: &mut SyscallCtx<'_, '_>, pid: i32, flags: u32) -> Result<u64> {
    if flags & !crate::fs::O_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let p = process::get_process(pid).ok_or(Errno::ESRCH)?;
    if p.pid() != pid {
        return Err(Errno::EINVAL);
    }
    ctx.install(
        std::sync::Arc::new(crate::fs::pidfd::PidFd::new(p, flags)),
        true,
    )
}

/// `pidfd_getfd`: a copy, close-on-exec, of descriptor `targetfd` of the
/// process a pidfd names.
pub(super) fn sys_pidfd_getfd(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: i32,
    target: i32,
    flags: u64,
) -> Result<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = ctx.process().files().get(fd)?;
    let pidfd = crate::fs::downcast::<crate::fs::pidfd::PidFd>(f).ok_or(Errno::EBADF)?;
    let owner = pidfd.process().clone();
    if owner.exit_status().is_some() {
        return Err(Errno::ESRCH);
    }
    let file = owner.files().get(target)?;
    ctx.install(file, true)
}
