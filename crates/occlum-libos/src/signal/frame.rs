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
use crate::abi::{Abi, StackT};
use crate::process::Thread;
use crate::user;
use crate::{Errno, Result};

const UC_OFFSET: u64 = 8;
const MCONTEXT_OFFSET: usize = 40;
const MASK_OFFSET: usize = MCONTEXT_OFFSET + 256;
const UCONTEXT_SIZE: usize = MASK_OFFSET + 8;
const INFO_OFFSET: u64 = UC_OFFSET + UCONTEXT_SIZE as u64;
const FRAME_SIZE: u64 = INFO_OFFSET + 128;
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

/// The order of the general registers in `sigcontext`.
fn sigcontext_regs(r: &UserRegs) -> [u64; 18] {
    [
        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx,
        r.rax, r.rcx, r.rsp, r.rip, r.rflags,
    ]
}

fn regs_from_sigcontext(w: &[u64; 18]) -> UserRegs {
    UserRegs {
        r8: w[0],
        r9: w[1],
        r10: w[2],
        r11: w[3],
        r12: w[4],
        r13: w[5],
        r14: w[6],
        r15: w[7],
        rdi: w[8],
        rsi: w[9],
        rbp: w[10],
        rbx: w[11],
        rdx: w[12],
        rax: w[13],
        rcx: w[14],
        rsp: w[15],
        rip: w[16],
        rflags: w[17],
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
    let frame_addr = (fp_addr.checked_sub(FRAME_SIZE).ok_or(Errno::EFAULT)? + 8) & !15;
    let frame_addr = frame_addr - 8;

    let mut b = vec![0u8; FRAME_SIZE as usize];
    b[0..8].copy_from_slice(&action.restorer.to_le_bytes());
    let uc = &mut b[UC_OFFSET as usize..(UC_OFFSET as usize + UCONTEXT_SIZE)];
    let uc_flags =
        UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | if extended { UC_FP_XSTATE } else { 0 };
    uc[0..8].copy_from_slice(&uc_flags.to_le_bytes());
    alt.to_abi(regs.rsp).write_to(&mut uc[16..40]);
    let mc = &mut uc[MCONTEXT_OFFSET..MASK_OFFSET];
    for (i, w) in sigcontext_regs(&regs).iter().enumerate() {
        mc[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    mc[144..146].copy_from_slice(&0x33u16.to_le_bytes());
    mc[150..152].copy_from_slice(&0x2bu16.to_le_bytes());
    mc[176..184].copy_from_slice(&info.addr.to_le_bytes());
    mc[184..192].copy_from_slice(&fp_addr.to_le_bytes());
    uc[MASK_OFFSET..MASK_OFFSET + 8].copy_from_slice(&old_mask.0.to_le_bytes());
    b[INFO_OFFSET as usize..].copy_from_slice(&info.to_bytes());

    user::write_bytes(fp_addr, &fpu)?;
    user::write_bytes(frame_addr, &b)?;

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
    let uc = frame.regs().rsp;
    let b = user::read_bytes(uc, UCONTEXT_SIZE)?;
    let mc = &b[MCONTEXT_OFFSET..MASK_OFFSET];
    let mut w = [0u64; 18];
    for (i, v) in w.iter_mut().enumerate() {
        *v = u64::from_le_bytes(mc[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    }
    let fp_addr = u64::from_le_bytes(mc[184..192].try_into().expect("8 bytes"));
    let fpu = match fp_addr {
        0 => None,
        addr => Some(read_fpu_state(addr)?),
    };
    let mask = SigSet(u64::from_le_bytes(
        b[MASK_OFFSET..MASK_OFFSET + 8].try_into().expect("8 bytes"),
    ))
    .blockable();
    let alt = AltStack::from(StackT::read_from(&b[16..40]));
    frame.set_regs(&regs_from_sigcontext(&w));
    match fpu {
        Some(s) => frame.set_fpu_state(&s),
        None => frame.reset_fpu_state(),
    }
    if !thread.altstack().on_stack(w[15])
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
