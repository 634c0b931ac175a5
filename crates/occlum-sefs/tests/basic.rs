//! Round trips through the public API.

mod common;

use common::*;
use occlum_sefs::{Error, FileKind, Options, RenameFlags, SetAttr, ROOT_INO};

fn new_file(fs: &occlum_sefs::Sefs, dir: u64, name: &str) -> u64 {
    fs.create(
        dir,
        name.as_bytes(),
        FileKind::Regular,
        0o644,
        1000,
        1000,
        0,
    )
    .unwrap()
}

fn mkdir(fs: &occlum_sefs::Sefs, dir: u64, name: &str) -> u64 {
    fs.create(dir, name.as_bytes(), FileKind::Directory, 0o755, 0, 0, 0)
        .unwrap()
}

#[test]
fn file_sizes_round_trip() {
    for opts in [Options::default(), small_cache()] {
        let (_mem, fs) = format_mem(opts);
        for (i, size) in [0usize, 1, 4095, 4096, 4097, 65536 + 7, 3 << 20]
            .into_iter()
            .enumerate()
        {
            let ino = new_file(&fs, ROOT_INO, &format!("f{i}"));
            let data = pattern(i as u64, size);
            assert_eq!(fs.write(ino, 0, &data).unwrap(), size);
            assert_eq!(fs.getattr(ino).unwrap().size, size as u64);
            assert_eq!(read_all(&fs, ino), data);
        }
        fs.check().unwrap();
        fs.sync().unwrap();
        fs.check().unwrap();
        for (i, size) in [0usize, 1, 4095, 4096, 4097, 65536 + 7, 3 << 20]
            .into_iter()
            .enumerate()
        {
            let ino = fs.lookup(ROOT_INO, format!("f{i}").as_bytes()).unwrap();
            assert_eq!(read_all(&fs, ino), pattern(i as u64, size));
        }
    }
}

#[test]
fn small_writes_reads_and_overwrites() {
    let (_mem, fs) = format_mem(small_cache());
    let ino = new_file(&fs, ROOT_INO, "f");
    let mut model = Vec::new();
    let mut rng = fastrand::Rng::with_seed(5);
    for _ in 0..300 {
        let off = rng.usize(0..200_000);
        let len = rng.usize(1..20_000);
        let data = pattern(rng.u64(..), len);
        fs.write(ino, off as u64, &data).unwrap();
        if model.len() < off + len {
            model.resize(off + len, 0);
        }
        model[off..off + len].copy_from_slice(&data);
        let roff = rng.usize(0..model.len());
        let mut buf = vec![0u8; rng.usize(1..70_000)];
        let n = fs.read(ino, roff as u64, &mut buf).unwrap();
        assert_eq!(n, buf.len().min(model.len() - roff));
        assert_eq!(&buf[..n], &model[roff..roff + n]);
    }
    fs.check().unwrap();
    assert_eq!(read_all(&fs, ino), model);
}

#[test]
fn sparse_files_and_truncate() {
    let (_mem, fs) = format_mem(Options::default());
    let ino = new_file(&fs, ROOT_INO, "sparse");
    fs.write(ino, 10 << 20, b"tail").unwrap();
    let attr = fs.getattr(ino).unwrap();
    assert_eq!(attr.size, (10 << 20) + 4);
    assert!(
        attr.blocks <= 8 * 4,
        "holes are not allocated: {} sectors",
        attr.blocks
    );
    let mut buf = vec![1u8; 8192];
    assert_eq!(fs.read(ino, 5 << 20, &mut buf).unwrap(), 8192);
    assert!(buf.iter().all(|&b| b == 0));
    let mut big = vec![1u8; 1 << 20];
    fs.read(ino, (10 << 20) - (1 << 20) + 4, &mut big).unwrap();
    assert!(big[..(1 << 20) - 4].iter().all(|&b| b == 0));
    assert_eq!(&big[(1 << 20) - 4..], b"tail");

    let data = pattern(9, 100_000);
    let f = new_file(&fs, ROOT_INO, "t");
    fs.write(f, 0, &data).unwrap();
    let set = |size| SetAttr {
        size: Some(size),
        ..SetAttr::default()
    };
    fs.setattr(f, &set(5000)).unwrap();
    assert_eq!(read_all(&fs, f), &data[..5000]);
    fs.setattr(f, &set(50_000)).unwrap();
    let got = read_all(&fs, f);
    assert_eq!(&got[..5000], &data[..5000]);
    assert!(got[5000..].iter().all(|&b| b == 0), "extension reads zeros");
    fs.setattr(f, &set(0)).unwrap();
    assert_eq!(fs.getattr(f).unwrap().blocks, 0);
    fs.write(f, 3, b"abc").unwrap();
    assert_eq!(read_all(&fs, f), b"\0\0\0abc");
    fs.setattr(ino, &set(4)).unwrap();
    assert_eq!(read_all(&fs, ino), b"\0\0\0\0");
    fs.check().unwrap();
    assert!(matches!(fs.setattr(ROOT_INO, &set(0)), Err(Error::IsDir)));
}

