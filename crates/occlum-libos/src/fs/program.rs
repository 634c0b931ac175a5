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
