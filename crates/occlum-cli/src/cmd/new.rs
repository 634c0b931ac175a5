//! `occlum new` and `occlum init`.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::instance::{Instance, IMAGE_DIRS};

/// Creates an instance in a new directory `dir`.
pub fn new(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() && !force {
        if dir.join("Occlum.json").exists() {
            bail!(
                "{} already exists and is an Occlum instance; use --force to re-initialize it",
                dir.display()
            );
        }
        if fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
        {
            bail!(
                "{} already exists and is not empty; use `occlum init` inside it, or --force",
                dir.display()
            );
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    create(&Instance::at(dir), force)
}

/// Makes the current directory an instance.
pub fn init(force: bool) -> Result<()> {
    let dir = std::env::current_dir()?;
    create(&Instance::at(&dir), force)
}

fn create(inst: &Instance, force: bool) -> Result<()> {
    let config = inst.config_path();
    if config.exists() && !force {
        bail!(
            "{} already exists: {} is an Occlum instance; use --force to re-initialize it",
            config.display(),
            inst.dir().display()
        );
    }
    for d in IMAGE_DIRS {
        let p = inst.image_dir().join(d);
        fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    fs::write(&config, occlum_config::default_template())
        .with_context(|| format!("cannot write {}", config.display()))?;
    eprintln!("Initialized an Occlum instance in {}", inst.dir().display());
    Ok(())
}