#[test]
fn overwrite_middle_of_large_file() {
    let (_mem, fs) = format_mem(small_cache());
    let ino = new_file(&fs, ROOT_INO, "f");
    let mut data = pattern(1, 2 << 20);
    fs.write(ino, 0, &data).unwrap();
    fs.sync().unwrap();
    let patch = pattern(2, 300_001);
    fs.write(ino, 777_777, &patch).unwrap();
    data[777_777..777_777 + patch.len()].copy_from_slice(&patch);
    assert_eq!(read_all(&fs, ino), data);
    fs.sync().unwrap();
    fs.check().unwrap();
    assert_eq!(read_all(&fs, ino), data);
}

#[test]
fn directories_with_thousands_of_entries() {
    let (mem, fs) = format_mem(small_cache());
    let d = mkdir(&fs, ROOT_INO, "big");
    for i in 0..4000 {
        let name = format!("entry-with-a-longish-name-{i:05}");
        new_file(&fs, d, &name);
    }
    assert!(matches!(
        fs.create(
            d,
            b"entry-with-a-longish-name-00042",
            FileKind::Regular,
            0,
            0,
            0,
            0
        ),
        Err(Error::Exists)
    ));
    let mut names: Vec<Vec<u8>> = fs.readdir(d).unwrap().into_iter().map(|e| e.name).collect();
    names.sort();
    assert_eq!(names.len(), 4000);
    for i in (0..4000).step_by(2) {
        fs.unlink(d, format!("entry-with-a-longish-name-{i:05}").as_bytes())
            .unwrap();
    }
    fs.check().unwrap();
    fs.sync().unwrap();
    let fs = reopen(mem, small_cache());
    assert_eq!(fs.readdir(d).unwrap().len(), 2000);
    for i in 0..4000 {
        let r = fs.lookup(d, format!("entry-with-a-longish-name-{i:05}").as_bytes());
        assert_eq!(r.is_ok(), i % 2 == 1, "entry {i}");
    }
    for i in (1..4000).step_by(2) {
        fs.unlink(d, format!("entry-with-a-longish-name-{i:05}").as_bytes())
            .unwrap();
    }
    assert_eq!(fs.getattr(d).unwrap().size, 0, "empty directory shrinks");
    fs.rmdir(ROOT_INO, b"big").unwrap();
    fs.release(d).unwrap();
    fs.check().unwrap();
}

#[test]
fn names_are_validated() {
    let (_mem, fs) = format_mem(Options::default());
    let long = vec![b'x'; 256];
    assert!(matches!(
        fs.create(ROOT_INO, &long, FileKind::Regular, 0, 0, 0, 0),
        Err(Error::NameTooLong)
    ));
    fs.create(ROOT_INO, &long[..255], FileKind::Regular, 0, 0, 0, 0)
        .unwrap();
    for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
        assert!(
            matches!(
                fs.create(ROOT_INO, bad, FileKind::Regular, 0, 0, 0, 0),
                Err(Error::Invalid)
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        fs.lookup(ROOT_INO, b"missing"),
        Err(Error::NotFound)
    ));
    assert_eq!(fs.lookup(ROOT_INO, b".").unwrap(), ROOT_INO);
    assert_eq!(fs.lookup(ROOT_INO, b"..").unwrap(), ROOT_INO);
    assert_eq!(Error::NameTooLong.errno(), 36);
    assert_eq!(Error::Corrupted("x".into()).errno(), 5);
}

