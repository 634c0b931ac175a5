//! User and group ids and capabilities of a process (credentials), with
//! Linux's rules for changing them (`setuid(2)`, `setresuid(2)`,
//! `setgroups(2)`, `capset(2)`, ...): a process with `CAP_SETUID` (root
//! has every capability) may set any user id; any other may only switch
//! among its real, effective and saved ids; leaving uid 0 drops the
//! capabilities as on Linux.
//!
//! Programs start as root, as in Occlum. The ids are what `getuid` and
//! friends, `/proc/[pid]/status` and children see; the LibOS's file
//! permission checks do not depend on them (every process may access every
//! file, as root does).

use crate::{Errno, Result};

/// Most supplementary groups a process may have (`NGROUPS_MAX`).
pub const NGROUPS_MAX: usize = 65536;

/// `-1` as an id argument: leave the id unchanged.
const KEEP: u32 = u32::MAX;

/// The ids of a process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Real, effective, saved and file-system user ids.
    pub uid: Ids,
    /// Real, effective, saved and file-system group ids.
    pub gid: Ids,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Capability sets.
    pub caps: Caps,
}

/// The highest capability number Linux defines (`CAP_CHECKPOINT_RESTORE`).
pub const CAP_LAST_CAP: u32 = 40;
/// `CAP_SETGID`.
pub const CAP_SETGID: u32 = 6;
/// `CAP_SETUID`.
pub const CAP_SETUID: u32 = 7;
/// Every capability.
pub const ALL_CAPS: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// Capability sets (`capget(2)`), one bit per capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Effective: what the process may do now.
    pub effective: u64,
    /// Permitted: what it may make effective.
    pub permitted: u64,
    /// Inheritable across `execve`.
    pub inheritable: u64,
}

impl Default for Caps {
    /// Root's: every capability effective and permitted.
    fn default() -> Caps {
        Caps {
            effective: ALL_CAPS,
            permitted: ALL_CAPS,
            inheritable: 0,
        }
    }
}

impl Caps {
    /// `capset`: the permitted set may only shrink, the effective set stay
    /// within it, and the inheritable set within the old inheritable and
    /// permitted ones (`EPERM` otherwise).
    pub fn set(&mut self, new: Caps) -> Result<()> {
        if new.permitted & !self.permitted != 0
            || new.effective & !new.permitted != 0
            || new.inheritable & !(self.inheritable | self.permitted) != 0
        {
            return Err(Errno::EPERM);
        }
        *self = new;
        Ok(())
    }

    /// Linux's fix-up after user ids change: leaving uid 0 in all of the
    /// real, effective and saved ids drops every capability; the effective
    /// uid leaving 0 empties the effective set, and returning to 0 fills it
    /// from the permitted one.
    fn after_uid_change(&mut self, old: Ids, new: Ids) {
        let was_root = old.real == 0 || old.effective == 0 || old.saved == 0;
        if was_root && new.real != 0 && new.effective != 0 && new.saved != 0 {
            self.permitted = 0;
            self.effective = 0;
        }
        if old.effective == 0 && new.effective != 0 {
            self.effective = 0;
        }
        if old.effective != 0 && new.effective == 0 {
            self.effective = self.permitted;
        }
    }
}

/// Real, effective, saved set-ID and file-system id of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// Real id.
    pub real: u32,
    /// Effective id.
    pub effective: u32,
    /// Saved set-ID.
    pub saved: u32,
    /// File-system id (follows the effective id).
    pub fs: u32,
}

impl Ids {
    fn may_become(&self, id: u32) -> bool {
        id == self.real || id == self.effective || id == self.saved
    }

    /// `setresuid`/`setresgid`: each id not `-1` changes.
    fn set_res(&mut self, privileged: bool, r: u32, e: u32, s: u32) -> Result<()> {
        if !privileged
            && [r, e, s]
                .iter()
                .any(|&id| id != KEEP && !self.may_become(id))
        {
            return Err(Errno::EPERM);
        }
        if r != KEEP {
            self.real = r;
        }
        if e != KEEP {
            self.effective = e;
        }
        if s != KEEP {
            self.saved = s;
        }
        self.fs = self.effective;
        Ok(())
    }

    /// `setreuid`/`setregid`: the saved id follows the effective one when
    /// the real id is set, or the effective one becomes other than the
    /// real one.
    fn set_re(&mut self, privileged: bool, r: u32, e: u32) -> Result<()> {
        if !privileged {
            let r_ok = r == KEEP || r == self.real || r == self.effective;
            let e_ok = e == KEEP || self.may_become(e);
            if !r_ok || !e_ok {
                return Err(Errno::EPERM);
            }
        }
        let old_real = self.real;
        if r != KEEP {
            self.real = r;
        }
        if e != KEEP {
            self.effective = e;
        }
        if r != KEEP || (e != KEEP && e != old_real) {
            self.saved = self.effective;
        }
        self.fs = self.effective;
        Ok(())
    }

