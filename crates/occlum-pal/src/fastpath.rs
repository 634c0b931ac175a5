//! The direct syscall entry: syscalls that enter the LibOS by a jump rather
//! than a trap.
//!
//! The LibOS rewrites a trapped site such as `mov $nr, %eax; syscall` so
//! that it jumps to a small stub in user memory ([`stub`]), which runs the
//! instructions the jump replaced, loads the return address and jumps to
//! `occlum_pal_fast_entry` (`arch.rs`). The site's `syscall` instruction
//! stays in place, so code that jumps straight to it, a syscall restarted
//! after a signal, and a thread whose fast path is refused all still trap
//! as before.
//!
//! The entry finds the thread block through GS base, which the PAL sets to
//! the block whenever it enters user code, and checks it (inside the stack
//! zone, slot-aligned, its own address recorded in it, its thread running
//! user code) before trusting it; user code that sets GS itself only loses
//! the fast path. It saves the user's registers in the block, and the
//! vector registers the LibOS may change (XMM, YMM or ZMM and opmasks, as
//! the CPU has them; MXCSR, PKRU) by hand in a vector area: a sixth of the
//! cost of `XSAVE` and `XRSTOR` (about 20 against 140 ns here). The x87
//! state, which the LibOS never touches, stays in the registers. When the
//! LibOS asks for the user's FPU state (signal delivery, `rt_sigreturn`),
//! [`materialize`] makes the whole state in the XSAVE area, in the layout of
//! a Linux signal frame, and the exit restores it with `XRSTOR`. CPUs the
//! vector modes do not cover (and `OCCLUM_FASTPATH_XSAVE=1`) use `XSAVEOPT`
//! and `XRSTOR` throughout. The handler is called through the same
//! [`TrapFrame`] as a trap. Its exit restores everything the handler left in the frame, so
//! `execve`, `rt_sigreturn`, `vfork` and signal delivery work unchanged.
//!
//! A trap handler runs with the interrupt signal blocked; the direct entry
//! saves the two host syscalls that blocking costs: an interrupt that
//! comes while it serves a thread is blocked then (in the mask the signal
//! handler returns to) and raised again, so it stays pending exactly as
//! if it had been blocked all along, and the exit unblocks it. An
//! interrupt in the exit itself starts the exit over as an interrupt of
//! the user code about to resume.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch;
use crate::thread::ThreadBlock;
use crate::trap::{self, TrapFrame, TrapKind};
use crate::xstate;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Size of the XSAVE area in use (0: not known yet, or unusable).
static XSAVE_SIZE: AtomicUsize = AtomicUsize::new(0);
/// State components saved: x87, SSE, AVX, MPX, AVX-512 and PKRU (not the
/// AMX tiles, whose use needs the kernel's permission).
const XSAVE_COMPONENTS: u64 = 0x2ff;

/// Turns the direct entry on or off for user code entered from now on; on
/// only where the CPU's XSAVE state fits the block pages. Returns whether
/// it is on.
pub fn set_enabled(on: bool) -> bool {
    let usable = xsave_size().is_some();
    ENABLED.store(on && usable, Ordering::SeqCst);
    if on && usable {
        // Registering costs an RCU grace period (milliseconds) unless the
        // process has one thread: best done first thing.
        sync_cores_registered();
    }
    on && usable
}

