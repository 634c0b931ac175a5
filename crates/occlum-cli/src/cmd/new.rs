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
    write_etc(&inst.image_dir().join("etc"))?;
    eprintln!("Initialized an Occlum instance in {}", inst.dir().display());
    Ok(())
}

/// `/etc/hosts`: the loopback names, so that `localhost` resolves without DNS.
const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// `/etc/resolv.conf`. Deliberately no `nameserver` line: the host's own
/// resolver (e.g. systemd-resolved at 127.0.0.53) is an address on the host
/// that means nothing to the image, and copying the host's servers would put
/// the build machine's network into a measured image. Without a nameserver
/// both libcs fall back to 127.0.0.1; add one here if the program needs DNS.
/// `ndots:0` makes single-label names go to the name server as they are.
const RESOLV_CONF: &str = "# No name server by default: add `nameserver <address>` lines\n\
                           # if programs in this enclave need DNS.\n\
                           options ndots:0\n";

/// `/etc/nsswitch.conf`: files first (glibc; musl reads the files directly).
const NSSWITCH_CONF: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n";

/// `/etc/passwd`: root and nobody.
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

/// `/etc/group`: root and nogroup.
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";

/// Writes the usual files of `/etc` into `etc`, keeping any that exist.
fn write_etc(etc: &Path) -> Result<()> {
    for (name, text) in [
        ("hosts", HOSTS),
        ("resolv.conf", RESOLV_CONF),
        ("nsswitch.conf", NSSWITCH_CONF),
        ("passwd", PASSWD),
        ("group", GROUP),
    ] {
        let p = etc.join(name);
        if p.symlink_metadata().is_ok() {
            continue;
        }
        fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}
