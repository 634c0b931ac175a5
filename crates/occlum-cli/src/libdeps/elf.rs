//! What the loader needs to know of an ELF object.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use goblin::elf::Elf;

const EM_X86_64: u16 = 62;
const ELFCLASS64: u8 = 2;

/// The dynamic-linking facts of one x86-64 ELF64 object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`.
    pub interp: Option<String>,
    /// DT_NEEDED names, in order.
    pub needed: Vec<String>,
    /// DT_RPATH directories (colon-separated lists split).
    pub rpath: Vec<String>,
    /// DT_RUNPATH directories.
    pub runpath: Vec<String>,
    /// DT_SONAME.
    pub soname: Option<String>,
}

impl ElfInfo {
    /// Whether the object needs the dynamic loader at all.
    pub fn is_dynamic(&self) -> bool {
        self.interp.is_some() || !self.needed.is_empty()
    }
}

/// Whether `path` starts like an x86-64 ELF64 object (reads 20 bytes).
pub fn is_x86_64_elf(path: &Path) -> bool {
    let mut head = [0u8; 20];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head_is_x86_64(&head)
}

fn head_is_x86_64(head: &[u8; 20]) -> bool {
    head.starts_with(b"\x7fELF")
        && head[4] == ELFCLASS64
        && u16::from_le_bytes([head[18], head[19]]) == EM_X86_64
}

/// Parses `path`; `None` when it is not an x86-64 ELF64 object.
pub fn read(path: &Path) -> Result<Option<ElfInfo>> {
    if !is_x86_64_elf(path) {
        return Ok(None);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let elf = Elf::parse(&bytes)
        .with_context(|| format!("{}: expected a valid ELF object", path.display()))?;
    let split = |lists: &[&str]| -> Vec<String> {
        lists
            .iter()
            .flat_map(|l| l.split(':'))
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok(Some(ElfInfo {
        interp: elf.interpreter.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: split(&elf.rpaths),
        runpath: split(&elf.runpaths),
        soname: elf.soname.map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_dynamic_program() {
        let info = read(Path::new("/usr/bin/env"))
            .unwrap()
            .expect("x86-64 ELF");
        assert!(info.interp.as_deref().unwrap().contains("ld-"));
        assert!(info.needed.iter().any(|n| n == "libc.so.6"));
        assert!(info.is_dynamic());
    }

    #[test]
    fn non_elf_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("script");
        std::fs::write(&p, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(read(&p).unwrap(), None);
        let mut head = [0u8; 20];
        head[..4].copy_from_slice(b"\x7fELF");
        head[4] = 1;
        head[18] = 3;
        assert!(!head_is_x86_64(&head));
    }
}
