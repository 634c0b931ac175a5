//! Per-host-thread state and the doors into user code.
//!
//! Every host thread that runs user code owns a [`UserThread`]: a slot of the
//! PAL's stack zone holding its thread block and its alternate signal stack
//! (on which every trap is served), and its own Syscall User Dispatch
//! registration (SUD is per thread and not inherited).

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};

use crate::arch::{self, SLOT_SIZE};
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
const PAGE: usize = 4096;
/// Most host threads that can run user code at once.
const MAX_SLOTS: usize = 4096;
/// Pages at the bottom of a slot for the thread block and the XSAVE area of
/// the direct syscall entry.
const BLOCK_PAGES: usize = 4;
/// Offset of the XSAVE area in the slot.
const XSAVE_AREA: usize = 1024;
/// Size of the vector area (`fastpath.rs`), at the end of the block pages.
pub(crate) const VEC_AREA_SIZE: usize = 4096;
/// Largest alternate stack: a slot less the block pages and a guard page.
pub const MAX_KERNEL_STACK: usize = SLOT_SIZE - (BLOCK_PAGES + 1) * PAGE;

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

/// The per-thread block, at the bottom of the thread's slot. Its first
/// fields are read by the assembly in `arch`.
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
    /// Set while the LibOS's trap handler runs on this thread (the guard
    /// against entering user code from inside it).
    pub(crate) in_trap: bool,
    /// Set while the direct entry serves this thread (offset 22).
    pub(crate) fast_active: u8,
    /// Set when an interrupt that came while the direct entry served this
    /// thread was blocked and raised again: the entry's exit unblocks it
    /// (offset 23).
    pub(crate) deferred: u8,
    /// The block's own address while the direct syscall entry may serve
    /// this thread, else 0 (offset 24).
    pub(crate) fast_self: u64,
    /// The user's FS base while the direct entry serves a syscall (offset 32).
    pub(crate) user_fs: u64,
    /// The stack the direct entry runs on: the top of the alternate stack
    /// (offset 40).
    pub(crate) fast_rsp: u64,
    /// The XSAVE area of the direct entry (offset 48).
    pub(crate) xsave_area: u64,
    /// What the direct entry serves: 0 a syscall, 1 an interrupt (offset 56).
    pub(crate) kind: u64,
    /// The user's registers while the direct entry serves them (offset 64).
    pub(crate) regs: UserRegs,
    /// Where the direct entry saves vector registers by hand (offset 208).
    pub(crate) vec_area: u64,
    /// Where the user's FPU and vector state is while the direct entry
    /// serves it: 0 in the vector area (and the registers), 1 whole in the
    /// XSAVE area (offset 216).
    pub(crate) fpu_in_area: u64,
}

// The assembly in `arch` relies on these offsets.
const _: () = {
    assert!(std::mem::offset_of!(ThreadBlock, libos_fs) == 0);
    assert!(std::mem::offset_of!(ThreadBlock, saved_rsp) == 8);
    assert!(std::mem::offset_of!(ThreadBlock, depth) == 16);
    assert!(std::mem::offset_of!(ThreadBlock, selector) == 20);
    assert!(std::mem::offset_of!(ThreadBlock, fast_active) == 22);
    assert!(std::mem::offset_of!(ThreadBlock, deferred) == 23);
    assert!(std::mem::offset_of!(ThreadBlock, fast_self) == 24);
    assert!(std::mem::offset_of!(ThreadBlock, user_fs) == 32);
    assert!(std::mem::offset_of!(ThreadBlock, fast_rsp) == 40);
    assert!(std::mem::offset_of!(ThreadBlock, xsave_area) == 48);
    assert!(std::mem::offset_of!(ThreadBlock, kind) == 56);
    assert!(std::mem::offset_of!(ThreadBlock, regs) == 64);
    assert!(std::mem::offset_of!(ThreadBlock, vec_area) == 208);
    assert!(std::mem::offset_of!(ThreadBlock, fpu_in_area) == 216);
    assert!(std::mem::size_of::<ThreadBlock>() <= XSAVE_AREA);
};

/// The stack zone: `MAX_SLOTS` aligned slots, reserved once, and the free list.
struct Zone {
    base: usize,
    free: Mutex<(Vec<usize>, usize)>,
}

