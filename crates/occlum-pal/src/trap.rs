//! Traps from user code: trapped `syscall` instructions (SIGSYS from Syscall
//! User Dispatch) and CPU faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
//!
//! The LibOS registers one [`TrapHandler`]; it runs on the thread's alternate
//! signal stack with the LibOS's FS base, and sees the interrupted user state
//! through a [`TrapFrame`]. The interrupted code is always user code, which
//! never holds a LibOS lock, so the handler may use any LibOS facility.
//! Design note: serving the trap inside the signal handler (rather than
//! switching to a separate LibOS stack) keeps a trapped syscall at one signal
//! delivery plus one `rt_sigreturn`, the floor that SUD allows.

use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::arch;
use crate::errno::Errno;
use crate::thread::with_current_block;
use crate::xstate;

/// The LibOS's handler for traps from user code.
pub type TrapHandler = fn(&mut TrapFrame<'_>);

/// The value [`crate::thread::UserThread::enter_user`] returns when the trap
/// handler panicked (a LibOS bug): the PAL left user code for good.
pub const EXIT_LIBOS_PANIC: i64 = i64::MIN;

static HANDLER: OnceLock<TrapHandler> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), Errno>> = OnceLock::new();

const SYS_USER_DISPATCH: i32 = 2;
/// `AUDIT_ARCH_X86_64`: the `si_arch` of a 64-bit `syscall`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const SA_RESTORER: u64 = 0x0400_0000;
/// Signals raised synchronously by user code: never blocked while LibOS code runs.
const SYNC_SIGNALS: [i32; 6] = [
    libc::SIGSYS,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
];

/// Why user code stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// A `syscall` instruction; number in RAX, arguments in the usual registers.
    Syscall,
    /// A 32-bit system call (`int $0x80`) from 64-bit code.
    CompatSyscall,
    /// The thread was interrupted by [`interrupt`] while running user code.
    Interrupt,
    /// A CPU fault turned into signal `signo` (with `si_code` `code`; `addr` is
    /// the faulting address for SIGSEGV/SIGBUS, the instruction otherwise).
    Fault { signo: i32, code: i32, addr: u64 },
}

/// The general registers of user code (layout used by the assembly in `arch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
#[allow(missing_docs)]
pub struct UserRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

// The assembly in `arch` relies on these offsets.
const _: () = {
    assert!(std::mem::offset_of!(UserRegs, rax) == 0);
    assert!(std::mem::offset_of!(UserRegs, rsp) == 56);
    assert!(std::mem::offset_of!(UserRegs, r15) == 120);
    assert!(std::mem::offset_of!(UserRegs, rip) == 128);
};

pub use crate::xstate::FXSAVE_SIZE;

/// The host signal the PAL uses to interrupt a thread running user code
/// (see [`interrupt`]).
pub const SIG_INTERRUPT: i32 = 64;

/// Interrupts host thread `host_tid` (of this process): if it is running user
/// code, the trap handler runs with [`TrapKind::Interrupt`]; if it is running
/// LibOS code, nothing happens (the LibOS checks its own state before
/// returning to user code).
pub fn interrupt(host_tid: i32) -> Result<(), Errno> {
    // SAFETY: tgkill has no memory effects; SIG_INTERRUPT is handled by the PAL.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), host_tid, SIG_INTERRUPT) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The host thread id of the calling thread (for [`interrupt`]), asked of
/// the host once per thread (the LibOS's host process never forks).
pub fn current_host_tid() -> i32 {
    thread_local! {
        static TID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    }
    TID.with(|t| {
        if t.get() == 0 {
            // SAFETY: gettid has no preconditions.
            t.set(unsafe { libc::gettid() });
        }
        t.get()
    })
}

/// The state of the interrupted user code, as the trap handler sees and edits it.
pub struct TrapFrame<'a> {
    mc: &'a mut libc::mcontext_t,
    fs: &'a mut u64,
    kind: TrapKind,
    direct: bool,
}

