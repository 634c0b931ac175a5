//! `add_key`, `request_key`, `keyctl` (the keys are in `process::keys`).

use super::SyscallCtx;
use crate::process::keys::{self, Key};
use crate::user;
use crate::{Errno, Result};

const KEY_SPEC_THREAD_KEYRING: i32 = -1;
const KEY_SPEC_PROCESS_KEYRING: i32 = -2;
const KEY_SPEC_SESSION_KEYRING: i32 = -3;
const KEY_SPEC_USER_KEYRING: i32 = -4;
const KEY_SPEC_USER_SESSION_KEYRING: i32 = -5;

const KEYCTL_GET_KEYRING_ID: u64 = 0;
const KEYCTL_JOIN_SESSION_KEYRING: u64 = 1;
const KEYCTL_UPDATE: u64 = 2;
const KEYCTL_REVOKE: u64 = 3;
const KEYCTL_CHOWN: u64 = 4;
const KEYCTL_SETPERM: u64 = 5;
const KEYCTL_DESCRIBE: u64 = 6;
const KEYCTL_CLEAR: u64 = 7;
const KEYCTL_LINK: u64 = 8;
const KEYCTL_UNLINK: u64 = 9;
const KEYCTL_SEARCH: u64 = 10;
const KEYCTL_READ: u64 = 11;
const KEYCTL_SET_REQKEY_KEYRING: u64 = 14;
const KEYCTL_SET_TIMEOUT: u64 = 15;
const KEYCTL_GET_SECURITY: u64 = 17;
const KEYCTL_INVALIDATE: u64 = 21;
/// Longest type and description.
const NAME_MAX: usize = 4096;

fn ids(ctx: &SyscallCtx<'_, '_>) -> (u32, u32) {
    let c = ctx.process().creds();
    (c.uid.fs, c.gid.fs)
}

/// The keyring or key `id` names: a serial, or a special keyring (made
/// if `create`).
fn resolve(ctx: &SyscallCtx<'_, '_>, id: i32, create: bool) -> Result<i32> {
    let (uid, gid) = ids(ctx);
    let made = |name: &str| keys::create("keyring", name, Vec::new(), uid, gid);
    match id {
        KEY_SPEC_THREAD_KEYRING => {
            let t = ctx.thread();
            match t.keyring() {
                0 if create => {
                    let r = made("_tid")?;
                    t.set_keyring(r);
                    Ok(r)
                }
                0 => Err(Errno::ENOKEY),
                r => Ok(r),
            }
        }
        KEY_SPEC_PROCESS_KEYRING => {
            let mut rings = ctx.process().keyrings();
            match rings.process {
                Some(r) => Ok(r),
                None if create => {
                    let r = made("_pid")?;
                    rings.process = Some(r);
                    Ok(r)
                }
                None => Err(Errno::ENOKEY),
            }
        }
        KEY_SPEC_SESSION_KEYRING => {
            let session = ctx.process().keyrings().session.clone();
            let mut s = crate::sync::lock(&session);
            match *s {
                Some(r) => Ok(r),
                None if create => {
                    let r = made("_ses")?;
                    *s = Some(r);
                    Ok(r)
                }
                // Without a session keyring, the user's serves.
                None => keys::user_keyring(uid, gid),
            }
        }
        KEY_SPEC_USER_KEYRING | KEY_SPEC_USER_SESSION_KEYRING => keys::user_keyring(uid, gid),
        id if id > 0 => keys::get(id).map(|_| id),
        _ => Err(Errno::EINVAL),
    }
}

/// A keyring (not revoked) that `id` names.
fn keyring(ctx: &SyscallCtx<'_, '_>, id: i32, create: bool) -> Result<i32> {
    let r = resolve(ctx, id, create)?;
    let k = keys::get(r)?;
    if k.kind != "keyring" {
        return Err(Errno::ENOTDIR);
    }
    if k.revoked {
        return Err(Errno::EKEYREVOKED);
    }
    Ok(r)
}

/// A live key `id` names.
fn live_key(ctx: &SyscallCtx<'_, '_>, id: i32) -> Result<(i32, Key)> {
    let serial = resolve(ctx, id, false)?;
    let k = keys::get(serial)?;
    if k.revoked {
        return Err(Errno::EKEYREVOKED);
    }
    Ok((serial, k))
}

fn read_name(addr: u64) -> Result<String> {
    let b = user::read_cstring(addr, NAME_MAX)?;
    String::from_utf8(b).map_err(|_| Errno::EINVAL)
}

/// Copies `data` to a buffer of `len` bytes (as much as fits); returns the
/// full length, as `KEYCTL_READ` and `KEYCTL_DESCRIBE` do.
fn reply(data: &[u8], buf: u64, len: u64) -> Result<u64> {
    if buf != 0 && len > 0 {
        let n = data.len().min(len as usize);
        user::write_bytes(buf, &data[..n])?;
    }
    Ok(data.len() as u64)
}

pub(super) fn sys_add_key(
    ctx: &mut SyscallCtx<'_, '_>,
    ty: u64,
    description: u64,
    payload: u64,
    plen: usize,
    ring_id: i32,
) -> Result<u64> {
    let kind = read_name(ty)?;
    if kind.starts_with('.') {
        return Err(Errno::EPERM);
    }
    let desc = if description != 0 {
        read_name(description)?
    } else {
        String::new()
    };
    if desc.is_empty() && kind != "keyring" {
        return Err(Errno::EINVAL);
    }
    let payload = if payload != 0 {
        user::read_bytes(payload, plen.min(1 << 20))?
    } else {
        Vec::new()
    };
    keys::check_payload(&kind, &payload)?;
    let ring = keyring(ctx, ring_id, true)?;
    if kind != "keyring" {
        if let Some(existing) = keys::find_in(ring, &kind, &desc) {
            keys::with(existing, |k| {
                k.payload = payload;
                Ok(())
            })?;
            return Ok(existing as u64);
        }
    }
    let (uid, gid) = ids(ctx);
    let serial = keys::create(&kind, &desc, payload, uid, gid)?;
    keys::link(ring, serial)?;
    Ok(serial as u64)
}

