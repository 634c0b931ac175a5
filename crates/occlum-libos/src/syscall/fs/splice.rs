//! Moving data through pipes without user buffers: `splice`, `tee`,
//! `vmsplice`. The LibOS copies through its own memory (no page
//! stealing), which programs cannot tell apart.

use super::io::{copy_between, position, At};
use super::{file, SyscallCtx};
use crate::fs::{pipe, FileRef, O_ACCMODE, O_APPEND, O_WRONLY};
use crate::user;
use crate::{Errno, Result};

/// Whether `f` was opened read-only (pipes' read ends and files with a
/// path keep their access mode; other files accept both directions).
fn read_only(f: &FileRef) -> bool {
    (f.location().is_some() || pipe::is_pipe(f)) && f.status_flags() & O_ACCMODE == 0
}

const SPLICE_F_NONBLOCK: u64 = 2;
const SPLICE_F_ALL: u64 = 1 | 2 | 4 | 8;
/// Most bytes one call moves (Linux moves at most a pipe's worth).
const SPLICE_MAX: usize = 1 << 20;

pub(in crate::syscall) fn sys_splice(
    ctx: &mut SyscallCtx<'_, '_>,
    fd_in: u64,
    off_in: u64,
    fd_out: u64,
    off_out: u64,
    len: usize,
    flags: u64,
) -> Result<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (inp, out) = (file(ctx, fd_in)?, file(ctx, fd_out)?);
    if inp.status_flags() & O_ACCMODE == O_WRONLY || read_only(&out) {
        return Err(Errno::EBADF);
    }
    let (in_pipe, out_pipe) = (pipe::is_pipe(&inp), pipe::is_pipe(&out));
    if !in_pipe && !out_pipe || out.status_flags() & O_APPEND != 0 || pipe::same_pipe(&inp, &out) {
        return Err(Errno::EINVAL);
    }
    if (in_pipe && off_in != 0) || (out_pipe && off_out != 0) {
        return Err(Errno::ESPIPE);
    }
    let at = |ptr: u64| -> Result<At> {
        if ptr == 0 {
            Ok(At::Offset)
        } else {
            position(user::read_u64(ptr)?)
        }
    };
    let (src_at, dst_at) = (at(off_in)?, at(off_out)?);
    if len == 0 {
        return Ok(0);
    }
    if in_pipe && flags & SPLICE_F_NONBLOCK != 0 {
        // Empty: end of file without writers, else EAGAIN.
        if pipe::peek(&inp, 1, true)
            .transpose()?
            .is_some_and(|b| b.is_empty())
        {
            return Ok(0);
        }
    }
    let n = copy_between(ctx, &inp, src_at, &out, dst_at, len.min(SPLICE_MAX))?;
    for (ptr, at) in [(off_in, src_at), (off_out, dst_at)] {
        if let At::Pos(p) = at {
            user::write_u64(ptr, p + n as u64)?;
        }
    }
    Ok(n as u64)
}

pub(in crate::syscall) fn sys_tee(
    ctx: &mut SyscallCtx<'_, '_>,
    fd_in: u64,
    fd_out: u64,
    len: usize,
    flags: u64,
) -> Result<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (inp, out) = (file(ctx, fd_in)?, file(ctx, fd_out)?);
    if !pipe::is_pipe(&inp) || !pipe::is_pipe(&out) || pipe::same_pipe(&inp, &out) {
        return Err(Errno::EINVAL);
    }
    if inp.status_flags() & O_ACCMODE == O_WRONLY || read_only(&out) {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let data = pipe::peek(&inp, len.min(pipe::PIPE_CAPACITY), nonblock).ok_or(Errno::EINVAL)??;
    if data.is_empty() {
        return Ok(0);
    }
    Ok(out.write(&data)? as u64)
}

pub(in crate::syscall) fn sys_vmsplice(
    ctx: &mut SyscallCtx<'_, '_>,
    fd: u64,
    iov: u64,
    nr_segs: u64,
    flags: u64,
) -> Result<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(ctx, fd)?;
    if !pipe::is_pipe(&f) {
        return Err(Errno::EBADF);
    }
    if f.status_flags() & O_ACCMODE == O_WRONLY {
        super::io::sys_writev(ctx, fd, iov, nr_segs)
    } else {
        super::io::sys_readv(ctx, fd, iov, nr_segs)
    }
}
