//! `occlum gen-image-key`, and the key files of `occlum build --image-key`:
//! 16 or 32 bytes written as hex, optionally with dashes between bytes
//! (Occlum's format, e.g. `c7-32-b3-ed-44-df-ec-7b-25-2d-9a-32-38-8d-58-61`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rand_core::RngCore;

/// Writes a new random 16-byte key to `path` (mode 0600).
pub fn gen_image_key(path: &Path) -> Result<()> {
    let mut key = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut key);
    let text: Vec<String> = key.iter().map(|b| format!("{b:02x}")).collect();
    write_secret(path, format!("{}\n", text.join("-")).as_bytes())?;
    eprintln!("Wrote a new image key to {}", path.display());
    Ok(())
}

/// Writes `data` to a new file readable only by its owner.
pub fn write_secret(path: &Path, data: &[u8]) -> Result<()> {
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(data)?;
    Ok(())
}

/// Reads an image key file.
pub fn read_image_key(path: &Path) -> Result<Vec<u8>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("--image-key {}: cannot read it", path.display()))?;
    let digits: String = text.trim().chars().filter(|c| *c != '-').collect();
    let bad = || {
        anyhow!(
            "--image-key {}: expected 16 or 32 bytes in hex (e.g. from `occlum gen-image-key`)",
            path.display()
        )
    };
    let key = crate::enclave::unhex(&digits).ok_or_else(bad)?;
    if key.len() != 16 && key.len() != 32 {
        bail!(bad());
    }
    Ok(key)
}
