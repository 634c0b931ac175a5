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
        SealedPages::from_pieces(&[bytes])
    }

    /// Makes sealed pages of `len` bytes that `fill` writes in place, into
    /// a new memfd's pages before they are sealed (no copy, no buffer of
    /// the caller's); `fill`'s error ends it.
    pub fn build<E: From<Errno>>(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<SealedPages, E> {
        let fd = new_memfd(len)?;
        if len > 0 {
            let room = WritableMap::new(&fd, len)?;
            // SAFETY: `room` maps `len` writable bytes of the memfd, which
            // nothing else maps or can reach yet; the slice lives only for
            // this call and the mapping until `room` drops after it.
            fill(unsafe { std::slice::from_raw_parts_mut(room.ptr, len) })?;
        }
        Ok(SealedPages::seal(fd, len)?)
    }

    /// Makes sealed pages of `pieces` one after the other, which the kernel
    /// copies into the memfd (its pages are neither zeroed first nor
    /// mapped for the copy: cheaper than [`SealedPages::build`] for bytes
    /// that are at hand).
    pub fn from_pieces(pieces: &[&[u8]]) -> Result<SealedPages, Errno> {
        let len = pieces.iter().map(|p| p.len()).sum();
        let fd = new_memfd(len)?;
        let pieces: Vec<&[u8]> = pieces.iter().copied().filter(|p| !p.is_empty()).collect();
        // The next piece to write, and how much of it was (a short write
        // can end inside one).
        let (mut at, mut skip, mut done) = (0usize, 0usize, 0usize);
        while at < pieces.len() {
            let batch: Vec<libc::iovec> = pieces[at..pieces.len().min(at + IOV_MAX)]
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let p = if i == 0 { &p[skip..] } else { p };
                    libc::iovec {
                        iov_base: p.as_ptr().cast_mut().cast(),
                        iov_len: p.len(),
                    }
                })
                .collect();
            let offset = libc::off_t::try_from(done).map_err(|_| Errno::EFBIG)?;
            // SAFETY: each iovec describes a slice the caller lends for this
            // call, which the kernel only reads; the batch lives through
            // the call.
            let n = unsafe {
                libc::pwritev(fd.as_raw_fd(), batch.as_ptr(), batch.len() as i32, offset)
            };
            let Ok(mut n) = usize::try_from(n) else {
                return Err(Errno::last());
            };
            if n == 0 {
                return Err(Errno::EIO);
            }
            done += n;
            while n > 0 {
                let rest = pieces[at].len() - skip;
                if n < rest {
                    skip += n;
                    break;
                }
                n -= rest;
                (at, skip) = (at + 1, 0);
            }
        }
        SealedPages::seal(fd, len)
    }

    /// Seals `fd` (`len` bytes, no writable mapping of it left) and maps it
    /// read-only.
    fn seal(fd: OwnedFd, len: usize) -> Result<SealedPages, Errno> {
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: adds seals to our own memfd; no memory effects. No
        // writable mapping of it is left (F_SEAL_WRITE would fail).
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(Errno::last());
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
                return Err(Errno::ENOMEM);
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

/// Most iovecs one `pwritev` takes (Linux's `UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

/// A new memfd of `len` bytes that can be sealed.
fn new_memfd(len: usize) -> Result<OwnedFd, Errno> {
    // SAFETY: the name is a valid C string; the flags are known.
    let raw = unsafe {
        libc::memfd_create(
            c"occlum-sealed".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let size = libc::off_t::try_from(len).map_err(|_| Errno::EFBIG)?;
    // SAFETY: sizes our own new memfd; no memory effects.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
        return Err(Errno::last());
    }
    Ok(fd)
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
    fn made_of_pieces() {
        // More pieces than one pwritev takes, and empty ones.
        let data: Vec<u8> = (0..30000u32).map(|i| (i % 253) as u8).collect();
        let mut pieces: Vec<&[u8]> = data.chunks(7).collect();
        pieces.insert(3, &[]);
        assert!(pieces.len() > IOV_MAX * 2);
        let sealed = SealedPages::from_pieces(&pieces).unwrap();
        assert_eq!(sealed.bytes(), &data[..]);
        assert!(SealedPages::from_pieces(&[]).unwrap().is_empty());
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
