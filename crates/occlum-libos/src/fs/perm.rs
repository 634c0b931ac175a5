//! File permission checks, as Linux's `generic_permission`: the owner,
//! group or other bits of the mode for the caller's file-system ids, and
//! the capabilities that override them (root has them all). Calls made
//! outside any LibOS thread (boot, the LibOS's own reads) are not checked.

use super::vfs::InodeRef;
use super::{FileType, Stat};
use crate::process::{current, Credentials};
use crate::{Errno, Result};

/// Execute, or search a directory.
pub const MAY_EXEC: u32 = 1;
/// Write.
pub const MAY_WRITE: u32 = 2;
/// Read.
pub const MAY_READ: u32 = 4;

const CAP_CHOWN: u32 = 0;
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_FOWNER: u32 = 3;

/// The credentials of the calling thread's process, if there is one.
pub fn caller() -> Option<Credentials> {
    current().map(|t| t.process().creds().clone())
}

/// Whether `creds` are in group `gid` (file-system gid or supplementary).
fn in_group(creds: &Credentials, gid: u32) -> bool {
    creds.gid.fs == gid || creds.groups.contains(&gid)
}

/// `EACCES` unless `creds` may access a file with metadata `st` for
/// `want` (`MAY_*` bits).
pub fn check(st: &Stat, creds: &Credentials, want: u32) -> Result<()> {
    let perm = st.perm;
    let bits = if creds.uid.fs == st.uid {
        perm >> 6
    } else if in_group(creds, st.gid) {
        perm >> 3
    } else {
        perm
    } & 7;
    if bits & want == want {
        return Ok(());
    }
    let dir = st.kind == FileType::Directory;
    // CAP_DAC_OVERRIDE: anything, except running a file no one may run.
    if creds.capable(CAP_DAC_OVERRIDE) && (want & MAY_EXEC == 0 || dir || perm & 0o111 != 0) {
        return Ok(());
    }
    // CAP_DAC_READ_SEARCH: reading files, reading and searching directories.
    if creds.capable(CAP_DAC_READ_SEARCH) && (want == MAY_READ || (dir && want & MAY_WRITE == 0)) {
        return Ok(());
    }
    Err(Errno::EACCES)
}

/// Runs `f` on the caller's credentials (without copying them); `Ok`
/// outside LibOS threads.
fn with_caller(f: impl FnOnce(&Credentials) -> Result<()>) -> Result<()> {
    match current() {
        Some(t) => f(&t.process().creds()),
        None => Ok(()),
    }
}

/// [`check`] for the caller (always allowed outside LibOS threads).
pub fn check_caller(st: &Stat, want: u32) -> Result<()> {
    with_caller(|c| check(st, c, want))
}

/// [`check`] of `inode` for the caller; its metadata is read only when the
/// caller's capabilities do not already allow `want` (root opening a file).
pub fn check_inode(inode: &InodeRef, want: u32) -> Result<()> {
    with_caller(|c| {
        if want & MAY_EXEC == 0 && c.capable(CAP_DAC_OVERRIDE) {
            return Ok(());
        }
        check(&inode.metadata()?, c, want)
    })
}

/// Whether the caller needs no search checks on the way through
/// directories (`CAP_DAC_READ_SEARCH`, as root has); `Some(creds)` if it
/// does.
pub fn searcher() -> Option<Credentials> {
    let thread = current()?;
    let creds = thread.process().creds();
    if creds.capable(CAP_DAC_READ_SEARCH) || creds.capable(CAP_DAC_OVERRIDE) {
        return None;
    }
    Some(creds.clone())
}

/// `EPERM` unless the caller owns the file or has `CAP_FOWNER` (`chmod`,
/// setting explicit times).
pub fn check_owner(st: &Stat) -> Result<()> {
    with_caller(|c| {
        if c.uid.fs != st.uid && !c.capable(CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
        Ok(())
    })
}

/// `chown`'s rule: changing the owner needs `CAP_CHOWN`; the owner may
/// change the group to one of its own groups.
pub fn check_chown(st: &Stat, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
    with_caller(|c| {
        if c.capable(CAP_CHOWN) {
            return Ok(());
        }
        let owner_changes = uid.is_some_and(|u| u != st.uid);
        let group_ok = gid.is_none_or(|g| g == st.gid || (c.uid.fs == st.uid && in_group(c, g)));
        if owner_changes || !group_ok || (gid.is_some() && c.uid.fs != st.uid) {
            return Err(Errno::EPERM);
        }
        Ok(())
    })
}

/// The checks for adding or removing a name in directory `dir`: write and
/// search permission; and in a sticky directory, removing needs the
/// caller to own the file or the directory (`victim`), or `CAP_FOWNER`.
/// Metadata is read only when the capabilities do not decide.
pub fn check_dir_change(dir: &InodeRef, victim: Option<&InodeRef>) -> Result<()> {
    with_caller(|c| {
        let overrides = c.capable(CAP_DAC_OVERRIDE);
        if overrides && (victim.is_none() || c.capable(CAP_FOWNER)) {
            return Ok(());
        }
        let d = dir.metadata()?;
        if !overrides {
            check(&d, c, MAY_WRITE | MAY_EXEC)?;
        }
        if let Some(v) = victim {
            let sticky = d.perm & 0o1000 != 0;
            if sticky
                && c.uid.fs != d.uid
                && !c.capable(CAP_FOWNER)
                && c.uid.fs != v.metadata()?.uid
            {
                return Err(Errno::EPERM);
            }
        }
        Ok(())
    })
}

/// Makes the caller (its file-system ids) the owner of a file it just
/// made outside `create_node` (a socket bound to a path, a symbolic link).
pub fn give_to_caller(inode: &InodeRef) -> Result<()> {
    let Some(t) = current() else { return Ok(()) };
    let (uid, gid) = {
        let c = t.process().creds();
        (c.uid.fs, c.gid.fs)
    };
    if (uid, gid) == (0, 0) {
        return Ok(());
    }
    inode.set_metadata(&super::vfs::SetMetadata {
        uid: Some(uid),
        gid: Some(gid),
        ..Default::default()
    })
}
