//! Socket addresses between user memory and typed values.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::fs::socket::unix::UnixAddr;
use crate::user;
use crate::{Errno, Result};

pub(super) const AF_UNSPEC: u16 = 0;
pub(super) const AF_UNIX: u16 = 1;
pub(super) const AF_INET: u16 = 2;
pub(super) const AF_INET6: u16 = 10;

/// Size of `struct sockaddr_storage`: the longest address accepted.
const SOCKADDR_MAX: u64 = 128;

/// Reads a `sockaddr` of `len` bytes at `addr` (`EINVAL` for a bad length).
pub(super) fn read(addr: u64, len: u64) -> Result<Vec<u8>> {
    let len = len as u32 as i32;
    if len < 0 || len as u64 > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    user::read_bytes(addr, len as usize)
}

/// The family of the raw address `b` (`EINVAL` if too short).
pub(super) fn family(b: &[u8]) -> Result<u16> {
    if b.len() < 2 {
        return Err(Errno::EINVAL);
    }
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

/// An Internet address (`None` for `AF_UNSPEC`).
pub(super) fn parse_inet(b: &[u8]) -> Result<Option<SocketAddr>> {
    match family(b)? {
        AF_UNSPEC => Ok(None),
        AF_INET => {
            if b.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Ok(Some(SocketAddr::V4(SocketAddrV4::new(ip, port))))
        }
        AF_INET6 => {
            if b.len() < 24 {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[8..24]);
            let scope = if b.len() >= 28 {
                u32::from_le_bytes([b[24], b[25], b[26], b[27]])
            } else {
                0
            };
            Ok(Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flow,
                scope,
            ))))
        }
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// An `AF_UNIX` address (`None` for `AF_UNSPEC` if `unspec_ok`).
pub(super) fn parse_unix(b: &[u8], unspec_ok: bool) -> Result<Option<UnixAddr>> {
    match family(b)? {
        AF_UNIX => UnixAddr::parse(b).map(Some),
        AF_UNSPEC if unspec_ok => Ok(None),
        _ => Err(Errno::EINVAL),
    }
}

/// The `sockaddr_in`/`sockaddr_in6` bytes of `a`.
pub(super) fn encode_inet(a: &SocketAddr) -> Vec<u8> {
    match a {
        SocketAddr::V4(a) => {
            let mut b = vec![0u8; 16];
            b[..2].copy_from_slice(&AF_INET.to_le_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            b
        }
        SocketAddr::V6(a) => {
            let mut b = vec![0u8; 28];
            b[..2].copy_from_slice(&AF_INET6.to_le_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.flowinfo().to_be_bytes());
            b[8..24].copy_from_slice(&a.ip().octets());
            b[24..28].copy_from_slice(&a.scope_id().to_le_bytes());
            b
        }
    }
}

/// Reads the in/out length at `len_ptr` (`EINVAL` if negative).
pub(super) fn read_len(len_ptr: u64) -> Result<usize> {
    let len = user::read_u32(len_ptr)? as i32;
    usize::try_from(len).map_err(|_| Errno::EINVAL)
}

/// Copies `bytes` (truncated to the caller's buffer) to `addr` and its full
/// length to `len_ptr`, as `getsockname`, `accept` and `recvfrom` do.
pub(super) fn write(bytes: &[u8], addr: u64, len_ptr: u64) -> Result<()> {
    let room = read_len(len_ptr)?;
    user::write_bytes(addr, &bytes[..bytes.len().min(room)])?;
    user::write_bytes(len_ptr, &(bytes.len() as u32).to_le_bytes())
}
