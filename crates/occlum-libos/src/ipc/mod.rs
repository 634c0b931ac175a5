//! System V IPC: semaphore sets, shared memory segments and message
//! queues, one namespace for the whole LibOS (every process sees every
//! key, as processes of one IPC namespace do on Linux).

pub mod msg;
pub mod sem;
pub mod shm;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::process::Credentials;
use crate::sync::lock_shared;
use crate::{Errno, Result};

/// `IPC_PRIVATE`: a new object no key finds.
pub const IPC_PRIVATE: i32 = 0;
/// `IPC_CREAT`.
pub const IPC_CREAT: u64 = 0o1000;
/// `IPC_EXCL`.
pub const IPC_EXCL: u64 = 0o2000;
/// `IPC_NOWAIT`.
pub const IPC_NOWAIT: u64 = 0o4000;
/// `IPC_RMID`.
pub const IPC_RMID: u64 = 0;
/// `IPC_SET`.
pub const IPC_SET: u64 = 1;
/// `IPC_STAT`.
pub const IPC_STAT: u64 = 2;
/// `IPC_INFO`.
pub const IPC_INFO: u64 = 3;
/// `IPC_64`: the flag glibc adds to commands (the only layout here).
pub const IPC_64: u64 = 0x100;
/// `CAP_IPC_OWNER`: access to every object.
const CAP_IPC_OWNER: u32 = 15;
/// `CAP_SYS_ADMIN`: may remove or change any object.
const CAP_SYS_ADMIN: u32 = 21;
/// Objects of one kind (`SEMMNI`, `SHMMNI`, `MSGMNI`).
pub const MAX_OBJECTS: usize = 32000;

/// Read permission (`S_IRUGO` bits' unit).
pub const MAY_READ: u16 = 4;
/// Write (alter) permission.
pub const MAY_WRITE: u16 = 2;

/// Owner, creator and mode of an object (`struct ipc64_perm`).
#[derive(Clone, Copy, Debug)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u16,
    pub seq: u16,
}

impl Perm {
    fn new(key: i32, creds: &Credentials, mode: u16, seq: u16) -> Perm {
        let (uid, gid) = (creds.uid.effective, creds.gid.effective);
        Perm {
            key,
            uid,
            gid,
            cuid: uid,
            cgid: gid,
            mode: mode & 0o777,
            seq,
        }
    }

