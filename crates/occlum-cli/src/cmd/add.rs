//! `occlum add PATH... [--to DIR] [--dry-run]` and `occlum add --bom FILE`:
//! copy host programs, files and directories into the instance's `image/`,
//! with the shared libraries and loader their ELF objects need (see
//! [`crate::libdeps`]). Everything is resolved before anything is copied;
//! files already present (same size and mtime, or same link) are skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use filetime::FileTime;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::bom::{self, Bom};
use crate::instance::Instance;
use crate::libdeps::{self, Libc, Resolver};

/// How many `#!` interpreters may chain (a script run by a script...).
const MAX_SCRIPT_DEPTH: usize = 4;
/// How many symlinks a chain may have (as the kernel's limit).
const MAX_LINKS: usize = 40;

/// What to add.
pub enum Request<'a> {
    /// Host paths, at their own paths in the image or in `to`.
    Paths {
        /// Programs, files or directories.
        paths: &'a [PathBuf],
        /// The image directory to put them in.
        to: Option<&'a Path>,
    },
    /// What a `copy_bom` file describes.
    Bom(&'a Path),
}

/// How many files (and links) were added and how many were already there.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Copied or created (or, in a dry run, to be).
    pub added: usize,
    /// Skipped, already in the image.
    pub present: usize,
}

/// `occlum add` in the current instance.
pub fn add(request: Request, dry_run: bool) -> Result<()> {
    let inst = Instance::current()?;
    let mut out = std::io::stdout().lock();
    let report = add_to(&inst.image_dir(), request, dry_run, &mut out)?;
    if dry_run {
        writeln!(
            out,
            "dry run: {} files would be added, {} already present",
            report.added, report.present
        )?;
    } else {
        writeln!(
            out,
            "{} files added, {} already present",
            report.added, report.present
        )?;
    }
    Ok(())
}

/// Adds to the image directory `image`; a dry run prints one line per file
/// to `out` instead of copying.
pub fn add_to(
    image: &Path,
    request: Request,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<Report> {
    if !image.is_dir() {
        bail!(
            "{} is missing: expected the instance's image directory",
            image.display()
        );
    }
    let mut plan = Plan::new(Resolver::host()?);
    match request {
        Request::Paths { paths, to } => {
            for p in paths {
                plan.add_path(p, to)?;
            }
        }
        Request::Bom(file) => plan.add_bom(&bom::load(file)?)?,
    }
    plan.add_ld_cache(image)?;
    execute(image, &plan.ops, dry_run, out)
}

/// One thing to make in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    /// A directory, with the mode and mtime of `host` if given.
    Dir { host: Option<PathBuf> },
    /// A copy of a host file (symlinks followed).
    File { host: PathBuf },
    /// A symbolic link with this content.
    Link {
        target: PathBuf,
        host: Option<PathBuf>,
    },
}

/// Everything to make, by path relative to `image/`.
struct Plan {
    ops: BTreeMap<PathBuf, Op>,
    resolver: Resolver,
    excludes: Vec<String>,
    glibc: bool,
    /// The host directories added as trees (each once).
    trees: std::collections::HashSet<PathBuf>,
}

impl Plan {
    fn new(resolver: Resolver) -> Plan {
        Plan {
            ops: BTreeMap::new(),
            resolver,
            excludes: vec![],
            glibc: false,
            trees: std::collections::HashSet::new(),
        }
    }

    fn insert(&mut self, dest: PathBuf, op: Op) -> Result<()> {
        if dest.as_os_str().is_empty() {
            return match op {
                Op::Dir { .. } => Ok(()),
                _ => bail!("expected a file name in the image, got the image root for {op:?}"),
            };
        }
        match self.ops.get(&dest) {
            None => {
                self.ops.insert(dest, op);
            }
            Some(old) if *old == op => {}
            // The same host file by two names (`bin/../lib/x.so`).
            Some(Op::File { host: a }) if matches!(&op, Op::File { host: b } if same_file(a, b)) => {
            }
            Some(Op::Dir { host: None }) if matches!(op, Op::Dir { .. }) => {
                self.ops.insert(dest, op);
            }
            Some(Op::Dir { .. }) if matches!(op, Op::Dir { .. }) => {}
            Some(old) => bail!(
                "image/{}: both {} and {} would go there",
                dest.display(),
                describe(old),
                describe(&op)
            ),
        }
        Ok(())
    }

