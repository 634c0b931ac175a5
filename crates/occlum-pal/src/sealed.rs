//! Sealed pages: immutable bytes in host shared memory (a sealed memfd) that
//! the LibOS reads in place and maps copy-on-write into the user region.
//!
//! Program files of the read-only image are kept this way: every process
//! running the same program (or library) maps the same physical pages, as
//! Linux shares a file's page cache, instead of copying them for each exec.
//! The seals make the contents unchangeable for the life of the memfd, by
//! the LibOS too, so a slice of them is sound to hand out.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::errno::Errno;
use crate::uspace::{Prot, UserSpace, PAGE_SIZE};

/// Immutable bytes that can be mapped into user space (see the module docs).
#[derive(Debug)]
pub struct SealedPages {
    fd: OwnedFd,
    ptr: *const u8,
    len: usize,
    id: u64,
}

// SAFETY: the mapping behind `ptr` is read-only and sealed against writes,
// so sharing it between threads cannot race; it lives until drop.
unsafe impl Send for SealedPages {}
// SAFETY: as above; `&SealedPages` only gives shared read access.
unsafe impl Sync for SealedPages {}

impl SealedPages {
    /// Copies `bytes` into a new sealed memfd.
    pub fn new(bytes: &[u8]) -> Result<SealedPages, Errno> {
        SealedPages::build(bytes.len(), |room| {
            room.copy_from_slice(bytes);
            Ok(())
        })
    }

