//! The signal frame on the user stack (Linux's x86_64 `rt_sigframe`), and
//! `rt_sigreturn`, which restores what it saved.
//!
//! Layout from the frame address: the return address (`sa_restorer`), the
//! `ucontext` (flags, link, `stack_t`, the 256-byte `sigcontext`, the signal
//! mask), then the 128-byte `siginfo`. The FPU and vector state sits above,
//! 64-byte aligned, and `sigcontext.fpstate` points at it: the whole XSAVE
//! area (size and features as the CPU has them, `FP_XSTATE_MAGIC1` in its
//! software bytes, `FP_XSTATE_MAGIC2` after it, `UC_FP_XSTATE` in
//! `uc_flags`), or the FXSAVE area alone on a CPU without XSAVE.

use occlum_pal::trap::{TrapFrame, UserRegs};
use occlum_pal::xstate::{self, FP_XSTATE_MAGIC2, FXSAVE_SIZE};

use super::{SigAction, SigInfo, SigSet, SA_ONSTACK};
use crate::abi::{Abi, RtSigframe, Sigcontext, StackT, Ucontext, UserPtr};
use crate::process::Thread;
use crate::user;
use crate::{Errno, Result};

/// Offsets in `struct rt_sigframe` of the context and the information.
const UC_OFFSET: u64 = 8;
const INFO_OFFSET: u64 = UC_OFFSET + Ucontext::SIZE as u64;
/// The x86-64 ABI's red zone below the stack pointer, which a signal frame
/// must not overwrite.
const RED_ZONE: u64 = 128;
const SS_ONSTACK: i32 = 1;
/// `SS_DISABLE`.
pub const SS_DISABLE: i32 = 2;
const FLAG_TF: u64 = 0x100;
const FLAG_DF: u64 = 0x400;
/// `uc_flags`: the frame holds the extended (XSAVE) state.
const UC_FP_XSTATE: u64 = 1;
/// `uc_flags`: `sigcontext.ss` is meaningful, and restored as saved.
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

/// A thread's alternate signal stack (`sigaltstack`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    /// Lowest address.
    pub sp: u64,
    /// Size in bytes.
    pub size: u64,
    /// `SS_DISABLE` or 0.
    pub flags: i32,
}

impl Default for AltStack {
    fn default() -> Self {
        AltStack {
            sp: 0,
            size: 0,
            flags: SS_DISABLE,
        }
    }
}

impl AltStack {
    /// Whether stack pointer `sp` is on this alternate stack.
    pub fn on_stack(&self, sp: u64) -> bool {
        self.flags & SS_DISABLE == 0 && sp > self.sp && sp - self.sp <= self.size
    }

    /// The `stack_t` as `sigaltstack` reports it for stack pointer `sp`.
    pub fn to_abi(&self, sp: u64) -> StackT {
        let flags = if self.on_stack(sp) {
            SS_ONSTACK
        } else {
            self.flags
        };
        StackT {
            ss_sp: self.sp,
            ss_flags: flags,
            _pad: 0,
            ss_size: self.size,
        }
    }
}

impl From<StackT> for AltStack {
    fn from(s: StackT) -> Self {
        AltStack {
            sp: s.ss_sp,
            flags: s.ss_flags,
            size: s.ss_size,
        }
    }
}

/// The general registers as `sigcontext` holds them, with the segment
/// selectors of 64-bit user code.
fn sigcontext_of(r: &UserRegs, cr2: u64, fpstate: u64) -> Sigcontext {
    Sigcontext {
        r8: r.r8,
        r9: r.r9,
        r10: r.r10,
        r11: r.r11,
        r12: r.r12,
        r13: r.r13,
        r14: r.r14,
        r15: r.r15,
        rdi: r.rdi,
        rsi: r.rsi,
        rbp: r.rbp,
        rbx: r.rbx,
        rdx: r.rdx,
        rax: r.rax,
        rcx: r.rcx,
        rsp: r.rsp,
        rip: r.rip,
        eflags: r.rflags,
        cs: 0x33,
        ss: 0x2b,
        cr2,
        fpstate,
        ..Sigcontext::zeroed()
    }
}

fn regs_of(c: &Sigcontext) -> UserRegs {
    UserRegs {
        r8: c.r8,
        r9: c.r9,
        r10: c.r10,
        r11: c.r11,
        r12: c.r12,
        r13: c.r13,
        r14: c.r14,
        r15: c.r15,
        rdi: c.rdi,
        rsi: c.rsi,
        rbp: c.rbp,
        rbx: c.rbx,
        rdx: c.rdx,
        rax: c.rax,
        rcx: c.rcx,
        rsp: c.rsp,
        rip: c.rip,
        rflags: c.eflags,
    }
}

