//! `occlum build`: validate `Occlum.json`, check the entry points, and build
//! `image/` into `build/` incrementally (unchanged files are neither copied
//! nor hashed again).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use filetime::FileTime;
use occlum_config::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::instance::Instance;

/// One file of the built image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ManifestEntry {
    size: u64,
    mtime_ns: i128,
    sha256: String,
}

/// Per-file hashes of the built image, and a digest over all of them.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    root_sha256: String,
    files: BTreeMap<String, ManifestEntry>,
}

/// Loads and validates the instance's `Occlum.json` (errors name the field).
pub fn load_config(path: &Path) -> Result<Config> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Config::from_json_str_named(&text, "Occlum.json").map_err(|e| anyhow!("{e}"))
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
    let out = inst.built_image_dir();
    let updated = sync_tree(&image, &out, force)?;
    let files = write_manifest(&out, &inst.manifest_path(), force)?;
    fs::write(inst.built_config_path(), config.to_json_pretty())?;
    eprintln!(
        "Built the image: {files} files, {updated} updated ({})",
        inst.build_dir().display()
    );
    Ok(())
}

fn mtime_ns(m: &fs::Metadata) -> i128 {
    let t = FileTime::from_last_modification_time(m);
    t.unix_seconds() as i128 * 1_000_000_000 + t.nanoseconds() as i128
}

/// Mirrors `src` into `dst`; returns the number of files copied.
fn sync_tree(src: &Path, dst: &Path, force: bool) -> Result<usize> {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut updated = 0;
    for entry in WalkDir::new(src).follow_links(false).sort_by_file_name() {
        let entry = entry?;
        let rel = entry.path().strip_prefix(src)?.to_path_buf();
        let to = dst.join(&rel);
        seen.insert(rel);
        let ft = entry.file_type();
        let old = fs::symlink_metadata(&to).ok();
        if ft.is_dir() {
            if old.as_ref().is_some_and(|m| !m.is_dir()) {
                fs::remove_file(&to)?;
            }
            fs::create_dir_all(&to)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(entry.path())?;
            if fs::read_link(&to).ok().as_ref() != Some(&target) {
                remove_any(&to)?;
                std::os::unix::fs::symlink(&target, &to)?;
                updated += 1;
            }
        } else if ft.is_file() {
            let meta = entry.metadata()?;
            let same = old.as_ref().is_some_and(|m| {
                m.is_file()
                    && m.len() == meta.len()
                    && mtime_ns(m) == mtime_ns(&meta)
                    && m.permissions() == meta.permissions()
            });
            if force || !same {
                if old.as_ref().is_some_and(|m| !m.is_file()) {
                    remove_any(&to)?;
                }
                fs::copy(entry.path(), &to)
                    .with_context(|| format!("cannot copy {}", entry.path().display()))?;
                filetime::set_file_mtime(&to, FileTime::from_last_modification_time(&meta))?;
                updated += 1;
            }
        } else {
            eprintln!(
                "warning: skipping {}: not a regular file, directory or symbolic link",
                entry.path().display()
            );
        }
    }
    for entry in WalkDir::new(dst).contents_first(true) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(dst)?;
        if !seen.contains(rel) {
            remove_any(entry.path())?;
        }
    }
    Ok(updated)
}

fn remove_any(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p)?,
        Ok(_) => fs::remove_file(p)?,
        Err(_) => {}
    }
    Ok(())
}

fn sha256_file(p: &Path) -> Result<String> {
    let mut f = fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the manifest of `image`, re-hashing only changed files; returns
/// the number of files.
fn write_manifest(image: &Path, path: &Path, force: bool) -> Result<usize> {
    let old: Manifest = match fs::read(path) {
        Ok(b) if !force => serde_json::from_slice(&b).unwrap_or_default(),
        _ => Manifest::default(),
    };
    let mut files = BTreeMap::new();
    for entry in WalkDir::new(image).follow_links(false).sort_by_file_name() {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = format!("/{}", entry.path().strip_prefix(image)?.display());
        let meta = entry.metadata()?;
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        let sha256 = match old.files.get(&rel) {
            Some(e) if e.size == size && e.mtime_ns == mtime => e.sha256.clone(),
            _ => sha256_file(entry.path())?,
        };
        files.insert(
            rel,
            ManifestEntry {
                size,
                mtime_ns: mtime,
                sha256,
            },
        );
    }
    let mut root = Sha256::new();
    for (p, e) in &files {
        root.update(p.as_bytes());
        root.update([0]);
        root.update(e.sha256.as_bytes());
    }
    let manifest = Manifest {
        root_sha256: hex(&root.finalize()),
        files,
    };
    let n = manifest.files.len();
    fs::write(path, serde_json::to_vec_pretty(&manifest)?)?;
    Ok(n)
}
