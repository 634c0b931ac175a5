//! `setsockopt` and `getsockopt`. Time-outs are kept by the LibOS (host
//! sockets never block); other options of Internet sockets go to the host,
//! which takes only known, pointer-free ones (`occlum_pal::host_net`); `AF_UNIX` sockets
//! answer the common `SOL_SOCKET` options themselves.

use super::Sock;
use crate::fs::socket::unix::UnixKind;
use crate::fs::socket::{
    Timeouts, ENOPROTOOPT, MAX_OPTLEN, SOL_SOCKET, SO_ACCEPTCONN, SO_DOMAIN, SO_ERROR, SO_PROTOCOL,
    SO_RCVBUF, SO_RCVTIMEO, SO_SNDBUF, SO_SNDTIMEO, SO_TYPE,
};
use crate::user;
use crate::{Errno, Result};

fn timeouts(s: &Sock) -> &Timeouts {
    match s {
        Sock::Inet(s) => s.timeouts(),
        Sock::Unix(s) => s.timeouts(),
    }
}

/// `setsockopt(level, name, value at val, len)`.
pub(super) fn set(s: &Sock, level: i32, name: i32, val: u64, len: u64) -> Result<()> {
    let len = len as u32 as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let value = user::read_bytes(val, (len as usize).min(MAX_OPTLEN))?;
    if level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
        if value.len() < 16 {
            return Err(Errno::EINVAL);
        }
        let sec = i64::from_le_bytes(value[..8].try_into().expect("8 bytes"));
        let usec = i64::from_le_bytes(value[8..16].try_into().expect("8 bytes"));
        return timeouts(s).set(name == SO_SNDTIMEO, sec, usec);
    }
    match s {
        Sock::Inet(s) => s.host().setsockopt(level, name, &value),
        Sock::Unix(_) => {
            if level != SOL_SOCKET {
                return Err(Errno::EOPNOTSUPP);
            }
            // SO_REUSEADDR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_LINGER,
            // SO_REUSEPORT, SO_PASSCRED, SO_SNDBUFFORCE, SO_RCVBUFFORCE: taken
            // and ignored (buffers have a fixed size).
            if !matches!(name, 2 | 7 | 8 | 9 | 13 | 15 | 16 | 32 | 33) {
                return Err(ENOPROTOOPT);
            }
            if value.len() < 4 {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
    }
}

/// `getsockopt(level, name, value at val, length at len_ptr)`.
pub(super) fn get(s: &Sock, level: i32, name: i32, val: u64, len_ptr: u64) -> Result<()> {
    let room = user::read_u32(len_ptr)? as i32;
    if room < 0 {
        return Err(Errno::EINVAL);
    }
    let room = room as usize;
    let value: Vec<u8> = if level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
        let t = timeouts(s).get(name == SO_SNDTIMEO).unwrap_or_default();
        let mut b = (t.as_secs() as i64).to_le_bytes().to_vec();
        b.extend_from_slice(&(t.subsec_micros() as i64).to_le_bytes());
        b.truncate(room);
        b
    } else {
        match s {
            Sock::Inet(s) => s.host().getsockopt(level, name, room.min(MAX_OPTLEN))?,
            Sock::Unix(s) => {
                if level != SOL_SOCKET {
                    return Err(Errno::EOPNOTSUPP);
                }
                let v: i32 = match name {
                    SO_TYPE => match s.kind() {
                        UnixKind::Stream => 1,
                        UnixKind::Datagram => 2,
                    },
                    SO_DOMAIN => 1,
                    SO_PROTOCOL | SO_ERROR => 0,
                    SO_ACCEPTCONN => s.is_listening() as i32,
                    SO_SNDBUF | SO_RCVBUF => 212_992,
                    // SO_REUSEADDR, SO_KEEPALIVE, SO_REUSEPORT, SO_PASSCRED.
                    2 | 9 | 15 | 16 => 0,
                    _ => return Err(ENOPROTOOPT),
                };
                let mut b = v.to_le_bytes().to_vec();
                b.truncate(room);
                b
            }
        }
    };
    user::write_bytes(val, &value)?;
    user::write_bytes(len_ptr, &(value.len() as u32).to_le_bytes())
}
