//! The interface requests of `ioctl` on a socket (`SIOCGIFCONF`,
//! `SIOCGIFADDR`, `SIOCGIFFLAGS`, ...): the host's interfaces and their
//! IPv4 addresses, read only (setting them is refused: `EPERM`).

use occlum_pal::host_net::{interfaces, Interface};

use crate::user;
use crate::{Errno, Result};

const SIOCGIFNAME: u64 = 0x8910;
const SIOCGIFCONF: u64 = 0x8912;
const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCGIFADDR: u64 = 0x8915;
const SIOCGIFBRDADDR: u64 = 0x8919;
const SIOCGIFNETMASK: u64 = 0x891b;
const SIOCGIFMTU: u64 = 0x8921;
const SIOCGIFHWADDR: u64 = 0x8927;
const SIOCGIFINDEX: u64 = 0x8933;
/// `SIOCSIF*`: the setters Linux has between these numbers.
const SETTERS: [u64; 8] = [
    0x8914, 0x8916, 0x8918, 0x891a, 0x891c, 0x8922, 0x8924, 0x8934,
];
/// `struct ifreq`: a name and a 24-byte union.
const IFREQ: usize = 40;
const IFNAMSIZ: usize = 16;
const IFF_LOOPBACK: u32 = 0x8;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;

/// Whether `req` is an interface request this module serves.
pub fn is_interface_request(req: u64) -> bool {
    matches!(
        req,
        SIOCGIFNAME
            | SIOCGIFCONF
            | SIOCGIFFLAGS
            | SIOCGIFADDR
            | SIOCGIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCGIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
    ) || SETTERS.contains(&req)
}

/// A `sockaddr_in` of `addr` in an ifreq's union.
fn sockaddr_in(addr: [u8; 4]) -> [u8; 16] {
    let mut sa = [0u8; 16];
    sa[0..2].copy_from_slice(&2u16.to_le_bytes());
    sa[4..8].copy_from_slice(&addr);
    sa
}

fn name_bytes(name: &str) -> [u8; IFNAMSIZ] {
    let mut b = [0u8; IFNAMSIZ];
    let n = name.len().min(IFNAMSIZ - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

/// Serves interface request `req` with the `struct ifreq` (or, for
/// `SIOCGIFCONF`, `struct ifconf`) at `arg`.
pub fn ioctl(req: u64, arg: u64) -> Result<u64> {
    if SETTERS.contains(&req) {
        return Err(Errno::EPERM);
    }
    let all = interfaces();
    if req == SIOCGIFCONF {
        return ifconf(&all, arg);
    }
    let mut ifr = [0u8; IFREQ];
    user::read_into(arg, &mut ifr)?;
    let found = if req == SIOCGIFNAME {
        let index = u32::from_le_bytes(ifr[16..20].try_into().expect("4 bytes"));
        all.iter().find(|i| i.index == index)
    } else {
        let len = ifr[..IFNAMSIZ]
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(IFNAMSIZ);
        let name = &ifr[..len];
        all.iter().find(|i| i.name.as_bytes() == name)
    };
    let i = found.ok_or(Errno::ENODEV)?;
    let union = &mut ifr[IFNAMSIZ..];
    union.fill(0);
    match req {
        SIOCGIFNAME => ifr[..IFNAMSIZ].copy_from_slice(&name_bytes(&i.name)),
        SIOCGIFFLAGS => union[..2].copy_from_slice(&(i.flags as u16).to_le_bytes()),
        SIOCGIFADDR => {
            union[..16].copy_from_slice(&sockaddr_in(i.addr.ok_or(Errno::EADDRNOTAVAIL)?))
        }
        SIOCGIFNETMASK => {
            union[..16].copy_from_slice(&sockaddr_in(i.netmask.ok_or(Errno::EADDRNOTAVAIL)?))
        }
        SIOCGIFBRDADDR => union[..16].copy_from_slice(&sockaddr_in(i.broadcast.unwrap_or([0; 4]))),
        SIOCGIFMTU => {
            let mtu: i32 = if i.flags & IFF_LOOPBACK != 0 {
                65536
            } else {
                1500
            };
            union[..4].copy_from_slice(&mtu.to_le_bytes());
        }
        SIOCGIFINDEX => union[..4].copy_from_slice(&(i.index as i32).to_le_bytes()),
        SIOCGIFHWADDR => {
            let family = if i.flags & IFF_LOOPBACK != 0 {
                ARPHRD_LOOPBACK
            } else {
                ARPHRD_ETHER
            };
            union[..2].copy_from_slice(&family.to_le_bytes());
        }
        _ => return Err(Errno::ENOTTY),
    }
    user::write_bytes(arg, &ifr)?;
    Ok(0)
}

/// `SIOCGIFCONF`: an ifreq (name and IPv4 address) per interface with an
/// address; with no buffer, only the length they need.
fn ifconf(all: &[Interface], arg: u64) -> Result<u64> {
    let mut conf = [0u8; 16];
    user::read_into(arg, &mut conf)?;
    let len = i32::from_le_bytes(conf[0..4].try_into().expect("4 bytes"));
    let buf = u64::from_le_bytes(conf[8..16].try_into().expect("8 bytes"));
    let with_addr: Vec<&Interface> = all.iter().filter(|i| i.addr.is_some()).collect();
    let mut out = Vec::new();
    if buf != 0 {
        for i in with_addr.iter().take(len.max(0) as usize / IFREQ) {
            let mut ifr = [0u8; IFREQ];
            ifr[..IFNAMSIZ].copy_from_slice(&name_bytes(&i.name));
            ifr[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(i.addr.unwrap_or_default()));
            out.extend_from_slice(&ifr);
        }
        user::write_bytes(buf, &out)?;
    } else {
        out.resize(with_addr.len() * IFREQ, 0);
    }
    user::write_bytes(arg, &(out.len() as i32).to_le_bytes())?;
    Ok(0)
}
