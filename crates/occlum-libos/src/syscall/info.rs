//! Process and system information, and the knobs programs set without
//! needing an effect: `getrusage`, `sysinfo`, `times`, `prctl`,
//! `getpriority`/`setpriority`, `getgroups`,
//! `getresuid`/`getresgid`, `getcpu`, `personality`.

use super::SyscallCtx;
use crate::abi::{Abi, Rusage, Sysinfo, UserPtr};
use crate::fs::procfs::boot_instant;
use crate::process::{self, Pid};
use crate::user;
use crate::{Errno, Result};

const RUSAGE_SELF: i64 = 0;
const RUSAGE_CHILDREN: i64 = -1;
const RUSAGE_THREAD: i64 = 1;

/// Bytes of the calling process's mappings.
fn vm_bytes(ctx: &SyscallCtx<'_, '_>) -> u64 {
    ctx.process()
        .vm()
        .map(|vm| crate::sync::lock(&vm).mapped_bytes() as u64)
        .unwrap_or(0)
}

/// `getrusage`: CPU times are not tracked per LibOS process yet (zero); the
/// maximum resident size is the process's mapped memory.
pub(super) fn sys_getrusage(ctx: &mut SyscallCtx<'_, '_>, who: i32, usage: u64) -> Result<u64> {
    let mut ru = Rusage::zeroed();
    let (user, total) = match who as i64 {
        RUSAGE_SELF => {
            ru.ru_maxrss = (vm_bytes(ctx) / 1024) as i64;
            ctx.process().cpu_time()
        }
        RUSAGE_THREAD => {
            ru.ru_maxrss = (vm_bytes(ctx) / 1024) as i64;
            ctx.thread().cpu_time()
        }
        RUSAGE_CHILDREN => ctx.process().children_cpu_time(),
        _ => return Err(Errno::EINVAL),
    };
    let tv = |ns: u64| {
        [
            (ns / 1_000_000_000) as i64,
            (ns % 1_000_000_000 / 1000) as i64,
        ]
    };
    [ru.ru_utime.tv_sec, ru.ru_utime.tv_usec] = tv(user);
    [ru.ru_stime.tv_sec, ru.ru_stime.tv_usec] = tv(total.saturating_sub(user));
    UserPtr::new(usage).write(&ru)?;
    Ok(0)
}

/// `sysinfo`: the user-space region is the machine's memory.
pub(super) fn sys_sysinfo(_: &mut SyscallCtx<'_, '_>, info: u64) -> Result<u64> {
    let total = crate::boot::config().user_space_size as u64;
    let free = total.saturating_sub(crate::vm::user_space_in_use() as u64);
    let si = Sysinfo {
        // Rounded up: a LibOS that just started has been up for a second.
        uptime: boot_instant().elapsed().as_millis().div_ceil(1000) as i64,
        totalram: total,
        freeram: free,
        procs: process::all_processes().len().min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..Sysinfo::zeroed()
    };
    UserPtr::new(info).write(&si)?;
    Ok(0)
}

/// `times`: the CPU times of the process and of its reaped children, in
/// clock ticks (100 Hz); returns ticks since the LibOS started.
pub(super) fn sys_times(ctx: &mut SyscallCtx<'_, '_>, buf: u64) -> Result<u64> {
    if buf != 0 {
        let ticks = |ns: u64| ns / 10_000_000;
        let (u, t) = ctx.process().cpu_time();
        let (cu, ct) = ctx.process().children_cpu_time();
        let vals = [
            ticks(u),
            ticks(t - u.min(t)),
            ticks(cu),
            ticks(ct - cu.min(ct)),
        ];
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        user::write_bytes(buf, &bytes)?;
    }
    Ok(boot_instant().elapsed().as_millis() as u64 / 10)
}

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_SET_DUMPABLE: u64 = 4;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_CAPBSET_READ: u64 = 23;
const PR_SET_TIMERSLACK: u64 = 29;
const PR_GET_TIMERSLACK: u64 = 30;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
/// The default timer slack (50 us), which `PR_SET_TIMERSLACK` 0 restores.
const DEFAULT_TIMERSLACK: u64 = 50_000;
const PR_GET_NO_NEW_PRIVS: u64 = 39;

