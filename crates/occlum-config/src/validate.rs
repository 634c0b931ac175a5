//! Semantic checks run after parsing ([`Config::validate`]).

use std::collections::HashMap;

use crate::error::ConfigError;
use crate::schema::{Config, FsType, MountConfig};
use crate::size::{ByteSize, PAGE_SIZE};

/// Smallest accepted `resource_limits.user_space_size`.
pub const MIN_USER_SPACE_SIZE: ByteSize = ByteSize::mb(1);
/// Smallest accepted `resource_limits.kernel_space_stack_size`.
pub const MIN_KERNEL_STACK_SIZE: ByteSize = ByteSize::kb(64);
/// Largest accepted `resource_limits.max_num_of_threads`.
pub const MAX_THREADS: u32 = 4096;
/// Smallest accepted `process.default_stack_size`: room for the arguments,
/// environment and auxiliary vector Linux puts there, and a first frame.
pub const MIN_STACK_SIZE: ByteSize = ByteSize::kb(64);
/// Largest accepted memory size (kernel heap, user space): half of the
/// 47-bit user address space of x86-64 (64 TiB).
pub const MAX_MEMORY_SIZE: ByteSize = ByteSize(1 << 46);
/// Smallest accepted mount `options.cache_size` (as in Occlum).
pub const MIN_CACHE_SIZE: ByteSize = ByteSize::kb(192);

type Result = std::result::Result<(), ConfigError>;

pub(crate) fn validate(config: &Config) -> Result {
    resource_limits(config)?;
    metadata(config)?;
    process(config)?;
    entry_points(config)?;
    env(config)?;
    feature(config)?;
    if let Some(k) = &config.kms {
        kms(k)?;
    }
    mounts(&config.mount)
}

/// A secret's name: what `occlum kms serve --secret NAME=FILE` accepts.
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
}

fn kms(k: &crate::schema::KmsConfig) -> Result {
    let (host, port) = k.address.rsplit_once(':').unwrap_or(("", ""));
    if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(ConfigError::invalid(
            "kms.address",
            format!(
                "{:?}, expected HOST:PORT (e.g. \"127.0.0.1:4433\")",
                k.address
            ),
        ));
    }
    let hex_ok = k.server_key_sha256.len() == 64
        && k.server_key_sha256.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_ok {
        return Err(ConfigError::invalid(
            "kms.server_key_sha256",
            "expected 64 hex digits, as `occlum kms serve` prints them",
        ));
    }
    let names = k
        .root_key
        .iter()
        .map(|n| ("kms.root_key".to_string(), n))
        .chain(
            k.files
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("kms.files[{i}]"), n)),
        )
        .chain(k.env.iter().map(|(var, n)| (format!("kms.env.{var}"), n)));
    for (field, name) in names {
        if !valid_secret_name(name) {
            return Err(ConfigError::invalid(
                field,
                format!("{name:?} is not a secret name, expected letters, digits, '_', '-' or '.'"),
            ));
        }
    }
    for var in k.env.keys() {
        if var.is_empty() || var.contains('=') || var.contains('\0') {
            return Err(ConfigError::invalid(
                format!("kms.env.{var}"),
                "expected an environment variable name",
            ));
        }
    }
    Ok(())
}

fn positive(field: &str, size: ByteSize) -> Result {
    if size.0 == 0 {
        return Err(ConfigError::invalid(
            field,
            "size is 0B, expected a positive size (e.g. \"32MB\")",
        ));
    }
    Ok(())
}

fn at_least(field: &str, size: ByteSize, min: ByteSize) -> Result {
    if size < min {
        return Err(ConfigError::invalid(
            field,
            format!("{size} is too small, expected at least {min}"),
        ));
    }
    Ok(())
}

fn at_most(field: &str, size: ByteSize, max: ByteSize) -> Result {
    if size > max {
        return Err(ConfigError::invalid(
            field,
            format!("{size} is more than an x86-64 process can address, expected at most {max}"),
        ));
    }
    Ok(())
}

/// ISVPRODID and ISVSVN are 16-bit fields of SGX's reports.
fn metadata(config: &Config) -> Result {
    for (field, v) in [
        ("metadata.product_id", config.metadata.product_id),
        ("metadata.version_number", config.metadata.version_number),
    ] {
        if v > u32::from(u16::MAX) {
            return Err(ConfigError::invalid(
                field,
                format!("{v} does not fit SGX's 16-bit field, expected 0 to 65535"),
            ));
        }
    }
    Ok(())
}