    /// Whether `creds` may access with `want` (`MAY_READ`/`MAY_WRITE`).
    pub fn allows(&self, creds: &Credentials, want: u16) -> bool {
        if creds.capable(CAP_IPC_OWNER) {
            return true;
        }
        let (uid, gid) = (creds.uid.effective, creds.gid.effective);
        let bits = if uid == self.uid || uid == self.cuid {
            self.mode >> 6
        } else if gid == self.gid || gid == self.cgid || creds.groups.contains(&self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        bits & want == want
    }

    /// `EACCES` unless `creds` may access with `want`.
    pub fn check(&self, creds: &Credentials, want: u16) -> Result<()> {
        if self.allows(creds, want) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// `EPERM` unless `creds` owns or created the object (or is privileged):
    /// `IPC_RMID` and `IPC_SET`.
    pub fn check_owner(&self, creds: &Credentials) -> Result<()> {
        let uid = creds.uid.effective;
        if uid == self.uid || uid == self.cuid || creds.capable(CAP_SYS_ADMIN) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// `IPC_SET`: owner and permission bits from a `struct ipc64_perm`.
    pub fn set_from(&mut self, raw: &[u8]) {
        let u32_at = |o: usize| u32::from_le_bytes(raw[o..o + 4].try_into().expect("4 bytes"));
        self.uid = u32_at(4);
        self.gid = u32_at(8);
        self.mode = (self.mode & !0o777) | (u16::from_le_bytes([raw[20], raw[21]]) & 0o777);
    }

    /// The `struct ipc64_perm` bytes.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[0..4].copy_from_slice(&self.key.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..12].copy_from_slice(&self.gid.to_le_bytes());
        b[12..16].copy_from_slice(&self.cuid.to_le_bytes());
        b[16..20].copy_from_slice(&self.cgid.to_le_bytes());
        b[20..22].copy_from_slice(&self.mode.to_le_bytes());
        b[24..26].copy_from_slice(&self.seq.to_le_bytes());
        b
    }
}

/// An IPC object: its permissions, kept by the table.
pub trait Object: Send + Sync {
    /// The permissions.
    fn perm(&self) -> std::sync::MutexGuard<'_, Perm>;
    /// Called once the object is removed (`IPC_RMID`): wake its waiters.
    fn removed(&self);
}

/// The objects of one kind, by index; an id is `seq << 15 | index`.
pub struct Table<T> {
    objects: Mutex<BTreeMap<usize, Arc<T>>>,
    seq: Mutex<u16>,
}

/// An id from its index and sequence number.
fn make_id(index: usize, seq: u16) -> i32 {
    (i32::from(seq & 0x7fff) << 15) | index as i32
}

impl<T: Object> Default for Table<T> {
    fn default() -> Table<T> {
        Table::new()
    }
}

impl<T: Object> Table<T> {
    /// An empty table.
    pub const fn new() -> Table<T> {
        Table {
            objects: Mutex::new(BTreeMap::new()),
            seq: Mutex::new(0),
        }
    }

    /// `*get`: the object of `key` (made by `make` if `IPC_CREAT` allows),
    /// with Linux's errors: `EEXIST` with `IPC_EXCL`, `ENOENT` without
    /// `IPC_CREAT`, `EACCES` if the mode does not allow `flags`' access;
    /// `check` judges an existing object (sizes). Returns the id.
    pub fn get_or_make(
        &self,
        key: i32,
        flags: u64,
        creds: &Credentials,
        check: impl FnOnce(&T) -> Result<()>,
        make: impl FnOnce(Perm) -> Result<T>,
    ) -> Result<i32> {
        let mut objects = lock_shared(&self.objects);
        if key != IPC_PRIVATE {
            if let Some((index, obj)) = objects.iter().find(|(_, o)| o.perm().key == key) {
                if flags & (IPC_CREAT | IPC_EXCL) == IPC_CREAT | IPC_EXCL {
                    return Err(Errno::EEXIST);
                }
                let perm = *obj.perm();
                // The access asked for, from the mode bits in `flags`.
                let want = (((flags >> 6) as u16) | ((flags >> 3) as u16) | flags as u16) & 0o7;
                perm.check(creds, want)?;
                check(obj)?;
                return Ok(make_id(*index, perm.seq));
            }
            if flags & IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        if objects.len() >= MAX_OBJECTS {
            return Err(Errno::ENOSPC);
        }
        let index = (0..).find(|i| !objects.contains_key(i)).unwrap_or(0);
        let seq = {
            let mut s = lock_shared(&self.seq);
            *s = s.wrapping_add(1) & 0x7fff;
            *s
        };
        let obj = make(Perm::new(key, creds, flags as u16, seq))?;
        objects.insert(index, Arc::new(obj));
        Ok(make_id(index, seq))
    }

    /// The object with `id` (`EINVAL` if there is none, or it was removed
    /// and its index reused).
    pub fn get(&self, id: i32) -> Result<Arc<T>> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let index = (id & 0x7fff) as usize;
        let obj = lock_shared(&self.objects)
            .get(&index)
            .cloned()
            .ok_or(Errno::EINVAL)?;
        if make_id(index, obj.perm().seq) != id {
            return Err(Errno::EINVAL);
        }
        Ok(obj)
    }

    /// `IPC_RMID` of `id` by `creds`.
    pub fn remove(&self, id: i32, creds: &Credentials) -> Result<Arc<T>> {
        let obj = self.get(id)?;
        obj.perm().check_owner(creds)?;
        lock_shared(&self.objects).remove(&((id & 0x7fff) as usize));
        obj.removed();
        Ok(obj)
    }

    /// The object at table index `index` (`SEM_STAT` and friends), with its id.
    pub fn at_index(&self, index: usize) -> Result<(i32, Arc<T>)> {
        let obj = lock_shared(&self.objects)
            .get(&index)
            .cloned()
            .ok_or(Errno::EINVAL)?;
        let seq = obj.perm().seq;
        Ok((make_id(index, seq), obj))
    }

    /// The highest index in use (`IPC_INFO`'s answer), or 0.
    pub fn max_index(&self) -> usize {
        lock_shared(&self.objects)
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
    }

    /// Every object.
    pub fn all(&self) -> Vec<Arc<T>> {
        lock_shared(&self.objects).values().cloned().collect()
    }
}

/// Seconds since the Epoch, for the objects' times.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
