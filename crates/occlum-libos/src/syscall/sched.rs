//! Scheduling attributes (`process::sched`): `sched_setscheduler` and
//! `sched_getscheduler`, `sched_setparam`/`getparam`, `sched_setattr`/
//! `getattr`, `sched_rr_get_interval`, the priority ranges, CPU affinity,
//! `ioprio_set`/`ioprio_get`. Kept and reported; the host schedules.

use std::sync::Arc;

use super::SyscallCtx;
use crate::process::sched::{Sched, SCHED_FIFO, SCHED_RR};
use crate::process::{self, Pid, Thread};
use crate::user;
use crate::{Errno, Result};

const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;
/// `sched_attr` as first defined (`SCHED_ATTR_SIZE_VER0`), and with the
/// utilization clamps (`VER1`), which the LibOS writes.
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE_VER1: u32 = 56;
const SCHED_FLAG_RESET_ON_FORK: u64 = 1;
/// `SCHED_RR`'s time slice that Linux reports (100 ms); the LibOS reports it
/// for the other policies too (Linux gives CFS's current slice, which
/// varies with the load).
const RR_TIMESLICE_NS: u32 = 100_000_000;
const IOPRIO_WHO_PROCESS: u64 = 1;
const IOPRIO_WHO_PGRP: u64 = 2;
const IOPRIO_WHO_USER: u64 = 3;
const IOPRIO_CLASS_NONE: u16 = 0;
const IOPRIO_CLASS_IDLE: u16 = 3;

/// The thread `pid` names (0: the caller): `EINVAL` if negative, `ESRCH`
/// if there is none.
fn target(ctx: &SyscallCtx<'_, '_>, pid: u64) -> Result<Arc<Thread>> {
    match pid as i32 {
        p if p < 0 => Err(Errno::EINVAL),
        0 => Ok(ctx.thread().clone()),
        p => process::get_thread(p as Pid).ok_or(Errno::ESRCH),
    }
}

fn set_policy(t: &Thread, policy: i32, priority: i32, reset_on_fork: bool) -> Result<()> {
    if !Sched::priority_fits(policy, priority).ok_or(Errno::EINVAL)? {
        return Err(Errno::EINVAL);
    }
    let mut s = t.sched();
    s.policy = policy;
    s.priority = priority;
    s.reset_on_fork = reset_on_fork;
    Ok(())
}

pub(super) fn sys_sched_setscheduler(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    policy: i32,
    param: u64,
) -> Result<u64> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = user::read_u32(param)? as i32;
    let t = target(ctx, pid)?;
    let reset = policy & SCHED_RESET_ON_FORK != 0;
    set_policy(&t, policy & !SCHED_RESET_ON_FORK, priority, reset)?;
    Ok(0)
}

pub(super) fn sys_sched_getscheduler(ctx: &mut SyscallCtx<'_, '_>, pid: u64) -> Result<u64> {
    let t = target(ctx, pid)?;
    let s = t.sched();
    let reset = if s.reset_on_fork {
        SCHED_RESET_ON_FORK
    } else {
        0
    };
    Ok((s.policy | reset) as u64)
}

pub(super) fn sys_sched_setparam(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    param: u64,
) -> Result<u64> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = user::read_u32(param)? as i32;
    let t = target(ctx, pid)?;
    let (policy, reset) = {
        let s = t.sched();
        (s.policy, s.reset_on_fork)
    };
    set_policy(&t, policy, priority, reset)?;
    Ok(0)
}

pub(super) fn sys_sched_getparam(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    param: u64,
) -> Result<u64> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let t = target(ctx, pid)?;
    let priority = t.sched().priority;
    user::write_i32(param, priority)?;
    Ok(0)
}

