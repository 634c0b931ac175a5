//! The built image (`build/image/` on the host), read-only: where programs
//! are loaded from. Path resolution follows symbolic links as if the image
//! were `/`; no path can leave it. (The integrity-checked image and the VFS
//! replace this with the file-system work.)

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use occlum_pal::host::{self, HostPathKind};

use crate::sync::lock;
use crate::{Errno, Result};

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Most symbolic links followed while resolving one path (Linux's limit).
const MAX_SYMLINKS: usize = 40;
/// Longest path accepted.
const PATH_MAX: usize = 4096;
/// Largest program file loaded.
const MAX_PROGRAM_SIZE: u64 = 1 << 30;

/// Sets the host directory that holds the image (once).
pub fn set_root(root: PathBuf) {
    ROOT.get_or_init(|| root);
}

/// Resolves `path` (absolute, or relative to `/`) to a host path inside the
/// image, following every symbolic link.
pub fn resolve(path: &[u8]) -> Result<PathBuf> {
    let root = ROOT.get().ok_or(Errno::ENOENT)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let path = std::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
    let mut pending: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(String::from)
        .collect();
    let mut cur: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ if c.len() > 255 => return Err(Errno::ENAMETOOLONG),
            _ => {}
        }
        let host = root.join(cur.join("/")).join(&c);
        match host::lstat_path(&host)? {
            HostPathKind::Symlink(target) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    cur.clear();
                }
                pending.extend(
                    t.split('/')
                        .filter(|c| !c.is_empty())
                        .rev()
                        .map(String::from),
                );
            }
            HostPathKind::Directory => cur.push(c),
            _ if !pending.is_empty() => return Err(Errno::ENOTDIR),
            _ => cur.push(c),
        }
    }
    Ok(root.join(cur.join("/")))
}

/// Reads the program file at `path` (`EACCES` if it is not a regular file or
/// has no execute permission, as `execve` reports).
///
/// Program files are cached: the image does not change while the LibOS
/// runs, and spawning the same program again should not read it again.
pub fn read_program(path: &[u8]) -> Result<Arc<Vec<u8>>> {
    static CACHE: Mutex<Option<HashMap<PathBuf, Arc<Vec<u8>>>>> = Mutex::new(None);
    let host_path = resolve(path)?;
    match host::lstat_path(&host_path)? {
        HostPathKind::Regular {
            executable: true, ..
        } => {}
        _ => return Err(Errno::EACCES),
    }
    if let Some(hit) = lock(&CACHE)
        .get_or_insert_with(HashMap::new)
        .get(&host_path)
    {
        return Ok(hit.clone());
    }
    let bytes = Arc::new(host::read_file(&host_path, MAX_PROGRAM_SIZE)?);
    let mut cache = lock(&CACHE);
    let cache = cache.get_or_insert_with(HashMap::new);
    if cache.len() >= MAX_CACHED_PROGRAMS {
        cache.clear();
    }
    cache.insert(host_path, bytes.clone());
    Ok(bytes)
}

/// Most program files kept in memory.
const MAX_CACHED_PROGRAMS: usize = 64;
