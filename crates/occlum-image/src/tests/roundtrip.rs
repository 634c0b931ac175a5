//! Building a sample tree and reading everything back.

use std::collections::HashMap;
use std::fs::{self, File};
use std::sync::Arc;

use super::{compare_tree, open, pattern, read_all, resolve, CountingDev, Fixture, BIG};
use crate::read::store::PIECE;
use crate::{build_image, FileKind, Image, ImageError, ReadAt, ROOT_INO};

#[test]
fn full_tree_roundtrip_through_a_file() {
    let fx = Fixture::new(true);
    let out = fx.dir.path().join("image.bin");
    let report = build_image(&fx.src(), &out).unwrap();
    assert_eq!(report.bytes, fs::metadata(&out).unwrap().len());
    assert_eq!(report.bytes % 4096, 0);
    // bin/hello, bin/shared (+ link), empty_file, one, f4095/6/7, deep.txt, café, big.
    assert_eq!(report.files, 10);
    // root, bin, nested, a, b, c, empty_dir.
    assert_eq!(report.dirs, 7);
    assert_eq!(report.symlinks, 3);
    let mut skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_owned())
        .collect();
    skipped.sort();
    assert_eq!(skipped, ["fifo", "sock"]);
    assert!(report.skipped.iter().all(|(_, why)| !why.is_empty()));

    let dev: Arc<dyn ReadAt> = Arc::new(File::open(&out).unwrap());
    let img = Image::open(dev, report.root_hash).unwrap();
    assert_eq!(img.root_hash(), report.root_hash);
    assert_eq!(img.root(), ROOT_INO);
    let mut links = HashMap::new();
    compare_tree(&img, img.root(), &fx.src(), &mut links);

    let deep = resolve(&img, b"/nested/a/b/c/deep.txt").unwrap();
    assert_eq!(img.path_of(deep), "/nested/a/b/c/deep.txt");
    assert_eq!(img.path_of(img.root()), "/");
    let cafe = resolve(&img, b"/caf\xe9\xff").unwrap();
    assert_eq!(read_all(&img, cafe, 7).unwrap(), b"latin-1 name");
    assert_eq!(img.path_of(cafe), "/caf\u{fffd}\u{fffd}");
    let one = img.getattr(resolve(&img, b"/one").unwrap()).unwrap();
    assert_eq!(
        (one.mtime_sec, one.mtime_nsec),
        (1_600_000_000, 123_456_789)
    );
    let hello = img.getattr(resolve(&img, b"/bin/hello").unwrap()).unwrap();
    assert_eq!((hello.mode, hello.size), (0o751, 4097));
    let shared = resolve(&img, b"/nested/shared_link").unwrap();
    assert_eq!(shared, resolve(&img, b"/bin/shared").unwrap());
    assert_eq!(img.getattr(shared).unwrap().nlink, 2);
    let empty = resolve(&img, b"/empty_dir").unwrap();
    assert!(img.readdir(empty).unwrap().is_empty());
    assert_eq!(
        img.readlink(resolve(&img, b"/abs_link").unwrap()).unwrap(),
        b"/etc/passwd"
    );
    assert_eq!(
        img.readlink(resolve(&img, b"/rel_link").unwrap()).unwrap(),
        b"bin/hello"
    );
}

#[test]
fn partial_reads_and_error_kinds() {
    let fx = Fixture::new(true);
    let (data, report) = fx.build("img");
    let img = open(data, report.root_hash).unwrap();
    let big = resolve(&img, b"/big").unwrap();
    let want = pattern(BIG, 5);
    for (off, len) in [
        (0, 1),
        (4095, 2),
        (4090, 20),
        (8191, 8194),
        (BIG - 10, 100),
        (1 << 20, 3 << 19),
    ] {
        let mut buf = vec![0u8; len];
        let n = img.read(big, off as u64, &mut buf).unwrap();
        let end = (off + len).min(BIG);
        assert_eq!(n, end - off);
        assert_eq!(&buf[..n], &want[off..end]);
    }
    assert_eq!(img.read(big, BIG as u64, &mut [0; 10]).unwrap(), 0);
    assert_eq!(img.read(big, u64::MAX, &mut [0; 10]).unwrap(), 0);
    let empty = resolve(&img, b"/empty_file").unwrap();
    assert_eq!(img.read(empty, 0, &mut [0; 10]).unwrap(), 0);

    let bin = resolve(&img, b"/bin").unwrap();
    assert_eq!(img.lookup(bin, b".").unwrap(), bin);
    assert_eq!(img.lookup(bin, b"..").unwrap(), img.root());
    assert_eq!(img.lookup(img.root(), b"..").unwrap(), img.root());
    let err = img.lookup(bin, b"missing").unwrap_err();
    assert!(matches!(err, ImageError::NotFound));
    assert_eq!(err.errno(), 2);
    let err = img.lookup(big, b"x").unwrap_err();
    assert!(matches!(err, ImageError::NotDir));
    assert_eq!(err.errno(), 20);
    assert!(matches!(img.readdir(big), Err(ImageError::NotDir)));
    let err = img.read(bin, 0, &mut [0; 4]).unwrap_err();
    assert!(matches!(err, ImageError::IsDir));
    assert_eq!(err.errno(), 21);
    assert_eq!(img.readlink(big).unwrap_err().errno(), 22);
    let link = resolve(&img, b"/rel_link").unwrap();
    assert_eq!(img.getattr(link).unwrap().kind, FileKind::Symlink);
    assert!(matches!(
        img.read(link, 0, &mut [0; 4]),
        Err(ImageError::InvalidArgument)
    ));
    for bad in [0, 10_000, u64::MAX] {
        assert!(matches!(img.getattr(bad), Err(ImageError::NotFound)));
        assert!(matches!(img.lookup(bad, b"x"), Err(ImageError::NotFound)));
        assert_eq!(img.path_of(bad), format!("/<ino {bad}>"));
    }
}

