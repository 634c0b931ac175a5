//! Shared-library dependencies of ELF programs, resolved the way glibc's
//! and musl's dynamic loaders do, without running anything.

pub mod elf;
pub mod ldcache;
pub mod search;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{bail, Context, Result};

use elf::ElfInfo;
use ldcache::LdCache;

/// The host's glibc loader cache.
pub const HOST_LD_CACHE: &str = "/etc/ld.so.cache";

/// Which dynamic loader an object is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libc {
    /// glibc's `ld-linux-x86-64.so.2` (also assumed for objects without PT_INTERP).
    Glibc,
    /// musl's `ld-musl-x86_64.so.1`.
    Musl,
}

/// What a program needs at run time besides itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The loader named by PT_INTERP, as named there.
    pub interp: Option<PathBuf>,
    /// The libraries, in load order, at the paths where they were found.
    pub libraries: Vec<PathBuf>,
    /// Which loader's rules were applied; `None` for objects that need no loader.
    pub libc: Option<Libc>,
}

/// One loaded object while resolving.
struct Node {
    path: PathBuf,
    origin: PathBuf,
    info: Rc<ElfInfo>,
    loader: Option<usize>,
}

/// Resolves closures; remembers the objects it has parsed.
pub struct Resolver {
    cache: Option<LdCache>,
    musl_dirs: Vec<PathBuf>,
    parsed: HashMap<PathBuf, Option<Rc<ElfInfo>>>,
    /// Libraries brought along with the objects being resolved, by soname
    /// and file name: found last, as the loader finds a library a program
    /// loaded itself before (a JDK's launcher loads `lib/server/libjvm.so`,
    /// which its other libraries then need by name).
    provided: HashMap<String, PathBuf>,
}

impl Resolver {
    /// A resolver with the host's `/etc/ld.so.cache` (if any) and musl path.
    pub fn host() -> Result<Resolver> {
        let cache_path = Path::new(HOST_LD_CACHE);
        let cache = if cache_path.exists() {
            Some(LdCache::read(cache_path)?)
        } else {
            None
        };
        Ok(Resolver::new(
            cache,
            search::musl_dirs(Path::new(search::MUSL_PATH_FILE)),
        ))
    }

    /// A resolver with the given glibc cache and musl system directories.
    pub fn new(cache: Option<LdCache>, musl_dirs: Vec<PathBuf>) -> Resolver {
        Resolver {
            cache,
            musl_dirs,
            parsed: HashMap::new(),
            provided: HashMap::new(),
        }
    }

    /// Records that the library at `path` comes along (see `provided`);
    /// the first one given a name keeps it.
    pub fn provide(&mut self, path: &Path) -> Result<()> {
        let Some(info) = self.info(path)? else {
            return Ok(());
        };
        let names = info.soname.iter().cloned().chain([file_name(path)]);
        for name in names {
            self.provided
                .entry(name)
                .or_insert_with(|| path.to_path_buf());
        }
        Ok(())
    }

    /// The dynamic-linking facts of `path`, `None` if it is not an x86-64 ELF64 object.
    pub fn info(&mut self, path: &Path) -> Result<Option<Rc<ElfInfo>>> {
        if let Some(info) = self.parsed.get(path) {
            return Ok(info.clone());
        }
        let info = elf::read(path)?.map(Rc::new);
        self.parsed.insert(path.to_path_buf(), info.clone());
        Ok(info)
    }