pub(super) fn sys_prctl(
    ctx: &mut SyscallCtx<'_, '_>,
    option: u64,
    arg2: u64,
    _arg3: u64,
    _arg4: u64,
    _arg5: u64,
) -> Result<u64> {
    match option {
        PR_SET_NAME => {
            let name = user::read_bytes(arg2, 16).or_else(|_| user::read_cstring(arg2, 16))?;
            let len = name
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name.len())
                .min(15);
            ctx.thread().set_comm(&name[..len]);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut buf = [0u8; 16];
            let comm = ctx.thread().comm();
            let n = comm.len().min(15);
            buf[..n].copy_from_slice(&comm[..n]);
            user::write_bytes(arg2, &buf)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG if arg2 <= 64 => Ok(0),
        PR_GET_PDEATHSIG => user::write_i32(arg2, 0).map(|_| 0),
        PR_GET_DUMPABLE => Ok(1),
        PR_SET_DUMPABLE if arg2 <= 1 => Ok(0),
        PR_CAPBSET_READ if arg2 < 64 => Ok(1),
        PR_SET_NO_NEW_PRIVS if arg2 == 1 => Ok(0),
        PR_GET_NO_NEW_PRIVS => Ok(0),
        PR_SET_TIMERSLACK => {
            let slack = if arg2 == 0 { DEFAULT_TIMERSLACK } else { arg2 };
            ctx.thread().set_timer_slack(slack);
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(ctx.thread().timer_slack()),
        _ => Err(Errno::EINVAL),
    }
}

const PRIO_PROCESS: u64 = 0;
const PRIO_PGRP: u64 = 1;
const PRIO_USER: u64 = 2;

/// `getpriority`: the lowest nice value among the targets, as `20 - nice`
/// (the raw syscall's encoding).
pub(super) fn sys_getpriority(ctx: &mut SyscallCtx<'_, '_>, which: u64, who: u64) -> Result<u64> {
    let nice = priority_targets(ctx, which, who)?
        .iter()
        .map(|p| p.nice())
        .min()
        .ok_or(Errno::ESRCH)?;
    Ok((20 - nice) as u64)
}

/// `setpriority`: sets the nice value (clamped to -20..=19) of every
/// target. The LibOS does not schedule by it.
pub(super) fn sys_setpriority(
    ctx: &mut SyscallCtx<'_, '_>,
    which: u64,
    who: u64,
    prio: i32,
) -> Result<u64> {
    let targets = priority_targets(ctx, which, who)?;
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let nice = prio.clamp(-20, 19);
    for p in targets {
        p.set_nice(nice);
    }
    Ok(0)
}

/// The processes `which`/`who` name: one process, a process group, or (every
/// LibOS process runs as one user) all processes.
fn priority_targets(
    ctx: &SyscallCtx<'_, '_>,
    which: u64,
    who: u64,
) -> Result<Vec<std::sync::Arc<process::Process>>> {
    let who = who as u32;
    match which {
        PRIO_PROCESS if who == 0 => Ok(vec![ctx.process().clone()]),
        PRIO_PROCESS => Ok(process::get_process(who as Pid).into_iter().collect()),
        PRIO_PGRP => {
            let pgid = match who {
                0 => ctx.process().state().pgid,
                g => g as Pid,
            };
            Ok(process::all_processes()
                .into_iter()
                .filter(|p| p.state().pgid == pgid && p.exit_status().is_none())
                .collect())
        }
        PRIO_USER => Ok(process::all_processes()
            .into_iter()
            .filter(|p| p.exit_status().is_none())
            .collect()),
        _ => Err(Errno::EINVAL),
    }
}

/// `getcpu`: CPU 0, node 0.
pub(super) fn sys_getcpu(
    _: &mut SyscallCtx<'_, '_>,
    cpu: u64,
    node: u64,
    _tcache: u64,
) -> Result<u64> {
    for p in [cpu, node] {
        if p != 0 {
            UserPtr::new(p).write(&0u32)?;
        }
    }
    Ok(0)
}

/// `personality`: `PER_LINUX`; asking (0xffffffff) or setting `PER_LINUX` works.
pub(super) fn sys_personality(_: &mut SyscallCtx<'_, '_>, persona: u32) -> Result<u64> {
    match persona {
        0xffff_ffff | 0 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}