#[test]
fn open_is_lazy_and_large_reads_are_batched() {
    let fx = Fixture::new(true);
    let (data, report) = fx.build("img");
    let dev = CountingDev::new(data);
    let img = Image::open(dev.clone(), report.root_hash).unwrap();
    assert!(dev.calls() <= 2, "open made {} reads", dev.calls());
    assert!(dev.bytes.load(std::sync::atomic::Ordering::SeqCst) <= 8192);
    let big = resolve(&img, b"/big").unwrap();
    let before = dev.calls();
    let mut buf = vec![0u8; BIG];
    assert_eq!(img.read(big, 0, &mut buf).unwrap(), BIG);
    assert_eq!(buf, pattern(BIG, 5));
    let used = dev.calls() - before;
    // Pieces of PIECE bytes, the partial blocks at the ends, one read per
    // level-0 node (7) and the inode block.
    let pieces = BIG.div_ceil(PIECE) as u64;
    assert!(
        used <= pieces + 10,
        "reading 3 MiB took {used} read_at calls"
    );
    // Large reads bypass the cache: the device again, a piece at a time.
    let before = dev.calls();
    assert_eq!(img.read(big, 0, &mut buf).unwrap(), BIG);
    assert_eq!(buf, pattern(BIG, 5));
    let used = dev.calls() - before;
    assert!(used <= pieces + 2, "a large reread took {used} reads");
    // Smaller ones (and the partial blocks at a large read's ends) are
    // served from the verified cache when read again.
    let mut small = vec![0u8; 100_000];
    assert_eq!(
        img.read(big, 4096 * 3 + 17, &mut small).unwrap(),
        small.len()
    );
    let before = dev.calls();
    assert_eq!(
        img.read(big, 4096 * 3 + 17, &mut small).unwrap(),
        small.len()
    );
    assert_eq!(
        &small[..],
        &pattern(BIG, 5)[4096 * 3 + 17..4096 * 3 + 17 + 100_000]
    );
    assert_eq!(
        dev.calls(),
        before,
        "rereads are served from the verified cache"
    );
    // An unaligned large read: cached ends, direct middle, all verified.
    let mut odd = vec![0u8; BIG - 5000];
    assert_eq!(img.read(big, 2500, &mut odd).unwrap(), odd.len());
    assert_eq!(&odd[..], &pattern(BIG, 5)[2500..BIG - 2500]);
}

#[test]
fn concurrent_readers_agree() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Image>();
    let fx = Fixture::new(true);
    let (data, report) = fx.build("img");
    let img =
        Arc::new(Image::open_with_cache(Arc::new(data), report.root_hash, 64 * 1024).unwrap());
    let files: [(&[u8], Vec<u8>); 4] = [
        (b"/big", pattern(BIG, 5)),
        (b"/bin/hello", pattern(4097, 1)),
        (b"/f4096", pattern(4096, 3)),
        (b"/f4095", pattern(4095, 2)),
    ];
    std::thread::scope(|s| {
        for (path, want) in &files {
            let img = img.clone();
            s.spawn(move || {
                for round in 0..3 {
                    let ino = resolve(&img, path).unwrap();
                    assert_eq!(&read_all(&img, ino, 5000 + round).unwrap(), want);
                }
            });
        }
    });
}

#[test]
fn empty_source_and_output_inside_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    let out = dir.path().join("empty.img");
    let report = build_image(&src, &out).unwrap();
    assert_eq!((report.files, report.dirs, report.symlinks), (0, 1, 0));
    let img = open(fs::read(&out).unwrap(), report.root_hash).unwrap();
    assert!(img.readdir(img.root()).unwrap().is_empty());

    // An image written into its own source tree never packs itself or its temp file.
    fs::write(src.join("a"), b"a").unwrap();
    let inside = src.join("self.img");
    build_image(&src, &inside).unwrap();
    let report = build_image(&src, &inside).unwrap();
    let img = open(fs::read(&inside).unwrap(), report.root_hash).unwrap();
    let names: Vec<_> = img
        .readdir(img.root())
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, [b"a".to_vec()]);
}

#[test]
fn build_errors_name_the_host_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = build_image(&missing, &dir.path().join("x.img")).unwrap_err();
    assert_eq!(err.path, missing);
    assert!(err.to_string().contains("missing"), "{err}");
    let file = dir.path().join("file");
    fs::write(&file, b"").unwrap();
    let err = build_image(&file, &dir.path().join("x.img")).unwrap_err();
    assert_eq!(err.path, file);
    let err = build_image(dir.path(), &dir.path().join("no/such/dir/x.img")).unwrap_err();
    assert!(
        err.path.starts_with(dir.path().join("no/such/dir")),
        "{err}"
    );
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["file"], "no temporary files are left behind");
}