pub(super) fn sys_sched_setattr(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    attr: u64,
    flags: u64,
) -> Result<u64> {
    if attr == 0 || (pid as i32) < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let size = match user::read_u32(attr)? {
        0 => SCHED_ATTR_SIZE_VER0,
        n if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&n) => {
            user::write_bytes(attr, &SCHED_ATTR_SIZE_VER1.to_le_bytes())?;
            return Err(Errno::E2BIG);
        }
        n => n,
    };
    let raw = user::read_bytes(attr, SCHED_ATTR_SIZE_VER0 as usize)?;
    // Fields past the ones the LibOS knows must be zero, as on Linux.
    if size > SCHED_ATTR_SIZE_VER1 {
        let rest = user::read_bytes(
            attr + u64::from(SCHED_ATTR_SIZE_VER1),
            (size - SCHED_ATTR_SIZE_VER1) as usize,
        )?;
        if rest.iter().any(|b| *b != 0) {
            user::write_bytes(attr, &SCHED_ATTR_SIZE_VER1.to_le_bytes())?;
            return Err(Errno::E2BIG);
        }
    }
    let field = |off: usize| u32::from_le_bytes(raw[off..off + 4].try_into().expect("4 bytes"));
    let policy = field(4) as i32;
    let sched_flags = u64::from(field(8)) | (u64::from(field(12)) << 32);
    let nice = field(16) as i32;
    let priority = field(20) as i32;
    if sched_flags & !SCHED_FLAG_RESET_ON_FORK != 0 {
        return Err(Errno::EINVAL);
    }
    let t = target(ctx, pid)?;
    set_policy(
        &t,
        policy,
        priority,
        sched_flags & SCHED_FLAG_RESET_ON_FORK != 0,
    )?;
    if !matches!(policy, SCHED_FIFO | SCHED_RR) {
        t.process().set_nice(nice.clamp(-20, 19));
    }
    Ok(0)
}

pub(super) fn sys_sched_getattr(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    attr: u64,
    size: u32,
    flags: u64,
) -> Result<u64> {
    if attr == 0 || (pid as i32) < 0 || flags != 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size)
    {
        return Err(Errno::EINVAL);
    }
    let t = target(ctx, pid)?;
    let len = size.min(SCHED_ATTR_SIZE_VER1);
    let mut out = vec![0u8; SCHED_ATTR_SIZE_VER1 as usize];
    let s = t.sched();
    out[0..4].copy_from_slice(&len.to_le_bytes());
    out[4..8].copy_from_slice(&(s.policy as u32).to_le_bytes());
    out[8..16].copy_from_slice(&u64::from(s.reset_on_fork).to_le_bytes());
    out[16..20].copy_from_slice(&t.process().nice().to_le_bytes());
    out[20..24].copy_from_slice(&(s.priority as u32).to_le_bytes());
    // The utilization clamps: the whole range.
    out[52..56].copy_from_slice(&1024u32.to_le_bytes());
    drop(s);
    user::write_bytes(attr, &out[..len as usize])?;
    Ok(0)
}

pub(super) fn sys_sched_rr_get_interval(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    tp: u64,
) -> Result<u64> {
    let t = target(ctx, pid)?;
    let slice = match t.sched().policy {
        SCHED_FIFO => 0,
        _ => RR_TIMESLICE_NS,
    };
    user::write_time(tp, std::time::Duration::from_nanos(slice.into()), false)?;
    Ok(0)
}

/// `sched_get_priority_max`/`min`: 0 for `SCHED_OTHER`/`BATCH`/`IDLE`, 1..99 for real time.
pub(super) fn sys_sched_get_priority_max(_: &mut SyscallCtx<'_, '_>, policy: u64) -> Result<u64> {
    match policy {
        0 | 3 | 5 => Ok(0),
        1 | 2 => Ok(99),
        _ => Err(Errno::EINVAL),
    }
}

pub(super) fn sys_sched_get_priority_min(_: &mut SyscallCtx<'_, '_>, policy: u64) -> Result<u64> {
    match policy {
        0 | 3 | 5 => Ok(0),
        1 | 2 => Ok(1),
        _ => Err(Errno::EINVAL),
    }
}

/// The CPUs of the machine, as Linux numbers them for the LibOS.
fn online_cpus() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(1024)
}

