//! `occlum package [NAME.tar.gz]`: a built instance as a self-contained
//! runtime package for another machine: what `occlum run` and `occlum
//! start` need (Occlum.json, build/ with the signed image and signature, the
//! `occlum` runtime itself as bin/occlum) and nothing else: not image/, not
//! the signing key, not the encrypted file system of this machine.
//! Unpacked anywhere, `bin/occlum run PATH` runs; a changed byte anywhere
//! in it is refused (the runtime, Occlum.json and the signature by the
//! measurement, the image by its hash tree, checked in full at the first
//! start of each copy).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::run::verified_identity;
use crate::instance::Instance;

/// Makes the package; returns 0.
pub fn package(name: Option<&Path>) -> Result<u8> {
    let inst = Instance::current()?;
    verified_identity(&inst)?;
    let dir_name = inst
        .dir()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "instance".into());
    let out: PathBuf = match name {
        Some(n) => n.to_path_buf(),
        None => inst.dir().join(format!("{dir_name}.tar.gz")),
    };
    let top = out
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".tgz")
                .to_string()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or(dir_name);
    if !top
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        bail!(
            "{}: expected a package name of letters, digits, '.', '_' and '-'",
            out.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find the occlum runtime binary")?;
    let tmp = out.with_extension("partial");
    let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::fast()));
    tar.follow_symlinks(false);
    let root = Path::new(&top);
    tar.append_path_with_name(inst.config_path(), root.join("Occlum.json"))?;
    tar.append_path_with_name(&exe, root.join("bin/occlum"))?;
    let entries: Vec<walkdir::DirEntry> = walkdir::WalkDir::new(inst.build_dir())
        .sort_by_file_name()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let bar = crate::progress::bar(entries.len() as u64, "packing");
    for entry in entries {
        bar.inc(1);
        let rel = entry
            .path()
            .strip_prefix(inst.dir())
            .expect("inside the instance");
        if entry.file_type().is_dir() {
            tar.append_dir(root.join(rel), entry.path())?;
        } else if entry.file_type().is_file() {
            tar.append_path_with_name(entry.path(), root.join(rel))?;
        }
    }
    // Where the encrypted file system will be made, empty.
    for d in ["run", "run/mount", "run/mount/__ROOT"] {
        tar.append_dir(root.join(d), inst.dir())?;
    }
    bar.finish_and_clear();
    tar.into_inner()?.finish()?.sync_all()?;
    std::fs::rename(&tmp, &out)?;
    let size = std::fs::metadata(&out)?.len();
    println!(
        "occlum package: {} ({:.1} MB); on another machine: tar xzf {} && cd {top} && bin/occlum run PATH",
        out.display(),
        size as f64 / 1e6,
        out.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok(0)
}
