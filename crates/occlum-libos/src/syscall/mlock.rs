//! Page residency: `mincore` (from the host's page tables: the guest's
//! pages are the host's), and the `mlock` family, which succeeds on mapped
//! memory as for a root process: the LibOS never swaps, so every page that
//! is in memory stays there.

use super::SyscallCtx;
use crate::user;
use crate::vm::{page_up, PROT_WRITE};
use crate::{Errno, Result};
use occlum_pal::uspace::PAGE_SIZE;

const MCL_CURRENT: u64 = 1;
const MCL_FUTURE: u64 = 2;
const MCL_ONFAULT: u64 = 4;
const MLOCK_ONFAULT: u64 = 1;

pub(super) fn sys_mincore(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let (addr, len, vec) = (a[0] as usize, a[1] as usize, a[2]);
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    let pages = len / PAGE_SIZE;
    user::check_access(vec, pages, PROT_WRITE)?;
    let vm = ctx.process().vm()?;
    let resident = {
        let vm = crate::sync::lock(&vm);
        vm.check_mapped(addr, len)?;
        let space = occlum_pal::uspace::get().ok_or(Errno::ENOMEM)?;
        space.resident_pages(addr, len)?
    };
    let bytes: Vec<u8> = resident.into_iter().map(u8::from).collect();
    user::write_bytes(vec, &bytes)?;
    Ok(0)
}

/// The page range `mlock`/`munlock` act on: `addr` rounded down, the end
/// rounded up; `ENOMEM` unless it is all mapped.
fn lock_range(ctx: &SyscallCtx<'_, '_>, addr: u64, len: u64) -> Result<()> {
    let start = (addr as usize) & !(PAGE_SIZE - 1);
    let end = (addr as usize)
        .checked_add(len as usize)
        .and_then(page_up)
        .ok_or(Errno::ENOMEM)?;
    if end == start {
        return Ok(());
    }
    let vm = ctx.process().vm()?;
    let vm = crate::sync::lock(&vm);
    vm.check_mapped(start, end - start).map(|_| ())
}

pub(super) fn sys_mlock(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    lock_range(ctx, a[0], a[1])?;
    Ok(0)
}

pub(super) fn sys_mlock2(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    if a[2] & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock_range(ctx, a[0], a[1])?;
    Ok(0)
}

pub(super) fn sys_munlock(ctx: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    lock_range(ctx, a[0], a[1])?;
    Ok(0)
}

pub(super) fn sys_mlockall(_: &mut SyscallCtx<'_, '_>, a: [u64; 6]) -> Result<u64> {
    let flags = a[0];
    if flags == 0
        || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
        || flags & (MCL_CURRENT | MCL_FUTURE) == 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub(super) fn sys_munlockall(_: &mut SyscallCtx<'_, '_>, _: [u64; 6]) -> Result<u64> {
    Ok(0)
}