    /// A host file at its own path, keeping symlinks and their targets.
    fn add_kept(&mut self, host: &Path) -> Result<()> {
        let mut host = absolute(host)?;
        for _ in 0..MAX_LINKS {
            let meta = fs::symlink_metadata(&host)
                .with_context(|| format!("cannot read {}", host.display()))?;
            let dest = image_rel(&host)?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&host)
                    .with_context(|| format!("cannot read the link {}", host.display()))?;
                let next = host.parent().unwrap_or(Path::new("/")).join(&target);
                self.insert(
                    dest,
                    Op::Link {
                        target,
                        host: Some(host),
                    },
                )?;
                host = next;
            } else if meta.is_file() {
                return self.insert(dest, Op::File { host });
            } else {
                bail!("{}: expected a file or a symlink to one", host.display());
            }
        }
        bail!("{}: too many levels of symbolic links", host.display())
    }

    /// The loader and libraries `object` needs, at their host paths.
    fn add_deps(&mut self, object: &Path) -> Result<()> {
        let closure = self.resolver.resolve(object)?;
        if closure.libc == Some(Libc::Glibc) && closure.interp.is_some() {
            self.glibc = true;
        }
        for p in closure.interp.iter().chain(&closure.libraries) {
            self.add_kept(p)?;
        }
        Ok(())
    }

    /// What running `host` needs: libraries for ELF objects, the
    /// interpreter (as a program) for `#!` scripts.
    fn add_needs(&mut self, host: &Path, depth: usize) -> Result<()> {
        if self.resolver.info(host)?.is_some() {
            return self.add_deps(host);
        }
        let Some(interp) = script_interpreter(host)? else {
            return Ok(());
        };
        if depth >= MAX_SCRIPT_DEPTH {
            bail!("{}: too many levels of #! interpreters", host.display());
        }
        if !interp.is_absolute() {
            bail!(
                "{}: expected an absolute #! interpreter, got {}",
                host.display(),
                interp.display()
            );
        }
        self.add_kept(&interp)?;
        self.add_needs(&interp, depth + 1)
    }

    /// A command-line path: a program or file (at its path, or into `to`),
    /// or a directory.
    fn add_path(&mut self, path: &Path, to: Option<&Path>) -> Result<()> {
        let host = absolute(path)?;
        let meta =
            fs::metadata(&host).with_context(|| format!("cannot read {}", host.display()))?;
        let name = host
            .file_name()
            .ok_or_else(|| anyhow!("{}: expected a path with a file name", path.display()))?;
        let dest = match to {
            Some(dir) => image_rel(&absolute(&Path::new("/").join(dir))?)?.join(name),
            None => image_rel(&host)?,
        };
        if meta.is_dir() {
            return self.add_tree(&host, &dest, true);
        }
        if !meta.is_file() {
            bail!("{}: expected a file or a directory", host.display());
        }
        match to {
            // Moved: the file's content under its name (link chains could
            // point anywhere on the host).
            Some(_) => {
                self.insert(dest, Op::File { host: host.clone() })?;
                self.warn_origin(&host)?;
            }
            None => self.add_kept(&host)?,
        }
        self.add_needs(&host, 0)
    }

    /// `$ORIGIN` in a moved program's search path means another directory in the image.
    fn warn_origin(&mut self, host: &Path) -> Result<()> {
        if let Some(info) = self.resolver.info(host)? {
            if info
                .rpath
                .iter()
                .chain(&info.runpath)
                .any(|d| d.contains("ORIGIN"))
            {
                eprintln!(
                    "warning: {} uses $ORIGIN in its library search path; with --to, its libraries found there may not be found in the image",
                    host.display()
                );
            }
        }
        Ok(())
    }

    /// A host directory, recursively, at `dest` (symlinks kept; dependencies
    /// of the ELF objects inside too, if `autodep`).
    fn add_tree(&mut self, host_dir: &Path, dest: &Path, autodep: bool) -> Result<()> {
        if !self
            .trees
            .insert(fs::canonicalize(host_dir).unwrap_or(host_dir.to_path_buf()))
        {
            return Ok(());
        }
        let excludes = self.excludes.clone();
        let walk = || {
            WalkDir::new(host_dir)
                .follow_links(false)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0
                        || !excludes
                            .iter()
                            .any(|p| bom::matches(p, &e.file_name().to_string_lossy()))
                })
        };
        if autodep {
            // The tree's own libraries come along: the loader finds them
            // by name once the program has loaded them.
            for entry in walk().flatten() {
                if entry.file_type().is_file() {
                    self.resolver.provide(entry.path())?;
                }
            }
        }
        for entry in walk() {
            let entry = entry
                .with_context(|| format!("cannot read the directory {}", host_dir.display()))?;
            let rel = entry.path().strip_prefix(host_dir).unwrap_or(entry.path());
            let to = dest.join(rel);
            let host = entry.path().to_path_buf();
            let ft = entry.file_type();
            if ft.is_dir() {
                self.insert(to, Op::Dir { host: Some(host) })?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&host)
                    .with_context(|| format!("cannot read the link {}", host.display()))?;
                self.add_link_target(&host, &target, host_dir, autodep)?;
                self.insert(
                    to,
                    Op::Link {
                        target,
                        host: Some(host),
                    },
                )?;
            } else if ft.is_file() {
                self.insert(to, Op::File { host: host.clone() })?;
                if autodep && self.resolver.info(&host)?.is_some_and(|i| i.is_dynamic()) {
                    self.add_deps(&host)?;
                }
            } else {
                eprintln!(
                    "warning: skipping {}: not a file, directory or symlink",
                    host.display()
                );
            }
        }
        Ok(())
    }

    /// A link in an added tree that leads out of it (Debian's JDK links
    /// its `conf` files to `/etc/java-17-openjdk`): its target comes too, at
    /// its own path, so that the link resolves in the image.
    fn add_link_target(
        &mut self,
        link: &Path,
        target: &Path,
        tree: &Path,
        autodep: bool,
    ) -> Result<()> {
        let abs = Path::new("/").join(normalize(
            &link.parent().unwrap_or(Path::new("/")).join(target),
        ));
        let inside = |p: &Path| p.starts_with(tree);
        let real = fs::canonicalize(&abs).ok();
        if inside(&abs)
            || real
                .as_deref()
                .is_some_and(|r| fs::canonicalize(tree).is_ok_and(|t| r.starts_with(t)))
        {
            return Ok(());
        }
        match fs::metadata(&abs) {
            Ok(m) if m.is_dir() => {
                let dest = image_rel(&abs)?;
                self.add_tree(&abs, &dest, autodep)
            }
            Ok(m) if m.is_file() => {
                self.add_kept(&abs)?;
                if autodep && self.resolver.info(&abs)?.is_some_and(|i| i.is_dynamic()) {
                    self.add_deps(&abs)?;
                }
                Ok(())
            }
            _ => {
                eprintln!(
                    "warning: {} links to {}, which does not exist: the link is added as it is",
                    link.display(),
                    target.display()
                );
                Ok(())
            }
        }
    }

    /// What a `copy_bom` file describes.
    fn add_bom(&mut self, bom: &Bom) -> Result<()> {
        self.excludes = bom.excludes.clone();
        for t in &bom.targets {
            let tdir = image_rel(&Path::new("/").join(&t.target))?;
            for m in &t.mkdirs {
                self.insert(normalize(&tdir.join(m)), Op::Dir { host: None })?;
            }
            for l in &t.createlinks {
                let dest = normalize(&tdir.join(&l.linkname));
                self.insert(
                    dest,
                    Op::Link {
                        target: PathBuf::from(&l.src),
                        host: None,
                    },
                )?;
            }
            for c in &t.copy {
                let from = c
                    .from
                    .as_ref()
                    .map_or_else(|| t.base.clone(), |f| t.base.join(f));
                if c.dirs.is_empty() && c.files.is_empty() {
                    self.add_tree(&from, &tdir, true)?;
                }
                for d in &c.dirs {
                    let src = from.join(d);
                    if d.ends_with('/') {
                        self.add_tree(&src, &tdir, true)?;
                    } else {
                        let name = src.file_name().ok_or_else(|| {
                            anyhow!("{}: expected a directory name", src.display())
                        })?;
                        self.add_tree(&src, &tdir.join(name), true)?;
                    }
                }
                for f in &c.files {
                    let src = from.join(&f.name);
                    if !src.is_file() {
                        bail!(
                            "{}: expected a file (listed in the BOM's `files`)",
                            src.display()
                        );
                    }
                    if let Some(want) = &f.hash {
                        check_hash(&src, want)?;
                    }
                    let name =
                        match &f.rename {
                            Some(r) => PathBuf::from(r),
                            None => PathBuf::from(src.file_name().ok_or_else(|| {
                                anyhow!("{}: expected a file name", src.display())
                            })?),
                        };
                    self.insert(normalize(&tdir.join(name)), Op::File { host: src.clone() })?;
                    if f.autodep {
                        self.add_needs(&src, 0)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The host's `/etc/ld.so.cache`, for glibc programs, if the image has
    /// none: the libraries are copied to their host paths, so the host's
    /// cache is valid for them in the image too.
    fn add_ld_cache(&mut self, image: &Path) -> Result<()> {
        let host = Path::new(libdeps::HOST_LD_CACHE);
        let dest = PathBuf::from("etc/ld.so.cache");
        if self.glibc
            && host.is_file()
            && !self.ops.contains_key(&dest)
            && fs::symlink_metadata(image.join(&dest)).is_err()
        {
            self.insert(
                dest,
                Op::File {
                    host: host.to_path_buf(),
                },
            )?;
        }
        Ok(())
    }
}

/// Whether `a` and `b` name the same host file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

fn describe(op: &Op) -> String {
    match op {
        Op::Dir { host: Some(h) } | Op::File { host: h } | Op::Link { host: Some(h), .. } => {
            h.display().to_string()
        }
        Op::Dir { host: None } => "a new directory".into(),
        Op::Link { target, host: None } => format!("a new link to {}", target.display()),
    }
}

/// The `#!` interpreter of a script, if `host` is one.
fn script_interpreter(host: &Path) -> Result<Option<PathBuf>> {
    let mut head = Vec::new();
    fs::File::open(host)
        .and_then(|f| f.take(256).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", host.display()))?;
    let Some(rest) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    Ok(line.split_whitespace().next().map(PathBuf::from))
}

fn check_hash(src: &Path, want: &str) -> Result<()> {
    let bytes = fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
    let got: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !got.eq_ignore_ascii_case(want.trim()) {
        bail!(
            "{}: SHA-256 is {got}, expected {want} (the BOM's `hash`)",
            src.display()
        );
    }
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

/// `p` without `.` and `..` (lexically), relative.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Where the absolute host path `p` goes under `image/`.
fn image_rel(p: &Path) -> Result<PathBuf> {
    if !p.is_absolute() {
        bail!("{}: expected an absolute path", p.display());
    }
    Ok(normalize(p))
}

/// Makes `image/rel` a directory, refusing to go through symlinks (they
/// could lead out of the image).
fn ensure_dir(image: &Path, rel: &Path) -> Result<()> {
    let mut cur = image.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                bail!("{} is a symlink: expected a directory", cur.display())
            }
            Ok(_) => bail!("{} is a file: expected a directory", cur.display()),
            Err(_) => fs::create_dir(&cur)
                .with_context(|| format!("cannot create the directory {}", cur.display()))?,
        }
    }
    Ok(())
}

/// Whether `dest` already is what `op` would make.
fn present(dest: &Path, op: &Op) -> Result<bool> {
    let Ok(have) = fs::symlink_metadata(dest) else {
        return Ok(false);
    };
    Ok(match op {
        Op::Dir { .. } => have.is_dir(),
        Op::Link { target, .. } => {
            have.file_type().is_symlink() && fs::read_link(dest).ok().as_ref() == Some(target)
        }
        Op::File { host } => {
            let src =
                fs::metadata(host).with_context(|| format!("cannot read {}", host.display()))?;
            have.is_file()
                && have.len() == src.len()
                && FileTime::from_last_modification_time(&have)
                    == FileTime::from_last_modification_time(&src)
        }
    })
}

/// Removes a file or link at `dest` so it can be replaced; a directory is an error.
fn clear(dest: &Path) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => bail!(
            "{} is a directory: expected a file or nothing",
            dest.display()
        ),
        Ok(_) => {
            fs::remove_file(dest).with_context(|| format!("cannot replace {}", dest.display()))
        }
    }
}

fn execute(
    image: &Path,
    ops: &BTreeMap<PathBuf, Op>,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<Report> {
    let mut report = Report::default();
    let bar = if dry_run {
        indicatif::ProgressBar::hidden()
    } else {
        crate::progress::bar(ops.len() as u64, "adding")
    };
    for (rel, op) in ops {
        bar.inc(1);
        let dest = image.join(rel);
        let shown = Path::new("image").join(rel);
        if present(&dest, op)? {
            if !matches!(op, Op::Dir { .. }) {
                report.present += 1;
            }
            continue;
        }
        if dry_run {
            let from = match op {
                Op::Dir { host: None } | Op::Link { host: None, .. } => "(new)".to_string(),
                _ => describe(op),
            };
            match op {
                Op::Dir { .. } => writeln!(out, "{from} -> {}/ (directory)", shown.display())?,
                Op::File { .. } => writeln!(out, "{from} -> {}", shown.display())?,
                Op::Link { target, .. } => writeln!(
                    out,
                    "{from} -> {} (symlink to {})",
                    shown.display(),
                    target.display()
                )?,
            }
        } else {
            make(image, rel, &dest, op)?;
        }
        if !matches!(op, Op::Dir { .. }) {
            report.added += 1;
        }
    }
    bar.finish_and_clear();
    if !dry_run {
        for (rel, op) in ops.iter().rev() {
            if let Op::Dir { host: Some(host) } = op {
                copy_dir_meta(host, &image.join(rel))?;
            }
        }
    }
    Ok(report)
}

fn make(image: &Path, rel: &Path, dest: &Path, op: &Op) -> Result<()> {
    match op {
        Op::Dir { .. } => ensure_dir(image, rel),
        Op::File { host } => {
            ensure_dir(image, rel.parent().unwrap_or(Path::new("")))?;
            clear(dest)?;
            fs::copy(host, dest)
                .with_context(|| format!("cannot copy {} to {}", host.display(), dest.display()))?;
            let meta =
                fs::metadata(host).with_context(|| format!("cannot read {}", host.display()))?;
            filetime::set_file_times(
                dest,
                FileTime::from_last_access_time(&meta),
                FileTime::from_last_modification_time(&meta),
            )
            .with_context(|| format!("cannot set the times of {}", dest.display()))
        }
        Op::Link { target, host } => {
            ensure_dir(image, rel.parent().unwrap_or(Path::new("")))?;
            clear(dest)?;
            std::os::unix::fs::symlink(target, dest)
                .with_context(|| format!("cannot create the link {}", dest.display()))?;
            if let Some(meta) = host.as_ref().and_then(|h| fs::symlink_metadata(h).ok()) {
                filetime::set_symlink_file_times(
                    dest,
                    FileTime::from_last_access_time(&meta),
                    FileTime::from_last_modification_time(&meta),
                )
                .with_context(|| format!("cannot set the times of {}", dest.display()))?;
            }
            Ok(())
        }
    }
}

fn copy_dir_meta(host: &Path, dest: &Path) -> Result<()> {
    let meta = fs::metadata(host).with_context(|| format!("cannot read {}", host.display()))?;
    fs::set_permissions(dest, fs::Permissions::from_mode(meta.permissions().mode()))
        .with_context(|| format!("cannot set the mode of {}", dest.display()))?;
    filetime::set_file_times(
        dest,
        FileTime::from_last_access_time(&meta),
        FileTime::from_last_modification_time(&meta),
    )
    .with_context(|| format!("cannot set the times of {}", dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libdeps::tests::build_runpath_fixture;

    fn instance() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("image");
        fs::create_dir(&image).unwrap();
        (dir, image)
    }

    fn add_paths(
        image: &Path,
        paths: &[PathBuf],
        to: Option<&Path>,
        dry_run: bool,
    ) -> Result<(Report, String)> {
        let mut out = Vec::new();
        let report = add_to(image, Request::Paths { paths, to }, dry_run, &mut out)?;
        Ok((report, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn program_with_libraries_interpreter_and_idempotence() {
        let (_dir, image) = instance();
        let env = vec![PathBuf::from("/usr/bin/env")];
        let (first, _) = add_paths(&image, &env, None, false).unwrap();
        assert!(image.join("usr/bin/env").is_file());
        let libc = Resolver::host()
            .unwrap()
            .resolve(Path::new("/usr/bin/env"))
            .unwrap();
        for lib in &libc.libraries {
            assert!(image.join(normalize(lib)).exists(), "{}", lib.display());
        }
        let interp = libc.interp.unwrap();
        let in_image = image.join(normalize(&interp));
        assert!(
            fs::symlink_metadata(&in_image).is_ok(),
            "{}",
            interp.display()
        );
        // The interpreter's symlink chain is kept, with its target present too.
        if fs::symlink_metadata(&interp)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            assert_eq!(
                fs::read_link(&in_image).unwrap(),
                fs::read_link(&interp).unwrap()
            );
            let target = interp
                .parent()
                .unwrap()
                .join(fs::read_link(&interp).unwrap());
            assert!(
                image.join(normalize(&target)).is_file(),
                "{}",
                target.display()
            );
        }
        assert!(image.join("etc/ld.so.cache").is_file());
        assert!(first.added >= 4 && first.present == 0, "{first:?}");

        let (second, _) = add_paths(&image, &env, None, false).unwrap();
        assert_eq!(
            second,
            Report {
                added: 0,
                present: first.added - 1
            },
            "the cache is not copied again"
        );
    }

    #[test]
    fn dry_run_copies_nothing_and_lists_files() {
        let (_dir, image) = instance();
        let (report, out) = add_paths(
            &image,
            &[PathBuf::from("/bin/ls")],
            Some(Path::new("/bin")),
            true,
        )
        .unwrap();
        assert!(out.contains("/bin/ls -> image/bin/ls\n"), "{out}");
        assert!(out.contains("libc.so.6 -> image/"), "{out}");
        assert_eq!(out.lines().filter(|l| l.contains("(directory)")).count(), 0);
        assert_eq!(report.added, out.lines().count());
        assert_eq!(fs::read_dir(&image).unwrap().count(), 0);
    }

    #[test]
    fn symlink_chains_directories_and_runpath_libraries() {
        let (dir, image) = instance();
        let app = dir.path().join("app");
        let (prog, _) = build_runpath_fixture(&app);
        let lib = app.join("lib");
        fs::rename(lib.join("libfoo.so"), lib.join("libfoo.so.1.0")).unwrap();
        std::os::unix::fs::symlink("libfoo.so.1.0", lib.join("libfoo.so.1")).unwrap();
        std::os::unix::fs::symlink("libfoo.so.1", lib.join("libfoo.so")).unwrap();
        fs::write(app.join("bin/run.sh"), "#!/bin/sh\nexec prog\n").unwrap();

        // A program alone: its library's symlink chain, at host paths.
        add_paths(&image, std::slice::from_ref(&prog), None, false).unwrap();
        let at = |p: &Path| image.join(normalize(p));
        assert!(at(&prog).is_file());
        assert_eq!(
            fs::read_link(at(&lib.join("libfoo.so"))).unwrap(),
            Path::new("libfoo.so.1")
        );
        assert_eq!(
            fs::read_link(at(&lib.join("libfoo.so.1"))).unwrap(),
            Path::new("libfoo.so.1.0")
        );
        assert!(at(&lib.join("libfoo.so.1.0")).is_file());

        // A directory, into --to: recursive, links and modes kept; the
        // script's interpreter comes along when the script is given alone.
        let to = Path::new("/opt");
        add_paths(&image, std::slice::from_ref(&app), Some(to), false).unwrap();
        let copied = image.join("opt/app");
        assert!(copied.join("bin/prog").is_file());
        assert_eq!(
            fs::read_link(copied.join("lib/libfoo.so")).unwrap(),
            Path::new("libfoo.so.1")
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&copied.join("bin/prog")), mode(&prog));
        add_paths(
            &image,
            &[app.join("bin/run.sh")],
            Some(Path::new("/bin")),
            false,
        )
        .unwrap();
        assert!(image.join("bin/run.sh").is_file());
        // `#!/bin/sh`: the shell at its own path, with its libraries.
        assert!(fs::symlink_metadata(image.join("bin/sh")).is_ok());
        let sh = Resolver::host()
            .unwrap()
            .resolve(Path::new("/bin/sh"))
            .unwrap();
        assert!(sh
            .libraries
            .iter()
            .all(|l| image.join(normalize(l)).exists()));

        // A missing library: an error naming it, and nothing copied.
        let (_dir2, image2) = instance();
        fs::remove_file(lib.join("libfoo.so.1.0")).unwrap();
        let err = add_paths(&image2, std::slice::from_ref(&prog), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("libfoo.so") && err.contains(&prog.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read_dir(&image2).unwrap().count(), 0);
    }

    #[test]
    fn a_tree_brings_its_own_libraries_and_the_targets_of_its_links() {
        let (dir, image) = instance();
        let app = dir.path().join("app");
        let (prog, libfoo) = build_runpath_fixture(&app);
        // The library where only the program's own loading finds it (as a
        // JDK's lib/server/libjvm.so): found by name within the same add.
        fs::create_dir_all(app.join("lib/server")).unwrap();
        fs::rename(&libfoo, app.join("lib/server/libfoo.so")).unwrap();
        // Configuration linked out of the tree, and a dangling link.
        let etc = dir.path().join("etc/app");
        fs::create_dir_all(&etc).unwrap();
        fs::write(etc.join("settings"), "x=1\n").unwrap();
        fs::create_dir_all(app.join("conf")).unwrap();
        std::os::unix::fs::symlink(etc.join("settings"), app.join("conf/settings")).unwrap();
        std::os::unix::fs::symlink("../../nowhere", app.join("conf/missing")).unwrap();

        add_paths(&image, std::slice::from_ref(&app), None, false).unwrap();
        let at = |p: &Path| image.join(normalize(p));
        assert!(at(&prog).is_file());
        assert!(at(&app.join("lib/server/libfoo.so")).is_file());
        assert_eq!(
            fs::read_to_string(at(&etc.join("settings"))).unwrap(),
            "x=1\n"
        );
        assert!(fs::symlink_metadata(at(&app.join("conf/missing"))).is_ok());

        // The program alone still needs the library to be found.
        let (_dir2, image2) = instance();
        let err = add_paths(&image2, std::slice::from_ref(&prog), None, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("libfoo.so"), "{err}");
    }

    #[test]
    fn static_and_plain_files_are_just_copied() {
        let (dir, image) = instance();
        let f = dir.path().join("notes.txt");
        fs::write(&f, "hi").unwrap();
        let (report, _) = add_paths(&image, &[f], Some(Path::new("etc")), false).unwrap();
        assert_eq!(
            report,
            Report {
                added: 1,
                present: 0
            }
        );
        assert_eq!(
            fs::read_to_string(image.join("etc/notes.txt")).unwrap(),
            "hi"
        );
        assert!(!image.join("etc/ld.so.cache").exists());
    }

    #[test]
    fn bom_file() {
        let (dir, image) = instance();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("data/sub")).unwrap();
        fs::create_dir_all(src.join("data/.git")).unwrap();
        fs::write(src.join("data/sub/x.txt"), "x").unwrap();
        fs::write(src.join("data/.git/HEAD"), "ref").unwrap();
        fs::write(src.join("a.txt"), "a").unwrap();
        let hash = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
        let bom = dir.path().join("app.yaml");
        let write_bom = |h: &str| {
            fs::write(
                &bom,
                format!(
                    "excludes: [.git]\ntargets:\n  - target: /\n    mkdirs: [srv/www]\n    createlinks:\n      - src: /bin/env\n        linkname: bin/e\n  - target: /bin\n    copy:\n      - from: src\n        dirs: [data]\n        files:\n          - name: a.txt\n            hash: {h}\n            rename: b.txt\n          - /usr/bin/env\n"
                ),
            )
            .unwrap()
        };
        write_bom(&hash.to_uppercase());
        let mut out = Vec::new();
        add_to(&image, Request::Bom(&bom), false, &mut out).unwrap();
        assert!(image.join("srv/www").is_dir());
        assert_eq!(
            fs::read_link(image.join("bin/e")).unwrap(),
            Path::new("/bin/env")
        );
        assert_eq!(fs::read_to_string(image.join("bin/b.txt")).unwrap(), "a");
        assert_eq!(
            fs::read_to_string(image.join("bin/data/sub/x.txt")).unwrap(),
            "x"
        );
        assert!(!image.join("bin/data/.git").exists());
        assert!(image.join("bin/env").is_file());
        let libc = Resolver::host()
            .unwrap()
            .resolve(Path::new("/usr/bin/env"))
            .unwrap();
        assert!(libc
            .libraries
            .iter()
            .all(|l| image.join(normalize(l)).exists()));

        let again = add_to(&image, Request::Bom(&bom), false, &mut out).unwrap();
        assert_eq!(again.added, 0, "{again:?}");

        let (_dir2, image2) = instance();
        write_bom(&"0".repeat(64));
        let err = add_to(&image2, Request::Bom(&bom), false, &mut out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.txt") && err.contains("SHA-256"), "{err}");
        assert_eq!(fs::read_dir(&image2).unwrap().count(), 0);
    }

    #[test]
    fn conflicting_destinations_are_errors() {
        let (dir, image) = instance();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        fs::create_dir_all(dir.path().join("b")).unwrap();
        fs::write(dir.path().join("a/f"), "1").unwrap();
        fs::write(dir.path().join("b/f"), "2").unwrap();
        let paths = [dir.path().join("a/f"), dir.path().join("b/f")];
        let err = add_paths(&image, &paths, Some(Path::new("/x")), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("image/x/f") && err.contains("both"), "{err}");
    }
}