/// Whether the direct entry is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The size of the XSAVE area for [`XSAVE_COMPONENTS`] in the standard
/// format, if the CPU has XSAVE with them enabled.
fn xsave_size() -> Option<usize> {
    let known = XSAVE_SIZE.load(Ordering::Relaxed);
    if known != 0 {
        return Some(known);
    }
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // CPUID.1:ECX.OSXSAVE (bit 27): XGETBV and XSAVE may be used;
    // CPUID.(0DH,1):EAX bit 0: XSAVEOPT, which the entry uses.
    if __cpuid(0).eax < 0xd || __cpuid(1).ecx & (1 << 27) == 0 || __cpuid_count(0xd, 1).eax & 1 == 0
    {
        return None;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV(0) reads XCR0; OSXSAVE was checked above.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    let mask = ((hi as u64) << 32 | lo as u64) & XSAVE_COMPONENTS;
    // What XSAVE of `mask` writes: up to the end of its last component.
    // (CPUID.(0DH,0):EBX would count every component XCR0 enables, the
    // AMX tiles' 8 KiB too, which the kernel's frames leave out.)
    let size = (2..10)
        .filter(|i| mask & (1 << i) != 0)
        .filter_map(component_offset)
        .map(|(off, len)| off + len)
        .fold(xstate::XSAVE_MIN_SIZE, usize::max);
    arch::OCCLUM_PAL_XSAVE_MASK.store(mask, Ordering::SeqCst);
    arch::OCCLUM_PAL_VEC_MODE.store(vector_mode(mask), Ordering::SeqCst);
    // CPUID.(0DH,1):EAX bit 2: XGETBV with ECX = 1.
    let xinuse = __cpuid_count(0xd, 1).eax & (1 << 2) != 0;
    arch::OCCLUM_PAL_HAS_XINUSE.store(u8::from(xinuse), Ordering::SeqCst);
    XSAVE_SIZE.store(size, Ordering::SeqCst);
    Some(size)
}

/// How the direct entry saves the vector registers for the state
/// components `xcr0` enables (see `OCCLUM_PAL_VEC_MODE`): by hand where it
/// knows every register the LibOS may change, else with XSAVE.
fn vector_mode(xcr0: u64) -> u8 {
    use std::arch::x86_64::__cpuid_count;
    if std::env::var_os("OCCLUM_FASTPATH_XSAVE").is_some_and(|v| v == "1") {
        return 0;
    }
    let leaf7 = __cpuid_count(7, 0).ebx;
    let (avx512f, avx512bw) = (leaf7 & (1 << 16) != 0, leaf7 & (1 << 30) != 0);
    match xcr0 & 0xe6 {
        0xe6 if avx512f && avx512bw => 3,
        0x06 => 2,
        0x02 => 1,
        _ => 0,
    }
}

/// The standard-format `(offset, size)` of extended state component `i`
/// (asked of the CPU once per component: `cpuid` exits to the hypervisor
/// in a VM).
pub(crate) fn component_offset(i: u32) -> Option<(usize, usize)> {
    static OFFSETS: [std::sync::OnceLock<(usize, usize)>; 10] =
        [const { std::sync::OnceLock::new() }; 10];
    let slot = OFFSETS.get(i as usize).filter(|_| i >= 2)?;
    let &(offset, size) = slot.get_or_init(|| {
        let c = std::arch::x86_64::__cpuid_count(0xd, i);
        (c.ebx as usize, c.eax as usize)
    });
    (size != 0).then_some((offset, size))
}

/// Makes the XSAVE area of the thread block `b` hold the user's whole FPU
/// and vector state, if the direct entry saved the vector registers by
/// hand: XSAVE of the registers now (the x87 state is still the user's; the
/// LibOS never touches it), then the user's vector registers, MXCSR and
/// PKRU from the vector area over the LibOS's. The exit then restores the
/// whole area with XRSTOR, taking what the LibOS changed in it.
pub(crate) fn materialize(b: &mut ThreadBlock) {
    if b.fpu_in_area != 0 {
        return;
    }
    let mode = arch::OCCLUM_PAL_VEC_MODE.load(Ordering::Relaxed);
    let mask = arch::OCCLUM_PAL_XSAVE_MASK.load(Ordering::Relaxed);
    let Some(size) = xsave_size() else { return };
    let area = b.xsave_area as *mut u8;
    // SAFETY: XSAVE writes at most `size` bytes (the size for `mask`) at
    // the thread's own 64-byte aligned XSAVE area, which has that room
    // (`init_xsave_area`); OSXSAVE was checked (`xsave_size`).
    unsafe {
        std::arch::asm!(
            "xsave64 [{}]",
            in(reg) area,
            in("eax") mask as u32,
            in("edx") (mask >> 32) as u32,
            options(nostack),
        )
    };
    // SAFETY: both areas are the calling thread's own block pages
    // (`thread.rs`): the XSAVE area of `size` bytes and the vector area of
    // VEC_AREA_SIZE bytes, disjoint, neither referenced elsewhere now.
    let (xs, vec) = unsafe {
        (
            std::slice::from_raw_parts_mut(area, size),
            std::slice::from_raw_parts(b.vec_area as *const u8, crate::thread::VEC_AREA_SIZE),
        )
    };
    let stride = match mode {
        3 => 64,
        2 => 32,
        _ => 16,
    };
    let mut in_use = 0b10u64;
    xs[xstate::MXCSR..xstate::MXCSR + 4].copy_from_slice(&vec[2112..2116]);
    for i in 0..16 {
        xs[160 + 16 * i..176 + 16 * i].copy_from_slice(&vec[stride * i..stride * i + 16]);
    }
    let mut put = |component: u32, bytes: &mut dyn FnMut(&mut [u8])| {
        if let Some((off, len)) = component_offset(component) {
            if let Some(dst) = xs.get_mut(off..off + len) {
                bytes(dst);
                in_use |= 1 << component;
            }
        }
    };
    if mode >= 2 {
        put(2, &mut |d| {
            for i in 0..16 {
                d[16 * i..16 * i + 16].copy_from_slice(&vec[stride * i + 16..stride * i + 32]);
            }
        });
    }
    if mode == 3 {
        put(5, &mut |d| d[..64].copy_from_slice(&vec[2048..2112]));
        put(6, &mut |d| {
            for i in 0..16 {
                d[32 * i..32 * i + 32].copy_from_slice(&vec[64 * i + 32..64 * i + 64]);
            }
        });
        put(7, &mut |d| d[..1024].copy_from_slice(&vec[1024..2048]));
    }
    if arch::OCCLUM_PAL_HAS_PKU.load(Ordering::Relaxed) != 0 && mask & (1 << 9) != 0 {
        put(9, &mut |d| d[..4].copy_from_slice(&vec[2116..2120]));
    }
    let bv = xstate::XSAVE_HEADER;
    let old = u64::from_le_bytes(xs[bv..bv + 8].try_into().expect("8 bytes"));
    xs[bv..bv + 8].copy_from_slice(&(old | in_use).to_le_bytes());
    b.fpu_in_area = 1;
}

/// Prepares the XSAVE area of a thread at `addr` (64-byte aligned, `room`
/// bytes, zeroed): the software bytes and `FP_XSTATE_MAGIC2` of a Linux
/// signal frame, so the LibOS reads and edits it as it does a trap's.
pub(crate) fn init_xsave_area(addr: usize, room: usize) {
    let Some(size) = xsave_size() else { return };
    if size + 4 > room {
        ENABLED.store(false, Ordering::SeqCst);
        return;
    }
    let mask = arch::OCCLUM_PAL_XSAVE_MASK.load(Ordering::Relaxed);
    let mut sw = [0u8; 20];
    sw[0..4].copy_from_slice(&xstate::FP_XSTATE_MAGIC1.to_le_bytes());
    sw[4..8].copy_from_slice(&((size + 4) as u32).to_le_bytes());
    sw[8..16].copy_from_slice(&mask.to_le_bytes());
    sw[16..20].copy_from_slice(&(size as u32).to_le_bytes());
    // SAFETY: `[addr, addr+room)` is the calling thread's own, mapped
    // read-write block pages (`thread.rs`), and `size + 4 <= room`.
    unsafe {
        std::ptr::copy_nonoverlapping(sw.as_ptr(), (addr + xstate::SW_BYTES) as *mut u8, 20);
        std::ptr::copy_nonoverlapping(
            xstate::FP_XSTATE_MAGIC2.to_le_bytes().as_ptr(),
            (addr + size) as *mut u8,
            4,
        );
    }
}

/// The address user code jumps to for the direct entry.
pub fn entry_address() -> u64 {
    arch::occlum_pal_fast_entry as *const () as usize as u64
}

/// The code of a stub at user address `at` for a syscall site whose
/// `syscall` instruction returns to `ret`: `moved` (the site's instructions
/// before its `syscall`, already adjusted to run at `at`), then `lea
/// ret(%rip), %rcx; jmp *slot(%rip)`, where `slot` holds
/// [`entry_address`]. `None` if `ret` or `slot` is out of reach of a
/// 32-bit displacement.
pub fn stub(at: u64, moved: &[u8], ret: u64, slot: u64) -> Option<Vec<u8>> {
    let rel = |target: u64, next: u64| i32::try_from(target as i64 - next as i64).ok();
    let lea_end = at + moved.len() as u64 + 7;
    let lea = rel(ret, lea_end)?;
    let jmp = rel(slot, lea_end + 6)?;
    let mut code = moved.to_vec();
    code.extend_from_slice(&[0x48, 0x8d, 0x0d]);
    code.extend_from_slice(&lea.to_le_bytes());
    code.extend_from_slice(&[0xff, 0x25]);
    code.extend_from_slice(&jmp.to_le_bytes());
    Some(code)
}

/// The code of a stub at `at` for a site whose `syscall` instruction was
/// itself replaced by a jump: `lea cont(%rip), %rcx; jmp *slot(%rip);
/// syscall; cont: jmp ret`. A refused direct entry, and a syscall
/// restarted after a signal (RIP - 2 from `cont`), run the stub's own
/// `syscall`, which traps. `None` if out of reach.
pub fn stub_with_syscall(at: u64, ret: u64, slot: u64) -> Option<Vec<u8>> {
    let rel = |target: u64, next: u64| i32::try_from(target as i64 - next as i64).ok();
    let cont = at + 15;
    let mut code = vec![0x48, 0x8d, 0x0d];
    code.extend_from_slice(&rel(cont, at + 7)?.to_le_bytes());
    code.extend_from_slice(&[0xff, 0x25]);
    code.extend_from_slice(&rel(slot, at + 13)?.to_le_bytes());
    code.extend_from_slice(&[0x0f, 0x05]);
    code.extend_from_slice(&jump(cont, ret)?);
    Some(code)
}

/// The code of a stub at `at` for a `cpuid` site: `before` (the site's
/// instructions before its `cpuid`, as for [`stub`]; empty if none moved),
/// then, below the red zone, it pushes the flags (`cpuid` keeps them; the
/// entry does not), RCX (the sub-leaf), R11 and RAX (the leaf), and enters
/// the LibOS with RAX = [`crate::cpuid::PSEUDO_SYSCALL`] and RCX = `cont`,
/// where the LibOS resumes it with the answer and the registers restored;
/// `cont` runs `after` (the instructions after the `cpuid` that the jump
/// replaced, already adjusted to run at [`cpuid_stub_after`]; empty if
/// none) and jumps to `resume`. A refused entry (at `cont - 2`) pops them
/// again and runs a `cpuid` of its own, which faults to the LibOS, then
/// goes on at `cont`. `None` if out of reach.
pub fn cpuid_stub(at: u64, before: &[u8], after: &[u8], resume: u64, slot: u64) -> Option<Vec<u8>> {
    let rel = |target: u64, next: u64| i32::try_from(target as i64 - next as i64).ok();
    let mut code = before.to_vec();
    // lea -0x80(%rsp),%rsp; pushfq; push %rcx; push %r11; push %rax
    code.extend_from_slice(&[0x48, 0x8d, 0x64, 0x24, 0x80, 0x9c, 0x51, 0x41, 0x53, 0x50]);
    code.push(0xb8);
    code.extend_from_slice(&(crate::cpuid::PSEUDO_SYSCALL as u32).to_le_bytes());
    // lea cont(%rip),%rcx; jmp *slot(%rip); jmp refused
    let lea_end = at + code.len() as u64 + 7;
    let cont = lea_end + 6 + 2;
    code.extend_from_slice(&[0x48, 0x8d, 0x0d]);
    code.extend_from_slice(&rel(cont, lea_end)?.to_le_bytes());
    code.extend_from_slice(&[0xff, 0x25]);
    code.extend_from_slice(&rel(slot, lea_end + 6)?.to_le_bytes());
    code.extend_from_slice(&[
        0xeb,
        u8::try_from(after.len() + 5).ok().filter(|&n| n < 128)?,
    ]);
    // cont: after; jmp resume
    code.extend_from_slice(after);
    let end = at + code.len() as u64;
    code.extend_from_slice(&jump(end, resume)?);
    // refused: pop %rax; pop %r11; pop %rcx; popfq; lea 0x80(%rsp),%rsp;
    // cpuid; jmp cont
    code.extend_from_slice(&[0x58, 0x41, 0x5b, 0x59, 0x9d]);
    code.extend_from_slice(&[0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0, 0x0f, 0xa2]);
    let end = at + code.len() as u64;
    code.extend_from_slice(&short_jump(end, cont)?);
    Some(code)
}

/// Where [`cpuid_stub`] at `at` puts its `after` instructions, for
/// `before_len` bytes moved before.
pub fn cpuid_stub_after(at: u64, before_len: usize) -> u64 {
    at + before_len as u64 + 30
}

/// Bytes [`cpuid_stub`] adds to the instructions it moves.
pub const CPUID_STUB_EXTRA: usize = 52;

/// `jmp rel8` from `at` to `target`, if in reach.
pub fn short_jump(at: u64, target: u64) -> Option<[u8; 2]> {
    let rel = i8::try_from(target as i64 - (at as i64 + 2)).ok()?;
    Some([0xeb, rel as u8])
}

/// `jmp rel32` from `at` to `target`, if in reach.
pub fn jump(at: u64, target: u64) -> Option<[u8; 5]> {
    let rel = i32::try_from(target as i64 - (at as i64 + 5)).ok()?;
    let mut code = [0xe9, 0, 0, 0, 0];
    code[1..].copy_from_slice(&rel.to_le_bytes());
    Some(code)
}

/// Makes every thread of this process serialize its instruction stream
/// before it runs user code again (`membarrier` SYNC_CORE, registered on
/// first use), so that rewritten code is seen whole; where the kernel lacks
/// it, the atomic stores alone must do. Returns whether it did.
pub(crate) fn sync_cores() -> bool {
    const PRIVATE_EXPEDITED_SYNC_CORE: libc::c_long = 1 << 5;
    // SAFETY: membarrier has no memory effects on this process's data.
    sync_cores_registered()
        && unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) } == 0
}

