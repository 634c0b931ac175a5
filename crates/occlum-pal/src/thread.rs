//! Per-host-thread state and the door into user code.
//!
//! Every host thread that runs user code owns a [`UserThread`]: a thread block
//! (reached from the signal entry stub through GS base), an alternate signal
//! stack on which every trap is served, and its own Syscall User Dispatch
//! registration (SUD is per thread and not inherited).

use std::cell::Cell;
use std::ptr;

use crate::arch;
use crate::errno::Errno;
use crate::trap::UserRegs;
use crate::uspace;

const PR_SET_SYSCALL_USER_DISPATCH: libc::c_int = 59;
const PR_SYS_DISPATCH_OFF: libc::c_ulong = 0;
/// Dispatch syscalls made from outside the given range (Linux >= 5.11).
const PR_SYS_DISPATCH_EXCLUSIVE_ON: libc::c_ulong = 1;
/// Dispatch syscalls made from inside the given range only (Linux >= 6.17).
const PR_SYS_DISPATCH_INCLUSIVE_ON: libc::c_ulong = 2;
const SYSCALL_DISPATCH_FILTER_ALLOW: u8 = 0;

/// How Syscall User Dispatch decides which syscalls to trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchMode {
    /// Inclusive mode where the kernel has it, else exclusive.
    Auto,
    /// Trap syscalls made inside the user-space region only: the LibOS's own
    /// syscalls never trap, whatever the selector says.
    Inclusive,
    /// Trap every syscall made while the selector is BLOCK (set while user
    /// code runs), except `rt_sigreturn` in the PAL's restorer.
    Exclusive,
}
const DISABLED_STACK: libc::stack_t = libc::stack_t {
    ss_sp: ptr::null_mut(),
    ss_flags: libc::SS_DISABLE,
    ss_size: 0,
};

/// The per-thread block. Its first two fields are read by the assembly in `arch`.
#[repr(C)]
pub(crate) struct ThreadBlock {
    /// FS base of the LibOS's own code on this thread (offset 0).
    pub(crate) libos_fs: u64,
    /// LibOS stack pointer saved when entering user code (offset 8).
    pub(crate) saved_rsp: u64,
    /// Nesting depth of LibOS code running in trap handlers; 0 while user code runs.
    pub(crate) depth: u32,
    /// The SUD selector byte (offset 20).
    selector: u8,
}

// The assembly in `arch` relies on these offsets.
const _: () = {
    assert!(std::mem::offset_of!(ThreadBlock, libos_fs) == 0);
    assert!(std::mem::offset_of!(ThreadBlock, saved_rsp) == 8);
    assert!(std::mem::offset_of!(ThreadBlock, selector) == 20);
};

thread_local! {
    static CURRENT_BLOCK: Cell<*mut ThreadBlock> = const { Cell::new(ptr::null_mut()) };
}

/// Runs `f` with the calling thread's block, if the thread has one.
pub(crate) fn with_current_block<R>(f: impl FnOnce(Option<&mut ThreadBlock>) -> R) -> R {
    let p = CURRENT_BLOCK.with(|c| c.get());
    // SAFETY: the pointer is either null or the live, thread-owned block of a
    // `UserThread` on this thread (cleared in its Drop). Only this thread ever
    // dereferences it, and callers never hold two references at once.
    f(unsafe { p.as_mut() })
}

/// A host thread set up to run user code. Not `Send`: it belongs to the thread
/// that created it.
pub struct UserThread {
    /// Owned (from `Box::into_raw`); only accessed through this raw pointer,
    /// since the trap handlers reach it through the same pointer.
    block: *mut ThreadBlock,
    altstack: *mut libc::c_void,
    altstack_size: usize,
}

