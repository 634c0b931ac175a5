//! `occlum build`: validate `Occlum.json`, check the entry points, pack
//! `image/` into the integrity-protected image (`<image layer>/image.bin`,
//! by default `build/mount/__ROOT/image.bin`), and write the configuration
//! the instance runs with (`build/Occlum.json`), whose image layer's `MAC`
//! is the image's root hash. Incremental: when nothing in `image/` changed
//! since the last build (names, types, sizes, modes, times, link targets),
//! the image is not packed again.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use occlum_config::{Config, FsType, MountConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use super::keys::{read_image_key, write_secret};
use crate::enclave::{self, unhex, SigningKey};
use crate::instance::Instance;

/// What the last build packed (`build/image.state.json`).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct BuildState {
    /// Digest of the source tree's names and metadata.
    fingerprint: String,
    /// Root hash of the packed image.
    root_hash: String,
    /// SHA-256 of the instance's `Occlum.json` when it was built.
    #[serde(default)]
    config_sha256: String,
}

/// Loads and validates the instance's `Occlum.json` (errors name the field).
pub fn load_config(path: &Path) -> Result<Config> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Config::from_json_str_named(&text, "Occlum.json").map_err(|e| anyhow!("{e}"))
}

/// The layer that holds the integrity-protected image: the `sefs` mount
/// (or union layer) with a `MAC` option, as in Occlum's template.
pub fn image_layer(config: &mut Config) -> Option<&mut MountConfig> {
    fn find(m: &mut MountConfig) -> Option<&mut MountConfig> {
        if m.fs_type == FsType::Sefs && m.options.mac.is_some() {
            return Some(m);
        }
        m.options.layers.as_mut()?.iter_mut().find_map(find)
    }
    config.mount.iter_mut().find_map(find)
}

/// Where the image file of `layer` lives.
pub fn image_file(inst: &Instance, layer: &MountConfig) -> PathBuf {
    let source = layer.source.as_deref().unwrap_or("build/mount/__ROOT");
    inst.dir()
        .join(source.trim_start_matches("./"))
        .join("image.bin")
}

/// The kernel heap is memory the LibOS really holds (ramfs contents, pipe
/// buffers): more than this machine has cannot be honoured.
fn check_machine_memory(config: &Config) -> Result<()> {
    let heap = config.resource_limits.effective_kernel_heap_max();
    let Some(total) = machine_memory() else {
        return Ok(());
    };
    if heap.0 > total {
        let field = if config.resource_limits.kernel_space_heap_max_size.is_some() {
            "kernel_space_heap_max_size"
        } else {
            "kernel_space_heap_size"
        };
        bail!(
            "Occlum.json: field `resource_limits.{field}`: {heap} is more than this machine's memory ({}), expected at most that",
            occlum_config::ByteSize(total)
        );
    }
    Ok(())
}

