//! Persistence across reopen, keys, formatting and confidentiality.

mod common;

use std::sync::Arc;

use common::*;
use occlum_sefs::{Error, FileKind, FileStorage, MemStorage, Options, Sefs, Storage, ROOT_INO};

/// Megabytes in the big test file.
const BIG_CHUNKS: u64 = 1;

fn populate(fs: &Sefs) {
    let d = fs
        .create(ROOT_INO, b"dir", FileKind::Directory, 0o700, 1, 2, 0)
        .unwrap();
    for i in 0..20u64 {
        let f = fs
            .create(
                d,
                format!("file{i}").as_bytes(),
                FileKind::Regular,
                0o644,
                0,
                0,
                0,
            )
            .unwrap();
        fs.write(f, 0, &pattern(i, (i as usize) * 3001)).unwrap();
    }
    let big = fs
        .create(ROOT_INO, b"big", FileKind::Regular, 0o600, 0, 0, 0)
        .unwrap();
    for chunk in 0..BIG_CHUNKS {
        fs.write(big, chunk << 20, &pattern(100 + chunk, 1 << 20))
            .unwrap();
    }
    fs.symlink(d, b"ln", b"../big", 0, 0).unwrap();
    fs.link(big, d, b"big-link").unwrap();
}

#[test]
fn reopen_file_storage_shows_synced_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sefs.img");
    let expected;
    {
        let storage = Arc::new(FileStorage::open(&path).unwrap());
        let fs = Sefs::format(storage, KEY, TestEnv::new(1), Options::default()).unwrap();
        populate(&fs);
        fs.sync().unwrap();
        expected = dump(&fs);
    }
    let storage = Arc::new(FileStorage::open(&path).unwrap());
    let fs = reopen(storage, Options::default());
    assert_eq!(dump(&fs), expected);
    fs.check().unwrap();
    let big = fs.lookup(ROOT_INO, b"big").unwrap();
    assert_eq!(fs.getattr(big).unwrap().nlink, 2);
    let mut rng = fastrand::Rng::with_seed(1);
    for _ in 0..200 {
        let off = rng.u64(0..BIG_CHUNKS << 20);
        let mut buf = [0u8; 4096];
        let n = fs.read(big, off, &mut buf).unwrap();
        let chunk = off >> 20;
        let within = (off & ((1 << 20) - 1)) as usize;
        let want = pattern(100 + chunk, 1 << 20);
        let m = n.min((1 << 20) - within);
        assert_eq!(&buf[..m], &want[within..within + m]);
    }
}

#[test]
fn unsynced_changes_may_vanish_but_state_stays_consistent() {
    let (mem, fs) = format_mem(small_cache());
    populate(&fs);
    fs.sync().unwrap();
    let synced = dump(&fs);
    let d = fs.lookup(ROOT_INO, b"dir").unwrap();
    fs.unlink(d, b"file3").unwrap();
    let f = fs
        .create(ROOT_INO, b"new", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.write(f, 0, &pattern(77, 1 << 20)).unwrap();
    assert!(
        mem.unsynced_ops() > 0,
        "eviction wrote blocks before the sync"
    );
    for keep_all in [false, true] {
        let crashed = Arc::new(mem.crash(&mut || keep_all));
        let fs2 = reopen(crashed, small_cache());
        assert_eq!(dump(&fs2), synced);
        fs2.check().unwrap();
    }
}

#[test]
fn wrong_key_and_unformatted_storage() {
    let (mem, fs) = format_mem(Options::default());
    populate(&fs);
    fs.sync().unwrap();
    let r = Sefs::open(mem.clone(), [8; 32], TestEnv::new(3), Options::default());
    assert!(matches!(r, Err(Error::BadKeyOrCorrupted)));
    assert_eq!(Error::BadKeyOrCorrupted.errno(), 5);
    let empty = Arc::new(MemStorage::new());
    assert!(matches!(
        Sefs::open(empty.clone(), KEY, TestEnv::new(3), Options::default()),
        Err(Error::NotFormatted)
    ));
    // Only an empty storage counts as unformatted: a short or wiped one is
    // damage, which a caller must never format over.
    empty.write_at(0, &[0u8; 100]).unwrap();
    assert!(matches!(
        Sefs::open(empty.clone(), KEY, TestEnv::new(3), Options::default()),
        Err(Error::Corrupted(_))
    ));
    // Never-written superblock slots are a format cut short (a crash on
    // first use): formatting again loses nothing. Slots with other bytes and
    // no superblock are damage.
    empty.write_at(0, &[0u8; 3 * 4096]).unwrap();
    assert!(matches!(
        Sefs::open(empty.clone(), KEY, TestEnv::new(3), Options::default()),
        Err(Error::NotFormatted)
    ));
    empty.write_at(4096, &[7u8; 16]).unwrap();
    assert!(matches!(
        Sefs::open(empty.clone(), KEY, TestEnv::new(3), Options::default()),
        Err(Error::Corrupted(_))
    ));
    empty.write_at(4096, &[0u8; 16]).unwrap();
    let fs = Sefs::format(empty.clone(), KEY, TestEnv::new(3), Options::default()).unwrap();
    assert!(fs.readdir(ROOT_INO).unwrap().is_empty());
    drop(fs);
    let fs = reopen(mem.clone(), Options::default());
    fs.check().unwrap();
    let reformatted = Sefs::format(mem.clone(), KEY, TestEnv::new(4), Options::default()).unwrap();
    assert!(reformatted.readdir(ROOT_INO).unwrap().is_empty());
    drop(reformatted);
    assert!(reopen(mem, Options::default())
        .readdir(ROOT_INO)
        .unwrap()
        .is_empty());
}

#[test]
fn markers_never_reach_the_host_in_clear() {
    let content_marker = b"CONTENT-MARKER-3f9a1c";
    let name_marker = b"NAME-MARKER-77b2e0";
    for opts in [Options::default(), small_cache()] {
        let (mem, fs) = format_mem(opts);
        let d = fs
            .create(ROOT_INO, name_marker, FileKind::Directory, 0o755, 0, 0, 0)
            .unwrap();
        let f = fs
            .create(d, name_marker, FileKind::Regular, 0o644, 0, 0, 0)
            .unwrap();
        let content: Vec<u8> = content_marker
            .iter()
            .copied()
            .cycle()
            .take(300_000)
            .collect();
        fs.write(f, 0, &content).unwrap();
        fs.write(f, 1_000_001, content_marker).unwrap();
        fs.symlink(d, b"l", name_marker, 0, 0).unwrap();
        fs.sync().unwrap();
        let image = mem.snapshot();
        for marker in [&content_marker[..], name_marker] {
            assert!(
                !image.windows(marker.len()).any(|w| w == marker),
                "marker leaked"
            );
            assert!(
                !image.windows(8).any(|w| w == &marker[..8]),
                "marker prefix leaked"
            );
        }
    }
}

#[test]
fn host_file_space_is_reused() {
    let (mem, fs) = format_mem(Options::default());
    let f = fs
        .create(ROOT_INO, b"f", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    let data = pattern(1, 1 << 20);
    fs.write(f, 0, &data).unwrap();
    fs.sync().unwrap();
    let len1 = mem.len().unwrap();
    for round in 0..6 {
        fs.write(f, 0, &pattern(round, 1 << 20)).unwrap();
        fs.sync().unwrap();
    }
    let len2 = mem.len().unwrap();
    assert!(
        len2 <= 2 * len1 + (64 << 10),
        "host file grew from {len1} to {len2}"
    );
    fs.check().unwrap();
}
