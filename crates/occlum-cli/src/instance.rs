//! An instance directory: `Occlum.json`, `image/`, `build/`, `run/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The directories `occlum new` creates under `image/`.
pub const IMAGE_DIRS: &[&str] = &[
    "bin", "lib", "lib64", "root", "host", "tmp", "dev", "proc", "etc", "sbin",
];

/// Paths of one instance.
pub struct Instance {
    dir: PathBuf,
}

impl Instance {
    /// The instance at `dir` (which need not exist yet).
    pub fn at(dir: &Path) -> Instance {
        Instance {
            dir: dir.to_path_buf(),
        }
    }

    /// The instance in the current directory, which must have an `Occlum.json`.
    pub fn current() -> Result<Instance> {
        let dir = std::env::current_dir()?;
        let inst = Instance::at(&dir);
        if !inst.config_path().is_file() {
            bail!(
                "{} is not an Occlum instance (no Occlum.json); create one with `occlum new <dir>` or `occlum init`",
                dir.display()
            );
        }
        Ok(inst)
    }

    /// The instance directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `Occlum.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("Occlum.json")
    }

    /// `image/`: the user's files.
    pub fn image_dir(&self) -> PathBuf {
        self.dir.join("image")
    }

    /// `build/`: what `occlum build` produces.
    pub fn build_dir(&self) -> PathBuf {
        self.dir.join("build")
    }

    /// `build/Occlum.json`: the configuration the built instance runs with.
    pub fn built_config_path(&self) -> PathBuf {
        self.build_dir().join("Occlum.json")
    }
}
