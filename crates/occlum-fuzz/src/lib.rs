//! Fuzz targets for the parsers that read bytes an attacker controls: ELF
//! programs (the LibOS's loader, and its search of shared code for sites), the integrity-protected image (its
//! reader), the encrypted file system's host file (its on-disk parser),
//! `Occlum.json`, and SGX quotes (`occlum attest verify`, `/dev/sgx`). Each target must return for any input without panicking,
//! hanging or allocating without bound; errors are the expected outcome.
//!
//! `tests/smoke.rs` runs every target on mutations of valid inputs in
//! `cargo test`; for coverage-guided fuzzing with libFuzzer, see
//! docs/testing.md (`cargo fuzz run --features libfuzzer TARGET`).

#![forbid(unsafe_code)]

use std::sync::Arc;

/// The key the `sefs` target opens storage with (the smoke test formats
/// its seed with it, so that mutations reach past the superblock check).
pub const SEFS_KEY: [u8; 32] = [7; 32];

/// Parses `data` as an executable, as `execve` does before loading it.
pub fn elf(data: &[u8]) {
    let _ = occlum_libos::loader::ElfImage::parse(data);
}

/// Parses `data` as a shared library, as a loader's first mapping of one
/// is recognized, then searches its code for sites through its unwind
/// tables and plans their rewriting (`vm/scan.rs`, `vm/prepatch.rs`).
pub fn shared_code(data: &[u8]) {
    let Ok(image) = occlum_libos::loader::ElfImage::parse(data) else {
        return;
    };
    if let Some((layout, _, _)) = image.library_layout() {
        let (found, taken) = occlum_libos::vm::learned::search_and_plan(data, &layout);
        assert!(taken <= found);
    }
}

/// Opens `data[32..]` as an image whose expected root hash is `data[..32]`,
/// then walks it: every directory listed, every link read, every file read.
pub fn image(data: &[u8]) {
    if data.len() < 32 {
        return;
    }
    let root: [u8; 32] = data[..32].try_into().expect("32 bytes");
    let dev: Arc<dyn occlum_image::ReadAt> = Arc::new(data[32..].to_vec());
    let Ok(img) = occlum_image::Image::open(dev, root) else {
        return;
    };
    walk_image(&img, occlum_image::ROOT_INO, 0);
}

fn walk_image(img: &occlum_image::Image, dir: occlum_image::Ino, depth: u32) {
    let Ok(entries) = img.readdir(dir) else {
        return;
    };
    for e in entries.iter().take(1024) {
        if e.name == b"." || e.name == b".." {
            continue;
        }
        let _ = img.readlink(e.ino);
        let mut buf = [0u8; 4096];
        let _ = img.read(e.ino, 0, &mut buf);
        if depth < 8 {
            walk_image(img, e.ino, depth + 1);
        }
    }
}

/// Opens `data` as the host file of an encrypted file system (key
/// [`SEFS_KEY`]) and, if it opens, reads everything in it and checks it.
pub fn sefs(data: &[u8]) {
    let storage = Arc::new(occlum_sefs::MemStorage::from_bytes(data.to_vec()));
    let env = Arc::new(occlum_sefs::StdEnv);
    let Ok(fs) = occlum_sefs::Sefs::open(storage, SEFS_KEY, env, occlum_sefs::Options::default())
    else {
        return;
    };
    walk_sefs(&fs, fs.root(), 0);
    let _ = fs.check();
}

fn walk_sefs(fs: &occlum_sefs::Sefs, dir: occlum_sefs::Ino, depth: u32) {
    let Ok(entries) = fs.readdir(dir) else {
        return;
    };
    for e in entries.iter().take(1024) {
        let _ = fs.getattr(e.ino);
        let _ = fs.readlink(e.ino);
        let mut buf = [0u8; 4096];
        let _ = fs.read(e.ino, 0, &mut buf);
        if depth < 8 {
            walk_sefs(fs, e.ino, depth + 1);
        }
    }
}

/// Parses and validates `data` as `Occlum.json`.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = occlum_config::Config::from_json_str(text);
    }
}

/// Parses `data` as a DCAP quote and verifies it, trusting the root its own
/// certificate chain ends in (so that mutations get past the root check to
/// the signatures).
pub fn quote(data: &[u8]) {
    use occlum_attest::quote;
    let Ok(q) = quote::parse(data) else {
        return;
    };
    let roots = occlum_attest::pki::ders(q.cert_data)
        .ok()
        .and_then(|mut d| d.pop())
        .into_iter()
        .collect::<Vec<_>>();
    let _ = quote::verify(
        data,
        &roots,
        &occlum_attest::quoting_enclave_identity(),
        std::time::SystemTime::now(),
    );
}
