//! glibc's `/etc/ld.so.cache`: the new "glibc-ld.so.cache1.1" format, alone
//! or after the old "ld.so-1.7.0" one (see glibc's `sysdeps/generic/dl-cache.h`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// Header: magic and version (20), nlibs, len_strings, flags and padding,
/// extension offset, 3 unused words.
const NEW_HEADER_LEN: usize = 48;
/// Entry: flags, key, value, osversion (4 each), hwcap (8).
const NEW_ENTRY_LEN: usize = 24;
const OLD_ENTRY_LEN: usize = 12;
/// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`: an x86-64 glibc library.
pub const FLAG_X86_64_LIBC6: i32 = 0x0303;
/// The `flags` byte of the header says the cache is big-endian.
const ENDIAN_BIG: u8 = 3;

/// One library of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The library's name (its soname), e.g. `libc.so.6`.
    pub name: String,
    /// Where it is, e.g. `/lib/x86_64-linux-gnu/libc.so.6`.
    pub path: PathBuf,
    /// The entry's flags (type and architecture).
    pub flags: i32,
    /// Hardware capabilities the entry needs (0: none).
    pub hwcap: u64,
}

/// The parsed cache.
#[derive(Debug, Default, Clone)]
pub struct LdCache {
    entries: Vec<Entry>,
}

impl LdCache {
    /// Reads and parses the cache at `path`.
    pub fn read(path: &Path) -> Result<LdCache> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        LdCache::parse(&bytes).with_context(|| format!("{}", path.display()))
    }

    /// Parses a cache's bytes.
    pub fn parse(bytes: &[u8]) -> Result<LdCache> {
        let start = if bytes.starts_with(NEW_MAGIC) {
            0
        } else if bytes.starts_with(OLD_MAGIC) {
            let nlibs = u32_at(bytes, 12)? as usize;
            let end = nlibs
                .checked_mul(OLD_ENTRY_LEN)
                .and_then(|n| n.checked_add(16))
                .context("expected a valid old-format entry count")?;
            // The new format follows, aligned to 4 bytes.
            let aligned = end.div_ceil(4) * 4;
            if !bytes
                .get(aligned..)
                .is_some_and(|b| b.starts_with(NEW_MAGIC))
            {
                bail!("expected the \"glibc-ld.so.cache1.1\" format after the old one (old-only caches are not supported)");
            }
            aligned
        } else {
            bail!("expected an ld.so cache (magic \"glibc-ld.so.cache1.1\" or \"ld.so-1.7.0\")");
        };
        parse_new(&bytes[start..])
    }

    /// The x86-64 glibc library named `name`, preferring an entry that
    /// needs no hardware capabilities.
    pub fn lookup(&self, name: &str) -> Option<&Path> {
        let mut matching = self
            .entries
            .iter()
            .filter(|e| e.name == name && e.flags == FLAG_X86_64_LIBC6);
        let first = matching.clone().next()?;
        let best = matching.find(|e| e.hwcap == 0).unwrap_or(first);
        Some(&best.path)
    }
}

fn parse_new(bytes: &[u8]) -> Result<LdCache> {
    if bytes.len() < NEW_HEADER_LEN {
        bail!("expected a header of {NEW_HEADER_LEN} bytes, the file is too short");
    }
    if bytes[28] == ENDIAN_BIG {
        bail!("expected a little-endian cache, found a big-endian one");
    }
    let nlibs = u32_at(bytes, 20)? as usize;
    let entries_end = nlibs
        .checked_mul(NEW_ENTRY_LEN)
        .and_then(|n| n.checked_add(NEW_HEADER_LEN))
        .filter(|&end| end <= bytes.len())
        .with_context(|| format!("expected {nlibs} entries, the file is too short"))?;
    let mut entries = Vec::with_capacity(nlibs);
    for off in (NEW_HEADER_LEN..entries_end).step_by(NEW_ENTRY_LEN) {
        let flags = u32_at(bytes, off)? as i32;
        let name = string_at(bytes, u32_at(bytes, off + 4)? as usize)?;
        let path = string_at(bytes, u32_at(bytes, off + 8)? as usize)?;
        let hwcap = u64::from(u32_at(bytes, off + 16)?) | u64::from(u32_at(bytes, off + 20)?) << 32;
        entries.push(Entry {
            name,
            path: PathBuf::from(path),
            flags,
            hwcap,
        });
    }
    Ok(LdCache { entries })
}