#[test]
fn attributes_and_special_files() {
    let (_mem, fs) = format_mem(Options::default());
    let root = fs.getattr(ROOT_INO).unwrap();
    assert_eq!(
        (root.kind, root.mode, root.uid, root.gid, root.nlink),
        (FileKind::Directory, 0o755, 0, 0, 2)
    );
    let fifo = fs
        .create(ROOT_INO, b"fifo", FileKind::Fifo, 0o600, 5, 6, 0)
        .unwrap();
    let dev = fs
        .create(ROOT_INO, b"dev", FileKind::CharDevice, 0o666, 0, 0, 0x0103)
        .unwrap();
    let a = fs.getattr(dev).unwrap();
    assert_eq!(
        (a.kind, a.rdev, a.mode),
        (FileKind::CharDevice, 0x0103, 0o666)
    );
    assert!(matches!(fs.write(fifo, 0, b"x"), Err(Error::Invalid)));
    let set = SetAttr {
        mode: Some(0o4755),
        uid: Some(42),
        gid: Some(43),
        mtime: Some(occlum_sefs::Timespec { sec: 5, nsec: 6 }),
        ..SetAttr::default()
    };
    let a = fs.setattr(fifo, &set).unwrap();
    assert_eq!(
        (a.mode, a.uid, a.gid, a.mtime.sec, a.mtime.nsec),
        (0o4755, 42, 43, 5, 6)
    );
    assert!(a.ctime.sec > 5);
    let st = fs.statfs().unwrap();
    assert_eq!((st.block_size, st.files), (4096, 3));
    assert!(st.free_blocks < st.total_blocks);
}

#[test]
fn symlinks() {
    let (_mem, fs) = format_mem(Options::default());
    let s = fs
        .symlink(ROOT_INO, b"link", b"/some/where/else", 1, 2)
        .unwrap();
    assert_eq!(fs.readlink(s).unwrap(), b"/some/where/else");
    let a = fs.getattr(s).unwrap();
    assert_eq!((a.kind, a.size, a.uid), (FileKind::Symlink, 16, 1));
    let long = vec![b'a'; 4095];
    let s2 = fs.symlink(ROOT_INO, b"long", &long, 0, 0).unwrap();
    assert_eq!(fs.readlink(s2).unwrap(), long);
    assert!(matches!(
        fs.symlink(ROOT_INO, b"toolong", &[b'a'; 4096], 0, 0),
        Err(Error::NameTooLong)
    ));
    assert!(matches!(fs.readlink(ROOT_INO), Err(Error::Invalid)));
    assert!(matches!(
        fs.create(ROOT_INO, b"x", FileKind::Symlink, 0, 0, 0, 0),
        Err(Error::Invalid)
    ));
}

#[test]
fn hard_links_and_nlink() {
    let (_mem, fs) = format_mem(Options::default());
    let d = mkdir(&fs, ROOT_INO, "d");
    assert_eq!(fs.getattr(ROOT_INO).unwrap().nlink, 3);
    let f = new_file(&fs, ROOT_INO, "f");
    fs.write(f, 0, b"shared").unwrap();
    fs.link(f, d, b"g").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 2);
    assert!(matches!(fs.link(f, d, b"g"), Err(Error::Exists)));
    assert!(matches!(fs.link(d, ROOT_INO, b"dd"), Err(Error::IsDir)));
    fs.unlink(ROOT_INO, b"f").unwrap();
    assert_eq!(fs.getattr(f).unwrap().nlink, 1);
    let g = fs.lookup(d, b"g").unwrap();
    assert_eq!(read_all(&fs, g), b"shared");
    assert!(matches!(fs.unlink(ROOT_INO, b"d"), Err(Error::IsDir)));
    assert!(matches!(fs.rmdir(d, b"g"), Err(Error::NotDir)));
    assert!(matches!(fs.rmdir(ROOT_INO, b"d"), Err(Error::NotEmpty)));
    fs.check().unwrap();
}

#[test]
fn orphans_stay_usable_until_release() {
    let (mem, fs) = format_mem(Options::default());
    let f = new_file(&fs, ROOT_INO, "f");
    fs.write(f, 0, &pattern(3, 100_000)).unwrap();
    fs.unlink(ROOT_INO, b"f").unwrap();
    assert!(matches!(fs.lookup(ROOT_INO, b"f"), Err(Error::NotFound)));
    assert_eq!(fs.getattr(f).unwrap().nlink, 0);
    fs.write(f, 100_000, b"more").unwrap();
    assert_eq!(read_all(&fs, f).len(), 100_004);
    fs.check().unwrap();
    let used = fs.statfs().unwrap().free_blocks;
    fs.release(f).unwrap();
    assert!(matches!(fs.getattr(f), Err(Error::NotFound)));
    fs.release(f).unwrap();
    fs.sync().unwrap();
    assert!(fs.statfs().unwrap().free_blocks > used);
    fs.check().unwrap();

    let g = new_file(&fs, ROOT_INO, "g");
    fs.write(g, 0, &pattern(4, 50_000)).unwrap();
    fs.unlink(ROOT_INO, b"g").unwrap();
    fs.sync().unwrap();
    drop(fs);
    let fs = reopen(mem, Options::default());
    assert!(
        matches!(fs.getattr(g), Err(Error::NotFound)),
        "orphan reclaimed at open"
    );
    fs.check().unwrap();
    assert_eq!(fs.statfs().unwrap().files, 1);
}