/// Copies `r` into the general registers of `mc`.
pub(crate) fn regs_to_mcontext(r: &UserRegs, mc: &mut libc::mcontext_t) {
    use libc::*;
    for (reg, v) in [
        (REG_RAX, r.rax),
        (REG_RBX, r.rbx),
        (REG_RCX, r.rcx),
        (REG_RDX, r.rdx),
        (REG_RSI, r.rsi),
        (REG_RDI, r.rdi),
        (REG_RBP, r.rbp),
        (REG_RSP, r.rsp),
        (REG_R8, r.r8),
        (REG_R9, r.r9),
        (REG_R10, r.r10),
        (REG_R11, r.r11),
        (REG_R12, r.r12),
        (REG_R13, r.r13),
        (REG_R14, r.r14),
        (REG_R15, r.r15),
        (REG_RIP, r.rip),
        (REG_EFL, r.rflags),
    ] {
        mc.gregs[reg as usize] = v as i64;
    }
}

/// The general registers in `mc`.
pub(crate) fn regs_from_mcontext(mc: &libc::mcontext_t) -> UserRegs {
    use libc::*;
    let g = |r: c_int| mc.gregs[r as usize] as u64;
    UserRegs {
        rax: g(REG_RAX),
        rbx: g(REG_RBX),
        rcx: g(REG_RCX),
        rdx: g(REG_RDX),
        rsi: g(REG_RSI),
        rdi: g(REG_RDI),
        rbp: g(REG_RBP),
        rsp: g(REG_RSP),
        r8: g(REG_R8),
        r9: g(REG_R9),
        r10: g(REG_R10),
        r11: g(REG_R11),
        r12: g(REG_R12),
        r13: g(REG_R13),
        r14: g(REG_R14),
        r15: g(REG_R15),
        rip: g(REG_RIP),
        rflags: g(REG_EFL),
    }
}

/// The LibOS's trap handler, once registered.
pub(crate) fn handler() -> Option<TrapHandler> {
    HANDLER.get().copied()
}

impl<'a> TrapFrame<'a> {
    /// A frame for the direct syscall entry (`fastpath.rs`): `mc` holds the
    /// user's registers and points at their XSAVE area.
    pub(crate) fn direct(mc: &'a mut libc::mcontext_t, fs: &'a mut u64, kind: TrapKind) -> Self {
        TrapFrame {
            mc,
            fs,
            kind,
            direct: true,
        }
    }
}

