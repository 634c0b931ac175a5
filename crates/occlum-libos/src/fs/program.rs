//! Reading program files for `execve` and the first process, and the
//! cache of sealed (shared, immutable) copies of read-only files.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use occlum_pal::sealed::SealedPages;

use super::vfs::{self, InodeRef, Location};
use super::FileType;
use crate::sync::lock;
use crate::{Errno, Result};

/// Largest program file loaded.
const MAX_PROGRAM_SIZE: u64 = 1 << 30;
/// Most files kept sealed at once.
const MAX_SEALED_FILES: usize = 256;
/// Most bytes kept sealed at once.
const MAX_SEALED_BYTES: usize = 1 << 30;
/// Largest file kept sealed (larger ones are copied where they are used).
const MAX_SEALED_FILE: u64 = 256 << 20;

/// Sealed files by (device, inode) of their read-only file system.
#[derive(Default)]
struct SealedCache {
    files: HashMap<(u64, u64), Arc<SealedPages>>,
    bytes: usize,
}

/// A program file's contents.
pub enum ProgramBytes {
    /// A file that cannot change: sealed, and mapped rather than copied.
    Sealed(Arc<SealedPages>),
    /// A file that may change: a private copy.
    Owned(Vec<u8>),
}

impl ProgramBytes {
    /// The sealed pages, for a file that cannot change.
    pub fn sealed(&self) -> Option<&Arc<SealedPages>> {
        match self {
            ProgramBytes::Sealed(s) => Some(s),
            ProgramBytes::Owned(_) => None,
        }
    }
}

impl Deref for ProgramBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            ProgramBytes::Sealed(s) => s.bytes(),
            ProgramBytes::Owned(v) => v,
        }
    }
}

/// A program file read for execution.
pub struct ProgramFile {
    /// Its contents.
    pub bytes: ProgramBytes,
    /// Its absolute path.
    pub path: Vec<u8>,
}

/// The sealed contents of regular file `inode` if its bytes cannot change
/// while the LibOS runs (a file of the read-only image); `None` otherwise.
/// Each such file is read (and verified) once, and every process that runs
/// or maps it shares the same pages. A file not sealed yet is read whole
/// only if `wanted` bytes of it are at least half of it (so that mapping a
/// page of a large data file does not read all of it).
pub fn sealed_file(inode: &InodeRef, wanted: u64) -> Result<Option<Arc<SealedPages>>> {
    static CACHE: Mutex<Option<SealedCache>> = Mutex::new(None);
    let source = if inode.fs().read_only() {
        inode.clone()
    } else {
        match inode.immutable_source() {
            Some(s) => s,
            None => return Ok(None),
        }
    };
    if source.kind() != FileType::Regular {
        return Ok(None);
    }
    let key = (source.fs().dev(), source.ino());
    if let Some(hit) = lock(&CACHE)
        .get_or_insert_with(SealedCache::default)
        .files
        .get(&key)
    {
        return Ok(Some(hit.clone()));
    }
    let size = source.metadata()?.size;
    if size > MAX_SEALED_FILE || wanted.saturating_mul(2) < size {
        return Ok(None);
    }
    // A large image read shares its work with a helper thread, which
    // would inherit CPUID faulting (see `occlum_pal::cpuid`) without the
    // means to serve it.
    occlum_pal::cpuid::disarm();
    let sealed = match SealedPages::build(size as usize, |room| read_exact(&source, room)) {
        Ok(s) => Arc::new(s),
        // The file's bytes could not be read (or failed verification).
        Err(Errno::EIO) => return Err(Errno::EIO),
        Err(e) => {
            tracing::warn!("cannot keep a file in sealed pages: {e}");
            return Ok(None);
        }
    };
    let mut cache = lock(&CACHE);
    let cache = cache.get_or_insert_with(SealedCache::default);
    if cache.files.len() >= MAX_SEALED_FILES || cache.bytes + sealed.len() > MAX_SEALED_BYTES {
        // Mappings keep their pages; only later lookups read the files again.
        cache.files.clear();
        cache.bytes = 0;
    }
    cache.bytes += sealed.len();
    cache.files.insert(key, sealed.clone());
    Ok(Some(sealed))
}

/// Fills `buf` from the start of `inode`, which must not end before (`EIO`;
/// any error is `EIO`).
fn read_exact(inode: &InodeRef, buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match inode.read_at(done as u64, &mut buf[done..]) {
            Ok(0) | Err(_) => return Err(Errno::EIO),
            Ok(n) => done += n,
        }
    }
    Ok(())
}

/// Reads `inode` from the start: up to `size` bytes, fewer if it ends first.
fn read_all(inode: &InodeRef, size: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; size];
    let mut done = 0;
    while done < bytes.len() {
        let n = inode.read_at(done as u64, &mut bytes[done..])?;
        if n == 0 {
            bytes.truncate(done);
            break;
        }
        done += n;
    }
    Ok(bytes)
}

/// Reads the program at `path` (relative to `cwd`): `EACCES` unless it is a
/// regular file with an execute bit, as `execve` reports.
///
/// Programs that cannot change (on the read-only image) come sealed: read
/// once, and mapped rather than copied by every exec.
pub fn read_program(cwd: &Location, path: &[u8]) -> Result<ProgramFile> {
    let loc = vfs::resolve(cwd, path, true)?;
    let inode = loc.inode();
    let st = inode.metadata()?;
    if st.kind != FileType::Regular || st.perm & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    super::perm::check_caller(&st, super::perm::MAY_EXEC)?;
    if st.size > MAX_PROGRAM_SIZE {
        return Err(Errno::ENOMEM);
    }
    let bytes = match sealed_file(inode, st.size)? {
        Some(sealed) => ProgramBytes::Sealed(sealed),
        None => ProgramBytes::Owned(read_all(inode, st.size as usize)?),
    };
    Ok(ProgramFile {
        bytes,
        path: loc.path(),
    })
}

/// Most `#!` interpreters followed for one `execve` (Linux's limit).
const MAX_SCRIPT_DEPTH: usize = 4;

/// What `execve` will load: the program (after following `#!` lines), its
/// ELF interpreter if it has one, and the arguments it gets.
pub struct ExecPlan {
    /// The ELF executable.
    pub program: ProgramFile,
    /// Its interpreter (`PT_INTERP`), read from the file tree.
    pub interp: Option<ProgramFile>,
    /// The arguments, with a script's interpreter and its argument first.
    pub argv: Vec<Vec<u8>>,
}

/// Reads the program at `path` for `execve`: a `#!` script runs its
/// interpreter with the script's path as an argument; a dynamic program
/// brings its interpreter.
pub fn plan_exec(cwd: &Location, path: &[u8], argv: Vec<Vec<u8>>) -> Result<ExecPlan> {
    let mut path = path.to_vec();
    let mut argv = argv;
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let program = read_program(cwd, &path)?;
        if let Some(line) = crate::loader::script::shebang(&program.bytes) {
            let (interp, arg) = line.map_err(|_| Errno::ENOEXEC)?;
            let mut new_argv = vec![interp.clone()];
            new_argv.extend(arg);
            new_argv.push(path.clone());
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            path = interp;
            continue;
        }
        let interp = match crate::loader::interpreter_of(&program.bytes).map_err(|e| e.errno)? {
            Some(p) => Some(read_program(cwd, &p).map_err(|e| match e {
                Errno::EACCES => Errno::EACCES,
                _ => Errno::ENOENT,
            })?),
            None => None,
        };
        return Ok(ExecPlan {
            program,
            interp,
            argv,
        });
    }
    Err(Errno::ELOOP)
}