fn u32_at(bytes: &[u8], off: usize) -> Result<u32> {
    let b = bytes
        .get(off..off + 4)
        .with_context(|| format!("expected 4 bytes at offset {off}, the file is too short"))?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The NUL-terminated string at `off` (offsets count from the new header).
fn string_at(bytes: &[u8], off: usize) -> Result<String> {
    let rest = bytes
        .get(off..)
        .with_context(|| format!("expected a string at offset {off}, past the end"))?;
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .with_context(|| format!("expected a NUL-terminated string at offset {off}"))?;
    String::from_utf8(rest[..len].to_vec())
        .with_context(|| format!("expected UTF-8 text at offset {off}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a new-format cache of `(flags, name, path, hwcap)` entries,
    /// behind an old-format prefix when `old` is set.
    fn synthetic(entries: &[(i32, &str, &str, u64)], old: bool) -> Vec<u8> {
        let mut strings = Vec::new();
        let mut offsets = Vec::new();
        let strings_start = NEW_HEADER_LEN + entries.len() * NEW_ENTRY_LEN;
        for (_, name, path, _) in entries {
            let n = strings_start + strings.len();
            strings.extend_from_slice(name.as_bytes());
            strings.push(0);
            let p = strings_start + strings.len();
            strings.extend_from_slice(path.as_bytes());
            strings.push(0);
            offsets.push((n as u32, p as u32));
        }
        let mut out = Vec::new();
        if old {
            out.extend_from_slice(OLD_MAGIC);
            out.push(0);
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&[0u8; OLD_ENTRY_LEN]);
        }
        out.extend_from_slice(NEW_MAGIC);
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&[2, 0, 0, 0]);
        out.extend_from_slice(&[0u8; 16]);
        for ((flags, _, _, hwcap), (n, p)) in entries.iter().zip(&offsets) {
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&p.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&hwcap.to_le_bytes());
        }
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn host_cache_has_libc() {
        let cache = LdCache::read(Path::new("/etc/ld.so.cache")).unwrap();
        let libc = cache
            .lookup("libc.so.6")
            .expect("libc.so.6 in the host cache");
        assert!(libc.ends_with("libc.so.6"), "{}", libc.display());
        assert!(libc.is_file());
    }

    #[test]
    fn synthetic_cache_picks_x86_64_without_hwcap() {
        let entries = [
            (0x0003, "libfoo.so.1", "/lib32/libfoo.so.1", 0),
            (FLAG_X86_64_LIBC6, "libfoo.so.1", "/hw/libfoo.so.1", 1 << 62),
            (FLAG_X86_64_LIBC6, "libfoo.so.1", "/lib64/libfoo.so.1", 0),
            (FLAG_X86_64_LIBC6, "libbar.so", "/usr/lib/libbar.so", 0),
        ];
        for old in [false, true] {
            let cache = LdCache::parse(&synthetic(&entries, old)).unwrap();
            assert_eq!(cache.entries.len(), 4);
            assert_eq!(
                cache.lookup("libfoo.so.1"),
                Some(Path::new("/lib64/libfoo.so.1"))
            );
            assert_eq!(
                cache.lookup("libbar.so"),
                Some(Path::new("/usr/lib/libbar.so"))
            );
            assert_eq!(cache.lookup("libbaz.so"), None);
        }
    }

    #[test]
    fn bad_caches_are_errors() {
        assert!(LdCache::parse(b"not a cache").is_err());
        let mut truncated = synthetic(&[(FLAG_X86_64_LIBC6, "a", "/a", 0)], false);
        truncated.truncate(60);
        let err = LdCache::parse(&truncated).unwrap_err().to_string();
        assert!(err.contains("too short"), "{err}");
    }
}