impl TrapFrame<'_> {
    /// Why user code stopped.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }

    /// Whether the syscall came through the direct entry of a rewritten
    /// site rather than a trap.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    fn greg(&self, r: libc::c_int) -> u64 {
        self.mc.gregs[r as usize] as u64
    }

    fn set_greg(&mut self, r: libc::c_int, v: u64) {
        self.mc.gregs[r as usize] = v as i64;
    }

    /// The syscall number (RAX).
    pub fn syscall_nr(&self) -> u64 {
        self.greg(libc::REG_RAX)
    }

    /// The six syscall arguments (RDI, RSI, RDX, R10, R8, R9).
    pub fn syscall_args(&self) -> [u64; 6] {
        [
            self.greg(libc::REG_RDI),
            self.greg(libc::REG_RSI),
            self.greg(libc::REG_RDX),
            self.greg(libc::REG_R10),
            self.greg(libc::REG_R8),
            self.greg(libc::REG_R9),
        ]
    }

    /// Sets the syscall's return value (RAX), as the `syscall` instruction would.
    pub fn set_syscall_ret(&mut self, v: u64) {
        self.set_greg(libc::REG_RAX, v);
    }

    /// All general registers of the user code.
    pub fn regs(&self) -> UserRegs {
        regs_from_mcontext(self.mc)
    }

    /// Replaces the general registers the user code resumes with. Only the
    /// user-controllable RFLAGS bits are taken from `r.rflags`; a RIP outside
    /// the user region and the vDSO, or an RSP outside the user region,
    /// becomes 0, so the user code faults at once instead of running LibOS
    /// code or writing LibOS memory.
    pub fn set_regs(&mut self, r: &UserRegs) {
        // CF, PF, AF, ZF, SF, TF, DF, OF, RF, AC: what Linux's sigreturn takes.
        const USER_FLAGS: u64 = 0xdd5 | 0x1_0000 | 0x4_0000;
        let flags = (self.greg(libc::REG_EFL) & !USER_FLAGS) | (r.rflags & USER_FLAGS);
        let r = UserRegs {
            rip: user_code_or_zero(r.rip),
            rsp: user_stack_or_zero(r.rsp),
            rflags: flags,
            ..*r
        };
        regs_to_mcontext(&r, self.mc);
    }

    /// The host kernel's saved copy of the user's FPU and vector state, in
    /// Linux's signal-frame layout ([`crate::xstate`]): the whole XSAVE area
    /// when the kernel saved one (its `FP_XSTATE_MAGIC1` and `MAGIC2` in
    /// place), else the FXSAVE area; `None` if the kernel gave none.
    fn kernel_fpu_area(&mut self) -> Option<&mut [u8]> {
        if self.direct {
            // The direct entry may have saved only the vector registers.
            with_current_block(|b| {
                if let Some(b) = b {
                    crate::fastpath::materialize(b);
                }
            });
        }
        let p = self.mc.fpregs.cast::<u8>();
        if p.is_null() {
            return None;
        }
        // SAFETY: the kernel's fpregs pointer refers to the FPU state it saved
        // in this signal frame, at least FXSAVE_SIZE bytes long, which nothing
        // else references while the handler runs.
        let legacy = unsafe { std::slice::from_raw_parts(p, xstate::FXSAVE_SIZE) };
        let size = match xstate::extent(legacy) {
            Some((size, _)) => {
                let mut magic2 = [0u8; 4];
                // SAFETY: an area whose software bytes carry MAGIC1 is followed
                // by MAGIC2 at `size` (Linux's `extended_size` = size + 4).
                unsafe { std::ptr::copy_nonoverlapping(p.add(size), magic2.as_mut_ptr(), 4) };
                if u32::from_le_bytes(magic2) == xstate::FP_XSTATE_MAGIC2 {
                    size
                } else {
                    xstate::FXSAVE_SIZE
                }
            }
            None => xstate::FXSAVE_SIZE,
        };
        // SAFETY: as above; `size` bytes are the kernel's area, checked by
        // both magic numbers when larger than the FXSAVE area.
        Some(unsafe { std::slice::from_raw_parts_mut(p, size) })
    }

    /// The user's FPU and vector state in Linux's signal-frame layout: the
    /// whole XSAVE area (x87, SSE, AVX, AVX-512, ...) with its software
    /// bytes, or the 512-byte FXSAVE area on a kernel that saved only that.
    /// All zeros (FXSAVE size) if the kernel gave none.
    pub fn fpu_state(&mut self) -> Vec<u8> {
        let direct = self.direct;
        let mut state = self
            .kernel_fpu_area()
            .map_or_else(|| vec![0u8; xstate::FXSAVE_SIZE], |a| a.to_vec());
        if direct {
            // The direct entry saves with XSAVEOPT (`fastpath.rs`).
            xstate::write_init_components(&mut state, crate::fastpath::component_offset);
        }
        state
    }

    /// Sets the FPU and vector state the user code resumes with from `state`
    /// (an FXSAVE area, or a whole XSAVE area as [`Self::fpu_state`] gives),
    /// keeping what the host kernel needs to restore it
    /// ([`xstate::merge_user_state`]).
    pub fn set_fpu_state(&mut self, state: &[u8]) {
        if let Some(area) = self.kernel_fpu_area() {
            xstate::merge_user_state(area, state, crate::fastpath::component_offset);
        }
    }

    /// Resumes user code with the initial FPU and vector state, as a signal
    /// handler starts on Linux.
    pub fn reset_fpu_state(&mut self) {
        if let Some(area) = self.kernel_fpu_area() {
            xstate::reset_user_state(area);
        }
    }

    /// The user's GS base: 0 while GS holds the thread block for the direct
    /// syscall entry (`fastpath.rs`), else the register.
    pub fn user_gs(&self) -> u64 {
        let v: u64;
        // SAFETY: rdgsbase only reads a register; FSGSBASE support is checked.
        unsafe {
            std::arch::asm!("rdgsbase {}", out(reg) v, options(nomem, nostack, preserves_flags))
        };
        let block = with_current_block(|b| b.map(|b| b.fast_self));
        if block.is_some_and(|b| b != 0 && b == v) {
            0
        } else {
            v
        }
    }

    /// Sets the user's GS base (`arch_prctl(ARCH_SET_GS)`); it survives the
    /// return to user code, since neither the PAL nor `rt_sigreturn` changes
    /// it. Setting 0 gives GS back to the direct syscall entry, if on.
    pub fn set_user_gs(&mut self, v: u64) {
        let block = with_current_block(|b| b.map(|b| b.fast_self)).unwrap_or(0);
        let v = if v == 0 && block != 0 { block } else { v };
        // SAFETY: neither the PAL nor the LibOS uses GS; only user code and
        // the direct entry (which checks it) see it.
        unsafe {
            std::arch::asm!("wrgsbase {}", in(reg) v, options(nomem, nostack, preserves_flags))
        };
    }

    /// The user's FS base (its thread pointer).
    pub fn user_fs(&self) -> u64 {
        *self.fs
    }

    /// Sets the FS base the user code resumes with (`arch_prctl(ARCH_SET_FS)`).
    pub fn set_user_fs(&mut self, v: u64) {
        *self.fs = v;
    }

    /// Leaves user code for good: when the handler returns, the thread resumes
    /// in [`crate::thread::UserThread::enter_user`], which returns `value`.
    pub fn exit_user(&mut self, value: i64) {
        let saved_rsp = with_current_block(|b| b.map(|b| (b.saved_rsp, b.libos_fs)));
        let Some((rsp, libos_fs)) = saved_rsp else {
            return;
        };
        self.set_greg(libc::REG_RSP, rsp);
        self.set_greg(
            libc::REG_RIP,
            arch::occlum_pal_user_exited as *const () as usize as u64,
        );
        self.set_greg(libc::REG_RAX, value as u64);
        // Clean flags: no single-stepping (TF) or alignment checks (AC) of
        // LibOS code.
        self.set_greg(libc::REG_EFL, 0x202);
        *self.fs = libos_fs;
    }
}

