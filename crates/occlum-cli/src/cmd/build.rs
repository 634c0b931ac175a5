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

use crate::instance::Instance;

/// What the last build packed (`build/image.state.json`).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct BuildState {
    /// Digest of the source tree's names and metadata.
    fingerprint: String,
    /// Root hash of the packed image.
    root_hash: String,
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

/// Builds the instance in the current directory.
pub fn build(force: bool) -> Result<()> {
    let inst = Instance::current()?;
    let config = load_config(&inst.config_path())?;
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
        Some(s) if !force && s.fingerprint == fingerprint && out.is_file() => {
            eprintln!("The image is unchanged ({})", out.display());
            s.root_hash
        }
        _ => {
            if let Some(dir) = out.parent() {
                fs::create_dir_all(dir)?;
            }
            let report = occlum_image::build_image(&image, &out)
                .map_err(|e| anyhow!("cannot pack the image: {e}"))?;
            for (path, why) in &report.skipped {
                eprintln!("warning: skipping {}: {why}", path.display());
            }
            let root_hash = hex(&report.root_hash);
            let state = BuildState {
                fingerprint,
                root_hash: root_hash.clone(),
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
    layer.options.mac = Some(root_hash);
    fs::write(inst.built_config_path(), config.to_json_pretty())?;
    // What earlier versions built: a plain copy of image/ and its manifest.
    let _ = fs::remove_dir_all(inst.build_dir().join("image"));
    let _ = fs::remove_file(inst.build_dir().join("image.manifest.json"));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
