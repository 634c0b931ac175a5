//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use occlum_sefs::{Env, FileKind, Ino, MemStorage, Options, Sefs, Storage, Timespec};

pub const KEY: [u8; 32] = [7; 32];

/// A deterministic environment: seeded randomness, a clock ticking one second per call.
pub struct TestEnv {
    rng: Mutex<fastrand::Rng>,
    clock: AtomicI64,
}

impl TestEnv {
    pub fn new(seed: u64) -> Arc<TestEnv> {
        Arc::new(TestEnv {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            clock: AtomicI64::new(1_700_000_000),
        })
    }
}

impl Env for TestEnv {
    fn now(&self) -> Timespec {
        Timespec {
            sec: self.clock.fetch_add(1, Ordering::Relaxed),
            nsec: 0,
        }
    }

    fn fill_random(&self, buf: &mut [u8]) {
        self.rng.lock().unwrap().fill(buf);
    }
}

pub fn small_cache() -> Options {
    Options {
        cache_bytes: 64 * 4096,
        ..Options::default()
    }
}

pub fn format_mem(opts: Options) -> (Arc<MemStorage>, Sefs) {
    let mem = Arc::new(MemStorage::new());
    let fs = Sefs::format(mem.clone(), KEY, TestEnv::new(1), opts).unwrap();
    (mem, fs)
}

pub fn reopen(storage: Arc<dyn Storage>, opts: Options) -> Sefs {
    Sefs::open(storage, KEY, TestEnv::new(2), opts).unwrap()
}

/// Deterministic content for a file.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

pub fn read_all(fs: &Sefs, ino: Ino) -> Vec<u8> {
    let size = fs.getattr(ino).unwrap().size as usize;
    let mut buf = vec![0u8; size];
    let mut done = 0;
    while done < size {
        let n = fs.read(ino, done as u64, &mut buf[done..]).unwrap();
        assert!(n > 0, "short read");
        done += n;
    }
    assert_eq!(fs.read(ino, size as u64, &mut [0u8; 16]).unwrap(), 0);
    buf
}

/// What the tests compare: a file tree by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    File(Vec<u8>),
    Dir,
    Symlink(Vec<u8>),
    Special(FileKind),
}

pub type Tree = BTreeMap<Vec<u8>, Node>;

fn try_dump_dir(fs: &Sefs, dir: Ino, prefix: &[u8], out: &mut Tree) -> occlum_sefs::Result<()> {
    for e in fs.readdir(dir)? {
        let mut path = prefix.to_vec();
        path.push(b'/');
        path.extend_from_slice(&e.name);
        let attr = fs.getattr(e.ino)?;
        assert_eq!(attr.kind, e.kind);
        let node = match e.kind {
            FileKind::Regular => {
                let mut buf = vec![0u8; attr.size as usize];
                let n = fs.read(e.ino, 0, &mut buf)?;
                assert_eq!(n, buf.len());
                Node::File(buf)
            }
            FileKind::Directory => {
                try_dump_dir(fs, e.ino, &path, out)?;
                Node::Dir
            }
            FileKind::Symlink => Node::Symlink(fs.readlink(e.ino)?),
            k => Node::Special(k),
        };
        out.insert(path, node);
    }
    Ok(())
}

/// The whole tree, or the first error met while reading it.
pub fn try_dump(fs: &Sefs) -> occlum_sefs::Result<Tree> {
    let mut out = Tree::new();
    try_dump_dir(fs, fs.root(), b"", &mut out)?;
    Ok(out)
}

pub fn dump(fs: &Sefs) -> Tree {
    try_dump(fs).unwrap()
}
