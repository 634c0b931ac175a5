//! Reading program files for `execve` and the first process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::vfs::{self, Location};
use super::FileType;
use crate::sync::lock;
use crate::{Errno, Result};

/// Largest program file loaded.
const MAX_PROGRAM_SIZE: u64 = 1 << 30;
/// Most program files kept in memory.
const MAX_CACHED_PROGRAMS: usize = 64;

/// Program files by (device, inode).
type ProgramCache = HashMap<(u64, u64), Arc<Vec<u8>>>;

/// A program file read for execution.
pub struct ProgramFile {
    /// Its contents.
    pub bytes: Arc<Vec<u8>>,
    /// Its absolute path.
    pub path: Vec<u8>,
}

/// Reads the program at `path` (relative to `cwd`): `EACCES` unless it is a
/// regular file with an execute bit, as `execve` reports.
///
/// Programs on read-only file systems are cached: they cannot change while
/// the LibOS runs, and spawning the same program again should not read it
/// again.
pub fn read_program(cwd: &Location, path: &[u8]) -> Result<ProgramFile> {
    static CACHE: Mutex<Option<ProgramCache>> = Mutex::new(None);
    let loc = vfs::resolve(cwd, path, true)?;
    let inode = loc.inode();
    let st = inode.metadata()?;
    if st.kind != FileType::Regular || st.perm & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    if st.size > MAX_PROGRAM_SIZE {
        return Err(Errno::ENOMEM);
    }
    let cacheable = inode.fs().read_only();
    let key = (st.dev, st.ino);
    if cacheable {
        if let Some(hit) = lock(&CACHE).get_or_insert_with(HashMap::new).get(&key) {
            return Ok(ProgramFile {
                bytes: hit.clone(),
                path: loc.path(),
            });
        }
    }
    let mut bytes = vec![0u8; st.size as usize];
    let mut done = 0;
    while done < bytes.len() {
        let n = inode.read_at(done as u64, &mut bytes[done..])?;
        if n == 0 {
            bytes.truncate(done);
            break;
        }
        done += n;
    }
    let bytes = Arc::new(bytes);
    if cacheable {
        let mut cache = lock(&CACHE);
        let cache = cache.get_or_insert_with(HashMap::new);
        if cache.len() >= MAX_CACHED_PROGRAMS {
            cache.clear();
        }
        cache.insert(key, bytes.clone());
    }
    Ok(ProgramFile {
        bytes,
        path: loc.path(),
    })
}