fn resource_limits(config: &Config) -> Result {
    let rl = &config.resource_limits;
    positive(
        "resource_limits.kernel_space_heap_size",
        rl.kernel_space_heap_size,
    )?;
    for (field, size) in [
        (
            "resource_limits.kernel_space_heap_size",
            Some(rl.kernel_space_heap_size),
        ),
        (
            "resource_limits.kernel_space_heap_max_size",
            rl.kernel_space_heap_max_size,
        ),
        (
            "resource_limits.kernel_space_stack_size",
            Some(rl.kernel_space_stack_size),
        ),
        ("resource_limits.user_space_size", Some(rl.user_space_size)),
        (
            "resource_limits.user_space_max_size",
            rl.user_space_max_size,
        ),
    ] {
        if let Some(size) = size {
            at_most(field, size, MAX_MEMORY_SIZE)?;
        }
    }
    if let Some(max) = rl.kernel_space_heap_max_size {
        at_least(
            "resource_limits.kernel_space_heap_max_size",
            max,
            rl.kernel_space_heap_size,
        )?;
    }
    at_least(
        "resource_limits.kernel_space_stack_size",
        rl.kernel_space_stack_size,
        MIN_KERNEL_STACK_SIZE,
    )?;
    at_least(
        "resource_limits.user_space_size",
        rl.user_space_size.page_aligned(),
        MIN_USER_SPACE_SIZE,
    )?;
    if let Some(max) = rl.user_space_max_size {
        at_least(
            "resource_limits.user_space_max_size",
            max,
            rl.user_space_size,
        )?;
    }
    if !(1..=MAX_THREADS).contains(&rl.max_num_of_threads) {
        return Err(ConfigError::invalid(
            "resource_limits.max_num_of_threads",
            format!(
                "{} is out of range, expected 1 to {MAX_THREADS}",
                rl.max_num_of_threads
            ),
        ));
    }
    if let Some(init) = rl.init_num_of_threads {
        if !(1..=rl.max_num_of_threads).contains(&init) {
            return Err(ConfigError::invalid(
                "resource_limits.init_num_of_threads",
                format!(
                    "{init} is out of range, expected 1 to max_num_of_threads ({})",
                    rl.max_num_of_threads
                ),
            ));
        }
    }
    Ok(())
}

fn process(config: &Config) -> Result {
    let p = &config.process;
    positive("process.default_stack_size", p.default_stack_size)?;
    at_least(
        "process.default_stack_size",
        p.default_stack_size,
        MIN_STACK_SIZE,
    )?;
    positive("process.default_heap_size", p.default_heap_size)?;
    positive("process.default_mmap_size", p.default_mmap_size)?;
    let user = config.resource_limits.effective_user_space_max();
    let total = p
        .default_stack_size
        .0
        .checked_add(p.default_heap_size.0)
        .and_then(|t| t.checked_add(p.default_mmap_size.0));
    let fits = total.is_some_and(|t| t <= user.0);
    if !fits {
        let total = total.map_or_else(
            || "more than 2^64 bytes".to_string(),
            |t| ByteSize(t).to_string(),
        );
        return Err(ConfigError::invalid(
            "process",
            format!(
                "default_stack_size + default_heap_size + default_mmap_size ({} + {} + {} = {total}) exceeds the user space ({user}), expected at most {user}",
                p.default_stack_size, p.default_heap_size, p.default_mmap_size
            ),
        ));
    }
    Ok(())
}

fn absolute_path(field: &str, path: &str) -> Result {
    if !path.starts_with('/') {
        return Err(ConfigError::invalid(
            field,
            format!("{path:?} is not an absolute path, expected a path starting with '/'"),
        ));
    }
    no_nul(field, path)
}

fn no_nul(field: &str, s: &str) -> Result {
    if s.contains('\0') {
        return Err(ConfigError::invalid(
            field,
            format!("{s:?} contains a NUL byte, expected text without NUL"),
        ));
    }
    Ok(())
}

fn entry_points(config: &Config) -> Result {
    for (i, ep) in config.entry_points.iter().enumerate() {
        absolute_path(&format!("entry_points[{i}]"), ep)?;
    }
    Ok(())
}

