//! Timers and signals as files: `timerfd_*`, the POSIX timers `timer_*`,
//! `signalfd`/`signalfd4`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use occlum_pal::host;

use super::SyscallCtx;
use crate::fs::signalfd::SignalFd;
use crate::fs::timerfd::TimerFd;
use crate::fs::{downcast, O_CLOEXEC, O_NONBLOCK};
use crate::process;
use crate::signal::posix_timer::Notify;
use crate::signal::{valid, SigSet};
use crate::user;
use crate::{Errno, Result};

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CLOCK_TAI: i32 = 11;
/// `TFD_TIMER_ABSTIME`, `TIMER_ABSTIME` (the only `timer_settime` flag).
const ABSTIME: u64 = 1;
/// `TFD_TIMER_CANCEL_ON_SET`: accepted; the LibOS's clock is never set.
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD_ID: i32 = 4;
/// A deadline past any program's lifetime, for values too large to add.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The clock a timer may run on: `EINVAL` for unknown ids; the CPU-time
/// clocks are not supported for timers (`ENOTSUP`).
fn timer_clock(id: u64, timerfd: bool) -> Result<i32> {
    match id as i32 {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_REALTIME_ALARM
        | CLOCK_BOOTTIME_ALARM => Ok(id as i32),
        CLOCK_TAI if !timerfd => Ok(id as i32),
        2 | 3 if !timerfd => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EINVAL),
    }
}

/// When `clock` shows `value` (with `absolute`), or `value` from now;
/// `None` for a zero value disarm.
fn deadline(clock: i32, value: Duration, absolute: bool) -> Result<Option<Instant>> {
    if value.is_zero() {
        return Ok(None);
    }
    let now = Instant::now();
    let wait = if absolute {
        let host_clock = match clock {
            CLOCK_REALTIME_ALARM => CLOCK_REALTIME,
            CLOCK_BOOTTIME_ALARM => CLOCK_BOOTTIME,
            c => c,
        };
        value.saturating_sub(host::clock_gettime(host_clock)?)
    } else {
        value
    };
    Ok(Some(now.checked_add(wait).unwrap_or(now + FAR)))
}

/// Reads a `struct itimerspec`: (interval, value).
fn read_itimerspec(addr: u64) -> Result<(Duration, Duration)> {
    Ok((user::read_timespec(addr)?, user::read_timespec(addr + 16)?))
}

/// Writes a `struct itimerspec` from (remaining, interval).
fn write_itimerspec(addr: u64, (value, interval): (Duration, Duration)) -> Result<()> {
    user::write_time(addr, interval, false)?;
    user::write_time(addr + 16, value, false)
}

/// The `settime` of a timerfd or POSIX timer on `clock`: arms it with the
/// `struct itimerspec` at `new` (a zero value disarms it) through `set`,
/// and writes the old setting to `old` (if not 0).
fn settime(
    clock: i32,
    absolute: bool,
    new: u64,
    old: u64,
    set: impl FnOnce(Option<Instant>, Duration) -> (Duration, Duration),
) -> Result<u64> {
    let (interval, value) = read_itimerspec(new)?;
    let first = deadline(clock, value, absolute)?;
    let prev = set(
        first,
        if first.is_some() {
            interval
        } else {
            Duration::ZERO
        },
    );
    if old != 0 {
        write_itimerspec(old, prev)?;
    }
    Ok(0)
}

fn timerfd(ctx: &SyscallCtx<'_, '_>, fd: u64) -> Result<Arc<TimerFd>> {
    let f = ctx.process().files().get(fd as i32)?;
    downcast::<TimerFd>(f).ok_or(Errno::EINVAL)
}

pub(super) fn sys_timerfd_create(
    ctx: &mut SyscallCtx<'_, '_>,
    clockid: u64,
    flags: u32,
) -> Result<u64> {
    let clock = timer_clock(clockid, true)?;
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = Arc::new(TimerFd::new(clock, flags & O_NONBLOCK));
    ctx.install(file, flags & O_CLOEXEC != 0)
}