/// Unblocks, in the calling thread, the signals the PAL needs to serve user
/// code. A host thread created from inside a trap handler inherits the
/// handler's mask, where the trap's own signal is blocked; a trapped syscall
/// would then kill the whole process.
pub(crate) fn unblock_trap_signals() {
    // SAFETY: builds a local set and changes only the calling thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SYNC_SIGNALS.into_iter().chain([SIG_INTERRUPT]) {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Registers the LibOS's trap handler (once per process).
pub fn set_trap_handler(h: TrapHandler) -> Result<(), Errno> {
    HANDLER.set(h).map_err(|_| Errno::EBUSY)
}

#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Installs the PAL's signal handlers and ignores SIGPIPE (host writes to a
/// closed pipe then fail with EPIPE, and the LibOS decides what user code sees).
pub(crate) fn ensure_installed() -> Result<(), Errno> {
    *INSTALLED.get_or_init(|| {
        let hwcap2 = crate::host::hwcap().1;
        if hwcap2 & 2 == 0 {
            tracing::error!("the CPU or kernel does not allow FSGSBASE in user mode");
            return Err(Errno::ENOSYS);
        }
        let mut mask: u64 = !0;
        for s in SYNC_SIGNALS {
            mask &= !(1u64 << (s - 1));
        }
        // SIG_INTERRUPT stays blocked while any PAL handler runs, so that an
        // interrupt sent while LibOS code serves a trap is delivered right after
        // the return to user code instead of being lost.
        for s in SYNC_SIGNALS.into_iter().chain([SIG_INTERRUPT]) {
            // A fault in the fault-tolerant copy may hit while a SIGSEGV
            // handler runs (a signal frame written to a bad user stack).
            let nodefer = if s == libc::SIGSEGV || s == libc::SIGBUS {
                libc::SA_NODEFER
            } else {
                0
            };
            // Host syscalls of LibOS code serving the direct entry go on
            // after an interrupt (`fastpath.rs`); ppoll ends, as it must.
            let restart = if s == SIG_INTERRUPT {
                libc::SA_RESTART
            } else {
                0
            };
            let act = KernelSigaction {
                handler: arch::occlum_pal_signal_entry as *const () as usize,
                flags: (libc::SA_SIGINFO | libc::SA_ONSTACK | nodefer | restart) as u64
                    | SA_RESTORER,
                restorer: arch::occlum_pal_restorer as *const () as usize,
                mask,
            };
            // SAFETY: a valid kernel sigaction; the handler is the PAL's entry stub,
            // which follows the signal-handler ABI.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    s,
                    &act as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                )
            };
            if rc != 0 {
                return Err(Errno::last());
            }
        }
        // SAFETY: setting SIGPIPE's disposition to ignore has no memory effects.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        Ok(())
    })
}

