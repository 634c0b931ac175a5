//! A host that changes the file is detected: errors, never wrong data, no panics.

mod common;

use std::sync::Arc;

use common::*;
use occlum_sefs::{Error, FileKind, MemStorage, Options, Sefs, ROOT_INO};

const EIO: i32 = 5;

#[test]
fn every_flipped_byte_is_detected_or_harmless() {
    let (mem, fs) = format_mem(Options::default());
    let d = fs
        .create(ROOT_INO, b"d", FileKind::Directory, 0o755, 0, 0, 0)
        .unwrap();
    for i in 0..5u64 {
        let f = fs
            .create(
                d,
                format!("f{i}").as_bytes(),
                FileKind::Regular,
                0o644,
                0,
                0,
                0,
            )
            .unwrap();
        fs.write(f, 0, &pattern(i, 3000 * i as usize)).unwrap();
    }
    let big = fs
        .create(ROOT_INO, b"big", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.write(big, 0, &pattern(9, 100_000)).unwrap();
    fs.symlink(d, b"s", b"target", 0, 0).unwrap();
    fs.sync().unwrap();
    let prev = dump(&fs);
    fs.write(big, 50_000, b"changed").unwrap();
    fs.create(d, b"late", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.sync().unwrap();
    let expected = dump(&fs);
    let st = fs.statfs().unwrap();
    let referenced = st.total_blocks - st.free_blocks - 2;
    drop(fs);

    let image = mem.snapshot();
    let mut detected = 0u64;
    for block in 0..image.len() / 4096 {
        for pos in [0usize, 40, 4095] {
            let mut img = image.clone();
            img[block * 4096 + pos] ^= 0x5a;
            let storage = Arc::new(MemStorage::from_bytes(img));
            let fs = match Sefs::open(storage, KEY, TestEnv::new(5), Options::default()) {
                Err(Error::BadKeyOrCorrupted) | Err(Error::Corrupted(_)) => {
                    detected += 1;
                    continue;
                }
                Err(e) => panic!("block {block} byte {pos}: unexpected {e}"),
                Ok(fs) => fs,
            };
            match fs.check().and_then(|()| try_dump(&fs)) {
                Ok(tree) => assert!(
                    tree == expected || (block < 2 && tree == prev),
                    "block {block} byte {pos}: wrong data"
                ),
                Err(e) => {
                    assert!(
                        matches!(e, Error::Corrupted(_)),
                        "block {block} byte {pos}: {e}"
                    );
                    assert_eq!(e.errno(), EIO);
                    detected += 1;
                }
            }
        }
    }
    assert!(
        detected >= 3 * referenced,
        "only {detected} of {referenced} referenced blocks' flips detected"
    );
}

#[test]
fn both_superblocks_damaged_means_bad_key_or_corrupted() {
    let (mem, fs) = format_mem(Options::default());
    fs.create(ROOT_INO, b"x", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.sync().unwrap();
    drop(fs);
    let mut img = mem.snapshot();
    img[100] ^= 1;
    img[4096 + 100] ^= 1;
    let r = Sefs::open(
        Arc::new(MemStorage::from_bytes(img)),
        KEY,
        TestEnv::new(1),
        Options::default(),
    );
    assert!(matches!(r, Err(Error::BadKeyOrCorrupted)));
}

#[test]
fn tampering_while_mounted_fails_reads() {
    let (mem, fs) = format_mem(small_cache());
    let f = fs
        .create(ROOT_INO, b"f", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.write(f, 0, &pattern(1, 1 << 20)).unwrap();
    fs.sync().unwrap();
    drop(fs);
    let fs = reopen(mem.clone(), small_cache());
    let before = mem.snapshot();
    let len = before.len() as u64;
    let mut garbage = vec![0u8; 4096];
    for b in 2..len / 4096 {
        garbage.iter_mut().for_each(|x| *x = b as u8);
        occlum_sefs::Storage::write_at(&*mem, b * 4096, &garbage).unwrap();
    }
    let mut buf = vec![0u8; 1 << 20];
    let r = fs
        .lookup(ROOT_INO, b"f")
        .and_then(|ino| fs.read(ino, 0, &mut buf));
    let e = r.unwrap_err();
    assert_eq!(e.errno(), EIO, "{e}");
    assert!(matches!(fs.getattr(f), Err(Error::Corrupted(_))) || fs.getattr(f).is_ok());
}

#[test]
fn parallel_crypto_round_trip() {
    let opts = Options {
        crypto_threads: 2,
        ..Options::default()
    };
    let (mem, fs) = format_mem(opts.clone());
    let f = fs
        .create(ROOT_INO, b"f", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    let data = pattern(3, 2 << 20);
    fs.write(f, 0, &data).unwrap();
    fs.sync().unwrap();
    drop(fs);
    let fs = reopen(mem, opts);
    assert_eq!(read_all(&fs, f), data);
}
