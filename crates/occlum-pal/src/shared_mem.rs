//! Shared memory: pages that several address spaces map at once and all see
//! the same (`MAP_SHARED` anonymous mappings, files of `/dev/shm` and other
//! RAM file systems that are mapped shared). The pages live in a host memfd
//! that the LibOS reads and writes like a file and maps into the user region.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::errno::Errno;
use crate::uspace::{Prot, UserSpace};

/// Pages shared by every mapping of them.
#[derive(Debug)]
pub struct SharedMemory {
    fd: OwnedFd,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl SharedMemory {
    /// New shared memory of `len` zero bytes.
    pub fn new(len: u64) -> Result<SharedMemory, Errno> {
        // SAFETY: the name is a valid C string; the flags are known.
        let raw = unsafe { libc::memfd_create(c"occlum-shm".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mem = SharedMemory {
            fd,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        };
        mem.set_size(len)?;
        Ok(mem)
    }

    /// A number no other shared memory of this process has.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Size in bytes.
    pub fn size(&self) -> Result<u64, Errno> {
        // SAFETY: fstat of our own descriptor into a zeroed stat buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above; `st` is valid for writes.
        if unsafe { libc::fstat(self.fd.as_raw_fd(), &mut st) } != 0 {
            return Err(Errno::last());
        }
        u64::try_from(st.st_size).map_err(|_| Errno::EIO)
    }

    /// Grows or shrinks to `len` bytes (new bytes read as zero).
    pub fn set_size(&self, len: u64) -> Result<(), Errno> {
        let len = libc::off_t::try_from(len).map_err(|_| Errno::EFBIG)?;
        // SAFETY: resizes our own memfd; mappings past the new end fault
        // with SIGBUS, which user code gets as on Linux and copies get as
        // EFAULT.
        if unsafe { libc::ftruncate(self.fd.as_raw_fd(), len) } != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// Reads at `offset`; returns the bytes read (0 at the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let off = libc::off_t::try_from(offset).map_err(|_| Errno::EINVAL)?;
        // SAFETY: reads into a valid exclusive buffer of `buf.len()` bytes.
        let n =
            unsafe { libc::pread(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), off) };
        if n < 0 {
            return Err(Errno::last());
        }
        Ok((n as usize).min(buf.len()))
    }

    /// Writes all of `data` at `offset` (the size grows as needed).
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < data.len() {
            let off = offset
                .checked_add(done as u64)
                .and_then(|o| libc::off_t::try_from(o).ok())
                .ok_or(Errno::EFBIG)?;
            let rest = &data[done..];
            // SAFETY: writes from a valid buffer of `rest.len()` bytes.
            let n =
                unsafe { libc::pwrite(self.fd.as_raw_fd(), rest.as_ptr().cast(), rest.len(), off) };
            if n <= 0 {
                return Err(if n < 0 { Errno::last() } else { Errno::EIO });
            }
            done += n as usize;
        }
        Ok(())
    }
}

impl UserSpace {
    /// Maps `len` bytes of `mem` from `offset` at `[addr, addr+len)`,
    /// shared (every mapping sees every write), replacing what was there.
    pub fn map_shared(
        &self,
        addr: usize,
        len: usize,
        prot: Prot,
        mem: &SharedMemory,
        offset: u64,
    ) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        let offset = usize::try_from(offset).map_err(|_| Errno::EINVAL)?;
        if !offset.is_multiple_of(crate::uspace::PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        self.mmap_fixed_shared(addr, len, prot as i32, mem.fd.as_raw_fd(), offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uspace::PAGE_SIZE;

    #[test]
    fn two_mappings_see_one_copy() {
        let space = crate::uspace::test_space();
        let mem = SharedMemory::new(2 * PAGE_SIZE as u64).unwrap();
        let a = space.base() + 200 * PAGE_SIZE;
        let b = a + 4 * PAGE_SIZE;
        space.map_shared(a, 2 * PAGE_SIZE, 3, &mem, 0).unwrap();
        space
            .map_shared(b, PAGE_SIZE, 3, &mem, PAGE_SIZE as u64)
            .unwrap();
        space.write(a + PAGE_SIZE, b"shared").unwrap();
        let mut buf = [0u8; 6];
        space.read(b, &mut buf).unwrap();
        assert_eq!(&buf, b"shared");
        mem.read_at(PAGE_SIZE as u64, &mut buf).unwrap();
        assert_eq!(&buf, b"shared");
        mem.write_at(0, b"file").unwrap();
        space.read(a, &mut buf[..4]).unwrap();
        assert_eq!(&buf[..4], b"file");
        mem.set_size(PAGE_SIZE as u64).unwrap();
        assert_eq!(space.read(b, &mut buf), Err(Errno::EFAULT), "past the end");
        assert_eq!(mem.size(), Ok(PAGE_SIZE as u64));
        space.unmap(a, 8 * PAGE_SIZE).unwrap();
    }
}
