//! Tampering with any block of the image is detected and attributed to the right file.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{open, read_all, resolve, Fixture};
use crate::format::blocks_for;
use crate::header::Header;
use crate::{Attr, DirEntry, FileKind, Image, ImageError, Ino, ReadAt};

/// What a path must read back as.
#[derive(Clone, Debug, PartialEq)]
enum Content {
    Data(Vec<u8>),
    Link(Vec<u8>),
    Dir(Vec<DirEntry>),
}

struct Item {
    path: Vec<u8>,
    attr: Attr,
    content: Content,
}

fn lossy(path: &[u8]) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        String::from_utf8_lossy(path).into_owned()
    }
}

/// Everything reachable in a known-good image, breadth first.
fn model(img: &Image) -> Vec<Item> {
    let mut items = Vec::new();
    let mut queue = VecDeque::from([(Vec::new(), img.root())]);
    while let Some((path, ino)) = queue.pop_front() {
        let attr = img.getattr(ino).unwrap();
        let content = match attr.kind {
            FileKind::Regular => Content::Data(read_all(img, ino, 1 << 22).unwrap()),
            FileKind::Symlink => Content::Link(img.readlink(ino).unwrap()),
            FileKind::Directory => {
                let entries = img.readdir(ino).unwrap();
                for e in &entries {
                    let mut child = path.clone();
                    child.push(b'/');
                    child.extend_from_slice(&e.name);
                    queue.push_back((child, e.ino));
                }
                Content::Dir(entries)
            }
        };
        items.push(Item {
            path,
            attr,
            content,
        });
    }
    items
}

fn access(img: &Image, item: &Item) -> Result<(), ImageError> {
    let ino = resolve(img, &item.path)?;
    assert_eq!(ino, item.attr.ino);
    assert_eq!(
        img.getattr(ino)?,
        item.attr,
        "attributes of {}",
        lossy(&item.path)
    );
    let got = match &item.content {
        Content::Data(_) => Content::Data(read_all(img, ino, 1 << 22)?),
        Content::Link(_) => Content::Link(img.readlink(ino)?),
        Content::Dir(_) => Content::Dir(img.readdir(ino)?),
    };
    assert!(
        got == item.content,
        "wrong content for {}",
        lossy(&item.path)
    );
    Ok(())
}

/// Accesses every item; returns the inodes that failed. Every result is either correct
/// data or `Corrupted` naming the item, one of its aliases, or one of its ancestors.
fn check(img: &Image, items: &[Item]) -> Vec<Ino> {
    let mut failed = Vec::new();
    for item in items {
        let Err(err) = access(img, item) else {
            continue;
        };
        let ImageError::Corrupted { path, .. } = &err else {
            panic!("unexpected error for {}: {err}", lossy(&item.path));
        };
        let mut allowed: Vec<String> = items
            .iter()
            .filter(|i| i.attr.ino == item.attr.ino)
            .map(|i| lossy(&i.path))
            .collect();
        for (pos, _) in item.path.iter().enumerate().filter(|(_, &b)| b == b'/') {
            allowed.push(lossy(&item.path[..pos]));
        }
        assert!(
            allowed.contains(path),
            "error for {} names {path}",
            lossy(&item.path)
        );
        failed.push(item.attr.ino);
    }
    failed
}

/// Which file owns each data block (files are laid out in inode order from block 1).
fn data_owners(items: &[Item]) -> HashMap<u64, Ino> {
    let mut files: Vec<&Attr> = items
        .iter()
        .map(|i| &i.attr)
        .filter(|a| a.kind == FileKind::Regular && a.size > 0)
        .collect();
    files.sort_by_key(|a| a.ino);
    files.dedup_by_key(|a| a.ino);
    let mut owners = HashMap::new();
    let mut next = 1;
    for a in files {
        for _ in 0..blocks_for(a.size) {
            owners.insert(next, a.ino);
            next += 1;
        }
    }
    owners
}

/// Flips one byte in each selected block and checks the consequences.
fn tamper(with_big: bool, exhaustive: bool) {
    let fx = Fixture::new(with_big);
    let (data, report) = fx.build("img");
    let root = report.root_hash;
    let items = model(&open(data.clone(), root).unwrap());
    let header = Header::decode(&data[..4096]).unwrap();
    let owners = data_owners(&items);
    assert_eq!(owners.len() as u64, header.data_blocks);
    let geom = &header.geom;
    let top_block = geom.total_blocks - 1;
    assert_eq!(data.len() as u64, geom.total_blocks * 4096);

    let mut blocks: Vec<u64> = if exhaustive {
        (0..geom.total_blocks).collect()
    } else {
        let mut b: Vec<u64> = (0..geom.total_blocks)
            .filter(|b| !owners.contains_key(b))
            .collect();
        let mut per_file: HashMap<Ino, Vec<u64>> = HashMap::new();
        for (&blk, &ino) in &owners {
            per_file.entry(ino).or_default().push(blk);
        }
        for mut list in per_file.into_values() {
            list.sort();
            b.extend([list[0], list[list.len() / 2], list[list.len() - 1]]);
        }
        b
    };
    blocks.sort();
    blocks.dedup();
    for blk in blocks {
        let mut bad = data.clone();
        let at = (blk * 4096 + (blk * 37) % 4096) as usize;
        bad[at] ^= 0x5a;
        let opened = open(bad, root);
        if blk == 0 {
            assert!(
                matches!(opened, Err(ImageError::BadHeader(_))),
                "header tamper must fail open"
            );
            continue;
        }
        if blk == top_block {
            assert!(
                matches!(opened, Err(ImageError::Corrupted { ino: None, .. })),
                "top node tamper"
            );
            continue;
        }
        let img = opened.unwrap_or_else(|e| panic!("block {blk}: open failed: {e}"));
        let failed = check(&img, &items);
        assert!(!failed.is_empty(), "tampered block {blk} went unnoticed");
        if let Some(&owner) = owners.get(&blk) {
            assert!(
                failed.iter().all(|&i| i == owner),
                "block {blk}: only its file may fail: {failed:?}"
            );
            let ImageError::Corrupted { ino, path, block } =
                img.read(owner, 0, &mut vec![0; 8 << 20]).unwrap_err()
            else {
                panic!("expected Corrupted")
            };
            assert_eq!((ino, block), (Some(owner), blk));
            let names: Vec<String> = items
                .iter()
                .filter(|i| i.attr.ino == owner)
                .map(|i| lossy(&i.path))
                .collect();
            assert!(names.contains(&path), "{path} not in {names:?}");
        }
    }
}