/// `v` in base `radix` (10, or 16 with a `0x` prefix), formatted without
/// allocating (async-signal-safe); returns the buffer and the length used.
fn number(v: u64, radix: u64) -> ([u8; 22], usize) {
    let mut digits = [0u8; 20];
    let (mut n, mut rest) = (0, v);
    loop {
        let d = (rest % radix) as u8;
        digits[n] = if d < 10 { b'0' + d } else { b'a' + d - 10 };
        n += 1;
        rest /= radix;
        if rest == 0 {
            break;
        }
    }
    let mut b = [0u8; 22];
    let prefix: &[u8] = if radix == 16 { b"0x" } else { b"" };
    b[..prefix.len()].copy_from_slice(prefix);
    for i in 0..n {
        b[prefix.len() + i] = digits[n - 1 - i];
    }
    (b, prefix.len() + n)
}

/// Writes `parts` to stderr without allocating (async-signal-safe).
fn write_stderr_parts(parts: &[&[u8]]) {
    for p in parts {
        // SAFETY: writes a valid buffer to fd 2; async-signal-safe.
        unsafe { libc::write(2, p.as_ptr().cast(), p.len()) };
    }
}

/// Ends the process after a failure that leaves the PAL's invariants
/// broken, with a report: no unwinding, no allocation.
pub(crate) fn fatal(why: &str) -> ! {
    write_stderr_parts(&[b"occlum: fatal: ", why.as_bytes(), b"\n"]);
    std::process::abort()
}

