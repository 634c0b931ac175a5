//! The program loader: maps an ELF executable into a fresh address space and
//! builds its initial stack, as Linux's `execve` does.

mod elf;
mod init_stack;

use std::fmt;

pub use elf::ElfImage;
pub mod script;
pub use init_stack::{build_init_stack, StackInfo};

use crate::fs::program::ProgramBytes;
use crate::vm::VmSpace;
use crate::Errno;

/// Why a program could not be loaded: the errno `execve` would give and a
/// message for the user.
#[derive(Debug)]
pub struct LoadError {
    /// The error number.
    pub errno: Errno,
    /// What is wrong, for humans.
    pub message: String,
}

impl LoadError {
    /// A load error with a message.
    pub fn new(errno: Errno, message: impl Into<String>) -> LoadError {
        LoadError {
            errno,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

impl From<Errno> for LoadError {
    fn from(e: Errno) -> Self {
        let message = match e {
            Errno::ENOMEM => {
                "not enough user space to load the program (see resource_limits.user_space_size)"
                    .into()
            }
            Errno::E2BIG => {
                "argument list too long (the limit is a quarter of process.default_stack_size)"
                    .into()
            }
            e => format!("cannot load the program: {e}"),
        };
        LoadError { errno: e, message }
    }
}

/// Where a loaded program starts.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// First instruction.
    pub pc: u64,
    /// Initial stack pointer.
    pub sp: u64,
}

/// Unmapped space kept below the stack (Linux's `stack_guard_gap`: 256 pages).
const STACK_GUARD_GAP: usize = 256 * 4096;
/// Linux allows argument and environment strings of up to a quarter of the
/// stack limit, and at least 32 pages.
const MIN_ARG_BYTES: usize = 32 * 4096;

/// Room above a program that its break is sure to grow into
/// (`process.default_heap_size` if smaller): other processes' images and
/// mappings share the region. Up to `process.default_heap_size`, the room
/// is reserved softly: others are placed elsewhere while the region has
/// space.
const BRK_ROOM: usize = 8 << 20;

/// Most bytes that arguments and environment (strings and pointers) may
/// take on a stack of `stack_size` bytes: a quarter of it, at least
/// Linux's `ARG_MAX` (128 KiB), yet never more than half of it, so that the
/// initial stack always fits.
pub fn max_arg_bytes(stack_size: usize) -> usize {
    (stack_size / 4).max(MIN_ARG_BYTES).min(stack_size / 2)
}

/// Sizes for the new address space.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Stack size.
    pub stack_size: usize,
    /// Maximum size of the `brk` heap.
    pub heap_size: usize,
}

/// A program to load: its bytes, and its interpreter's (`PT_INTERP`) if it
/// has one.
pub struct ProgramImage<'a> {
    /// The executable.
    pub bytes: &'a ProgramBytes,
    /// The interpreter named by `PT_INTERP`, read by the caller.
    pub interp: Option<&'a ProgramBytes>,
}

/// The interpreter `bytes` asks for (`PT_INTERP`), so the caller can read it
/// before [`load`]; `None` for static programs.
pub fn interpreter_of(bytes: &[u8]) -> Result<Option<Vec<u8>>, LoadError> {
    Ok(ElfImage::parse(bytes)?.interp().map(<[u8]>::to_vec))
}

/// Whether `bytes` is a non-PIE executable, which must be loaded at fixed
/// addresses.
pub fn is_fixed(bytes: &[u8]) -> bool {
    ElfImage::parse(bytes).is_ok_and(|i| i.is_fixed())
}

/// The address range a non-PIE program must be loaded at, if it is one.
pub fn fixed_span(bytes: &[u8]) -> Option<(usize, usize)> {
    let image = ElfImage::parse(bytes).ok()?;
    image.is_fixed().then(|| image.page_span())?
}

/// Loads `program` (an ELF executable, and its interpreter if any) into
/// `vm`, which must be empty, and builds the initial stack with `argv`,
/// `envp` and `execfn`. Like Linux, a dynamic program starts in its
/// interpreter, which finds the program through the auxiliary vector.
pub fn load(
    vm: &mut VmSpace,
    layout: Layout,
    program: &ProgramImage<'_>,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
) -> Result<Entry, LoadError> {
    let image = ElfImage::parse(program.bytes)?;
    let loaded = image.map_into(vm, program.bytes, layout.heap_size, false)?;
    let armed = program
        .bytes
        .sealed()
        .map(|f| f.id())
        .filter(|&f| crate::vm::learned::started(f));
    vm.set_cpuid_faults(armed);
    let (start, interp_base) = match (image.interp(), program.interp) {
        (None, _) => (loaded.entry, 0),
        (Some(_), None) => {
            return Err(LoadError::new(
                Errno::ENOENT,
                "the program's interpreter is missing",
            ))
        }
        (Some(_), Some(bytes)) => {
            let interp = ElfImage::parse(bytes)?;
            if interp.interp().is_some() {
                return Err(LoadError::new(
                    Errno::ELIBBAD,
                    "the program's interpreter asks for an interpreter itself",
                ));
            }
            let l = interp.map_into(vm, bytes, 0, true)?;
            (l.entry, l.base)
        }
    };
    let stack = init_stack::map_stack(vm, layout.stack_size)?;
    let brk_start = crate::vm::page_up(loaded.end).ok_or(Errno::ENOMEM)?;
    // Keep Linux's guard gap free below the stack, so that a stack overflow
    // faults instead of running into another mapping.
    if let Some(gap) = stack.start.checked_sub(STACK_GUARD_GAP) {
        vm.reserve(gap, STACK_GUARD_GAP);
    }
    vm.set_brk_area(brk_start, layout.heap_size)?;
    let info = StackInfo {
        argv,
        envp,
        execfn,
        phdr: loaded.phdr,
        phnum: image.phnum(),
        entry: loaded.entry,
        interp_base,
        max_arg_bytes: max_arg_bytes(layout.stack_size),
    };
    let sp = build_init_stack(stack.top, &info)?;
    Ok(Entry { pc: start, sp })
}
