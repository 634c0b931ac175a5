//! `cpuid` of user code, served by the LibOS (`occlum_pal::cpuid`): from a
//! fault the first time a site runs it, which also rewrites the site, and
//! through the direct entry from then on.

use occlum_pal::cpuid;
use occlum_pal::trap::TrapFrame;

use crate::process::Process;
use crate::user;

/// `si_code` of a general-protection fault (CPUID faulting raises one).
const SI_KERNEL: i32 = 0x80;
/// Bytes a rewritten site's stub pushes below the red zone: RAX (the
/// leaf), R11, RCX (the sub-leaf), the flags.
const PUSHED: u64 = 32;
/// The flags the stub's pushed copy sets (arithmetic flags and DF), as
/// Linux's `rt_sigreturn` takes them from a frame.
const USER_FLAGS: u64 = 0xcd5;
const RED_ZONE: u64 = 128;

/// Puts `cpuid`'s answer for the leaf in `rax` and sub-leaf in `rcx` into
/// `regs`, as the instruction does (32-bit results, upper halves zero).
fn answer(regs: &mut occlum_pal::trap::UserRegs, leaf: u64, subleaf: u64) {
    let [a, b, c, d] = cpuid::query(leaf as u32, subleaf as u32);
    (regs.rax, regs.rbx, regs.rcx, regs.rdx) = (a.into(), b.into(), c.into(), d.into());
}

/// For a fault (`SIGSEGV` with `si_code` `code`) of user code: if it is a
/// `cpuid` stopped by CPUID faulting, answers it, steps past it and
/// rewrites its site. Returns whether it did.
pub(crate) fn serve_fault(process: &Process, frame: &mut TrapFrame<'_>, code: i32) -> bool {
    if code != SI_KERNEL || !cpuid::enabled() {
        return false;
    }
    let Ok(vm) = process.vm() else {
        return false;
    };
    // One thread, in the only process with this address space (ours and
    // the process's own references).
    let alone = process.state().threads.len() == 1 && std::sync::Arc::strong_count(&vm) <= 2;
    let mut vm = crate::sync::lock(&vm);
    let mut regs = frame.regs();
    match vm.cpuid_fault_at(regs.rip as usize) {
        None => return false,
        // Rewritten meanwhile by another thread: run the new code.
        Some(false) => return true,
        Some(true) => {}
    }
    process.count_cpuid(false);
    if let Some(file) = vm.cpuid_faults_for() {
        crate::vm::learned::cpuid_faulted(file);
    }
    tracing::trace!("cpuid at {:#x} served from a fault", regs.rip);
    if vm.rewrite_cpuid_site(regs.rip as usize, alone) {
        // The jump now covers what came after the cpuid too: the thread
        // runs the site again, through its stub.
        return true;
    }
    let (leaf, subleaf) = (regs.rax, regs.rcx);
    answer(&mut regs, leaf, subleaf);
    regs.rip += 2;
    frame.set_regs(&regs);
    true
}

/// Whether the direct entry was taken by a rewritten `cpuid` site's stub
/// (see `occlum_pal::fastpath::cpuid_stub`).
pub(crate) fn is_stub_entry(frame: &TrapFrame<'_>) -> bool {
    frame.is_direct() && frame.syscall_nr() == cpuid::PSEUDO_SYSCALL
}

/// Serves a rewritten `cpuid` site's stub: the leaf, R11, the sub-leaf and
/// the flags are on the user stack; the stub resumes at RIP with the
/// answer, with R11, the flags and the stack as they were. If the stack cannot be read, the stub
/// runs its own `cpuid` (its refused entry, at RIP - 2), which faults.
pub(crate) fn serve_stub(process: &Process, frame: &mut TrapFrame<'_>) {
    let mut regs = frame.regs();
    let mut saved = [0u8; PUSHED as usize];
    if user::read_into(regs.rsp, &mut saved).is_err() {
        regs.rip -= 2;
        frame.set_regs(&regs);
        return;
    }
    let word = |i: usize| u64::from_le_bytes(saved[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    process.count_cpuid(true);
    answer(&mut regs, word(0), word(2));
    regs.r11 = word(1);
    regs.rflags = (regs.rflags & !USER_FLAGS) | (word(3) & USER_FLAGS);
    regs.rsp += PUSHED + RED_ZONE;
    frame.set_regs(&regs);
}

/// Turns CPUID faulting on or off for the calling host thread as it is
/// about to run user code of `process` (see `occlum_pal::cpuid`).
pub(crate) fn arm_for(process: &Process) {
    let on = process
        .vm()
        .is_ok_and(|vm| crate::sync::lock(&vm).cpuid_faults_for().is_some());
    if on {
        cpuid::arm();
    } else {
        cpuid::disarm();
    }
}