/// A fault inside LibOS code: report and let the default action end the
/// process. Runs in a signal handler: nothing here allocates.
fn libos_fault(sig: i32, rip: u64, addr: u64) {
    let (s, sn) = number(sig as u64, 10);
    let (r, rn) = number(rip, 16);
    let (a, an) = number(addr, 16);
    write_stderr_parts(&[
        b"occlum: LibOS bug: signal ",
        &s[..sn],
        b" in LibOS code at rip ",
        &r[..rn],
        b" (address ",
        &a[..an],
        b")\n",
    ]);
    // SAFETY: resetting a disposition; returning re-executes the faulting
    // instruction, which then takes the default action (the process dies).
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Called by the assembly entry stub with the LibOS FS base already loaded.
///
/// # Safety
/// Only the entry stub calls this, with the kernel's `siginfo` and `ucontext`
/// for this signal and a pointer to the saved FS base of the interrupted code.
#[no_mangle]
unsafe extern "C" fn occlum_pal_signal_dispatch(
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    uc: *mut libc::c_void,
    fs_slot: *mut u64,
) {
    // SAFETY: the kernel passes valid, exclusive siginfo/ucontext pointers for the
    // duration of the handler; fs_slot points into the entry stub's frame.
    let (info, uc, fs) = unsafe { (&*info, &mut *uc.cast::<libc::ucontext_t>(), &mut *fs_slot) };
    let rip = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
    if sig == libc::SIGSEGV || sig == libc::SIGBUS {
        // A fault in one of the user-memory access routines: resume at its fix-up.
        let fixups = [
            (
                arch::occlum_pal_copy_insn as *const (),
                arch::occlum_pal_copy_fixup as *const (),
            ),
            (
                arch::occlum_pal_fast_check as *const (),
                arch::occlum_pal_fast_refuse as *const (),
            ),
            (
                arch::occlum_pal_cmpxchg32_insn as *const (),
                arch::occlum_pal_cmpxchg32_fixup as *const (),
            ),
        ];
        if let Some((_, fixup)) = fixups.iter().find(|(insn, _)| *insn as usize as u64 == rip) {
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] = *fixup as usize as i64;
            return;
        }
    }
    // SAFETY: si_addr is valid to read for the fault signals handled here.
    let addr = unsafe { info.si_addr() } as u64;
    if sig != SIG_INTERRUPT && info.si_code <= 0 {
        // Sent by another process (kill, tgkill), not raised by the CPU or
        // SUD: not a trap. Ignore it rather than mistake it for a fault.
        return;
    }
    if sig == SIG_INTERRUPT && crate::fastpath::in_exit_tail(rip) {
        // The direct entry's exit was interrupted: it starts over as an
        // interrupt of the user state its block holds (unless the thread
        // is leaving user code for good).
        let reenter = with_current_block(|b| {
            b.filter(|b| user_code_or_zero(b.regs.rip) != 0)
                .map(|b| b.fast_rsp)
        });
        if let Some(rsp) = reenter {
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] =
                arch::occlum_pal_fast_reenter as *const () as usize as i64;
            uc.uc_mcontext.gregs[libc::REG_RSP as usize] = rsp as i64;
            block_after_return(uc);
        }
        return;
    }
    if sig == SIG_INTERRUPT {
        let first = with_current_block(|b| match b {
            Some(b) if b.fast_active != 0 => Some(std::mem::replace(&mut b.deferred, 1) == 0),
            _ => None,
        });
        match first {
            // LibOS code serving the direct entry: the interrupt waits,
            // blocked, as it would in a trap handler.
            Some(true) => {
                block_after_return(uc);
                // SAFETY: tgkill has no memory effects; the signal stays
                // pending (blocked) until the entry's exit unblocks it.
                unsafe {
                    libc::syscall(
                        libc::SYS_tgkill,
                        libc::getpid(),
                        libc::gettid(),
                        SIG_INTERRUPT,
                    )
                };
                return;
            }
            // Deferred already: the LibOS unblocked it on purpose (`ppoll`
            // in a wait), which it ends.
            Some(false) => return,
            None => {}
        }
    }
    let from_user = !arch::in_pal_asm(rip)
        && with_current_block(|b| match b {
            Some(b) if b.depth == 0 => {
                b.depth = 1;
                b.in_trap = true;
                true
            }
            _ => false,
        });
    let handler = HANDLER.get();
    if sig == SIG_INTERRUPT && !from_user {
        // LibOS code was interrupted: it checks for pending work itself.
        return;
    }
    if !from_user && crate::cpuid::serve_host_fault(sig, info.si_code, &mut uc.uc_mcontext) {
        return;
    }
    if !from_user || handler.is_none() {
        libos_fault(sig, rip, addr);
        return;
    }
    let kind = if sig == libc::SIGSYS && info.si_code == SYS_USER_DISPATCH {
        // SAFETY: for SIGSYS the kernel fills `si_arch`, a u32 at offset 28
        // of siginfo (after si_call_addr and si_syscall).
        let arch = unsafe {
            (info as *const libc::siginfo_t)
                .cast::<u8>()
                .add(28)
                .cast::<u32>()
                .read()
        };
        if arch == AUDIT_ARCH_X86_64 {
            TrapKind::Syscall
        } else {
            TrapKind::CompatSyscall
        }
    } else if sig == SIG_INTERRUPT {
        TrapKind::Interrupt
    } else {
        TrapKind::Fault {
            signo: sig,
            code: info.si_code,
            addr: if sig == libc::SIGSEGV || sig == libc::SIGBUS {
                addr
            } else {
                rip
            },
        }
    };
    let mut frame = TrapFrame {
        mc: &mut uc.uc_mcontext,
        fs,
        kind,
        direct: false,
    };
    let h = *handler.expect("checked above");
    if panic::catch_unwind(AssertUnwindSafe(|| h(&mut frame))).is_err() {
        frame.exit_user(EXIT_LIBOS_PANIC);
    }
    with_current_block(|b| {
        if let Some(b) = b {
            b.depth = 0;
            b.in_trap = false;
        }
    });
}