#[test]
fn every_block_of_a_small_image_is_protected() {
    tamper(false, true);
}

#[test]
fn sampled_blocks_of_a_large_image_are_protected() {
    tamper(true, false);
}

#[test]
fn unaffected_ranges_of_a_damaged_file_still_read() {
    let fx = Fixture::new(true);
    let (mut data, report) = fx.build("img");
    let good = open(data.clone(), report.root_hash).unwrap();
    let big = resolve(&good, b"/big").unwrap();
    let want = read_all(&good, big, 1 << 22).unwrap();
    // The first regular inode in breadth-first order is /big (root entries sort first).
    let first_block = 1u64;
    let mid = first_block + 300;
    data[(mid * 4096 + 5) as usize] ^= 1;
    let img = open(data, report.root_hash).unwrap();
    let err = img.read(big, 0, &mut vec![0; want.len()]).unwrap_err();
    assert!(
        matches!(&err, ImageError::Corrupted { path, block, .. } if path == "/big" && *block == mid),
        "{err}"
    );
    assert!(err.to_string().contains("/big"));
    assert_eq!(err.errno(), 5);
    let mut buf = vec![0u8; 299 * 4096];
    assert_eq!(img.read(big, 0, &mut buf).unwrap(), buf.len());
    assert_eq!(buf, want[..buf.len()]);
    let mut tail = vec![0u8; 4096];
    assert_eq!(img.read(big, 301 * 4096, &mut tail).unwrap(), 4096);
    assert_eq!(tail, want[301 * 4096..302 * 4096]);
}

#[test]
fn wrong_root_truncation_and_garbage_fail_cleanly() {
    let fx = Fixture::new(false);
    let (data, report) = fx.build("img");
    let items = model(&open(data.clone(), report.root_hash).unwrap());
    let mut wrong = report.root_hash;
    wrong[31] ^= 1;
    assert!(matches!(
        open(data.clone(), wrong),
        Err(ImageError::BadHeader(_))
    ));
    let len = data.len();
    for cut in [0, 1, 8, 4095, 4096, 8192, len / 2, len - 4096, len - 1] {
        match open(data[..cut].to_vec(), report.root_hash) {
            Err(ImageError::BadHeader(_)) | Err(ImageError::Corrupted { .. }) => {}
            Err(e) => panic!("cut {cut}: unexpected {e}"),
            Ok(img) => assert!(!check(&img, &items).is_empty()),
        }
    }
    // Extra bytes after the image are harmless.
    let mut longer = data.clone();
    longer.extend_from_slice(&[0xff; 5000]);
    assert!(check(&open(longer, report.root_hash).unwrap(), &items).is_empty());
    // Garbage with a valid magic and arbitrary header fields.
    let mut garbage = super::pattern(64 * 4096, 9);
    garbage[..8].copy_from_slice(b"OCLMIMG\0");
    assert!(matches!(
        open(garbage, report.root_hash),
        Err(ImageError::BadHeader(_))
    ));
}

/// A device whose reads start failing after a number of calls.
struct FlakyDev {
    data: Vec<u8>,
    budget: AtomicU64,
}

impl ReadAt for FlakyDev {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            return Err(io::Error::other("host went away"));
        }
        self.data.read_at(offset, buf)
    }
}

#[test]
fn host_io_errors_are_reported_as_io() {
    let fx = Fixture::new(false);
    let (data, report) = fx.build("img");
    let dev = Arc::new(FlakyDev {
        data,
        budget: AtomicU64::new(2),
    });
    let img = Image::open(dev, report.root_hash).unwrap();
    let err = resolve(&img, b"/bin/hello").unwrap_err();
    assert!(matches!(err, ImageError::Io(_)), "{err}");
    assert_eq!(err.errno(), 5);
}

#[test]
fn verify_all_finds_any_changed_block() {
    let fx = Fixture::new(false);
    let (data, report) = fx.build("img");
    let good = open(data.clone(), report.root_hash).unwrap();
    good.verify_all().unwrap();
    let blocks = (data.len() / 4096) as u64;
    // A byte in every block but the header (whose change fails `open`).
    for blk in 1..blocks {
        let mut bad = data.clone();
        bad[(blk * 4096 + 7) as usize] ^= 0x40;
        if let Ok(img) = open(bad, report.root_hash) {
            assert!(img.verify_all().is_err(), "block {blk} changed, not found");
        }
    }
}