#[test]
fn rename_rules() {
    let (_mem, fs) = format_mem(Options::default());
    let a = mkdir(&fs, ROOT_INO, "a");
    let b = mkdir(&fs, ROOT_INO, "b");
    let sub = mkdir(&fs, a, "sub");
    let f1 = new_file(&fs, a, "f1");
    let f2 = new_file(&fs, b, "f2");
    fs.write(f1, 0, b"one").unwrap();
    fs.write(f2, 0, b"two").unwrap();

    fs.rename(a, b"f1", b, b"f2", RenameFlags::NONE).unwrap();
    assert_eq!(fs.lookup(b, b"f2").unwrap(), f1);
    assert!(matches!(fs.lookup(a, b"f1"), Err(Error::NotFound)));
    assert_eq!(fs.getattr(f2).unwrap().nlink, 0);
    fs.release(f2).unwrap();

    let empty = mkdir(&fs, b, "empty");
    fs.rename(a, b"sub", b, b"empty", RenameFlags::NONE)
        .unwrap();
    assert_eq!(fs.lookup(b, b"empty").unwrap(), sub);
    assert_eq!(fs.lookup(sub, b"..").unwrap(), b);
    assert_eq!(fs.getattr(a).unwrap().nlink, 2);
    assert_eq!(fs.getattr(b).unwrap().nlink, 3);
    fs.release(empty).unwrap();

    let full = mkdir(&fs, a, "full");
    new_file(&fs, full, "x");
    assert!(matches!(
        fs.rename(b, b"empty", a, b"full", RenameFlags::NONE),
        Err(Error::NotEmpty)
    ));
    assert!(matches!(
        fs.rename(b, b"f2", a, b"full", RenameFlags::NONE),
        Err(Error::IsDir)
    ));
    assert!(matches!(
        fs.rename(a, b"full", b, b"f2", RenameFlags::NONE),
        Err(Error::NotDir)
    ));
    assert!(matches!(
        fs.rename(ROOT_INO, b"a", full, b"a2", RenameFlags::NONE),
        Err(Error::Invalid)
    ));
    assert!(matches!(
        fs.rename(ROOT_INO, b"a", a, b"self", RenameFlags::NONE),
        Err(Error::Invalid)
    ));
    let g = new_file(&fs, a, "g");
    assert!(matches!(
        fs.rename(a, b"g", b, b"f2", RenameFlags::NOREPLACE),
        Err(Error::Exists)
    ));
    fs.rename(a, b"g", b, b"g2", RenameFlags::NOREPLACE)
        .unwrap();
    assert_eq!(fs.lookup(b, b"g2").unwrap(), g);
    assert!(matches!(
        fs.rename(a, b"nope", b, b"x", RenameFlags::NONE),
        Err(Error::NotFound)
    ));

    fs.rename(a, b"full", b, b"g2", RenameFlags::EXCHANGE)
        .unwrap();
    assert_eq!(fs.lookup(b, b"g2").unwrap(), full);
    assert_eq!(fs.lookup(a, b"full").unwrap(), g);
    assert_eq!(fs.lookup(full, b"..").unwrap(), b);
    assert_eq!(fs.getattr(a).unwrap().nlink, 2);
    assert_eq!(fs.getattr(b).unwrap().nlink, 4);

    fs.rename(b, b"f2", b, b"f2-renamed", RenameFlags::NONE)
        .unwrap();
    fs.rename(b, b"f2-renamed", b, b"f2-renamed", RenameFlags::NONE)
        .unwrap();
    fs.link(f1, b, b"hard").unwrap();
    fs.rename(b, b"hard", b, b"f2-renamed", RenameFlags::NONE)
        .unwrap();
    assert_eq!(
        fs.getattr(f1).unwrap().nlink,
        2,
        "renaming onto a link of itself is a no-op"
    );
    fs.check().unwrap();
}

