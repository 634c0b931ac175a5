//! Time syscalls: clocks and sleeps, served from the host's clocks, and
//! the clock's discipline state (`adjtimex`), read only.

use std::time::{Duration, Instant};

use occlum_pal::host;

use super::SyscallCtx;
use crate::process::wait_event;
use crate::user;
use crate::{Errno, Result};

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_BOOTTIME: i32 = 7;
const TIMER_ABSTIME: u64 = 1;

fn clock_id(a: u64) -> Result<i32> {
    let id = a as i32;
    // REALTIME, MONOTONIC, PROCESS/THREAD_CPUTIME_ID, MONOTONIC_RAW, the
    // COARSE clocks, BOOTTIME, the ALARM clocks and TAI. (CPU-time clocks of
    // other threads, negative ids, would name host threads: refused.)
    if (0..=9).contains(&id) || id == 11 {
        Ok(id)
    } else {
        Err(Errno::EINVAL)
    }
}

pub(super) fn sys_clock_gettime(_: &mut SyscallCtx<'_, '_>, clockid: u64, tp: u64) -> Result<u64> {
    let t = host::clock_gettime(clock_id(clockid)?)?;
    user::write_time(tp, t, false)?;
    Ok(0)
}

pub(super) fn sys_clock_getres(_: &mut SyscallCtx<'_, '_>, clockid: u64, res: u64) -> Result<u64> {
    let t = host::clock_getres(clock_id(clockid)?)?;
    if res != 0 {
        user::write_time(res, t, false)?;
    }
    Ok(0)
}

pub(super) fn sys_gettimeofday(_: &mut SyscallCtx<'_, '_>, tv: u64, tz: u64) -> Result<u64> {
    if tv != 0 {
        user::write_time(tv, host::clock_gettime(CLOCK_REALTIME)?, true)?;
    }
    if tz != 0 {
        // struct timezone: minutes west of Greenwich and DST type, both 0 UTC.
        user::write_bytes(tz, &[0u8; 8])?;
    }
    Ok(0)
}

pub(super) fn sys_time(_: &mut SyscallCtx<'_, '_>, tloc: u64) -> Result<u64> {
    let secs = host::clock_gettime(CLOCK_REALTIME)?.as_secs();
    if tloc != 0 {
        user::write_u64(tloc, secs)?;
    }
    Ok(secs)
}

/// Sleeps for `d` unless interrupted; on `EINTR`, writes the time left to
/// `rem` (if not 0).
fn sleep(d: Duration, rem: u64) -> Result<u64> {
    let deadline = Instant::now() + d.min(Duration::from_secs(u32::MAX as u64));
    match wait_event(&[], Some(deadline), || Ok(None::<()>)) {
        Err(Errno::ETIMEDOUT) => Ok(0),
        Err(Errno::EINTR) => {
            if rem != 0 {
                user::write_time(
                    rem,
                    deadline.saturating_duration_since(Instant::now()),
                    false,
                )?;
            }
            Err(Errno::EINTR)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(0),
    }
}

pub(super) fn sys_nanosleep(_: &mut SyscallCtx<'_, '_>, req: u64, rem: u64) -> Result<u64> {
    sleep(user::read_timespec(req)?, rem)
}

pub(super) fn sys_clock_nanosleep(
    _: &mut SyscallCtx<'_, '_>,
    clock: i32,
    flags: u64,
    req: u64,
    remain: u64,
) -> Result<u64> {
    if !matches!(clock, CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME) {
        return Err(Errno::EINVAL);
    }
    let t = user::read_timespec(req)?;
    if flags & TIMER_ABSTIME != 0 {
        let now = host::clock_gettime(clock)?;
        return sleep(t.saturating_sub(now), 0);
    }
    sleep(t, remain)
}

/// `adjtimex`/`clock_adjtime` on the real-time clock: reading the host
/// clock's state works; changing it is refused (`EPERM`): the LibOS never
/// sets the host's clock.
fn clock_discipline(buf: u64) -> Result<u64> {
    let modes = user::read_u32(buf)?;
    // ADJ_OFFSET_SS_READ (0xa001) reads too.
    if modes != 0 && modes != 0xa001 {
        return Err(Errno::EPERM);
    }
    let (state, raw) = host::clock_discipline()?;
    user::write_bytes(buf, &raw)?;
    Ok(state as u64)
}

pub(super) fn sys_adjtimex(_: &mut SyscallCtx<'_, '_>, buf: u64) -> Result<u64> {
    clock_discipline(buf)
}

pub(super) fn sys_clock_adjtime(_: &mut SyscallCtx<'_, '_>, clockid: i32, buf: u64) -> Result<u64> {
    match clockid {
        CLOCK_REALTIME => clock_discipline(buf),
        _ => Err(Errno::EINVAL),
    }
}