fn env(config: &Config) -> Result {
    for (i, entry) in config.env.default.iter().enumerate() {
        let field = format!("env.default[{i}]");
        no_nul(&field, entry)?;
        match entry.split_once('=') {
            None => {
                return Err(ConfigError::invalid(
                    field,
                    format!("{entry:?} has no '=', expected NAME=value (e.g. \"OCCLUM=yes\")"),
                ))
            }
            Some(("", _)) => {
                return Err(ConfigError::invalid(
                    field,
                    format!(
                        "{entry:?} has an empty NAME, expected NAME=value with a non-empty NAME"
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    for (i, name) in config.env.untrusted.iter().enumerate() {
        let field = format!("env.untrusted[{i}]");
        no_nul(&field, name)?;
        if name.is_empty() || name.contains('=') {
            return Err(ConfigError::invalid(
                field,
                format!("{name:?} is not a variable name, expected a bare NAME without '='"),
            ));
        }
    }
    Ok(())
}

fn feature(config: &Config) -> Result {
    let pkru_fields = [
        ("feature.pkru", Some(config.feature.pkru)),
        ("metadata.pkru", config.metadata.pkru),
    ];
    for (field, value) in pkru_fields {
        if let Some(v) = value.filter(|v| *v > 2) {
            return Err(ConfigError::invalid(
                field,
                format!("{v} is out of range, expected 0 (off), 1 (on) or 2 (if supported)"),
            ));
        }
    }
    Ok(())
}

/// Mount targets compared without trailing slashes ("/tmp/" == "/tmp").
fn normalized(target: &str) -> &str {
    let t = target.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

fn mounts(mounts: &[MountConfig]) -> Result {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, m) in mounts.iter().enumerate() {
        let prefix = format!("mount[{i}]");
        mount(&prefix, m)?;
        if let Some(first) = seen.insert(normalized(&m.target), i) {
            return Err(ConfigError::invalid(
                format!("{prefix}.target"),
                format!(
                    "{:?} is already the target of mount[{first}], expected unique targets",
                    m.target
                ),
            ));
        }
    }
    encrypted_sources_unique(mounts)?;
    if !seen.contains_key("/") {
        return Err(ConfigError::invalid(
            "mount",
            "no entry has target \"/\", expected exactly one root mount",
        ));
    }
    Ok(())
}

/// Where a sefs mount keeps its host file, as `occlum run` resolves it
/// (`None` for one kept in memory).
fn sefs_source(m: &MountConfig) -> Option<String> {
    if m.fs_type != FsType::Sefs || m.options.temporary || m.options.mac.is_some() {
        return None;
    }
    let s = m.source.as_deref().unwrap_or("run/mount/sefs");
    let s = s.trim_start_matches("./").trim_end_matches('/');
    Some(s.to_string())
}

/// One host file holds one encrypted file system: a second mount of the
/// same source would wait forever for the lock the first one holds.
fn encrypted_sources_unique(mounts: &[MountConfig]) -> Result {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut all = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        all.push((format!("mount[{i}]"), m));
        for (j, layer) in m.options.layers.iter().flatten().enumerate() {
            all.push((format!("mount[{i}].options.layers[{j}]"), layer));
        }
    }
    for (field, m) in all {
        let Some(source) = sefs_source(m) else {
            continue;
        };
        if let Some(first) = seen.get(&source) {
            return Err(ConfigError::invalid(
                format!("{field}.source"),
                format!(
                    "{source:?} is already the encrypted file system of {first}, expected each sefs source once"
                ),
            ));
        }
        seen.insert(source, field);
    }
    Ok(())
}

fn mount(prefix: &str, m: &MountConfig) -> Result {
    absolute_path(&format!("{prefix}.target"), &m.target)?;
    if let Some(source) = &m.source {
        no_nul(&format!("{prefix}.source"), source)?;
    }
    if m.fs_type == FsType::HostFs && m.source.is_none() {
        return Err(ConfigError::invalid(
            format!("{prefix}.source"),
            "missing for hostfs, expected the host directory (e.g. \".\")",
        ));
    }
    let layers_field = format!("{prefix}.options.layers");
    match (&m.options.layers, m.fs_type) {
        (None, FsType::UnionFs) => {
            return Err(ConfigError::invalid(
                layers_field,
                "missing for unionfs, expected a non-empty list of layers",
            ))
        }
        (Some(layers), FsType::UnionFs) => {
            if layers.is_empty() {
                return Err(ConfigError::invalid(
                    layers_field,
                    "list is empty, expected at least one layer",
                ));
            }
            for (j, layer) in layers.iter().enumerate() {
                mount(&format!("{layers_field}[{j}]"), layer)?;
            }
        }
        (Some(_), other) => {
            return Err(ConfigError::invalid(
                layers_field,
                format!("given for {other}, expected layers only on unionfs"),
            ))
        }
        (None, _) => {}
    }
    if let Some(cache) = m.options.cache_size {
        let field = format!("{prefix}.options.cache_size");
        at_least(&field, cache, MIN_CACHE_SIZE)?;
        if cache.0 % PAGE_SIZE != 0 {
            return Err(ConfigError::invalid(
                field,
                format!("{cache} is not page aligned, expected a multiple of 4KB"),
            ));
        }
    }
    Ok(())
}