#[test]
fn concurrent_readers_and_writers() {
    let (_mem, fs) = format_mem(small_cache());
    let fs = std::sync::Arc::new(fs);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let fs = fs.clone();
            std::thread::spawn(move || {
                let ino = new_file(&fs, ROOT_INO, &format!("t{t}"));
                let data = pattern(t, 300_000);
                for chunk in 0..30 {
                    fs.write(
                        ino,
                        chunk * 10_000,
                        &data[chunk as usize * 10_000..(chunk as usize + 1) * 10_000],
                    )
                    .unwrap();
                    if chunk % 10 == 0 {
                        fs.sync().unwrap();
                    }
                }
                assert_eq!(read_all(&fs, ino), data);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    fs.check().unwrap();
}

#[test]
fn limits_give_nospace_and_efbig() {
    let opts = Options {
        capacity_bytes: 1 << 20,
        ..Options::default()
    };
    let (_mem, fs) = format_mem(opts);
    let f = new_file(&fs, ROOT_INO, "f");
    let e = fs.write(f, 0, &pattern(1, 2 << 20)).unwrap_err();
    assert!(matches!(e, Error::NoSpace));
    assert_eq!(e.errno(), 28);
    fs.write(f, 0, &pattern(1, 100_000)).unwrap();
    let e = fs.write(f, 700 << 30, b"x").unwrap_err();
    assert!(matches!(e, Error::FileTooBig));
    assert_eq!(e.errno(), 27);
    let set = SetAttr {
        size: Some(u64::MAX),
        ..SetAttr::default()
    };
    assert!(matches!(fs.setattr(f, &set), Err(Error::FileTooBig)));
    fs.sync().unwrap();
    fs.check().unwrap();
}

#[test]
fn removed_directory_rejects_new_entries() {
    let (_mem, fs) = format_mem(Options::default());
    let d = mkdir(&fs, ROOT_INO, "d");
    fs.rmdir(ROOT_INO, b"d").unwrap();
    assert_eq!(fs.getattr(d).unwrap().nlink, 0);
    assert_eq!(fs.getattr(ROOT_INO).unwrap().nlink, 2);
    assert!(matches!(
        fs.create(d, b"x", FileKind::Regular, 0, 0, 0, 0),
        Err(Error::NotFound)
    ));
    assert!(fs.readdir(d).unwrap().is_empty());
    fs.check().unwrap();
    fs.release(d).unwrap();
    fs.check().unwrap();
}

#[test]
fn small_changes_rewrite_only_their_path() {
    let (mem, fs) = format_mem(Options::default());
    let d = mkdir(&fs, ROOT_INO, "many");
    for i in 0..2000 {
        let f = new_file(&fs, d, &format!("file-{i}"));
        fs.write(f, 0, &pattern(i, 1000)).unwrap();
    }
    fs.sync().unwrap();
    let before = mem.bytes_written();
    let f = fs.lookup(d, b"file-1234").unwrap();
    fs.write(f, 10, b"small change").unwrap();
    fs.sync().unwrap();
    let written = mem.bytes_written() - before;
    assert!(
        written <= 12 * 4096,
        "a one-block change wrote {written} bytes"
    );
    let before = mem.bytes_written();
    new_file(&fs, d, "one-more");
    fs.sync().unwrap();
    let written = mem.bytes_written() - before;
    assert!(
        written <= 16 * 4096,
        "creating a file wrote {written} bytes"
    );
}

#[test]
fn directory_indexes_are_evicted_and_rebuilt() {
    let (_mem, fs) = format_mem(small_cache());
    let dirs: Vec<u64> = (0..3)
        .map(|i| mkdir(&fs, ROOT_INO, &format!("d{i}")))
        .collect();
    for i in 0..700 {
        for (n, &d) in dirs.iter().enumerate() {
            fs.create(
                d,
                format!("{n}-{i}").as_bytes(),
                FileKind::Fifo,
                0o644,
                0,
                0,
                0,
            )
            .unwrap();
        }
    }
    for i in (0..700).rev() {
        for (n, &d) in dirs.iter().enumerate() {
            fs.lookup(d, format!("{n}-{i}").as_bytes()).unwrap();
            assert!(matches!(
                fs.lookup(d, format!("{}-{i}", n + 1).as_bytes()),
                Err(Error::NotFound)
            ));
        }
    }
    fs.check().unwrap();
}
