//! Memory syscalls: `brk`, `mmap`, `munmap`, `mprotect`, `mremap`, `madvise`.

use std::sync::Arc;

use occlum_pal::sealed::SealedPages;

use super::SyscallCtx;
use crate::fs::vfs::InodeRef;
use crate::fs::{downcast, File, FileType, InodeFile, O_ACCMODE, O_RDWR, O_WRONLY};
use crate::sync::lock;
use crate::vm::{FileMap, Placement, VmSpace, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

const MAP_TYPE: u64 = 0x0f;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
/// Flags `MAP_SHARED_VALIDATE` accepts (Linux's `LEGACY_MAP_MASK` and friends).
const MAP_KNOWN: u64 = 0x0f
    | 0x10
    | 0x20
    | 0x100
    | 0x800
    | 0x1000
    | 0x2000
    | 0x4000
    | 0x8000
    | 0x1_0000
    | 0x2_0000
    | 0x4_0000
    | 0x8_0000
    | 0x10_0000;
const PROT_GROWS: u64 = 0x0100_0000 | 0x0200_0000;
const PROT_SEM: u64 = 0x8;
const PROT_RWX: u64 = (PROT_READ | PROT_WRITE | PROT_EXEC) as u64;

const MREMAP_MAYMOVE: u64 = 1;
const MREMAP_FIXED: u64 = 2;
const MREMAP_DONTUNMAP: u64 = 4;

const MADV_NORMAL: u64 = 0;
const MADV_DONTNEED: u64 = 4;
const MADV_FREE: u64 = 8;

/// Runs `f` on the caller's address space.
fn with_vm<R>(ctx: &SyscallCtx<'_, '_>, f: impl FnOnce(&mut VmSpace) -> Result<R>) -> Result<R> {
    let vm = ctx.process().vm()?;
    let mut guard = lock(&vm);
    f(&mut guard)
}

/// `PROT_GROWSDOWN`: the change reaches down to the start of the
/// grows-down mapping (the stack).
const PROT_GROWSDOWN: u64 = 0x0100_0000;

/// `mprotect`'s checks (mm/mprotect.c): `PROT_SEM` is accepted and ignored;
/// `PROT_GROWSUP` needs a grows-up mapping, which x86 has not, and both
/// together are refused.
fn check_mprotect_prot(prot: u64) -> Result<u32> {
    if prot & !(PROT_RWX | PROT_SEM | PROT_GROWS) != 0 || prot & PROT_GROWS & !PROT_GROWSDOWN != 0 {
        return Err(Errno::EINVAL);
    }
    Ok((prot & PROT_RWX) as u32)
}

pub(super) fn sys_brk(ctx: &mut SyscallCtx<'_, '_>, addr: usize) -> Result<u64> {
    with_vm(ctx, |vm| Ok(vm.brk(addr) as u64))
}

pub(super) fn sys_mmap(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: usize,
    len: usize,
    prot: u64,
    flags: u64,
    fd: i32,
    offset: u64,
) -> Result<u64> {
    // mmap ignores protection bits it does not know, as Linux does.
    let prot = (prot & PROT_RWX) as u32;
    match flags & MAP_TYPE {
        MAP_SHARED | MAP_PRIVATE => {}
        MAP_SHARED_VALIDATE if flags & !MAP_KNOWN == 0 => {}
        MAP_SHARED_VALIDATE => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    if len == 0 || !offset.is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    let file = if flags & MAP_ANONYMOUS == 0 {
        mappable_file(ctx, fd, flags & MAP_TYPE != MAP_PRIVATE, prot)?
    } else {
        None
    };
    let placement = if flags & MAP_FIXED_NOREPLACE != 0 {
        Placement::FixedNoReplace(addr)
    } else if flags & MAP_FIXED != 0 {
        Placement::Fixed(addr)
    } else {
        Placement::Hint(addr)
    };
    if matches!(
        placement,
        Placement::Fixed(_) | Placement::FixedNoReplace(_)
    ) && !addr.is_multiple_of(4096)
    {
        return Err(Errno::EINVAL);
    }
    let Some((inode, may_write, path)) = file else {
        let shared = flags & MAP_TYPE != MAP_PRIVATE;
        let addr = with_vm(ctx, |vm| {
            if shared {
                vm.map_shared_anon(placement, len, prot)
            } else {
                vm.map(placement, len, prot)
            }
        })?;
        return Ok(addr as u64);
    };
    let shared = flags & MAP_TYPE != MAP_PRIVATE;
    if shared {
        if let Some(mem) = inode.shared_memory()? {
            // The file's own pages: one copy for every mapping.
            return with_vm(ctx, |vm| {
                let addr = vm.map_shared(placement, len, prot, mem, offset)?;
                let end = addr + crate::vm::page_up(len).ok_or(Errno::ENOMEM)?;
                vm.add_file_map(FileMap {
                    start: addr,
                    end,
                    valid_end: end,
                    inode,
                    offset,
                    shared,
                    may_write,
                    live: true,
                    path: path.clone(),
                })?;
                Ok(addr as u64)
            });
        }
    }
    // A private mapping of a file that cannot change shares its pages.
    let sealed = if shared {
        None
    } else {
        crate::fs::program::sealed_file(&inode, len as u64)?
    };
    with_vm(ctx, |vm| {
        // A shared library's mapping may come prepatched (`vm/library.rs`),
        // its stubs below it.
        let mut library = sealed
            .as_ref()
            .and_then(|p| vm.library_map(p, placement, (len, offset, prot)));
        let stub_room = library.as_ref().map_or(0, |l| l.stub_room);
        let at = vm.map(placement, len + stub_room, PROT_READ | PROT_WRITE)?;
        let addr = at + stub_room;
        let end = addr + crate::vm::page_up(len).ok_or(Errno::ENOMEM)?;
        let filled = match (&mut library, &sealed) {
            (Some(l), _) => vm
                .prepare_library_map(l, addr)
                .and_then(|()| map_sealed_file(vm, &l.pages.clone(), addr, len, offset)),
            (None, Some(pages)) => map_sealed_file(vm, pages, addr, len, offset),
            (None, None) => fill_from_file(vm, &inode, addr, len, offset),
        };
        let filled = match filled {
            Ok(n) => n,
            Err(e) => {
                let _ = vm.unmap(at, len + stub_room);
                return Err(e);
            }
        };
        vm.protect(addr, len, prot)?;
        if let Some(l) = library {
            vm.library_mapped(l);
        }
        let valid_end = (addr + crate::vm::page_up(filled).unwrap_or(filled)).min(end);
        vm.add_file_map(FileMap {
            start: addr,
            end,
            valid_end,
            inode,
            offset,
            shared,
            may_write,
            live: false,
            path,
        })?;
        Ok(addr as u64)
    })
}

/// A file to map: its inode, whether it is open for writing, its path.
type MappableFile = (InodeRef, bool, Arc<[u8]>);

/// The inode of `fd` if it can be mapped as asked, whether it is open for
/// writing, and its path; `None` for devices that map as zero pages
/// (`/dev/zero`).
fn mappable_file(
    ctx: &SyscallCtx<'_, '_>,
    fd: i32,
    shared: bool,
    prot: u32,
) -> Result<Option<MappableFile>> {
    let f = ctx.process().files().get(fd)?;
    let f = downcast::<InodeFile>(f).ok_or(Errno::ENODEV)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let inode = f.inode().clone();
    match inode.kind() {
        FileType::Regular => {}
        FileType::CharDevice => return Ok(None),
        _ => return Err(Errno::ENODEV),
    }
    let acc = f.status_flags() & O_ACCMODE;
    if acc == O_WRONLY {
        return Err(Errno::EACCES);
    }
    if shared && prot & PROT_WRITE != 0 && acc != O_RDWR {
        return Err(Errno::EACCES);
    }
    Ok(Some((
        inode,
        acc == O_RDWR,
        crate::fs::vfs::visible_path(&f.loc()).into(),
    )))
}

/// Maps the sealed file's pages from `offset` over the new mapping at
/// `addr`; returns how many bytes of the file there were.
fn map_sealed_file(
    vm: &mut VmSpace,
    pages: &Arc<SealedPages>,
    addr: usize,
    len: usize,
    offset: u64,
) -> Result<usize> {
    let offset = usize::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
    let avail = pages.len().saturating_sub(offset).min(len);
    if avail > 0 {
        let mapped = crate::vm::page_up(avail).ok_or(Errno::ENOMEM)?;
        vm.map_sealed(addr, mapped, PROT_READ, pages, offset)?;
    }
    Ok(avail)
}

/// Copies the file's bytes from `offset` into the new mapping at `addr`;
/// returns how many there were.
fn fill_from_file(
    vm: &VmSpace,
    inode: &InodeRef,
    addr: usize,
    len: usize,
    offset: u64,
) -> Result<usize> {
    let size = inode.metadata()?.size;
    let want = (size.saturating_sub(offset) as usize).min(len);
    let mut buf = vec![0u8; want.min(1 << 20)];
    let mut done = 0;
    while done < want {
        let n = (want - done).min(buf.len());
        let got = inode.read_at(offset + done as u64, &mut buf[..n])?;
        if got == 0 {
            break;
        }
        vm.write_user(addr + done, &buf[..got])?;
        done += got;
    }
    Ok(done)
}

pub(super) fn sys_munmap(ctx: &mut SyscallCtx<'_, '_>, addr: usize, length: usize) -> Result<u64> {
    with_vm(ctx, |vm| vm.unmap(addr, length))?;
    Ok(0)
}

pub(super) fn sys_mprotect(
    ctx: &mut SyscallCtx<'_, '_>,
    mut addr: usize,
    mut len: usize,
    prot: u64,
) -> Result<u64> {
    let want = check_mprotect_prot(prot)?;
    with_vm(ctx, |vm| {
        if prot & PROT_GROWSDOWN != 0 {
            // From the start of the stack mapping up to the range's end;
            // EINVAL outside a grows-down mapping, as on Linux.
            if !addr.is_multiple_of(4096) {
                return Err(Errno::EINVAL);
            }
            let start = vm.grows_down_start(addr).ok_or(Errno::EINVAL)?;
            len = (addr - start).checked_add(len).ok_or(Errno::ENOMEM)?;
            addr = start;
        }
        if want & PROT_WRITE != 0 {
            let len = crate::vm::page_up(len).ok_or(Errno::ENOMEM)?;
            vm.check_shared_write(addr, addr.saturating_add(len))?;
        }
        vm.protect(addr, len, want)
    })?;
    Ok(0)
}

const MS_ASYNC: u64 = 1;
const MS_INVALIDATE: u64 = 2;
const MS_SYNC: u64 = 4;

pub(super) fn sys_msync(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: usize,
    len: usize,
    flags: u64,
) -> Result<u64> {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
        || !addr.is_multiple_of(4096)
    {
        return Err(Errno::EINVAL);
    }
    let len = crate::vm::page_up(len).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
    with_vm(ctx, |vm| {
        if len > 0 && !vm.allows(addr, len, 0) {
            return Err(Errno::ENOMEM);
        }
        vm.write_back(addr, end)
    })?;
    Ok(0)
}

pub(super) fn sys_mremap(
    ctx: &mut SyscallCtx<'_, '_>,
    old: usize,
    old_len: usize,
    new_len: usize,
    flags: u64,
    new_addr: usize,
) -> Result<u64> {
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        // Needs a second mapping of the same pages; not supported yet.
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & MREMAP_FIXED != 0).then_some(new_addr);
    if fixed.is_some_and(|a| a % 4096 != 0) {
        return Err(Errno::EINVAL);
    }
    let may_move = flags & MREMAP_MAYMOVE != 0;
    let addr = with_vm(ctx, |vm| {
        let source = vm.private_file_at(old);
        let addr = vm.remap(old, old_len, new_len, may_move, fixed)?;
        // A private file mapping that grew shows the file's next bytes.
        let (Some(old_len), Some(new_len)) =
            (crate::vm::page_up(old_len), crate::vm::page_up(new_len))
        else {
            return Ok(addr);
        };
        if let Some((inode, offset, prot)) = source.filter(|_| new_len > old_len) {
            let grown = new_len - old_len;
            vm.protect(addr + old_len, grown, PROT_READ | PROT_WRITE)?;
            let filled = fill_from_file(vm, &inode, addr + old_len, grown, offset + old_len as u64);
            vm.protect(addr + old_len, grown, prot)?;
            filled?;
        }
        Ok(addr)
    })?;
    Ok(addr as u64)
}

pub(super) fn sys_madvise(
    ctx: &mut SyscallCtx<'_, '_>,
    addr: usize,
    len: usize,
    advice: u64,
) -> Result<u64> {
    // NORMAL..DONTNEED, FREE, and DONTFORK..COLLAPSE; REMOVE needs a shared
    // mapping and HWPOISON/SOFT_OFFLINE real pages: EINVAL, as for unknown
    // values.
    let known = matches!(advice, MADV_NORMAL..=MADV_DONTNEED | MADV_FREE | 10..=25);
    if !known
        || (addr as u64)
            .checked_add(len as u64)
            .is_none_or(|e| e > isize::MAX as u64)
    {
        return Err(Errno::EINVAL);
    }
    with_vm(ctx, |vm| {
        if advice == MADV_DONTNEED || advice == MADV_FREE {
            vm.discard(addr, len)
        } else {
            vm.check_mapped(addr, len).map(|_| ())
        }
    })?;
    Ok(0)
}