/// Keeps the interrupt signal blocked in the code the signal handler
/// returns to; the direct entry's exit unblocks it.
fn block_after_return(uc: &mut libc::ucontext_t) {
    with_current_block(|b| {
        if let Some(b) = b {
            b.deferred = 1;
        }
    });
    // SAFETY: edits the mask rt_sigreturn restores, a valid sigset.
    unsafe { libc::sigaddset(&mut uc.uc_sigmask, SIG_INTERRUPT) };
}

/// `rip` if user code may run there (the user region or the vDSO), else 0,
/// an address that always faults.
pub(crate) fn user_code_or_zero(rip: u64) -> u64 {
    let in_region = crate::uspace::get().is_some_and(|s| s.contains(rip as usize, 1));
    let in_vdso = crate::host::vdso_range().is_some_and(|(start, end)| (start..end).contains(&rip));
    if in_region || in_vdso {
        rip
    } else {
        0
    }
}

/// `rsp` if it lies in the user region, else 0: user code never pushes onto
/// LibOS memory.
pub(crate) fn user_stack_or_zero(rsp: u64) -> u64 {
    let ok = crate::uspace::get().is_some_and(|s| rsp >= s.base() as u64 && rsp <= s.end() as u64);
    if ok {
        rsp
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::{number, user_code_or_zero, user_stack_or_zero};

    #[test]
    fn user_code_and_stack_must_lie_in_user_memory() {
        let space = crate::uspace::test_space();
        let (base, end) = (space.base() as u64, space.end() as u64);
        assert_eq!(user_code_or_zero(base + 4096), base + 4096);
        assert_eq!(user_stack_or_zero(end), end);
        let libos_code = user_code_or_zero as *const () as usize as u64;
        assert_eq!(
            user_code_or_zero(libos_code),
            0,
            "LibOS code is never a user RIP"
        );
        let libos_stack = &base as *const u64 as u64;
        assert_eq!(
            user_stack_or_zero(libos_stack),
            0,
            "a LibOS stack is never a user RSP"
        );
        assert_eq!(user_code_or_zero(end), 0);
        if let Some((vdso, vdso_end)) = crate::host::vdso_range() {
            assert!(vdso_end > vdso);
            assert_eq!(
                user_code_or_zero(vdso + 16),
                vdso + 16,
                "the vDSO is user code"
            );
        }
    }

    #[test]
    fn numbers_format_without_allocating() {
        for (v, radix, s) in [
            (0u64, 16, "0x0"),
            (11, 16, "0xb"),
            (0x1f80, 16, "0x1f80"),
            (u64::MAX, 16, "0xffffffffffffffff"),
            (0, 10, "0"),
            (11, 10, "11"),
            (u64::MAX, 10, "18446744073709551615"),
        ] {
            let (b, n) = number(v, radix);
            assert_eq!(&b[..n], s.as_bytes());
        }
    }
}