/// Builds the frame for `info` and makes user code resume in the handler of
/// `action`, with `old_mask` to restore on return.
pub fn setup(
    thread: &Thread,
    frame: &mut TrapFrame<'_>,
    info: &SigInfo,
    action: &SigAction,
    old_mask: SigSet,
) -> Result<()> {
    let regs = frame.regs();
    let alt = thread.altstack();
    let mut sp = regs.rsp.wrapping_sub(RED_ZONE);
    if action.flags & SA_ONSTACK != 0 && alt.flags & SS_DISABLE == 0 && !alt.on_stack(regs.rsp) {
        sp = alt.sp + alt.size;
    }
    let mut fpu = frame.fpu_state();
    let extended = xstate::extent(&fpu).is_some_and(|(size, _)| size == fpu.len());
    if extended {
        fpu.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    let fp_addr = sp.checked_sub(fpu.len() as u64).ok_or(Errno::EFAULT)? & !63;
    let frame_addr = (fp_addr
        .checked_sub(RtSigframe::SIZE as u64)
        .ok_or(Errno::EFAULT)?
        + 8)
        & !15;
    let frame_addr = frame_addr - 8;
    let uc_flags =
        UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | if extended { UC_FP_XSTATE } else { 0 };
    let sigframe = RtSigframe {
        pretcode: action.restorer,
        uc: Ucontext {
            uc_flags,
            uc_link: 0,
            uc_stack: alt.to_abi(regs.rsp),
            uc_mcontext: sigcontext_of(&regs, info.addr, fp_addr),
            uc_sigmask: old_mask.0,
        },
        info: info.to_abi(),
    };
    user::write_bytes(fp_addr, &fpu)?;
    UserPtr::new(frame_addr).write(&sigframe)?;

    let handler_regs = UserRegs {
        rdi: info.signo as u64,
        rsi: frame_addr + INFO_OFFSET,
        rdx: frame_addr + UC_OFFSET,
        rax: 0,
        rsp: frame_addr,
        rip: action.handler,
        rflags: regs.rflags & !(FLAG_DF | FLAG_TF),
        ..regs
    };
    frame.set_regs(&handler_regs);
    frame.reset_fpu_state();
    Ok(())
}

/// `rt_sigreturn`: restores the registers, FPU state, signal mask and
/// alternate stack saved in the frame the handler returned from. Returns the
/// restored mask.
pub fn sigreturn(thread: &Thread, frame: &mut TrapFrame<'_>) -> Result<SigSet> {
    let uc = UserPtr::<Ucontext>::new(frame.regs().rsp).read()?;
    let mc = &uc.uc_mcontext;
    let fpu = match mc.fpstate {
        0 => None,
        addr => Some(read_fpu_state(addr)?),
    };
    let mask = SigSet(uc.uc_sigmask).blockable();
    let alt = AltStack::from(uc.uc_stack);
    frame.set_regs(&regs_of(mc));
    match fpu {
        Some(s) => frame.set_fpu_state(&s),
        None => frame.reset_fpu_state(),
    }
    if !thread.altstack().on_stack(mc.rsp)
        && (alt.flags & SS_DISABLE != 0 || alt.size >= super::frame::MIN_SIGSTKSZ)
    {
        thread.set_altstack(AltStack {
            flags: alt.flags & SS_DISABLE,
            ..alt
        });
    }
    Ok(mask)
}

/// The FPU state a handler left at `addr`, as Linux's sigreturn reads it:
/// the whole XSAVE area when its software bytes and `FP_XSTATE_MAGIC2` say
/// so, else only the FXSAVE area.
fn read_fpu_state(addr: u64) -> Result<Vec<u8>> {
    let mut legacy = vec![0u8; FXSAVE_SIZE];
    user::read_into(addr, &mut legacy)?;
    let Some((size, _)) = xstate::extent(&legacy) else {
        return Ok(legacy);
    };
    let mut full = vec![0u8; size + 4];
    user::read_into(addr, &mut full)?;
    if full[size..] != FP_XSTATE_MAGIC2.to_le_bytes() {
        return Ok(legacy);
    }
    full.truncate(size);
    Ok(full)
}

/// Smallest alternate signal stack accepted (`MINSIGSTKSZ`).
pub const MIN_SIGSTKSZ: u64 = 2048;
