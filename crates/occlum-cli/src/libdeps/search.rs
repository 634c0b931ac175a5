//! Search directories: dynamic string tokens and the loaders' defaults.

use std::path::{Path, PathBuf};

/// glibc's trusted default directories on x86-64 (Debian's multiarch ones first).
pub const GLIBC_DEFAULT_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// musl's built-in path, used when `/etc/ld-musl-x86_64.path` is absent.
pub const MUSL_DEFAULT_DIRS: &[&str] = &["/lib", "/usr/local/lib", "/usr/lib"];

/// musl's path file.
pub const MUSL_PATH_FILE: &str = "/etc/ld-musl-x86_64.path";

/// Expands `$ORIGIN`, `$LIB` and `$PLATFORM` (also in `${...}` form) in an
/// RPATH or RUNPATH entry of an object whose directory is `origin`.
pub fn expand(entry: &str, origin: &Path) -> PathBuf {
    let origin = origin.to_string_lossy();
    let mut out = String::new();
    let mut rest = entry;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = match after
            .strip_prefix('{')
            .and_then(|a| a.find('}').map(|e| (a, e)))
        {
            Some((a, end)) => (&a[..end], end + 2),
            None => {
                let end = after
                    .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match name {
            "ORIGIN" => out.push_str(&origin),
            "LIB" => out.push_str("lib64"),
            "PLATFORM" => out.push_str("x86_64"),
            _ => out.push_str(&rest[i..i + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    PathBuf::from(out)
}

/// musl's system directories: the path file's entries (separated by
/// newlines or colons) when `path_file` exists, else the built-in ones.
pub fn musl_dirs(path_file: &Path) -> Vec<PathBuf> {
    match std::fs::read_to_string(path_file) {
        Ok(text) => text
            .split(['\n', ':'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect(),
        Err(_) => MUSL_DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
    }
}

/// Whether musl's loader satisfies `name` itself (it is also libc).
pub fn musl_builtin(name: &str) -> bool {
    let stem = name.split(".so").next().unwrap_or(name);
    matches!(
        stem,
        "libc" | "libdl" | "libm" | "libpthread" | "librt" | "libutil" | "libxnet" | "libcrypt"
    ) || name.starts_with("libc.musl-")
        || name.starts_with("ld-musl-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_tokens() {
        let o = Path::new("/opt/app/bin");
        assert_eq!(
            expand("$ORIGIN/../lib", o),
            Path::new("/opt/app/bin/../lib")
        );
        assert_eq!(expand("${ORIGIN}/x", o), Path::new("/opt/app/bin/x"));
        assert_eq!(
            expand("/usr/$LIB/$PLATFORM", o),
            Path::new("/usr/lib64/x86_64")
        );
        assert_eq!(expand("/a/$UNKNOWN/b", o), Path::new("/a/$UNKNOWN/b"));
    }

    #[test]
    fn musl_path_file_or_default() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ld-musl-x86_64.path");
        assert_eq!(musl_dirs(&f).len(), MUSL_DEFAULT_DIRS.len());
        std::fs::write(&f, "/opt/lib\n/usr/lib:/lib\n").unwrap();
        assert_eq!(
            musl_dirs(&f),
            vec![
                PathBuf::from("/opt/lib"),
                PathBuf::from("/usr/lib"),
                PathBuf::from("/lib")
            ]
        );
        assert!(musl_builtin("libc.so") && musl_builtin("libpthread.so.0"));
        assert!(!musl_builtin("libz.so.1"));
    }
}
