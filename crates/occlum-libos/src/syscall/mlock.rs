//! Page residency and placement: `mincore` (from the host's page tables:
//! the guest's pages are the host's); the `mlock` family, which succeeds
//! on mapped memory as for a root process (the LibOS never swaps, so every
//! page in memory stays there); and the NUMA memory policies
//! (`set_mempolicy`, `get_mempolicy`, `mbind`) of a machine with one node,
//! checked and kept as Linux does.

use super::SyscallCtx;
use crate::user;
use crate::vm::{page_up, PROT_WRITE};
use crate::{Errno, Result};
use occlum_pal::uspace::PAGE_SIZE;

const MCL_CURRENT: u64 = 1;
const MCL_FUTURE: u64 = 2;
const MCL_ONFAULT: u64 = 4;
const MLOCK_ONFAULT: u64 = 1;

pub(super) fn sys_mincore(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: usize,
    len: usize,
    vec: u64,
) -> Result<u64> {
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

pub(super) fn sys_mlock(ctx: &mut SyscallCtx<'_, '_>, addr: u64, len: u64) -> Result<u64> {
    lock_range(ctx, addr, len)?;
    Ok(0)
}

pub(super) fn sys_mlock2(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: u64,
    len: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !MLOCK_ONFAULT != 0 {
        return Err(Errno::EINVAL);
    }
    lock_range(ctx, addr, len)?;
    Ok(0)
}

pub(super) fn sys_munlock(ctx: &mut SyscallCtx<'_, '_>, addr: u64, len: u64) -> Result<u64> {
    lock_range(ctx, addr, len)?;
    Ok(0)
}

pub(super) fn sys_mlockall(_: &mut SyscallCtx<'_, '_>, flags: u64) -> Result<u64> {
    if flags == 0
        || flags & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0
        || flags & (MCL_CURRENT | MCL_FUTURE) == 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub(super) fn sys_munlockall(_: &mut SyscallCtx<'_, '_>) -> Result<u64> {
    Ok(0)
}

const MPOL_DEFAULT: i32 = 0;
const MPOL_PREFERRED: i32 = 1;
const MPOL_LOCAL: i32 = 4;
const MPOL_MAX: i32 = 6;
/// `MPOL_F_STATIC_NODES`, `MPOL_F_RELATIVE_NODES`, `MPOL_F_NUMA_BALANCING`.
const MPOL_MODE_FLAGS: i32 = (1 << 15) | (1 << 14) | (1 << 13);
const MPOL_F_NODE: u64 = 1;
const MPOL_F_ADDR: u64 = 2;
const MPOL_F_MEMS_ALLOWED: u64 = 4;
const MPOL_MF_VALID: u64 = 1 | 2 | 4;
/// The LibOS's nodes: node 0.
const NODES: u64 = 1;

/// Most bits a node mask argument may have (a page of them, as on Linux).
const MAX_NODE_BITS: u64 = 4096 * 8;

/// Reads a node mask of `maxnode` bits (Linux reads `maxnode - 1`).
fn read_nodes(addr: u64, maxnode: u64) -> Result<u64> {
    if maxnode > MAX_NODE_BITS {
        return Err(Errno::EINVAL);
    }
    if addr == 0 || maxnode <= 1 {
        return Ok(0);
    }
    let bits = maxnode - 1;
    let mut mask = user::read_u64(addr)?;
    if bits < 64 {
        mask &= (1 << bits) - 1;
    }
    Ok(mask)
}

/// Checks a policy mode and its nodes as `set_mempolicy` and `mbind` do.
fn check_policy(mode: i32, nodes: u64) -> Result<()> {
    let base = mode & !MPOL_MODE_FLAGS;
    if !(0..=MPOL_MAX).contains(&base) || mode < 0 {
        return Err(Errno::EINVAL);
    }
    match base {
        MPOL_DEFAULT | MPOL_LOCAL if nodes != 0 || mode != base => Err(Errno::EINVAL),
        MPOL_DEFAULT | MPOL_LOCAL | MPOL_PREFERRED => Ok(()),
        _ if nodes & NODES == 0 => Err(Errno::EINVAL),
        _ => Ok(()),
    }
}

pub(super) fn sys_set_mempolicy(
    ctx: &mut SyscallCtx<'_, '_>,
    mode: i32,
    nodemask: u64,
    maxnode: u64,
) -> Result<u64> {
    let nodes = read_nodes(nodemask, maxnode)?;
    check_policy(mode, nodes)?;
    ctx.thread().sched().mempolicy = (mode, nodes & NODES);
    Ok(0)
}

pub(super) fn sys_get_mempolicy(
    ctx: &mut SyscallCtx<'_, '_>,
    mode_out: u64,
    nodes_out: u64,
    maxnode: u64,
    addr: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED) != 0
        || (flags & MPOL_F_MEMS_ALLOWED != 0 && flags & (MPOL_F_NODE | MPOL_F_ADDR) != 0)
        || (nodes_out != 0 && !(1..=MAX_NODE_BITS).contains(&maxnode))
    {
        return Err(Errno::EINVAL);
    }
    let (mode, nodes) = if flags & MPOL_F_MEMS_ALLOWED != 0 {
        (MPOL_DEFAULT, NODES)
    } else if flags & MPOL_F_ADDR != 0 {
        let page = (addr as usize) & !(PAGE_SIZE - 1);
        let vm = ctx.process().vm()?;
        if crate::sync::lock(&vm)
            .check_mapped(page, PAGE_SIZE)
            .is_err()
        {
            return Err(Errno::EFAULT);
        }
        // Mappings keep no policy of their own: the node, or the default.
        (
            if flags & MPOL_F_NODE != 0 {
                0
            } else {
                MPOL_DEFAULT
            },
            0,
        )
    } else if flags & MPOL_F_NODE != 0 {
        return Err(Errno::EINVAL);
    } else {
        ctx.thread().sched().mempolicy
    };
    if mode_out != 0 {
        user::write_i32(mode_out, mode)?;
    }
    if nodes_out != 0 {
        let longs = (maxnode as usize).div_ceil(64).max(1);
        let mut out = vec![0u8; longs * 8];
        out[..8].copy_from_slice(&nodes.to_le_bytes());
        user::write_bytes(nodes_out, &out)?;
    }
    Ok(0)
}

pub(super) fn sys_mbind(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: usize,
    len: usize,
    mode: i32,
    nodemask: u64,
    maxnode: u64,
    flags: u64,
) -> Result<u64> {
    if !addr.is_multiple_of(PAGE_SIZE) || flags & !MPOL_MF_VALID != 0 {
        return Err(Errno::EINVAL);
    }
    let nodes = read_nodes(nodemask, maxnode)?;
    check_policy(mode, nodes)?;
    let len = page_up(len).ok_or(Errno::EINVAL)?;
    if len > 0 {
        let vm = ctx.process().vm()?;
        if crate::sync::lock(&vm).check_mapped(addr, len).is_err() {
            return Err(Errno::EFAULT);
        }
    }
    Ok(0)
}
