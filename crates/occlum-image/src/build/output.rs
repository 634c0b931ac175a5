//! Atomic output: a temporary file next to the target, renamed into place on success.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::BuildError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary output file that is removed unless [`TempOutput::persist`] succeeds.
pub(crate) struct TempOutput {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempOutput {
    /// Creates a fresh temporary file in the directory of `output`.
    pub fn create(output: &Path) -> Result<TempOutput, BuildError> {
        let name = output.file_name().ok_or_else(|| {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name");
            BuildError::new(output, "creating", e)
        })?;
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let path = dir.join(tmp_name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(|e| BuildError::new(&path, "creating temporary image file", e))?;
        Ok(TempOutput {
            path,
            file,
            persisted: false,
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Path of the temporary file (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `(dev, ino)` of the temporary file, so the scan can skip it.
    pub fn identity(&self) -> Option<(u64, u64)> {
        self.file.metadata().ok().map(|m| (m.dev(), m.ino()))
    }

    /// Flushes the file to stable storage and renames it to `output`.
    pub fn persist(mut self, output: &Path) -> Result<(), BuildError> {
        self.file
            .sync_all()
            .map_err(|e| BuildError::new(&self.path, "syncing temporary image file", e))?;
        fs::rename(&self.path, output)
            .map_err(|e| BuildError::new(output, "renaming temporary image file to", e))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}