    /// Makes sealed pages of `len` bytes that `fill` writes in place, into
    /// a new memfd's pages before they are sealed (no copy, no buffer of
    /// the caller's); `fill`'s error ends it.
    pub fn build<E: From<Errno>>(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<SealedPages, E> {
        // SAFETY: the name is a valid C string; the flags are known.
        let raw = unsafe {
            libc::memfd_create(
                c"occlum-sealed".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if raw < 0 {
            return Err(Errno::last().into());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let size = libc::off_t::try_from(len).map_err(|_| Errno::EFBIG)?;
        // SAFETY: sizes our own new memfd; no memory effects.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(Errno::last().into());
        }
        if len > 0 {
            let room = WritableMap::new(&fd, len)?;
            // SAFETY: `room` maps `len` writable bytes of the memfd, which
            // nothing else maps or can reach yet; the slice lives only for
            // this call and the mapping until `room` drops after it.
            fill(unsafe { std::slice::from_raw_parts_mut(room.ptr, len) })?;
        }
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: adds seals to our own memfd; no memory effects. No
        // writable mapping of it is left (F_SEAL_WRITE would fail).
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(Errno::last().into());
        }
        let ptr = if len == 0 {
            std::ptr::NonNull::<u8>::dangling().as_ptr()
        } else {
            // SAFETY: a new read-only shared mapping of the whole memfd at a
            // place the kernel picks; it replaces nothing.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(Errno::ENOMEM.into());
            }
            p.cast::<u8>()
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(SealedPages {
            fd,
            ptr,
            len,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes (or is dangling with len 0)
        // until drop, and the seals forbid any change to them.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// A number no other sealed pages of this process have, ever.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A writable shared mapping of a memfd being filled, with its pages
/// allocated up front; unmapped on drop.
struct WritableMap {
    ptr: *mut u8,
    len: usize,
}

impl WritableMap {
    fn new(fd: &OwnedFd, len: usize) -> Result<WritableMap, Errno> {
        // SAFETY: a new shared mapping of `len` bytes of our own memfd (as
        // long as the mapping) at a place the kernel picks; replaces nothing.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        Ok(WritableMap { ptr: p.cast(), len })
    }
}

impl Drop for WritableMap {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `new`; the only slice of it
        // (in `SealedPages::build`) ended before.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

impl Drop for SealedPages {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: unmaps the mapping made in `new`; no slice of it
            // outlives `self` (`bytes` borrows `self`).
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
        }
    }
}

impl UserSpace {
    /// Maps `len` bytes of `pages` from `offset` at `[addr, addr+len)`,
    /// copy-on-write (writes stay private to the mapping), replacing
    /// whatever was there. The range must lie within the pages (the last,
    /// partial page reads as zero past the end).
    pub fn map_sealed(
        &self,
        addr: usize,
        len: usize,
        prot: Prot,
        pages: &SealedPages,
        offset: usize,
    ) -> Result<(), Errno> {
        self.check_pages(addr, len)?;
        if !offset.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let covered = pages.len.next_multiple_of(PAGE_SIZE);
        if offset.checked_add(len).is_none_or(|e| e > covered) {
            return Err(Errno::EINVAL);
        }
        self.mmap_fixed_from(
            addr,
            len,
            prot as i32,
            0,
            Some((pages.fd.as_raw_fd(), offset)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_bytes() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let sealed = SealedPages::new(&data).unwrap();
        assert_eq!(sealed.bytes(), &data[..]);
        assert_eq!(sealed.len(), 5000);
        let empty = SealedPages::new(&[]).unwrap();
        assert!(empty.is_empty() && empty.bytes().is_empty());
    }

    #[test]
    fn built_in_place_and_sealed() {
        let sealed = SealedPages::build(10000, |room| -> Result<(), Errno> {
            assert!(room.iter().all(|&b| b == 0));
            room[9999] = 7;
            room[..3].copy_from_slice(b"abc");
            Ok(())
        })
        .unwrap();
        assert_eq!(&sealed.bytes()[..3], b"abc");
        assert_eq!(sealed.bytes()[9999], 7);
        // SAFETY: asks our own memfd's seals; no memory effects.
        let seals = unsafe { libc::fcntl(sealed.fd.as_raw_fd(), libc::F_GET_SEALS) };
        assert_ne!(seals & libc::F_SEAL_WRITE, 0);
        let failed = SealedPages::build(100, |_| Err(Errno::EIO));
        assert_eq!(failed.unwrap_err(), Errno::EIO);
    }

    #[test]
    fn maps_copy_on_write_pages_into_user_space() {
        let space = crate::uspace::test_space();
        let data: Vec<u8> = (0..(PAGE_SIZE + 100) as u32)
            .map(|i| (i % 253) as u8 + 1)
            .collect();
        let sealed = SealedPages::new(&data).unwrap();
        let at = space.base() + 16 * PAGE_SIZE;
        space
            .map_sealed(at, 2 * PAGE_SIZE, 1 | 2, &sealed, 0)
            .unwrap();
        let mut back = vec![0u8; 2 * PAGE_SIZE];
        space.read(at, &mut back).unwrap();
        assert_eq!(&back[..data.len()], &data[..]);
        assert!(
            back[data.len()..].iter().all(|&b| b == 0),
            "zero past the end"
        );
        space.write(at, b"private").unwrap();
        assert_eq!(
            &sealed.bytes()[..7],
            &data[..7],
            "the sealed bytes never change"
        );
        space
            .map_sealed(at, PAGE_SIZE, 1, &sealed, PAGE_SIZE)
            .unwrap();
        space.read(at, &mut back[..100]).unwrap();
        assert_eq!(&back[..100], &data[PAGE_SIZE..]);
        let bad = [
            (at + 1, PAGE_SIZE, 0),
            (at, PAGE_SIZE, 1),
            (at, 3 * PAGE_SIZE, 0),
            (at, PAGE_SIZE, 2 * PAGE_SIZE),
            (space.end(), PAGE_SIZE, 0),
        ];
        for (addr, len, offset) in bad {
            assert_eq!(
                space.map_sealed(addr, len, 1, &sealed, offset),
                Err(Errno::EINVAL),
                "{addr:#x} {len} {offset}"
            );
        }
        space.unmap(at, 2 * PAGE_SIZE).unwrap();
    }
}
