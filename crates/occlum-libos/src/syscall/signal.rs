//! Signal syscalls.

use std::time::{Duration, Instant};

use super::SyscallCtx;
use crate::abi::{KernelSigaction, StackT, UserPtr};
use crate::process::{self, wait_event};
use crate::signal::{
    self, nr::*, timer, valid, AltStack, SigAction, SigInfo, SigSet, SIG_DFL, SIG_IGN, SI_TKILL,
};
use crate::user;
use crate::{Errno, Result};

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;
const SS_DISABLE: i32 = signal::SS_DISABLE;
const SS_AUTODISARM: i32 = 1 << 31;
const ITIMER_REAL: u64 = 0;
const ITIMER_PROF: u64 = 2;

fn check_sigsetsize(size: u64) -> Result<()> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

pub(super) fn sys_rt_sigaction(
    ctx: &mut SyscallCtx<'_, '_>,
    sig: i64,
    act: u64,
    oldact: u64,
    size: u64,
) -> Result<u64> {
    check_sigsetsize(size)?;
    if !valid(sig) {
        return Err(Errno::EINVAL);
    }
    let sig = sig as i32;
    let new = if act != 0 {
        Some(SigAction::from(
            UserPtr::<KernelSigaction>::new(act).read()?,
        ))
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let process = ctx.process().clone();
    let old = {
        let mut actions = process.sig_actions();
        let old = actions.get(sig);
        if let Some(mut n) = new {
            n.mask = n.mask.blockable();
            actions.set(sig, n);
        }
        old
    };
    if let Some(n) = new {
        // Setting a signal to be ignored discards it where pending POSIX.
        let ignored = n.handler == SIG_IGN
            || n.handler == SIG_DFL
                && matches!(signal::default_action(sig), signal::DefaultAction::Ignore);
        if ignored {
            process.sig_pending().discard(sig);
            for t in process.state().threads.iter() {
                t.sig_pending().discard(sig);
            }
        }
    }
    if oldact != 0 {
        UserPtr::new(oldact).write(&KernelSigaction::from(old))?;
    }
    Ok(0)
}

pub(super) fn sys_rt_sigprocmask(
    ctx: &mut SyscallCtx<'_, '_>,
    how: u64,
    set: u64,
    oldset: u64,
    size: u64,
) -> Result<u64> {
    check_sigsetsize(size)?;
    let thread = ctx.thread();
    let old = thread.sig_mask();
    if set != 0 {
        let s = SigSet(user::read_u64(set)?);
        let new = match how {
            SIG_BLOCK => old.0 | s.0,
            SIG_UNBLOCK => old.0 & !s.0,
            SIG_SETMASK => s.0,
            _ => return Err(Errno::EINVAL),
        };
        thread.set_sig_mask(SigSet(new));
    }
    if oldset != 0 {
        user::write_u64(oldset, old.0)?;
    }
    Ok(0)
}

pub(super) fn sys_rt_sigreturn(ctx: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    let thread = ctx.thread().clone();
    match signal::sigreturn(&thread, ctx.frame()) {
        Ok(mask) => {
            thread.set_sig_mask(mask);
            ctx.regs_replaced();
            Ok(0)
        }
        Err(_) => {
            // A corrupt frame: Linux kills the process with SIGSEGV.
            process::exit_group(&thread, process::ExitStatus::Killed(SIGSEGV));
            ctx.regs_replaced();
            Ok(0)
        }
    }
}

pub(super) fn sys_rt_sigpending(
    ctx: &mut SyscallCtx<'_, '_>,
    set: u64,
    sigsetsize: u64,
) -> Result<u64> {
    check_sigsetsize(sigsetsize)?;
    let t = ctx.thread();
    let pending = t.sig_pending().set().0 | ctx.process().sig_pending().set().0;
    user::write_u64(set, pending & t.sig_mask().0)?;
    Ok(0)
}

/// Waits until the thread is interrupted (a signal to deliver, or its end).
fn wait_for_signal(deadline: Option<Instant>) -> Result<()> {
    wait_event(&[], deadline, || Ok(None::<()>))
}

pub(super) fn sys_rt_sigsuspend(
    ctx: &mut SyscallCtx<'_, '_>,
    mask: u64,
    sigsetsize: u64,
) -> Result<u64> {
    check_sigsetsize(sigsetsize)?;
    let mask = SigSet(user::read_u64(mask)?);
    let thread = ctx.thread();
    thread.set_saved_mask(thread.sig_mask());
    thread.set_sig_mask(mask);
    let r = wait_for_signal(None);
    debug_assert!(r.is_err());
    Err(Errno::EINTR)
}

pub(super) fn sys_pause(_: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    wait_for_signal(None)?;
    Err(Errno::EINTR)
}

pub(super) fn sys_rt_sigtimedwait(
    ctx: &mut SyscallCtx<'_, '_>,
    set: u64,
    info: u64,
    timeout: u64,
    size: u64,
) -> Result<u64> {
    check_sigsetsize(size)?;
    let wanted = SigSet(user::read_u64(set)?).blockable();
    let deadline = if timeout != 0 {
        Some(user::read_deadline(timeout)?)
    } else {
        None
    };
    let thread = ctx.thread().clone();
    // Take only signals in `wanted`: everything else counts as blocked.
    let not_wanted = SigSet(!wanted.0);
    let r = wait_event(&[], deadline, || Ok(thread.take_pending_signal(not_wanted)));
    let got = match r {
        Ok(i) => i,
        Err(Errno::ETIMEDOUT) => return Err(Errno::EAGAIN),
        Err(e) => return Err(e),
    };
    if info != 0 {
        UserPtr::new(info).write(&got.to_abi())?;
    }
    Ok(got.signo as u64)
}

pub(super) fn sys_sigaltstack(ctx: &mut SyscallCtx<'_, '_>, ss: u64, old: u64) -> Result<u64> {
    let thread = ctx.thread().clone();
    let sp = ctx.frame().regs().rsp;
    let cur = thread.altstack();
    if ss != 0 {
        let new = AltStack::from(UserPtr::<StackT>::new(ss).read()?);
        if cur.on_stack(sp) {
            return Err(Errno::EPERM);
        }
        let flags = new.flags & !SS_AUTODISARM;
        if flags != 0 && flags != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if flags == SS_DISABLE {
            thread.set_altstack(AltStack::default());
        } else {
            if new.size < signal::MIN_SIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            thread.set_altstack(AltStack { flags: 0, ..new });
        }
    }
    if old != 0 {
        UserPtr::new(old).write(&cur.to_abi(sp))?;
    }
    Ok(0)
}

pub(super) fn sys_kill(ctx: &mut SyscallCtx<'_, '_>, pid: i32, sig: i64) -> Result<u64> {
    if sig != 0 && !valid(sig) {
        return Err(Errno::EINVAL);
    }
    let sig = sig as i32;
    let me = ctx.process().pid();
    match pid {
        p if p > 0 => signal::kill_process(p, sig, me)?,
        0 => {
            // Read the group first: the state lock must not be held while
            // the group (which includes the caller) is signalled.
            let pgid = ctx.process().state().pgid;
            signal::kill_group(pgid, sig, me)?
        }
        -1 => signal::signal_all(sig, me)?,
        p if p == i32::MIN => return Err(Errno::ESRCH),
        p => signal::kill_group(-p, sig, me)?,
    }
    Ok(0)
}

fn thread_kill(ctx: &mut SyscallCtx<'_, '_>, tgid: Option<i32>, tid: i32, sig: i64) -> Result<u64> {
    if tid <= 0 || tgid.is_some_and(|g| g <= 0) || sig != 0 && !valid(sig) {
        return Err(Errno::EINVAL);
    }
    let target = process::get_thread(tid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| g != target.process().pid()) {
        return Err(Errno::ESRCH);
    }
    if sig != 0 {
        signal::send_to_thread(
            &target,
            SigInfo::user(sig as i32, SI_TKILL, ctx.process().pid()),
        );
    }
    Ok(0)
}

pub(super) fn sys_tkill(ctx: &mut SyscallCtx<'_, '_>, tid: i32, sig: i64) -> Result<u64> {
    thread_kill(ctx, None, tid, sig)
}

pub(super) fn sys_tgkill(
    ctx: &mut SyscallCtx<'_, '_>,
    tgid: i32,
    tid: i32,
    sig: i64,
) -> Result<u64> {
    thread_kill(ctx, Some(tgid), tid, sig)
}

pub(super) fn sys_alarm(ctx: &mut SyscallCtx<'_, '_>, seconds: u32) -> Result<u64> {
    let (old, _) = timer::set_real_timer(
        ctx.process(),
        Duration::from_secs(seconds as u64),
        Duration::ZERO,
    );
    // Linux rounds the remaining time to the nearest second, and reports at
    // least 1 for a timer still running.
    let mut s = old.as_secs() + u64::from(old.subsec_micros() >= 500_000);
    if s == 0 && !old.is_zero() {
        s = 1;
    }
    Ok(s)
}

fn write_itimerval(addr: u64, (value, interval): (Duration, Duration)) -> Result<()> {
    user::write_time(addr, interval, true)?;
    user::write_time(addr + 16, value, true)
}

pub(super) fn sys_setitimer(
    ctx: &mut SyscallCtx<'_, '_>,
    which: u64,
    new: u64,
    old: u64,
) -> Result<u64> {
    if which > ITIMER_PROF {
        return Err(Errno::EINVAL);
    }
    if which != ITIMER_REAL {
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(
                "{}: only ITIMER_REAL is supported (logged once)",
                ctx.process().exe_path()
            );
        }
        return Err(Errno::EINVAL);
    }
    let (interval, value) = if new != 0 {
        (user::read_timeval(new)?, user::read_timeval(new + 16)?)
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let prev = timer::set_real_timer(ctx.process(), value, interval);
    if old != 0 {
        write_itimerval(old, prev)?;
    }
    Ok(0)
}

pub(super) fn sys_getitimer(ctx: &mut SyscallCtx<'_, '_>, which: u64, cur: u64) -> Result<u64> {
    let v = match which {
        ITIMER_REAL => timer::real_timer(ctx.process()),
        1 | ITIMER_PROF => (Duration::ZERO, Duration::ZERO),
        _ => return Err(Errno::EINVAL),
    };
    write_itimerval(cur, v)?;
    Ok(0)
}

/// The signal a `rt_sigqueueinfo` caller describes: its own `si_code`,
/// `si_pid` and `si_value`. Codes the kernel uses (`>= 0`) and `SI_TKILL`
/// may only be sent to oneself (`EPERM`), as on Linux; signal 0 only checks.
fn queued_info(ctx: &SyscallCtx<'_, '_>, target: i32, sig: i64, addr: u64) -> Result<SigInfo> {
    if sig != 0 && !valid(sig) {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 32];
    user::read_into(addr, &mut raw)?;
    let code = i32::from_le_bytes(raw[8..12].try_into().expect("4 bytes"));
    let pid = i32::from_le_bytes(raw[16..20].try_into().expect("4 bytes"));
    let value = u64::from_le_bytes(raw[24..32].try_into().expect("8 bytes"));
    if (code >= 0 || code == SI_TKILL) && target != ctx.process().pid() {
        return Err(Errno::EPERM);
    }
    Ok(SigInfo::queued(sig as i32, code, pid, value))
}

pub(super) fn sys_rt_sigqueueinfo(
    ctx: &mut SyscallCtx<'_, '_>,
    tgid: i32,
    sig: i64,
    info: u64,
) -> Result<u64> {
    let info = queued_info(ctx, tgid, sig, info)?;
    let p = process::get_process(tgid).ok_or(Errno::ESRCH)?;
    if info.signo != 0 {
        signal::send_to_process(&p, info);
    }
    Ok(0)
}

pub(super) fn sys_rt_tgsigqueueinfo(
    ctx: &mut SyscallCtx<'_, '_>,
    tgid: i32,
    tid: i32,
    sig: i64,
    info: u64,
) -> Result<u64> {
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = queued_info(ctx, tgid, sig, info)?;
    let t = process::get_thread(tid)
        .filter(|t| t.process().pid() == tgid)
        .ok_or(Errno::ESRCH)?;
    if info.signo != 0 {
        signal::send_to_thread(&t, info);
    }
    Ok(0)
}

/// `pidfd_send_signal`: a signal to the process a pidfd names (`ESRCH`
/// once it has ended); `info`, if given, as for `rt_sigqueueinfo`.
pub(super) fn sys_pidfd_send_signal(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: i32,
    sig: i64,
    info: u64,
    flags: u64,
) -> Result<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = ctx.process().files().get(fd)?;
    let pidfd = crate::fs::downcast::<crate::fs::pidfd::PidFd>(f).ok_or(Errno::EBADF)?;
    let target = pidfd.process().clone();
    let info = if info != 0 {
        queued_info(ctx, target.pid(), sig, info)?
    } else {
        if sig != 0 && !valid(sig) {
            return Err(Errno::EINVAL);
        }
        SigInfo::user(sig as i32, signal::SI_USER, ctx.process().pid())
    };
    if target.exit_status().is_some() {
        return Err(Errno::ESRCH);
    }
    if info.signo != 0 {
        signal::send_to_process(&target, info);
    }
    Ok(0)
}