pub(super) fn sys_timerfd_settime(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    flags: u64,
    new: u64,
    old: u64,
) -> Result<u64> {
    if flags & !(ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = timerfd(ctx, fd)?;
    settime(
        t.clock(),
        flags & ABSTIME != 0,
        new,
        old,
        |first, interval| t.set(first, interval),
    )
}

pub(super) fn sys_timerfd_gettime(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    curr_value: u64,
) -> Result<u64> {
    let t = timerfd(ctx, fd)?;
    write_itimerspec(curr_value, t.get())?;
    Ok(0)
}

pub(super) fn sys_timer_create(
    ctx: &mut SyscallCtx<'_, '_>,
    clock: u64,
    sevp: u64,
    id_out: u64,
) -> Result<u64> {
    let clock = timer_clock(clock, false)?;
    let (notify, value) = if sevp == 0 {
        (Notify::Process(crate::signal::nr::SIGALRM), None)
    } else {
        // struct sigevent: value, signo, notify, then the thread id.
        let mut ev = [0u8; 24];
        user::read_into(sevp, &mut ev)?;
        let value = u64::from_le_bytes(ev[0..8].try_into().expect("8 bytes"));
        let signo = i32::from_le_bytes(ev[8..12].try_into().expect("4 bytes"));
        let how = i32::from_le_bytes(ev[12..16].try_into().expect("4 bytes"));
        let tid = i32::from_le_bytes(ev[16..20].try_into().expect("4 bytes"));
        let notify = match how {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL if valid(signo.into()) => Notify::Process(signo),
            SIGEV_THREAD_ID if valid(signo.into()) => {
                let t = process::get_thread(tid)
                    .filter(|t| Arc::ptr_eq(t.process(), ctx.process()))
                    .ok_or(Errno::EINVAL)?;
                Notify::Thread(Arc::downgrade(&t), signo)
            }
            _ => return Err(Errno::EINVAL),
        };
        (notify, Some(value))
    };
    user::check_access(id_out, 4, crate::vm::PROT_WRITE)?;
    let process = ctx.process().clone();
    let id = process
        .posix_timers()
        .create(&process, clock, notify, value)?;
    if let Err(e) = user::write_bytes(id_out, &id.to_le_bytes()) {
        let _ = process.posix_timers().delete(id);
        return Err(e);
    }
    Ok(0)
}

pub(super) fn sys_timer_settime(
    ctx: &mut SyscallCtx<'_, '_>,
    id: i32,
    flags: u64,
    new: u64,
    old: u64,
) -> Result<u64> {
    if flags & !ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    let t = ctx.process().posix_timers().get(id)?;
    settime(
        t.clock(),
        flags & ABSTIME != 0,
        new,
        old,
        |first, interval| t.set(first, interval),
    )
}

pub(super) fn sys_timer_gettime(
    ctx: &mut SyscallCtx<'_, '_>,
    timerid: i32,
    curr_value: u64,
) -> Result<u64> {
    let t = ctx.process().posix_timers().get(timerid)?;
    write_itimerspec(curr_value, t.get())?;
    Ok(0)
}

pub(super) fn sys_timer_getoverrun(ctx: &mut SyscallCtx<'_, '_>, timerid: i32) -> Result<u64> {
    let t = ctx.process().posix_timers().get(timerid)?;
    Ok(t.overrun() as u64)
}

pub(super) fn sys_timer_delete(ctx: &mut SyscallCtx<'_, '_>, timerid: i32) -> Result<u64> {
    ctx.process().posix_timers().delete(timerid)?;
    Ok(0)
}

pub(super) fn sys_signalfd4(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: i32,
    mask: u64,
    size: u64,
    flags: u32,
) -> Result<u64> {
    if size != 8 || flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask = SigSet(user::read_u64(mask)?);
    if fd == -1 {
        let file = Arc::new(SignalFd::new(mask, flags & O_NONBLOCK));
        return ctx.install(file, flags & O_CLOEXEC != 0);
    }
    let f = ctx.process().files().get(fd)?;
    downcast::<SignalFd>(f).ok_or(Errno::EINVAL)?.set_mask(mask);
    Ok(fd as u64)
}

pub(super) fn sys_signalfd(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    mask: u64,
    sizemask: u64,
) -> Result<u64> {
    sys_signalfd4(ctx, fd as i32, mask, sizemask, 0)
}