/// The machine's physical memory in bytes (`MemTotal` of /proc/meminfo).
fn machine_memory() -> Option<u64> {
    let info = fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Builds the instance in the current directory.
pub fn build(force: bool, sign_key: Option<&Path>, image_key: Option<&Path>) -> Result<()> {
    let inst = Instance::current()?;
    let config = load_config(&inst.config_path())?;
    check_machine_memory(&config)?;
    // Read the keys first: a bad key file should fail before any work.
    let key = signing_key(&inst, sign_key)?;
    let image_key = image_key.map(read_image_key).transpose()?;
    let image = inst.image_dir();
    if !image.is_dir() {
        bail!(
            "{} is missing: the instance has no image to build",
            image.display()
        );
    }
    for (i, ep) in config.entry_points.iter().enumerate() {
        let p = image.join(ep.trim_start_matches('/'));
        if !p.exists() {
            bail!(
                "Occlum.json: field `entry_points[{i}]`: \"{ep}\" does not exist in image/, expected an existing directory or file"
            );
        }
    }
    fs::create_dir_all(inst.build_dir())?;
    let mut config = config;
    let layer = image_layer(&mut config).ok_or_else(|| {
        anyhow!("Occlum.json: field `mount`: no image layer, expected a `sefs` mount or union layer with a `MAC` option (as in the template of `occlum new`)")
    })?;
    let out = image_file(&inst, layer);
    let state_path = inst.build_dir().join("image.state.json");
    let fingerprint = tree_fingerprint(&image)?;
    let old: Option<BuildState> = fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let root_hash = match old {
        // Unchanged: the same inputs, and the image file as it was made (a
        // changed image.bin is made again).
        Some(s)
            if !force
                && s.fingerprint == fingerprint
                && out.is_file()
                && unhex(&s.root_hash)
                    .and_then(|r| <[u8; 32]>::try_from(r.as_slice()).ok())
                    .is_some_and(|r| super::run::image_known_good(&inst, &out, &r)) =>
        {
            eprintln!("The image is unchanged ({})", out.display());
            s.root_hash
        }
        _ => {
            if let Some(dir) = out.parent() {
                fs::create_dir_all(dir)?;
            }
            let spin = crate::progress::spinner("packing image/ and its hash tree");
            let report = occlum_image::build_image(&image, &out)
                .map_err(|e| anyhow!("cannot pack the image: {e}"));
            spin.finish_and_clear();
            let report = report?;
            for (path, why) in &report.skipped {
                eprintln!("warning: skipping {}: {why}", path.display());
            }
            let root_hash = hex(&report.root_hash);
            // Just made: no need to read it all again at the first run.
            super::run::record_image_checked(&inst, &out, &report.root_hash);
            let state = BuildState {
                fingerprint,
                root_hash: root_hash.clone(),
                config_sha256: String::new(),
            };
            fs::write(&state_path, serde_json::to_vec_pretty(&state)?)?;
            eprintln!(
                "Built the image: {} files, {} directories, {} symbolic links, {} bytes ({})",
                report.files,
                report.dirs,
                report.symlinks,
                report.bytes,
                out.display()
            );
            root_hash
        }
    };
    layer.options.mac = Some(root_hash.clone());
    let config_text = config.to_json_pretty();
    fs::write(inst.built_config_path(), &config_text)?;
    let key_path = image_key_path(&inst);
    let key_id = match &image_key {
        Some(k) => {
            write_secret(&key_path, hex(k).as_bytes())?;
            key_id(k)
        }
        None => {
            let _ = fs::remove_file(&key_path);
            Vec::new()
        }
    };
    let root = unhex(&root_hash).unwrap_or_default();
    let signed = enclave::sign(
        &inst,
        &key,
        config_text.as_bytes(),
        &[root, key_id].concat(),
        config.metadata.product_id,
        config.metadata.version_number,
    )?;
    let state = BuildState {
        config_sha256: hex(&Sha256::digest(fs::read(inst.config_path())?)),
        ..fs::read(&state_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    fs::write(&state_path, serde_json::to_vec_pretty(&state)?)?;
    eprintln!("Signed the enclave: mrenclave {}", signed.mrenclave);
    // What earlier versions built: a plain copy of image/ and its manifest.
    let _ = fs::remove_dir_all(inst.build_dir().join("image"));
    let _ = fs::remove_file(inst.build_dir().join("image.manifest.json"));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the build keeps the `--image-key` it was given (for `occlum run`).
pub fn image_key_path(inst: &Instance) -> PathBuf {
    inst.build_dir().join("image_key")
}

/// What the measurement records of an image key: its SHA-256, never the key.
pub fn key_id(key: &[u8]) -> Vec<u8> {
    Sha256::digest([b"occlum-rs image key id\0".as_slice(), key].concat()).to_vec()
}

/// Whether `Occlum.json` changed since the last build.
pub fn config_changed_since_build(inst: &Instance) -> bool {
    let state: Option<BuildState> = fs::read(inst.build_dir().join("image.state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let now = fs::read(inst.config_path()).map(|b| hex(&Sha256::digest(b)));
    match (state, now) {
        (Some(s), Ok(now)) => s.config_sha256 != now,
        _ => true,
    }
}

/// The key to sign with: `--sign-key`, else the instance's own key
/// (generated, with a warning, the first time).
fn signing_key(inst: &Instance, path: Option<&Path>) -> Result<SigningKey> {
    if let Some(p) = path {
        return SigningKey::load(p);
    }
    let own = enclave::instance_key_path(inst);
    if own.is_file() {
        return SigningKey::load(&own);
    }
    let key = SigningKey::generate();
    if let Some(dir) = own.parent() {
        fs::create_dir_all(dir)?;
    }
    write_secret(&own, key.to_pem()?.as_bytes())?;
    eprintln!(
        "warning: no --sign-key given: signing with a new key of this instance, {} (Ed25519). Encrypted files are bound to the signer: keep this key, or use --sign-key KEY.pem for production.",
        own.display()
    );
    Ok(key)
}

/// A digest of everything in `dir` that the image records: names, types,
/// permission bits, sizes, modification times, link targets and hard links.
fn tree_fingerprint(dir: &Path) -> Result<String> {
    let mut h = Sha256::new();
    for entry in WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let meta = entry.metadata()?;
        let rel = entry.path().strip_prefix(dir)?;
        h.update(rel.as_os_str().as_encoded_bytes());
        h.update([0]);
        for v in [
            meta.mode() as u64,
            meta.len(),
            meta.mtime() as u64,
            meta.mtime_nsec() as u64,
            meta.ino(),
            meta.nlink(),
        ] {
            h.update(v.to_le_bytes());
        }
        if entry.file_type().is_symlink() {
            h.update(fs::read_link(entry.path())?.as_os_str().as_encoded_bytes());
        }
        h.update([0xff]);
    }
    Ok(hex(&h.finalize()))
}
