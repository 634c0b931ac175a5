//! Randomized crash consistency: crash at random moments, reopen, compare.

mod common;

use std::sync::Arc;

use common::*;
use occlum_sefs::{
    Error, FileKind, Ino, MemStorage, Options, RenameFlags, Sefs, SetAttr, ROOT_INO,
};

const ITERATIONS: u64 = 240;

/// An entry found by walking the tree.
struct Entry {
    dir: Ino,
    name: Vec<u8>,
    ino: Ino,
    kind: FileKind,
}

fn walk(fs: &Sefs) -> occlum_sefs::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut dirs = vec![ROOT_INO];
    while let Some(d) = dirs.pop() {
        for e in fs.readdir(d)? {
            if e.kind == FileKind::Directory {
                dirs.push(e.ino);
            }
            out.push(Entry {
                dir: d,
                name: e.name,
                ino: e.ino,
                kind: e.kind,
            });
        }
    }
    Ok(out)
}

fn fatal(e: &Error) -> bool {
    matches!(e, Error::Io(_))
}

/// One random operation; `Err` only for host failures (the simulated crash).
fn random_op(
    fs: &Sefs,
    rng: &mut fastrand::Rng,
    orphans: &mut Vec<Ino>,
) -> occlum_sefs::Result<()> {
    let entries = walk(fs)?;
    let mut dirs: Vec<Ino> = entries
        .iter()
        .filter(|e| e.kind == FileKind::Directory)
        .map(|e| e.ino)
        .collect();
    dirs.push(ROOT_INO);
    let files: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.kind == FileKind::Regular)
        .collect();
    let dir = dirs[rng.usize(..dirs.len())];
    let name = format!("n{}", rng.u8(..12)).into_bytes();
    let r = match rng.u8(..20) {
        0..=2 => fs
            .create(dir, &name, FileKind::Regular, 0o644, 0, 0, 0)
            .map(drop),
        3 => fs
            .create(dir, &name, FileKind::Directory, 0o755, 0, 0, 0)
            .map(drop),
        4..=8 if !files.is_empty() => {
            let f = files[rng.usize(..files.len())];
            let len = if rng.u8(..4) > 0 {
                rng.usize(1..9000)
            } else {
                rng.usize(64_000..90_000)
            };
            let off = rng.u64(0..40_000);
            fs.write(f.ino, off, &pattern(rng.u64(..), len)).map(drop)
        }
        9 if !files.is_empty() => {
            let f = files[rng.usize(..files.len())];
            let set = SetAttr {
                size: Some(rng.u64(0..100_000)),
                ..SetAttr::default()
            };
            fs.setattr(f.ino, &set).map(drop)
        }
        10 | 11 if !entries.is_empty() => {
            let e = &entries[rng.usize(..entries.len())];
            let r = if e.kind == FileKind::Directory {
                fs.rmdir(e.dir, &e.name)
            } else {
                fs.unlink(e.dir, &e.name)
            };
            if r.is_ok() {
                if rng.bool() {
                    fs.release(e.ino)?;
                } else {
                    orphans.push(e.ino);
                }
            }
            r
        }
        12 | 13 if !entries.is_empty() => {
            let e = &entries[rng.usize(..entries.len())];
            let flags = match rng.u8(..4) {
                0 => RenameFlags::NOREPLACE,
                1 => RenameFlags::EXCHANGE,
                _ => RenameFlags::NONE,
            };
            fs.rename(e.dir, &e.name, dir, &name, flags)
        }
        14 => fs
            .symlink(
                dir,
                &name,
                format!("target-{}", rng.u32(..)).as_bytes(),
                0,
                0,
            )
            .map(drop),
        15 if !files.is_empty() => fs.link(files[rng.usize(..files.len())].ino, dir, &name),
        16 if !orphans.is_empty() => fs.release(orphans.swap_remove(rng.usize(..orphans.len()))),
        _ => Ok(()),
    };
    match r {
        Err(e) if fatal(&e) => Err(e),
        Err(Error::Corrupted(what)) => panic!("corruption during normal operation: {what}"),
        _ => Ok(()),
    }
}

fn one_run(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let opts = if rng.bool() {
        Options {
            cache_bytes: rng.usize(16..80) * 4096,
            ..Options::default()
        }
    } else {
        Options::default()
    };
    let mem = Arc::new(MemStorage::new());
    let fs = Sefs::format(mem.clone(), KEY, TestEnv::new(seed), opts.clone()).unwrap();
    let mut synced = dump(&fs);
    let mut in_flight = None;
    let mut orphans = Vec::new();
    let nops = rng.usize(10..60);
    let crash_at = rng.usize(0..nops + 5);
    for op in 0..nops {
        if op == crash_at {
            mem.set_write_budget(Some(rng.u64(0..40)));
        }
        if rng.u8(..6) == 0 {
            let Ok(state) = try_dump(&fs) else { break };
            in_flight = Some(state.clone());
            match fs.sync() {
                Ok(()) => {
                    synced = state;
                    in_flight = None;
                }
                Err(e) if fatal(&e) => break,
                Err(e) => panic!("seed {seed}: sync failed: {e}"),
            }
        } else if random_op(&fs, &mut rng, &mut orphans).is_err() {
            break;
        }
    }
    let p = [0.0, 0.3, 0.7, 1.0][rng.usize(..4)];
    let crashed = Arc::new(mem.crash(&mut || rng.f32() < p));
    let fs2 = Sefs::open(crashed.clone(), KEY, TestEnv::new(seed + 1), opts.clone())
        .unwrap_or_else(|e| panic!("seed {seed}: reopen failed: {e}"));
    let got =
        try_dump(&fs2).unwrap_or_else(|e| panic!("seed {seed}: reading after crash failed: {e}"));
    assert!(
        got == synced || in_flight.as_ref() == Some(&got),
        "seed {seed}: state after crash is neither the synced nor the in-flight one"
    );
    fs2.check()
        .unwrap_or_else(|e| panic!("seed {seed}: check after crash: {e}"));
    let mut orphans = Vec::new();
    for _ in 0..10 {
        random_op(&fs2, &mut rng, &mut orphans).unwrap();
    }
    fs2.sync().unwrap();
    fs2.check()
        .unwrap_or_else(|e| panic!("seed {seed}: check after recovery ops: {e}"));
    let after = dump(&fs2);
    drop(fs2);
    let fs3 = Sefs::open(crashed, KEY, TestEnv::new(seed + 2), opts).unwrap();
    assert_eq!(dump(&fs3), after, "seed {seed}");
}

#[test]
fn random_crashes_recover_a_synced_state() {
    let base = std::env::var("SEFS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xc0ffee);
    for i in 0..ITERATIONS {
        one_run(base + i);
    }
}