impl UserThread {
    /// Sets up the calling thread: thread block in GS base, an alternate signal
    /// stack of `stack_size` bytes for the LibOS code that serves traps, and
    /// Syscall User Dispatch for syscalls made from the user-space region.
    pub fn init_current(stack_size: usize, mode: DispatchMode) -> Result<UserThread, Errno> {
        let space = uspace::get().ok_or(Errno::EINVAL)?;
        crate::trap::ensure_installed()?;
        if CURRENT_BLOCK.with(|c| !c.get().is_null()) {
            return Err(Errno::EBUSY);
        }
        let stack_size = stack_size.max(256 * 1024).next_multiple_of(4096);
        let guard = 4096;
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let mem = unsafe {
            libc::mmap(
                ptr::null_mut(),
                stack_size + guard,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if mem == libc::MAP_FAILED {
            return Err(Errno::ENOMEM);
        }
        // SAFETY: the guard page is the lowest page of the mapping made above.
        unsafe { libc::mprotect(mem, guard, libc::PROT_NONE) };
        let block = Box::into_raw(Box::new(ThreadBlock {
            libos_fs: arch::read_fs_base(),
            saved_rsp: 0,
            depth: 1,
            selector: SYSCALL_DISPATCH_FILTER_ALLOW,
        }));
        let ss = libc::stack_t {
            // SAFETY: in bounds of the mapping made above.
            ss_sp: unsafe { mem.cast::<u8>().add(guard).cast() },
            ss_flags: 0,
            ss_size: stack_size,
        };
        // SAFETY: `ss` describes memory owned by this UserThread until Drop.
        if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
            let e = Errno::last();
            // SAFETY: freeing what was made above, which nothing uses yet.
            unsafe {
                libc::munmap(mem, stack_size + guard);
                drop(Box::from_raw(block));
            }
            return Err(e);
        }
        // SAFETY: `block` is the live allocation made above.
        let selector: *mut u8 = unsafe { ptr::addr_of_mut!((*block).selector) };
        let restorer = arch::occlum_pal_restorer as *const () as usize;
        let restorer_len = arch::occlum_pal_restorer_end as *const () as usize - restorer;
        let enable = |on: libc::c_ulong, start: usize, len: usize| {
            // SAFETY: the selector byte lives in the boxed block, which stays at
            // the same address until Drop, where SUD is switched off first.
            unsafe { libc::prctl(PR_SET_SYSCALL_USER_DISPATCH, on, start, len, selector) }
        };
        let inclusive = || enable(PR_SYS_DISPATCH_INCLUSIVE_ON, space.base(), space.size());
        let exclusive = || enable(PR_SYS_DISPATCH_EXCLUSIVE_ON, restorer, restorer_len);
        let rc = match mode {
            DispatchMode::Inclusive => inclusive(),
            DispatchMode::Exclusive => exclusive(),
            DispatchMode::Auto => match inclusive() {
                0 => 0,
                _ => exclusive(),
            },
        };
        if rc != 0 {
            let e = Errno::last();
            tracing::error!("Syscall User Dispatch is not available: {e}");
            // SAFETY: freeing what was made above; SUD did not take the selector.
            unsafe {
                libc::sigaltstack(&DISABLED_STACK, ptr::null_mut());
                libc::munmap(mem, stack_size + guard);
                drop(Box::from_raw(block));
            }
            return Err(e);
        }
        arch::write_gs_base(block as u64);
        CURRENT_BLOCK.with(|c| c.set(block));
        Ok(UserThread {
            block,
            altstack: mem,
            altstack_size: stack_size + guard,
        })
    }

    /// Runs user code starting at `entry` with stack pointer `sp` and FS base
    /// `fs`, all other registers zero. Returns when a trap handler calls
    /// [`crate::trap::TrapFrame::exit_user`], with the value given there.
    ///
    /// User code runs in this process's address space (simulation backend):
    /// it is confined only by what the LibOS maps for it.
    pub fn enter_user(&mut self, entry: u64, sp: u64, fs: u64) -> i64 {
        // SAFETY: the block is owned by self and only accessed through raw
        // pointers on this thread; no trap handler runs at this point.
        unsafe { (*self.block).depth = 0 };
        // SAFETY: the block is this thread's; the assembly saves callee-saved
        // registers and RSP, and the only way back (TrapFrame::exit_user) resumes
        // there with the LibOS FS base restored: to Rust, an ordinary call.
        let v = unsafe { arch::occlum_pal_enter_user(entry, sp, fs, self.block.cast()) };
        // SAFETY: as above; the trap handler that left user code has returned.
        unsafe { (*self.block).depth = 1 };
        v
    }
}

impl UserThread {
    /// Like [`UserThread::enter_user`], but starts user code with all general
    /// registers from `regs`, as a `syscall` instruction returns (RCX ends up
    /// equal to RIP). Used for new threads and processes created by `clone`.
    pub fn enter_user_regs(&mut self, regs: &UserRegs, fs: u64) -> i64 {
        // SAFETY: the block is owned by self and only accessed through raw
        // pointers on this thread; no trap handler runs at this point.
        unsafe { (*self.block).depth = 0 };
        // SAFETY: as in enter_user; `regs` is a valid UserRegs (repr(C), the
        // layout the assembly reads) for the duration of the call.
        let v = unsafe {
            arch::occlum_pal_enter_user_regs(
                (regs as *const UserRegs).cast(),
                fs,
                self.block.cast(),
            )
        };
        // SAFETY: as above; the trap handler that left user code has returned.
        unsafe { (*self.block).depth = 1 };
        v
    }
}

impl Drop for UserThread {
    fn drop(&mut self) {
        // SAFETY: switching SUD off and the alternate stack off before freeing
        // the memory they point to.
        unsafe {
            libc::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
            libc::sigaltstack(&DISABLED_STACK, ptr::null_mut());
            libc::munmap(self.altstack, self.altstack_size);
        }
        arch::write_gs_base(0);
        CURRENT_BLOCK.with(|c| c.set(ptr::null_mut()));
        // SAFETY: nothing refers to the block any more (GS base and the
        // thread-local pointer were cleared above).
        drop(unsafe { Box::from_raw(self.block) });
    }
}

impl Errno {
    /// The calling thread's host `errno` as an [`Errno`].
    pub(crate) fn last() -> Errno {
        Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}