/// Whether this process may use `membarrier` SYNC_CORE (registered on the
/// first call).
fn sync_cores_registered() -> bool {
    const REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: libc::c_long = 1 << 6;
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: membarrier has no memory effects on this process's data.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
                0,
                0,
            ) == 0
        }
    })
}

/// Whether `rip` lies in the exit tail of the direct entry.
pub(crate) fn in_exit_tail(rip: u64) -> bool {
    let lo = arch::occlum_pal_fast_tail as *const () as usize as u64;
    let hi = arch::occlum_pal_fast_tail_end as *const () as usize as u64;
    (lo..hi).contains(&rip)
}

/// Called by the direct entry on the thread's alternate stack, with the
/// LibOS's FS base loaded and the user state saved in the block.
///
/// # Safety
/// Only `occlum_pal_fast_common` calls this, with the calling thread's own
/// block, whose `regs`, `user_fs` and XSAVE area hold the user's state.
#[no_mangle]
unsafe extern "C" fn occlum_pal_fast_dispatch(block: *mut ThreadBlock) {
    // SAFETY: the block is the calling thread's own (the entry checked it);
    // nothing else references it while this thread serves the call.
    let b = unsafe { &mut *block };
    b.in_trap = true;
    // Only the registers (not a whole ucontext, whose zeroing with the
    // host's vector memset would cost an AVX-512 state to restore).
    // SAFETY: mcontext_t is plain data; all zeros is a valid value.
    let mut mc: libc::mcontext_t = unsafe { std::mem::zeroed() };
    mc.fpregs = b.xsave_area as *mut libc::_libc_fpstate;
    trap::regs_to_mcontext(&b.regs, &mut mc);
    let mut fs = b.user_fs;
    let kind = if b.kind == 1 {
        TrapKind::Interrupt
    } else {
        TrapKind::Syscall
    };
    if let Some(h) = trap::handler() {
        let mut frame = TrapFrame::direct(&mut mc, &mut fs, kind);
        if panic::catch_unwind(AssertUnwindSafe(|| h(&mut frame))).is_err() {
            frame.exit_user(trap::EXIT_LIBOS_PANIC);
        }
    }
    b.regs = trap::regs_from_mcontext(&mc);
    b.user_fs = fs;
    b.in_trap = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpuid_stub_runs_what_it_moved_and_resumes() {
        let (at, slot) = (0x10_0000u64, 0x10_0000u64 - 64);
        let before = [0xb8, 0x07, 0, 0, 0];
        let after = [0x41, 0x89, 0x01];
        let code = cpuid_stub(at, &before, &after, 0x20_0000, slot).unwrap();
        assert_eq!(code.len(), before.len() + after.len() + CPUID_STUB_EXTRA);
        assert_eq!(code[..5], before, "the moved instructions first");
        let cont = (cpuid_stub_after(at, before.len()) - at) as usize;
        assert_eq!(code[cont..cont + 3], after);
        assert_eq!(
            code[cont - 2..cont],
            [0xeb, 8],
            "a refused entry goes to its cpuid"
        );
        // The refused path ends with its cpuid and a jump back to cont.
        let n = code.len();
        assert_eq!(code[n - 4..n - 2], [0x0f, 0xa2]);
        assert_eq!(code[n - 2], 0xeb);
        assert_eq!(n as i64 + code[n - 1] as i8 as i64, cont as i64);
    }
}