fn zone() -> Result<&'static Zone, Errno> {
    static ZONE: OnceLock<Option<Zone>> = OnceLock::new();
    ZONE.get_or_init(|| {
        let len = (MAX_SLOTS + 1) * SLOT_SIZE;
        // SAFETY: a fresh inaccessible reservation; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        let base = (p as usize).next_multiple_of(SLOT_SIZE);
        arch::OCCLUM_PAL_ZONE[0].store(base as u64, Ordering::SeqCst);
        arch::OCCLUM_PAL_ZONE[1].store((base + MAX_SLOTS * SLOT_SIZE) as u64, Ordering::SeqCst);
        arch::OCCLUM_PAL_HAS_PKU.store(u8::from(arch::has_pku()), Ordering::SeqCst);
        Some(Zone {
            base,
            free: Mutex::new((Vec::new(), 0)),
        })
    })
    .as_ref()
    .ok_or(Errno::ENOMEM)
}

impl Zone {
    fn alloc(&self) -> Result<usize, Errno> {
        let mut f = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = f.0.pop() {
            return Ok(self.base + i * SLOT_SIZE);
        }
        if f.1 >= MAX_SLOTS {
            return Err(Errno::EAGAIN);
        }
        f.1 += 1;
        Ok(self.base + (f.1 - 1) * SLOT_SIZE)
    }

    fn release(&self, slot: usize) {
        // SAFETY: the slot lies in the zone and no thread uses it any more;
        // making it inaccessible again drops its pages.
        if !unsafe { uspace::make_inaccessible(slot, SLOT_SIZE) } {
            // Not given out again: the slot may still hold the old thread's
            // stacks, or be a hole in the zone.
            tracing::error!("cannot release a thread stack slot; it stays in use");
            return;
        }
        let i = (slot - self.base) / SLOT_SIZE;
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .push(i);
    }
}

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
    /// The block at the bottom of the slot; only accessed through this raw
    /// pointer, since the trap handlers reach it the same way.
    block: *mut ThreadBlock,
    slot: usize,
}

impl UserThread {
    /// Sets up the calling thread: a slot with its thread block and an
    /// alternate signal stack of `stack_size` bytes for the LibOS code that
    /// serves traps, and Syscall User Dispatch for user syscalls.
    pub fn init_current(stack_size: usize, mode: DispatchMode) -> Result<UserThread, Errno> {
        let space = uspace::get().ok_or(Errno::EINVAL)?;
        crate::trap::ensure_installed()?;
        if CURRENT_BLOCK.with(|c| !c.get().is_null()) {
            return Err(Errno::EBUSY);
        }
        crate::trap::unblock_trap_signals();
        let zone = zone()?;
        let stack_size = stack_size
            .clamp(256 * 1024, MAX_KERNEL_STACK)
            .next_multiple_of(PAGE);
        let slot = zone.alloc()?;
        let stack = slot + (BLOCK_PAGES + 1) * PAGE;
        // SAFETY: the block pages and the stack lie in this thread's own slot
        // of the zone, which nothing else uses; the page between stays a guard.
        let ok = unsafe {
            libc::mprotect(
                slot as *mut libc::c_void,
                BLOCK_PAGES * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
            ) == 0
                && libc::mprotect(
                    stack as *mut libc::c_void,
                    stack_size,
                    libc::PROT_READ | libc::PROT_WRITE,
                ) == 0
        };
        if !ok {
            zone.release(slot);
            return Err(Errno::ENOMEM);
        }
        let block = slot as *mut ThreadBlock;
        // SAFETY: the block page is mapped read-write and exclusively ours.
        unsafe {
            block.write(ThreadBlock {
                libos_fs: arch::read_fs_base(),
                saved_rsp: 0,
                depth: 1,
                selector: SYSCALL_DISPATCH_FILTER_ALLOW,
                in_trap: false,
                fast_active: 0,
                deferred: 0,
                fast_self: 0,
                user_fs: 0,
                fast_rsp: ((stack + stack_size) & !15) as u64,
                xsave_area: (slot + XSAVE_AREA) as u64,
                kind: 0,
                regs: UserRegs::default(),
                vec_area: (slot + BLOCK_PAGES * PAGE - VEC_AREA_SIZE) as u64,
                fpu_in_area: 1,
            })
        };
        crate::fastpath::init_xsave_area(
            slot + XSAVE_AREA,
            BLOCK_PAGES * PAGE - XSAVE_AREA - VEC_AREA_SIZE,
        );
        let ss = libc::stack_t {
            ss_sp: stack as *mut libc::c_void,
            ss_flags: 0,
            ss_size: stack_size,
        };
        // SAFETY: `ss` describes memory owned by this UserThread until Drop.
        if unsafe { libc::sigaltstack(&ss, ptr::null_mut()) } != 0 {
            let e = Errno::last();
            zone.release(slot);
            return Err(e);
        }
        // SAFETY: `block` is the live block written above.
        let selector: *mut u8 = unsafe { ptr::addr_of_mut!((*block).selector) };
        let restorer = arch::occlum_pal_restorer as *const () as usize;
        let restorer_len = arch::occlum_pal_restorer_end as *const () as usize - restorer;
        let enable = |on: libc::c_ulong, start: usize, len: usize| {
            // SAFETY: the selector byte lives in the block page, which stays
            // mapped until Drop, where SUD is switched off first.
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
            // SAFETY: switching the alternate stack off before freeing it.
            unsafe { libc::sigaltstack(&DISABLED_STACK, ptr::null_mut()) };
            zone.release(slot);
            return Err(e);
        }
        CURRENT_BLOCK.with(|c| c.set(block));
        Ok(UserThread { block, slot })
    }

