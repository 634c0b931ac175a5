//! Every fuzz target on a few thousand mutations of valid inputs, with a
//! fixed seed: what CI runs on every change. Coverage-guided runs with
//! libFuzzer go much further (docs/testing.md).

use std::sync::Arc;

/// A small deterministic PRNG (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A mutation of `seed`: flipped bytes, interesting values written over
/// header-like positions, truncation, or a repeated chunk.
fn mutate(rng: &mut Rng, seed: &[u8], protect: usize) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = b.len();
        if len <= protect {
            break;
        }
        let at = protect
            + rng
                .below(len - protect)
                .min(if rng.below(2) == 0 { 4096 } else { len });
        let at = at.min(len - 1);
        match rng.below(6) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = [0, 0xff, 0x7f, 0x80, 1][rng.below(5)],
            2 => {
                let v = [0u64, u64::MAX, 1 << 63, 0xffff_ffff, 1 << 40][rng.below(5)];
                let end = (at + 8).min(len);
                b[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
            }
            3 => b.truncate(protect.max(at)),
            4 => {
                let chunk: Vec<u8> = b[at..(at + 64).min(len)].to_vec();
                let to = protect + rng.below(len - protect);
                b.splice(to..to, chunk);
            }
            _ => b[at] = rng.next() as u8,
        }
    }
    b
}

fn run(name: &str, seeds: &[Vec<u8>], protect: usize, rounds: usize, target: fn(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for seed in seeds {
        target(seed);
        for _ in 0..rounds {
            target(&mutate(&mut rng, seed, protect));
        }
    }
    target(&[]);
    target(&[0xff; 7]);
}

#[test]
fn elf_parser() {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    // The headers are what the parser reads: mutate the first pages only.
    let seed = exe[..exe.len().min(64 * 1024)].to_vec();
    run("elf", &[seed], 0, 4000, occlum_fuzz::elf);
}

#[test]
fn shared_code_search() {
    // glibc's dynamic loader: a shared object with unwind tables and some
    // 80 syscall and cpuid sites.
    let seed = std::fs::read("/lib64/ld-linux-x86-64.so.2").unwrap();
    let image = occlum_libos::loader::ElfImage::parse(&seed).unwrap();
    let (layout, _, _) = image.library_layout().unwrap();
    let (found, taken) = occlum_libos::vm::learned::search_and_plan(&seed, &layout);
    assert!(found >= 50 && taken * 10 >= found * 9, "{found} {taken}");
    run("shared_code", &[seed], 0, 600, occlum_fuzz::shared_code);
}

#[test]
fn image_reader() {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("bin/sub")).unwrap();
    std::fs::write(src.path().join("bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
    std::fs::write(src.path().join("bin/sub/big"), vec![0x5a; 70_000]).unwrap();
    std::os::unix::fs::symlink("hello", src.path().join("bin/link")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("image.bin");
    let report = occlum_image::build_image(src.path(), &file).unwrap();
    let mut seed = report.root_hash.to_vec();
    seed.extend(std::fs::read(&file).unwrap());
    // The root hash stays right (mutations hit the image), and once wrong.
    let mut wrong = seed.clone();
    wrong[0] ^= 1;
    run("image", &[seed, wrong], 32, 2000, occlum_fuzz::image);
}

#[test]
fn encrypted_fs_storage() {
    use occlum_sefs::{FileKind, MemStorage, Options, Sefs, StdEnv};
    let mem = Arc::new(MemStorage::new());
    let fs = Sefs::format(
        mem.clone(),
        occlum_fuzz::SEFS_KEY,
        Arc::new(StdEnv),
        Options::default(),
    )
    .unwrap();
    let dir = fs
        .create(fs.root(), b"dir", FileKind::Directory, 0o755, 0, 0, 0)
        .unwrap();
    let f = fs
        .create(dir, b"file", FileKind::Regular, 0o644, 0, 0, 0)
        .unwrap();
    fs.write(f, 0, &vec![0x42; 10_000]).unwrap();
    fs.sync().unwrap();
    drop(fs);
    run("sefs", &[mem.snapshot()], 0, 400, occlum_fuzz::sefs);
}

#[test]
fn occlum_json() {
    let template = occlum_config::default_template();
    run(
        "config",
        &[template.into_bytes()],
        0,
        4000,
        occlum_fuzz::config,
    );
}

#[test]
fn sgx_quote_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let platform = occlum_attest::Platform::open_or_create(dir.path()).unwrap();
    let enclave = occlum_attest::Enclave::new([1; 32], [2; 32], 3, 4, true);
    let report = platform.report(&enclave, &platform.qe_target_info(), &[5; 64]);
    let seed = platform.quote(&report).unwrap();
    assert!(platform.verify_quote(&seed).is_ok());
    run("quote", &[seed], 0, 3000, occlum_fuzz::quote);
}
