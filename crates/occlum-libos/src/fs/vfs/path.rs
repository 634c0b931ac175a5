//! Path resolution: from a starting directory and a path to a location,
//! following symbolic links (at most 40, then `ELOOP`) and crossing mounts.

use std::sync::Arc;

use super::inode::{InodeRef, NAME_MAX};
use super::mount;
use crate::fs::FileType;
use crate::{Errno, Result};

/// Longest path accepted, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Most symbolic links followed while resolving one path.
const MAX_SYMLINKS: u32 = 40;

/// A resolved location: an inode and the chain of directories that led to
/// it from `/`, which gives `..` and `getcwd`.
pub struct PathNode {
    name: Vec<u8>,
    inode: InodeRef,
    parent: Option<Location>,
}

/// A shared resolved location.
pub type Location = Arc<PathNode>;

impl PathNode {
    /// The location of a root directory.
    pub fn root(inode: InodeRef) -> Location {
        Arc::new(PathNode {
            name: Vec::new(),
            inode,
            parent: None,
        })
    }

    /// The location of `inode`, reached as `name` from `parent`.
    pub fn child(parent: &Location, name: &[u8], inode: InodeRef) -> Location {
        Arc::new(PathNode {
            name: name.to_vec(),
            inode,
            parent: Some(parent.clone()),
        })
    }

    /// The inode.
    pub fn inode(&self) -> &InodeRef {
        &self.inode
    }

    /// The final component of the path (empty for `/`).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The directory this location was reached from (`/` for `/`).
    pub fn parent(self: &Arc<Self>) -> Location {
        self.parent.clone().unwrap_or_else(|| self.clone())
    }

    /// The absolute path.
    pub fn path(&self) -> Vec<u8> {
        let mut names = Vec::new();
        let mut cur = Some(self);
        while let Some(n) = cur {
            if n.parent.is_some() {
                names.push(&n.name[..]);
            }
            cur = n.parent.as_deref();
        }
        if names.is_empty() {
            return b"/".to_vec();
        }
        let mut out = Vec::new();
        for n in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        out
    }
}

/// The location of `path` relative to `start` (an absolute path starts at
/// `/`); a final symbolic link is followed if `follow`.
pub fn resolve(start: &Location, path: &[u8], follow: bool) -> Result<Location> {
    check_length(path)?;
    walk(start.clone(), path, follow, &mut 0)
}

/// The parent directory of `path` and its final component, for calls that
/// create or remove names. The name is `.` for `/` and for paths ending in
/// `.`; `trailing_slash` tells whether `path` ended in `/`.
pub struct Parent {
    /// The directory that holds (or will hold) the name.
    pub dir: Location,
    /// The final component.
    pub name: Vec<u8>,
    /// Whether the path ended in `/` (the name must be a directory).
    pub trailing_slash: bool,
}

/// Resolves all but the final component of `path`.
pub fn resolve_parent(start: &Location, path: &[u8]) -> Result<Parent> {
    check_length(path)?;
    let trimmed_len = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trailing_slash = trimmed_len < path.len();
    let trimmed = &path[..trimmed_len];
    if trimmed.is_empty() {
        // "/" or "///": the root itself.
        return Ok(Parent {
            dir: super::process_root()?,
            name: b".".to_vec(),
            trailing_slash,
        });
    }
    let (dir_part, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let dir = if dir_part.is_empty() {
        start.clone()
    } else {
        walk(start.clone(), dir_part, true, &mut 0)?
    };
    if dir.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(Parent {
        dir,
        name: name.to_vec(),
        trailing_slash,
    })
}

fn check_length(path: &[u8]) -> Result<()> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

fn walk(start: Location, path: &[u8], follow_last: bool, links: &mut u32) -> Result<Location> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let root = super::process_root()?;
    let mut cur = if path[0] == b'/' { root.clone() } else { start };
    let trailing_slash = path.ends_with(b"/");
    let searcher = crate::fs::perm::searcher();
    let comps: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for (i, &c) in comps.iter().enumerate() {
        if cur.inode().kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        match c {
            b"." => continue,
            b".." => {
                // `..` of the process's root is the root itself.
                if !std::sync::Arc::ptr_eq(&cur, &root) {
                    cur = cur.parent();
                }
                continue;
            }
            _ if c.len() > NAME_MAX => return Err(Errno::ENAMETOOLONG),
            _ => {}
        }
        if let Some(creds) = &searcher {
            crate::fs::perm::check(&cur.inode().metadata()?, creds, crate::fs::perm::MAY_EXEC)?;
        }
        let inode = mount::cross(cur.inode().lookup(c)?);
        let last = i + 1 == comps.len();
        if inode.kind() == FileType::Symlink && (!last || follow_last || trailing_slash) {
            *links += 1;
            if *links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            cur = match inode.follow_magic() {
                Some(target) => target?,
                None => walk(cur.clone(), &inode.read_link()?, true, links)?,
            };
        } else {
            cur = PathNode::child(&cur, c, inode);
        }
    }
    if trailing_slash && cur.inode().kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(cur)
}