pub(super) fn sys_request_key(
    ctx: &mut SyscallCtx<'_, '_>,
    ty: u64,
    description: u64,
    _callout_info: u64,
    dest_keyring: u64,
) -> Result<u64> {
    let kind = read_name(ty)?;
    let desc = read_name(description)?;
    let found = [
        KEY_SPEC_THREAD_KEYRING,
        KEY_SPEC_PROCESS_KEYRING,
        KEY_SPEC_SESSION_KEYRING,
    ]
    .into_iter()
    .filter_map(|spec| resolve(ctx, spec, false).ok())
    .find_map(|ring| keys::search(ring, &kind, &desc))
    .ok_or(Errno::ENOKEY)?;
    if dest_keyring != 0 {
        let dest = keyring(ctx, dest_keyring as i32, true)?;
        keys::link(dest, found)?;
    }
    Ok(found as u64)
}

pub(super) fn sys_keyctl(
    ctx: &mut SyscallCtx<'_, '_>,
    operation: u64,
    arg2: u64,
    arg3: u64,
    arg4: u64,
    arg5: u64,
) -> Result<u64> {
    let id = arg2 as i32;
    match operation {
        KEYCTL_GET_KEYRING_ID => resolve(ctx, id, arg3 != 0).map(|r| r as u64),
        KEYCTL_JOIN_SESSION_KEYRING => {
            let name = if arg2 != 0 {
                read_name(arg2)?
            } else {
                "_ses".to_string()
            };
            let (uid, gid) = ids(ctx);
            let r = keys::create("keyring", &name, Vec::new(), uid, gid)?;
            let session = ctx.process().keyrings().session.clone();
            *crate::sync::lock(&session) = Some(r);
            Ok(r as u64)
        }
        KEYCTL_UPDATE => {
            let (serial, k) = live_key(ctx, id)?;
            if k.kind == "keyring" {
                return Err(Errno::EOPNOTSUPP);
            }
            let payload = user::read_bytes(arg3, (arg4 as usize).min(1 << 20))?;
            keys::check_payload(&k.kind, &payload)?;
            keys::with(serial, |k| {
                k.payload = payload;
                Ok(0)
            })
        }
        KEYCTL_REVOKE | KEYCTL_INVALIDATE => {
            let (serial, _) = live_key(ctx, id)?;
            keys::with(serial, |k| {
                k.revoked = true;
                Ok(0)
            })
        }
        KEYCTL_CHOWN => {
            let (serial, _) = live_key(ctx, id)?;
            if !ctx.process().creds().capable(21) {
                return Err(Errno::EACCES);
            }
            keys::with(serial, |k| {
                if arg3 as u32 != u32::MAX {
                    k.uid = arg3 as u32;
                }
                if arg4 as u32 != u32::MAX {
                    k.gid = arg4 as u32;
                }
                Ok(0)
            })
        }
        KEYCTL_SETPERM => {
            let (serial, _) = live_key(ctx, id)?;
            keys::with(serial, |k| {
                k.perm = arg3 as u32;
                Ok(0)
            })
        }
        KEYCTL_DESCRIBE => {
            let (_, k) = live_key(ctx, id)?;
            let mut d = k.describe().into_bytes();
            d.push(0);
            reply(&d, arg3, arg4)
        }
        KEYCTL_CLEAR => {
            let ring = keyring(ctx, id, false)?;
            keys::with(ring, |k| {
                k.links.clear();
                Ok(0)
            })
        }
        KEYCTL_LINK => {
            let (key, _) = live_key(ctx, id)?;
            let ring = keyring(ctx, arg3 as i32, true)?;
            keys::link(ring, key).map(|_| 0)
        }
        KEYCTL_UNLINK => {
            let key = resolve(ctx, id, false)?;
            let ring = keyring(ctx, arg3 as i32, false)?;
            keys::unlink(ring, key).map(|_| 0)
        }
        KEYCTL_SEARCH => {
            let ring = keyring(ctx, id, false)?;
            let (kind, desc) = (read_name(arg3)?, read_name(arg4)?);
            let found = keys::search(ring, &kind, &desc).ok_or(Errno::ENOKEY)?;
            if arg5 != 0 {
                let dest = keyring(ctx, arg5 as i32, true)?;
                keys::link(dest, found)?;
            }
            Ok(found as u64)
        }
        KEYCTL_READ => {
            let (_, k) = live_key(ctx, id)?;
            let data = match k.kind.as_str() {
                "keyring" => k.links.iter().flat_map(|s| s.to_le_bytes()).collect(),
                "logon" => return Err(Errno::EOPNOTSUPP),
                _ => k.payload,
            };
            reply(&data, arg3, arg4)
        }
        KEYCTL_SET_REQKEY_KEYRING => Ok(0),
        KEYCTL_SET_TIMEOUT => live_key(ctx, id).map(|_| 0),
        KEYCTL_GET_SECURITY => {
            live_key(ctx, id)?;
            reply(&[0], arg3, arg4)
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}
