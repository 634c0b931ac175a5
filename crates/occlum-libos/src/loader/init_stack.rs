//! The initial user stack: argc, argv, envp and the auxiliary vector, laid
//! out as Linux's `execve` does.

use occlum_pal::host;

use crate::user;
use crate::vm::{Placement, VmSpace, PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_SYSINFO_EHDR: u64 = 33;
const AT_MINSIGSTKSZ: u64 = 51;

/// What goes on the initial stack.
pub struct StackInfo<'a> {
    /// Arguments.
    pub argv: &'a [Vec<u8>],
    /// Environment entries (`NAME=value`).
    pub envp: &'a [Vec<u8>],
    /// The path the program was executed as (`AT_EXECFN`).
    pub execfn: &'a [u8],
    /// Address of the program headers.
    pub phdr: u64,
    /// Number of program headers.
    pub phnum: usize,
    /// Entry point of the program.
    pub entry: u64,
    /// Where the program's interpreter was loaded (`AT_BASE`; 0 if none).
    pub interp_base: u64,
    /// Most bytes of argument and environment strings and their pointers
    /// (`E2BIG` beyond; see [`crate::loader::max_arg_bytes`]).
    pub max_arg_bytes: usize,
}

/// The mapped stack.
pub struct Stack {
    /// Lowest address.
    pub start: usize,
    /// One past the highest address.
    pub top: u64,
}

/// Maps a stack of `size` bytes at the top of the free space.
pub fn map_stack(vm: &mut VmSpace, size: usize) -> Result<Stack> {
    let start = vm.map(Placement::Hint(0), size, PROT_READ | PROT_WRITE)?;
    vm.set_stack(start, start + size);
    Ok(Stack {
        start,
        top: (start + size) as u64,
    })
}

/// Writes the initial stack below `top`; returns the initial stack pointer.
pub fn build_init_stack(top: u64, info: &StackInfo<'_>) -> Result<u64> {
    if user::exec_args_size(info.argv, info.envp) >= info.max_arg_bytes {
        return Err(Errno::E2BIG);
    }
    let mut cur = top - 8;
    let mut push_bytes = |data: &[u8]| -> Result<u64> {
        cur -= data.len() as u64;
        user::write_bytes_unchecked(cur, data)?;
        Ok(cur)
    };
    let cstr = |s: &[u8]| -> Vec<u8> {
        let mut v = s.to_vec();
        v.push(0);
        v
    };
    let execfn = push_bytes(&cstr(info.execfn))?;
    let mut env_ptrs = Vec::with_capacity(info.envp.len());
    for e in info.envp.iter().rev() {
        env_ptrs.push(push_bytes(&cstr(e))?);
    }
    env_ptrs.reverse();
    let mut arg_ptrs = Vec::with_capacity(info.argv.len());
    for a in info.argv.iter().rev() {
        arg_ptrs.push(push_bytes(&cstr(a))?);
    }
    arg_ptrs.reverse();
    let platform = push_bytes(b"x86_64\0")?;
    let mut random = [0u8; 16];
    host::getrandom(&mut random)?;
    let random = push_bytes(&random)?;

    let (hwcap, hwcap2) = host::hwcap();
    let mut auxv = vec![
        (AT_PHDR, info.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, info.phnum as u64),
        (AT_PAGESZ, 4096),
        (AT_BASE, info.interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, info.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_PLATFORM, platform),
        (AT_HWCAP, hwcap),
        (AT_CLKTCK, 100),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_HWCAP2, hwcap2),
        (AT_EXECFN, execfn),
    ];
    if let Some(vdso) = host::vdso_base() {
        auxv.push((AT_SYSINFO_EHDR, vdso));
    }
    if let Some(min) = host::auxv_entry(AT_MINSIGSTKSZ) {
        auxv.push((AT_MINSIGSTKSZ, min));
    }
    auxv.push((AT_NULL, 0));

    let mut words: Vec<u64> = Vec::new();
    words.push(arg_ptrs.len() as u64);
    words.extend(&arg_ptrs);
    words.push(0);
    words.extend(&env_ptrs);
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }
    let sp = (cur - (words.len() as u64) * 8) & !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    user::write_bytes_unchecked(sp, &bytes)?;
    Ok(sp)
}