/// `sched_setaffinity`: the set, less CPUs the machine lacks, is kept
/// (`EINVAL` if none is left).
pub(super) fn sys_sched_setaffinity(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    cpusetsize: usize,
    mask: u64,
) -> Result<u64> {
    let t = target(ctx, pid)?;
    let len = cpusetsize.min(128);
    let mut mask = user::read_bytes(mask, len)?;
    let cpus = online_cpus();
    mask.resize(cpus.div_ceil(64) * 8, 0);
    for cpu in cpus..mask.len() * 8 {
        mask[cpu / 8] &= !(1 << (cpu % 8));
    }
    if mask.iter().all(|b| *b == 0) {
        return Err(Errno::EINVAL);
    }
    t.sched().affinity = Some(mask);
    Ok(0)
}

/// `sched_getaffinity`: the set kept, else every CPU.
pub(super) fn sys_sched_getaffinity(
    ctx: &mut SyscallCtx<'_, '_>,
    pid: u64,
    len: usize,
    addr: u64,
) -> Result<u64> {
    let t = target(ctx, pid)?;
    let cpus = online_cpus();
    let bytes = cpus.div_ceil(64) * 8;
    if len < bytes || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let set = t.sched().affinity.clone().unwrap_or_else(|| {
        let mut set = vec![0u8; bytes];
        for cpu in 0..cpus {
            set[cpu / 8] |= 1 << (cpu % 8);
        }
        set
    });
    user::write_bytes(addr, &set)?;
    Ok(bytes as u64)
}

/// The threads `which`/`who` name for `ioprio_*` (every LibOS process runs
/// as one user).
fn ioprio_targets(ctx: &SyscallCtx<'_, '_>, which: u64, who: u64) -> Result<Vec<Arc<Thread>>> {
    let who = who as i32;
    let threads: Vec<Arc<Thread>> = match which {
        IOPRIO_WHO_PROCESS => vec![target(ctx, who as u64)?],
        IOPRIO_WHO_PGRP => {
            let pgid = if who == 0 {
                ctx.process().state().pgid
            } else {
                who
            };
            process::all_processes()
                .into_iter()
                .filter(|p| p.state().pgid == pgid && p.exit_status().is_none())
                .flat_map(|p| p.state().threads.clone())
                .collect()
        }
        IOPRIO_WHO_USER => process::all_processes()
            .into_iter()
            .filter(|p| p.exit_status().is_none())
            .flat_map(|p| p.state().threads.clone())
            .collect(),
        _ => return Err(Errno::EINVAL),
    };
    if threads.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(threads)
}

pub(super) fn sys_ioprio_set(
    ctx: &mut SyscallCtx<'_, '_>,
    which: u64,
    who: u64,
    ioprio: u32,
) -> Result<u64> {
    let (class, data) = (ioprio >> 13, ioprio & 0x1fff);
    let valid = match class as u16 {
        IOPRIO_CLASS_NONE => data == 0,
        IOPRIO_CLASS_IDLE => true,
        1 | 2 => data < 8,
        _ => false,
    };
    if !valid || ioprio > 0xffff {
        return Err(Errno::EINVAL);
    }
    for t in ioprio_targets(ctx, which, who)? {
        t.sched().ioprio = Some(ioprio as u16);
    }
    Ok(0)
}

/// `ioprio_get`: the highest priority among the targets; for a thread that
/// never set one, the best-effort class at the level its nice value maps
/// to (what Linux reports).
pub(super) fn sys_ioprio_get(ctx: &mut SyscallCtx<'_, '_>, which: u64, who: u64) -> Result<u64> {
    let best = ioprio_targets(ctx, which, who)?
        .iter()
        .map(|t| {
            t.sched().ioprio.unwrap_or_else(|| {
                let level = ((t.process().nice() + 20) / 5).clamp(0, 7) as u16;
                (2 << 13) | level
            })
        })
        .min_by_key(|p| {
            // Lower classes and levels are higher priorities; NONE counts as BE.
            let class = match p >> 13 {
                0 => 2,
                c => c,
            };
            (class, p & 0x1fff)
        })
        .unwrap_or(0);
    Ok(best.into())
}