    /// Runs user code starting at `entry` with stack pointer `sp` and FS base
    /// `fs`, all other registers zero. Returns when a trap handler calls
    /// [`crate::trap::TrapFrame::exit_user`], with the value given there.
    ///
    /// User code runs in this process's address space (simulation backend):
    /// it is confined only by what the LibOS maps for it.
    ///
    /// An `entry` outside the user region and the vDSO, or an `sp` outside
    /// the user region, is replaced by 0: user code then faults at once (a
    /// SIGSEGV for the program), never runs LibOS code or LibOS memory as
    /// its own.
    pub fn enter_user(&mut self, entry: u64, sp: u64, fs: u64) -> i64 {
        self.check_not_in_trap();
        let (entry, sp) = (
            crate::trap::user_code_or_zero(entry),
            crate::trap::user_stack_or_zero(sp),
        );
        self.set_depth(0);
        self.arm_fast_path();
        // SAFETY: the block is this thread's; the assembly saves callee-saved
        // registers and RSP, and the only way back (TrapFrame::exit_user) resumes
        // there with the LibOS FS base restored: to Rust, an ordinary call.
        let v = unsafe { arch::occlum_pal_enter_user(entry, sp, fs, self.block.cast()) };
        self.set_depth(1);
        v
    }

    /// Like [`UserThread::enter_user`], but starts user code with all general
    /// registers from `regs`, as a `syscall` instruction returns (RCX ends up
    /// equal to RIP). Used for new threads and processes created by `clone`.
    /// RIP and RSP are checked as in [`UserThread::enter_user`].
    pub fn enter_user_regs(&mut self, regs: &UserRegs, fs: u64) -> i64 {
        self.check_not_in_trap();
        let regs = &UserRegs {
            rip: crate::trap::user_code_or_zero(regs.rip),
            rsp: crate::trap::user_stack_or_zero(regs.rsp),
            ..*regs
        };
        self.set_depth(0);
        self.arm_fast_path();
        // SAFETY: as in enter_user; `regs` is a valid UserRegs (repr(C), the
        // layout the assembly reads) for the duration of the call.
        let v = unsafe {
            arch::occlum_pal_enter_user_regs(
                (regs as *const UserRegs).cast(),
                fs,
                self.block.cast(),
            )
        };
        self.set_depth(1);
        v
    }

    /// Entering user code from inside a trap handler would run it over the
    /// handler's live frames, and its exit would resume the wrong one.
    fn check_not_in_trap(&self) {
        // SAFETY: the block is owned by self and only accessed on this thread.
        if unsafe { (*self.block).in_trap } {
            crate::trap::fatal("enter_user called from inside a trap handler");
        }
    }

    /// Lets the direct syscall entry serve this thread if it is on: GS base
    /// becomes the block, which the entry checks (user code that sets GS
    /// gets its own value, and its syscalls trap).
    fn arm_fast_path(&mut self) {
        let on = crate::fastpath::enabled();
        // SAFETY: the block is owned by self and only accessed through raw
        // pointers on this thread; no trap handler runs here. Neither the PAL
        // nor the LibOS uses GS.
        unsafe {
            (*self.block).fast_self = if on { self.block as u64 } else { 0 };
            if on {
                std::arch::asm!("wrgsbase {}", in(reg) self.block as u64, options(nomem, nostack, preserves_flags));
            }
        }
    }

    fn set_depth(&mut self, depth: u32) {
        // SAFETY: the block is owned by self and only accessed through raw
        // pointers on this thread; no trap handler runs at these points.
        unsafe { (*self.block).depth = depth };
    }
}

const DISABLED_STACK: libc::stack_t = libc::stack_t {
    ss_sp: ptr::null_mut(),
    ss_flags: libc::SS_DISABLE,
    ss_size: 0,
};

impl Drop for UserThread {
    fn drop(&mut self) {
        // SAFETY: switching SUD and the alternate stack off before the slot
        // they point into is released.
        unsafe {
            libc::prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
            libc::sigaltstack(&DISABLED_STACK, ptr::null_mut());
        }
        CURRENT_BLOCK.with(|c| c.set(ptr::null_mut()));
        if let Ok(z) = zone() {
            z.release(self.slot);
        }
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