    /// The interpreter and libraries `object` needs; an error names any
    /// library that cannot be found, the object needing it and where it was looked for.
    pub fn resolve(&mut self, object: &Path) -> Result<Closure> {
        let Some(info) = self.info(object)? else {
            return Ok(Closure {
                interp: None,
                libraries: vec![],
                libc: None,
            });
        };
        if !info.is_dynamic() {
            return Ok(Closure {
                interp: None,
                libraries: vec![],
                libc: None,
            });
        }
        let libc = match &info.interp {
            Some(i) if file_name(Path::new(i)).starts_with("ld-musl-") => Libc::Musl,
            _ => Libc::Glibc,
        };
        let real = std::fs::canonicalize(object)
            .with_context(|| format!("cannot resolve {}", object.display()))?;
        let mut nodes = vec![Node {
            path: object.to_path_buf(),
            origin: parent(&real),
            info: info.clone(),
            loader: None,
        }];
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut by_file: HashMap<PathBuf, usize> = HashMap::from([(real, 0)]);
        let interp = info.interp.as_ref().map(PathBuf::from);
        if let Some(interp) = &interp {
            if !interp.is_file() {
                bail!(
                    "{}: its interpreter {} does not exist on this host",
                    object.display(),
                    interp.display()
                );
            }
            names.insert(file_name(interp), usize::MAX);
            if let Some(soname) = self.info(interp)?.and_then(|i| i.soname.clone()) {
                names.insert(soname, usize::MAX);
            }
            if let Ok(real) = std::fs::canonicalize(interp) {
                by_file.insert(real, usize::MAX);
            }
        }
        let mut queue = VecDeque::from([0]);
        while let Some(n) = queue.pop_front() {
            let needed = nodes[n].info.needed.clone();
            for name in needed {
                if names.contains_key(&name) || (libc == Libc::Musl && search::musl_builtin(&name))
                {
                    continue;
                }
                let found = self.search(&name, n, &nodes, libc)?;
                let real = std::fs::canonicalize(&found)
                    .with_context(|| format!("cannot resolve {}", found.display()))?;
                if let Some(&idx) = by_file.get(&real) {
                    names.insert(name, idx);
                    continue;
                }
                let info = self.info(&found)?.with_context(|| {
                    format!("{}: expected an x86-64 ELF object", found.display())
                })?;
                let idx = nodes.len();
                names.insert(name, idx);
                if let Some(soname) = &info.soname {
                    names.entry(soname.clone()).or_insert(idx);
                }
                by_file.insert(real, idx);
                nodes.push(Node {
                    origin: parent(&found),
                    path: found,
                    info,
                    loader: Some(n),
                });
                queue.push_back(idx);
            }
        }
        Ok(Closure {
            interp,
            libraries: nodes.into_iter().skip(1).map(|n| n.path).collect(),
            libc: Some(libc),
        })
    }

    /// Finds `name` needed by `nodes[n]`.
    fn search(&self, name: &str, n: usize, nodes: &[Node], libc: Libc) -> Result<PathBuf> {
        let node = &nodes[n];
        let mut searched: Vec<String> = Vec::new();
        if name.contains('/') {
            let p = search::expand(name, &node.origin);
            let p = std::path::absolute(&p).unwrap_or(p);
            if usable(&p) {
                return Ok(p);
            }
            searched.push(p.display().to_string());
            return Err(not_found(name, &node.path, &searched));
        }
        let mut dirs: Vec<(PathBuf, &str)> = Vec::new();
        let mut chain = Some(n);
        while let Some(i) = chain {
            let l = &nodes[i];
            match libc {
                // glibc: RPATH of the object and its loaders, unless the
                // object has a RUNPATH; a loader with a RUNPATH has no RPATH.
                Libc::Glibc if node.info.runpath.is_empty() && l.info.runpath.is_empty() => {
                    dirs.extend(
                        l.info
                            .rpath
                            .iter()
                            .map(|d| (search::expand(d, &l.origin), "RPATH")),
                    );
                }
                Libc::Glibc => {}
                // musl: the RUNPATH (else RPATH) of the object and its loaders.
                Libc::Musl => {
                    let (list, label) = if l.info.runpath.is_empty() {
                        (&l.info.rpath, "RPATH")
                    } else {
                        (&l.info.runpath, "RUNPATH")
                    };
                    dirs.extend(list.iter().map(|d| (search::expand(d, &l.origin), label)));
                }
            }
            chain = l.loader;
        }
        if libc == Libc::Glibc {
            dirs.extend(
                node.info
                    .runpath
                    .iter()
                    .map(|d| (search::expand(d, &node.origin), "RUNPATH")),
            );
        }
        for (dir, label) in &dirs {
            let p = dir.join(name);
            if usable(&p) {
                return Ok(p);
            }
            searched.push(format!("{} ({label})", dir.display()));
        }
        let system: Vec<PathBuf> = match libc {
            Libc::Glibc => {
                if let Some(p) = self.cache.as_ref().and_then(|c| c.lookup(name)) {
                    if usable(p) {
                        return Ok(p.to_path_buf());
                    }
                }
                searched.push(HOST_LD_CACHE.to_string());
                search::GLIBC_DEFAULT_DIRS
                    .iter()
                    .map(PathBuf::from)
                    .collect()
            }
            Libc::Musl => self.musl_dirs.clone(),
        };
        for dir in system {
            let p = dir.join(name);
            if usable(&p) {
                return Ok(p);
            }
            searched.push(dir.display().to_string());
        }
        if let Some(p) = self.provided.get(name) {
            return Ok(p.clone());
        }
        Err(not_found(name, &node.path, &searched))
    }
}

fn not_found(name: &str, needer: &Path, searched: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "library {name}, needed by {}, was not found; searched: {}",
        needer.display(),
        searched.join(", ")
    )
}

/// A candidate counts only if it is a file of the right kind (x86-64 ELF64).
fn usable(p: &Path) -> bool {
    p.is_file() && elf::is_x86_64_elf(p)
}

fn parent(p: &Path) -> PathBuf {
    p.parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
pub(crate) mod tests;
