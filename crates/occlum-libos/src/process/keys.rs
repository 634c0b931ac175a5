//! Kernel key retention (`add_key`, `request_key`, `keyctl`): keys of type
//! `user` and `logon` with a payload, and keyrings that hold them. Each
//! thread, process and session has its keyring (made when first asked
//! for; a fork child shares its parent's session keyring), and each user
//! one. There is no upcall: `request_key` finds keys, it never makes them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use crate::sync::lock_shared;
use crate::{Errno, Result};

use Errno as E;
const ENOKEY: Errno = E::ENOKEY;
const EKEYREVOKED: Errno = E::EKEYREVOKED;
/// Largest payload of a `user` key.
const USER_PAYLOAD_MAX: usize = 32767;
/// Most keys in the LibOS (Linux's per-user quota is 200 for non-root).
const MAX_KEYS: usize = 20000;

/// One key or keyring.
#[derive(Clone, Debug)]
pub struct Key {
    /// `user`, `logon` or `keyring`.
    pub kind: String,
    /// Its description (name).
    pub description: String,
    /// The payload (keys) or the linked serials (keyrings).
    pub payload: Vec<u8>,
    pub links: Vec<i32>,
    pub uid: u32,
    pub gid: u32,
    pub perm: u32,
    pub revoked: bool,
}

impl Key {
    /// `type;uid;gid;perm;description` (`KEYCTL_DESCRIBE`).
    pub fn describe(&self) -> String {
        format!(
            "{};{};{};{:08x};{}",
            self.kind, self.uid, self.gid, self.perm, self.description
        )
    }
}

/// Every key by serial.
static KEYS: Mutex<BTreeMap<i32, Key>> = Mutex::new(BTreeMap::new());
/// The user keyrings, by uid.
static USER_KEYRINGS: Mutex<BTreeMap<u32, i32>> = Mutex::new(BTreeMap::new());

/// Default permissions: possessor and user may do anything but set
/// attributes of others' keys.
const DEFAULT_PERM: u32 = 0x3f01_0000;

fn next_serial() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(0x1000_0000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Makes a key (or keyring, `kind` "keyring"); returns its serial.
pub fn create(kind: &str, description: &str, payload: Vec<u8>, uid: u32, gid: u32) -> Result<i32> {
    let mut keys = lock_shared(&KEYS);
    if keys.len() >= MAX_KEYS {
        return Err(Errno::EDQUOT);
    }
    let serial = next_serial();
    keys.insert(
        serial,
        Key {
            kind: kind.to_string(),
            description: description.to_string(),
            payload,
            links: Vec::new(),
            uid,
            gid,
            perm: DEFAULT_PERM,
            revoked: false,
        },
    );
    Ok(serial)
}

/// A copy of key `serial` (`ENOKEY` if none; revoked keys are returned).
pub fn get(serial: i32) -> Result<Key> {
    lock_shared(&KEYS).get(&serial).cloned().ok_or(ENOKEY)
}

/// Runs `f` on key `serial`.
pub fn with<T>(serial: i32, f: impl FnOnce(&mut Key) -> Result<T>) -> Result<T> {
    let mut keys = lock_shared(&KEYS);
    let k = keys.get_mut(&serial).ok_or(ENOKEY)?;
    f(k)
}

/// Checks a payload for a key type.
pub fn check_payload(kind: &str, payload: &[u8]) -> Result<()> {
    match kind {
        "user" | "logon" if payload.len() > USER_PAYLOAD_MAX => Err(Errno::EINVAL),
        "user" | "logon" => Ok(()),
        "keyring" if payload.is_empty() => Ok(()),
        "keyring" => Err(Errno::EINVAL),
        _ => Err(Errno::ENODEV),
    }
}

/// Links `key` into keyring `ring` (once).
pub fn link(ring: i32, key: i32) -> Result<()> {
    let mut keys = lock_shared(&KEYS);
    if !keys.contains_key(&key) {
        return Err(ENOKEY);
    }
    let r = keys.get_mut(&ring).ok_or(ENOKEY)?;
    if r.kind != "keyring" {
        return Err(Errno::ENOTDIR);
    }
    if r.revoked {
        return Err(EKEYREVOKED);
    }
    if !r.links.contains(&key) {
        r.links.push(key);
    }
    Ok(())
}

/// Unlinks `key` from keyring `ring`.
pub fn unlink(ring: i32, key: i32) -> Result<()> {
    with(ring, |r| {
        if r.kind != "keyring" {
            return Err(Errno::ENOTDIR);
        }
        let pos = r.links.iter().position(|k| *k == key).ok_or(ENOKEY)?;
        r.links.remove(pos);
        Ok(())
    })
}

/// The key of `kind` and `description` in keyring `ring` (directly linked).
pub fn find_in(ring: i32, kind: &str, description: &str) -> Option<i32> {
    let keys = lock_shared(&KEYS);
    let r = keys.get(&ring)?;
    r.links.iter().copied().find(|k| {
        keys.get(k)
            .is_some_and(|k| k.kind == kind && k.description == description && !k.revoked)
    })
}

/// Searches keyring `ring` and the keyrings linked in it (breadth first).
pub fn search(ring: i32, kind: &str, description: &str) -> Option<i32> {
    let keys = lock_shared(&KEYS);
    let mut queue = vec![ring];
    let mut seen = Vec::new();
    while let Some(r) = queue.first().copied() {
        queue.remove(0);
        if seen.contains(&r) || seen.len() > 1000 {
            continue;
        }
        seen.push(r);
        let Some(ring) = keys.get(&r).filter(|k| k.kind == "keyring" && !k.revoked) else {
            continue;
        };
        for k in &ring.links {
            let Some(key) = keys.get(k) else { continue };
            if key.kind == kind && key.description == description && !key.revoked {
                return Some(*k);
            }
            if key.kind == "keyring" {
                queue.push(*k);
            }
        }
    }
    None
}

/// The user keyring of `uid`, made on first use.
pub fn user_keyring(uid: u32, gid: u32) -> Result<i32> {
    let mut rings = lock_shared(&USER_KEYRINGS);
    if let Some(r) = rings.get(&uid) {
        return Ok(*r);
    }
    let r = create("keyring", &format!("_uid.{uid}"), Vec::new(), uid, gid)?;
    rings.insert(uid, r);
    Ok(r)
}

/// A process's keyrings: session (shared with the processes it forked)
/// and its own.
#[derive(Default)]
pub struct ProcessKeyrings {
    /// The session keyring, shared by fork.
    pub session: Arc<Mutex<Option<i32>>>,
    /// The process keyring.
    pub process: Option<i32>,
}

impl ProcessKeyrings {
    /// What a fork child starts with: the same session keyring.
    pub fn inherited(&self) -> ProcessKeyrings {
        ProcessKeyrings {
            session: self.session.clone(),
            process: None,
        }
    }
}
