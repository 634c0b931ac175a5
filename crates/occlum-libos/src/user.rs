//! Access to user memory: every user pointer goes through these helpers, which
//! use the PAL's checked copies (bad pointers give `EFAULT`).

use occlum_pal::uspace::{self, UserSpace};

use crate::abi::{Iovec, Timespec, Timeval, UserPtr};
use crate::process::with_current;
use crate::sync::lock;
use crate::vm::{PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

/// Longest path or string argument accepted from user space, with its NUL.
pub const MAX_STRING: usize = 4096;

fn space() -> Result<&'static UserSpace> {
    uspace::get().ok_or(Errno::EFAULT)
}

/// Checks that the calling process has `[addr, addr+len)` mapped with
/// protection `prot` (`EFAULT` otherwise): another process's memory, though in
/// the same region, is not the caller's to name.
pub fn check_access(addr: u64, len: usize, prot: u32) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let Some(vm) = with_current(|t| t.process().vm()) else {
        return Ok(());
    };
    let vm = vm?;
    let allowed = lock(&vm).allows(addr as usize, len, prot);
    if allowed {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Copies `len` bytes from user address `addr`.
pub fn read_bytes(addr: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    read_into(addr, &mut buf)?;
    Ok(buf)
}

/// Copies user memory at `addr` into `buf`.
pub fn read_into(addr: u64, buf: &mut [u8]) -> Result<()> {
    check_access(addr, buf.len(), PROT_READ)?;
    space()?.read(addr as usize, buf)
}

/// Copies `data` to user address `addr`.
pub fn write_bytes(addr: u64, data: &[u8]) -> Result<()> {
    check_access(addr, data.len(), PROT_WRITE)?;
    space()?.write(addr as usize, data)
}

/// Copies `data` to `addr` without asking the caller's memory map: for an
/// address space being built (the program loader), which is not yet the
/// caller's, or a range just checked with [`check_access`]. A fault still
/// gives `EFAULT`.
pub fn write_bytes_unchecked(addr: u64, data: &[u8]) -> Result<()> {
    space()?.write(addr as usize, data)
}

/// Appends `len` bytes of user memory at `addr` to `out`, without asking
/// the caller's memory map (for a range just checked with
/// [`check_access`]); on a fault, `EFAULT` and `out` unchanged.
pub fn read_append_unchecked(addr: u64, len: usize, out: &mut Vec<u8>) -> Result<()> {
    space()?.read_append(addr as usize, len, out)
}

/// Reads a little-endian `u64` at `addr`.
pub fn read_u64(addr: u64) -> Result<u64> {
    let mut b = [0u8; 8];
    read_into(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Writes a little-endian `u64` at `addr`.
pub fn write_u64(addr: u64, v: u64) -> Result<()> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Reads a `u32` at `addr`.
pub fn read_u32(addr: u64) -> Result<u32> {
    let mut b = [0u8; 4];
    read_into(addr, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Atomically replaces the `u32` at `addr` with `new` if it equals
/// `expected`; returns the value found.
pub fn cmpxchg_u32(addr: u64, expected: u32, new: u32) -> Result<u32> {
    check_access(addr, 4, PROT_WRITE)?;
    space()?.cmpxchg_u32(addr as usize, expected, new)
}

/// A list of byte strings (`argv`, `envp`).
pub type Strings = Vec<Vec<u8>>;

/// Reads the string pointers of the NULL-terminated array at `addr` (none
/// if `addr` is 0), stopping with `E2BIG` once their `8 * n` bytes would
/// reach `limit` bytes.
fn read_pointer_array(addr: u64, limit: usize) -> Result<Vec<u64>> {
    let mut ptrs = Vec::new();
    if addr == 0 {
        return Ok(ptrs);
    }
    loop {
        if (ptrs.len() + 1) * 8 >= limit {
            return Err(Errno::E2BIG);
        }
        match read_u64(addr + 8 * ptrs.len() as u64)? {
            0 => return Ok(ptrs),
            p => ptrs.push(p),
        }
    }
}

/// Reads `execve`'s `argv` and `envp` as Linux does: the pointer arrays
/// first (`EFAULT` if unreadable), then the strings; `E2BIG` when a string
/// is longer than [`MAX_ARG_STRLEN`] or when the pointers (at least one for
/// `argv`) and the strings together reach `limit` bytes.
pub fn read_exec_args(argv: u64, envp: u64, limit: usize) -> Result<(Strings, Strings)> {
    let argv = read_pointer_array(argv, limit)?;
    let envp = read_pointer_array(envp, limit)?;
    let ptr_bytes = (argv.len().max(1) + envp.len()) * 8;
    let mut left = limit.checked_sub(ptr_bytes).ok_or(Errno::E2BIG)?;
    let mut read = |ptrs: Vec<u64>| -> Result<Strings> {
        ptrs.into_iter()
            .map(|p| {
                let s = read_cstring(p, MAX_ARG_STRLEN).map_err(|e| match e {
                    Errno::ENAMETOOLONG => Errno::E2BIG,
                    e => e,
                })?;
                left = left.checked_sub(s.len() + 1).ok_or(Errno::E2BIG)?;
                Ok(s)
            })
            .collect()
    };
    let argv = read(argv)?;
    let envp = read(envp)?;
    Ok((argv, envp))
}

/// The bytes of the initial stack that `argv` and `envp` take as Linux
/// counts them against its limit: the strings and one pointer each (at
/// least one for `argv`).
pub fn exec_args_size(argv: &[Vec<u8>], envp: &[Vec<u8>]) -> usize {
    let strings: usize = argv.iter().chain(envp).map(|s| s.len() + 1).sum();
    strings + (argv.len().max(1) + envp.len()) * 8
}

/// Longest single argument or environment string (Linux's `MAX_ARG_STRLEN`).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Writes a little-endian `i32` at `addr`.
pub fn write_i32(addr: u64, v: i32) -> Result<()> {
    write_bytes(addr, &v.to_le_bytes())
}

/// Reads a NUL-terminated string of at most `max` bytes (NUL included);
/// `ENAMETOOLONG` if longer.
pub fn read_cstring(addr: u64, max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = addr;
    const PAGE: u64 = uspace::PAGE_SIZE as u64;
    while out.len() < max {
        // Never read past the current page: the next one may be unmapped.
        let chunk = ((PAGE - cur % PAGE) as usize).min(max - out.len());
        let bytes = read_bytes(cur, chunk)?;
        if let Some(i) = bytes.iter().position(|&b| b == 0) {
            out.extend_from_slice(&bytes[..i]);
            return Ok(out);
        }
        out.extend_from_slice(&bytes);
        cur += chunk as u64;
    }
    Err(Errno::ENAMETOOLONG)
}

/// One `struct iovec`.
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    /// Base address.
    pub base: u64,
    /// Length in bytes.
    pub len: usize,
}

/// Most iovecs one call accepts (`IOV_MAX`).
pub const IOV_MAX: u64 = 1024;

/// Reads an iovec array of `count` entries; `EINVAL` for a bad count or a
/// total length that overflows `ssize_t`.
pub fn read_iovecs(addr: u64, count: u64) -> Result<Vec<IoVec>> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = UserPtr::<Iovec>::new(addr).read_array(count as usize)?;
    let mut total: u64 = 0;
    let mut v = Vec::with_capacity(raw.len());
    for io in raw {
        total = total.checked_add(io.iov_len).ok_or(Errno::EINVAL)?;
        if total > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        v.push(IoVec {
            base: io.iov_base,
            len: io.iov_len as usize,
        });
    }
    Ok(v)
}

/// Reads a `struct timespec` and checks it (`EINVAL` for a negative or
/// out-of-range value).
pub fn read_timespec(addr: u64) -> Result<std::time::Duration> {
    let t = UserPtr::<Timespec>::new(addr).read()?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
}

/// Reads a relative `struct timespec` time-out as the instant it ends
/// (time-outs past 136 years are cut to that, so no addition overflows).
pub fn read_deadline(addr: u64) -> Result<std::time::Instant> {
    let d = read_timespec(addr)?.min(std::time::Duration::from_secs(u32::MAX as u64));
    Ok(std::time::Instant::now() + d)
}

/// Reads a `struct timeval` and checks it (`EINVAL` for a negative or
/// out-of-range value).
pub fn read_timeval(addr: u64) -> Result<std::time::Duration> {
    let t = UserPtr::<Timeval>::new(addr).read()?;
    if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(std::time::Duration::new(
        t.tv_sec as u64,
        t.tv_usec as u32 * 1000,
    ))
}

/// Writes a `struct timespec` (or, with `micros`, a `struct timeval`).
pub fn write_time(addr: u64, t: std::time::Duration, micros: bool) -> Result<()> {
    let sec = t.as_secs() as i64;
    if micros {
        UserPtr::new(addr).write(&Timeval {
            tv_sec: sec,
            tv_usec: i64::from(t.subsec_micros()),
        })
    } else {
        UserPtr::new(addr).write(&Timespec {
            tv_sec: sec,
            tv_nsec: i64::from(t.subsec_nanos()),
        })
    }
}
