//! `#!` scripts: which interpreter runs a script, and with what arguments,
//! as Linux's `binfmt_script` decides.

/// Longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const MAX_LINE: usize = 256;

/// The interpreter of a script and its optional single argument, if `bytes`
/// starts with `#!`; `None` if it is not a script. An empty interpreter is
/// `Some(Err(()))` (`ENOEXEC`).
#[allow(clippy::type_complexity)]
pub fn shebang(bytes: &[u8]) -> Option<Result<(Vec<u8>, Option<Vec<u8>>), ()>> {
    let rest = bytes.strip_prefix(b"#!")?;
    let head = &rest[..rest.len().min(MAX_LINE - 2)];
    let line = match head.iter().position(|&b| b == b'\n') {
        Some(i) => &head[..i],
        None => head,
    };
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let line: &[u8] = {
        let start = line.iter().position(|b| !is_space(b)).unwrap_or(line.len());
        let end = line
            .iter()
            .rposition(|b| !is_space(b))
            .map_or(start, |i| i + 1);
        &line[start..end.max(start)]
    };
    if line.is_empty() {
        return Some(Err(()));
    }
    let split = line.iter().position(is_space);
    Some(Ok(match split {
        None => (line.to_vec(), None),
        Some(i) => {
            let arg = &line[i..];
            let arg_start = arg.iter().position(|b| !is_space(b)).unwrap_or(arg.len());
            let arg = &arg[arg_start..];
            (line[..i].to_vec(), (!arg.is_empty()).then(|| arg.to_vec()))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::shebang;

    #[test]
    fn shebang_lines_split_like_linux() {
        assert!(shebang(b"\x7fELF").is_none());
        assert_eq!(
            shebang(b"#!/bin/sh\necho").unwrap().unwrap(),
            (b"/bin/sh".to_vec(), None)
        );
        assert_eq!(
            shebang(b"#! /usr/bin/env  python3 -u \n").unwrap().unwrap(),
            (b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec()))
        );
        assert_eq!(
            shebang(b"#!/bin/awk -f").unwrap().unwrap(),
            (b"/bin/awk".to_vec(), Some(b"-f".to_vec()))
        );
        assert!(shebang(b"#!   \n").unwrap().is_err());
    }
}
