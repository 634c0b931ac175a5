//! Shared fixtures for the crate tests: a sample host tree, image builders, a counting
//! device and a host-vs-image comparison.

mod determinism;
mod roundtrip;
mod tamper;

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::{build_image, BuildReport, FileKind, Image, ImageError, Ino, ReadAt};

/// Size of the large file in the full fixture.
pub(crate) const BIG: usize = 3 * 1024 * 1024 + 123;

/// Deterministic pseudo-random bytes.
pub(crate) fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write(path: &Path, data: &[u8], mode: u32) {
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Fills `root` with the sample tree; `with_big` adds the ~3 MiB file.
pub(crate) fn make_tree(root: &Path, with_big: bool) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("nested/a/b/c")).unwrap();
    fs::create_dir(root.join("empty_dir")).unwrap();
    write(&root.join("bin/hello"), &pattern(4097, 1), 0o751);
    write(&root.join("bin/shared"), b"shared by two names\n", 0o644);
    fs::hard_link(root.join("bin/shared"), root.join("nested/shared_link")).unwrap();
    write(&root.join("empty_file"), b"", 0o600);
    write(&root.join("one"), b"x", 0o644);
    write(&root.join("f4095"), &pattern(4095, 2), 0o644);
    write(&root.join("f4096"), &pattern(4096, 3), 0o4755);
    write(&root.join("f4097"), &pattern(4097, 4), 0o640);
    write(&root.join("nested/a/b/c/deep.txt"), b"deep\n", 0o444);
    write(
        &root.join(std::ffi::OsStr::from_bytes(b"caf\xe9\xff")),
        b"latin-1 name",
        0o644,
    );
    if with_big {
        write(&root.join("big"), &pattern(BIG, 5), 0o755);
    }
    symlink("bin/hello", root.join("rel_link")).unwrap();
    symlink("/etc/passwd", root.join("abs_link")).unwrap();
    symlink("nested", root.join("dir_link")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    let sock = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    drop(sock);
    let when = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    File::options()
        .write(true)
        .open(root.join("one"))
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// A temp dir holding `src/` (the tree) and room for outputs.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new(with_big: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        make_tree(&dir.path().join("src"), with_big);
        Fixture { dir }
    }

    pub fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }

    /// Builds `src/` into `name` and returns the image bytes and report.
    pub fn build(&self, name: &str) -> (Vec<u8>, BuildReport) {
        let out = self.dir.path().join(name);
        let report = build_image(&self.src(), &out).unwrap();
        (fs::read(&out).unwrap(), report)
    }
}

/// A device over an in-memory image that counts `read_at` calls and bytes.
pub(crate) struct CountingDev {
    pub data: Vec<u8>,
    pub calls: AtomicU64,
    pub bytes: AtomicU64,
}

impl CountingDev {
    pub fn new(data: Vec<u8>) -> Arc<CountingDev> {
        Arc::new(CountingDev {
            data,
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl ReadAt for CountingDev {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let n = self.data.read_at(offset, buf)?;
        self.bytes.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

/// Opens an in-memory image.
pub(crate) fn open(data: Vec<u8>, root: [u8; 32]) -> Result<Image, ImageError> {
    Image::open(Arc::new(data), root)
}

/// Resolves an absolute path by bytes.
pub(crate) fn resolve(img: &Image, path: &[u8]) -> Result<Ino, ImageError> {
    let mut ino = img.root();
    for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        ino = img.lookup(ino, comp)?;
    }
    Ok(ino)
}

/// Reads a whole file in `chunk`-sized pieces.
pub(crate) fn read_all(img: &Image, ino: Ino, chunk: usize) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = img.read(ino, out.len() as u64, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Checks that the image subtree at `ino` mirrors the host directory `host` exactly
/// (special files excepted). `links` maps host (dev, ino) to image inodes.
pub(crate) fn compare_tree(
    img: &Image,
    ino: Ino,
    host: &Path,
    links: &mut HashMap<(u64, u64), Ino>,
) {
    let mut expected: Vec<(Vec<u8>, fs::Metadata)> = fs::read_dir(host)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_vec(),
                fs::symlink_metadata(e.path()).unwrap(),
            )
        })
        .filter(|(_, md)| md.is_dir() || md.is_file() || md.file_type().is_symlink())
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let entries = img.readdir(ino).unwrap();
    let names: Vec<&[u8]> = entries.iter().map(|e| e.name.as_slice()).collect();
    let want: Vec<&[u8]> = expected.iter().map(|e| e.0.as_slice()).collect();
    assert_eq!(names, want, "entries of {}", host.display());
    let subdirs = expected.iter().filter(|e| e.1.is_dir()).count() as u32;
    assert_eq!(img.getattr(ino).unwrap().nlink, 2 + subdirs);
    for (entry, (name, md)) in entries.iter().zip(&expected) {
        let path = host.join(std::ffi::OsStr::from_bytes(name));
        let child = img.lookup(ino, name).unwrap();
        assert_eq!(child, entry.ino);
        let attr = img.getattr(child).unwrap();
        assert_eq!(attr.ino, child);
        assert_eq!(attr.kind, entry.kind);
        assert_eq!(
            u32::from(attr.mode),
            md.mode() & 0o7777,
            "{}",
            path.display()
        );
        assert_eq!((attr.uid, attr.gid), (0, 0));
        assert_eq!(
            (attr.mtime_sec, i64::from(attr.mtime_nsec)),
            (md.mtime(), md.mtime_nsec())
        );
        if !md.is_dir() {
            let prev = *links.entry((md.dev(), md.ino())).or_insert(child);
            assert_eq!(
                prev,
                child,
                "hard links share one inode: {}",
                path.display()
            );
            assert_eq!(u64::from(attr.nlink), md.nlink());
        }
        if md.is_dir() {
            assert_eq!(attr.kind, FileKind::Directory);
            compare_tree(img, child, &path, links);
        } else if md.is_file() {
            assert_eq!(attr.kind, FileKind::Regular);
            assert_eq!(attr.size, md.len());
            let want = fs::read(&path).unwrap();
            assert_eq!(
                read_all(img, child, 1 << 22).unwrap(),
                want,
                "{}",
                path.display()
            );
            assert_eq!(
                read_all(img, child, 1000).unwrap(),
                want,
                "{}",
                path.display()
            );
        } else {
            assert_eq!(attr.kind, FileKind::Symlink);
            let target = fs::read_link(&path).unwrap().into_os_string().into_vec();
            assert_eq!(img.readlink(child).unwrap(), target);
            assert_eq!(attr.size, target.len() as u64);
        }
    }
}