    /// `setuid`/`setgid`: privileged, all ids; otherwise the effective one,
    /// to the real or saved id.
    fn set(&mut self, privileged: bool, id: u32) -> Result<()> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if privileged {
            *self = Ids {
                real: id,
                effective: id,
                saved: id,
                fs: id,
            };
            return Ok(());
        }
        if id != self.real && id != self.saved {
            return Err(Errno::EPERM);
        }
        self.effective = id;
        self.fs = id;
        Ok(())
    }

    /// `setfsuid`/`setfsgid`: returns the old file-system id, changes it
    /// if allowed (never an error, as on Linux).
    fn set_fs(&mut self, privileged: bool, id: u32) -> u32 {
        let old = self.fs;
        if id != KEEP && (privileged || self.may_become(id) || id == self.fs) {
            self.fs = id;
        }
        old
    }
}

/// Which ids a call changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// User ids.
    User,
    /// Group ids.
    Group,
}

impl Credentials {
    /// Whether capability `cap` is effective (`CAP_*` number).
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.effective & (1 << cap) != 0
    }

    /// Whether the process may set ids of `kind` freely (`CAP_SETUID`,
    /// `CAP_SETGID`).
    fn privileged(&self, kind: Kind) -> bool {
        self.capable(match kind {
            Kind::User => CAP_SETUID,
            Kind::Group => CAP_SETGID,
        })
    }

    fn ids(&mut self, kind: Kind) -> &mut Ids {
        match kind {
            Kind::User => &mut self.uid,
            Kind::Group => &mut self.gid,
        }
    }

    /// Runs `change` on the ids of `kind`; user id changes then adjust the
    /// capabilities.
    fn change(
        &mut self,
        kind: Kind,
        change: impl FnOnce(&mut Ids, bool) -> Result<()>,
    ) -> Result<()> {
        let p = self.privileged(kind);
        let old = self.uid;
        change(self.ids(kind), p)?;
        if kind == Kind::User {
            let new = self.uid;
            self.caps.after_uid_change(old, new);
        }
        Ok(())
    }

    /// `setuid`/`setgid`.
    pub fn set(&mut self, kind: Kind, id: u32) -> Result<()> {
        self.change(kind, |ids, p| ids.set(p, id))
    }

    /// `setreuid`/`setregid`.
    pub fn set_re(&mut self, kind: Kind, r: u32, e: u32) -> Result<()> {
        self.change(kind, |ids, p| ids.set_re(p, r, e))
    }

    /// `setresuid`/`setresgid`.
    pub fn set_res(&mut self, kind: Kind, r: u32, e: u32, s: u32) -> Result<()> {
        self.change(kind, |ids, p| ids.set_res(p, r, e, s))
    }

    /// `setfsuid`/`setfsgid`: the previous file-system id.
    pub fn set_fs(&mut self, kind: Kind, id: u32) -> u32 {
        let p = self.privileged(kind);
        self.ids(kind).set_fs(p, id)
    }

    /// `setgroups`.
    pub fn set_groups(&mut self, groups: Vec<u32>) -> Result<()> {
        if !self.privileged(Kind::Group) {
            return Err(Errno::EPERM);
        }
        self.groups = groups;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_drops_to_a_user_for_good() {
        let mut c = Credentials::default();
        c.set(Kind::Group, 65534).unwrap();
        c.set_groups(vec![]).unwrap();
        c.set(Kind::User, 65534).unwrap();
        assert_eq!(c.uid.saved, 65534);
        assert_eq!(c.set(Kind::User, 0), Err(Errno::EPERM));
        assert_eq!(c.set_groups(vec![0]), Err(Errno::EPERM));
        assert_eq!(c.set(Kind::Group, KEEP), Err(Errno::EINVAL));
        assert_eq!(c.caps.permitted, 0);
    }

    #[test]
    fn a_temporary_user_keeps_its_permitted_capabilities() {
        let mut c = Credentials::default();
        c.set_res(Kind::User, KEEP, 1000, KEEP).unwrap();
        assert_eq!((c.caps.effective, c.caps.permitted), (0, ALL_CAPS));
        c.set_res(Kind::User, KEEP, 0, KEEP).unwrap();
        assert_eq!(c.caps.effective, ALL_CAPS);
        let fewer = Caps {
            effective: 1,
            permitted: 3,
            inheritable: 0,
        };
        c.caps.set(fewer).unwrap();
        assert_eq!(c.caps.set(Caps::default()), Err(Errno::EPERM));
    }

    #[test]
    fn saved_id_lets_a_process_switch_back() {
        let mut c = Credentials::default();
        c.set_res(Kind::User, 1000, 1000, 0).unwrap();
        assert!(!c.privileged(Kind::User));
        c.set_res(Kind::User, KEEP, 0, KEEP).unwrap();
        assert!(c.privileged(Kind::User));
        // The new effective uid is the real one: the saved id stays.
        c.set_re(Kind::User, KEEP, 1000).unwrap();
        assert_eq!((c.uid.real, c.uid.effective, c.uid.saved), (1000, 1000, 0));
        c.set_re(Kind::User, 1000, 1000).unwrap();
        assert_eq!(
            c.uid.saved, 1000,
            "setting the real id resets the saved one"
        );
        assert_eq!(c.set_res(Kind::User, KEEP, 0, KEEP), Err(Errno::EPERM));
        assert_eq!(c.set_fs(Kind::User, 0), 1000);
        assert_eq!(c.uid.fs, 1000, "not allowed: unchanged");
    }
}
