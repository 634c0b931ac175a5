//! The hand-written assembly of the PAL: the signal entry stub (FS base swap),
//! the signal restorer, the door into user code and back, and the
//! fault-tolerant copy.
//!
//! Thread block layout used here (see `thread::ThreadBlock`):
//! offset 0: the LibOS's FS base; offset 8: the LibOS stack pointer saved by
//! `occlum_pal_enter_user`; offset 20: the SUD selector byte (0 = ALLOW while
//! LibOS code runs, 1 = BLOCK while user code runs).

use std::arch::global_asm;

global_asm!(
    r#"
    .text

    // Every PAL signal handler enters here, on the alternate signal stack, with
    // whatever FS base the interrupted code had. Before any Rust code runs, the
    // interrupted FS base is saved on the stack and the LibOS's own FS base (kept
    // in the thread block that GS base points at) is loaded. The dispatcher gets
    // a pointer to the saved slot so that it can change the FS base that is
    // restored (arch_prctl, leaving user code).
    .globl occlum_pal_signal_entry
    .type occlum_pal_signal_entry,@function
occlum_pal_signal_entry:
    rdfsbase %rcx
    push %rcx
    rdgsbase %rax
    test %rax, %rax
    jz 1f
    // A thread with a block: also save the SUD selector and set it to ALLOW
    // while LibOS code runs (needed in exclusive dispatch mode).
    movzbl 20(%rax), %ecx
    push %rcx
    movb $0, 20(%rax)
    mov (%rax), %rcx
    wrfsbase %rcx
    lea 8(%rsp), %rcx
    sub $8, %rsp
    call occlum_pal_signal_dispatch
    add $8, %rsp
    pop %rcx
    rdgsbase %rax
    mov %cl, 20(%rax)
    pop %rcx
    wrfsbase %rcx
    ret
1:
    mov %rsp, %rcx
    call occlum_pal_signal_dispatch
    pop %rcx
    wrfsbase %rcx
    ret
    .size occlum_pal_signal_entry, .-occlum_pal_signal_entry

    .globl occlum_pal_restorer
    .type occlum_pal_restorer,@function
occlum_pal_restorer:
    mov $15, %eax
    syscall
    ud2
    // In exclusive dispatch mode, [restorer, restorer_end) is the range SUD
    // always allows; it includes the byte after `syscall`, which SUD checks.
    .globl occlum_pal_restorer_end
occlum_pal_restorer_end:
    .size occlum_pal_restorer, .-occlum_pal_restorer

    // i64 occlum_pal_enter_user(entry, user_sp, user_fs, block)
    // Saves the LibOS's callee-saved registers on the LibOS stack, records the
    // stack pointer in the thread block, and jumps to user code with clean
    // registers. It returns when a trap handler leaves user code for good: the
    // handler makes rt_sigreturn resume at occlum_pal_user_exited with RSP set
    // to the recorded value and RAX to the return value.
    .globl occlum_pal_enter_user
    .type occlum_pal_enter_user,@function
occlum_pal_enter_user:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, 8(%rcx)
    movb $1, 20(%rcx)
    wrfsbase %rdx
    mov %rdi, %r11
    mov %rsi, %rsp
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    jmp *%r11

    .globl occlum_pal_user_exited
occlum_pal_user_exited:
    rdgsbase %r11
    movb $0, 20(%r11)
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    cld
    fninit
    ldmxcsr occlum_pal_default_mxcsr(%rip)
    ret
    .size occlum_pal_enter_user, .-occlum_pal_enter_user

    // i64 occlum_pal_enter_user_regs(regs, user_fs, block)
    // Like occlum_pal_enter_user, but starts user code with every general
    // register taken from `regs` (a trap::UserRegs), as a `syscall`
    // instruction returns: RIP is reached through RCX (so RCX ends up holding
    // RIP, as after `syscall`).
    .globl occlum_pal_enter_user_regs
    .type occlum_pal_enter_user_regs,@function
occlum_pal_enter_user_regs:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, 8(%rdx)
    movb $1, 20(%rdx)
    wrfsbase %rsi
    mov %rdi, %rax
    mov 8(%rax), %rbx
    mov 24(%rax), %rdx
    mov 32(%rax), %rsi
    mov 40(%rax), %rdi
    mov 48(%rax), %rbp
    mov 64(%rax), %r8
    mov 72(%rax), %r9
    mov 80(%rax), %r10
    mov 88(%rax), %r11
    mov 96(%rax), %r12
    mov 104(%rax), %r13
    mov 112(%rax), %r14
    mov 120(%rax), %r15
    mov 56(%rax), %rsp
    mov 128(%rax), %rcx
    mov 0(%rax), %rax
    jmp *%rcx
    .size occlum_pal_enter_user_regs, .-occlum_pal_enter_user_regs

    // u64 occlum_pal_copy(dst, src, len): 0 on success, 1 if a fault hit.
    // The SIGSEGV/SIGBUS handler resumes a fault at occlum_pal_copy_insn at
    // occlum_pal_copy_fixup.
    .globl occlum_pal_copy
    .type occlum_pal_copy,@function
occlum_pal_copy:
    mov %rdx, %rcx
    .globl occlum_pal_copy_insn
occlum_pal_copy_insn:
    rep movsb
    xor %eax, %eax
    ret
    .globl occlum_pal_copy_fixup
occlum_pal_copy_fixup:
    mov $1, %eax
    ret
    .size occlum_pal_copy, .-occlum_pal_copy

    // u64 occlum_pal_cmpxchg32(addr, expected, new, *mut u32 found): 0 on
    // success (found = the value seen), 1 if a fault hit.
    .globl occlum_pal_cmpxchg32
    .type occlum_pal_cmpxchg32,@function
occlum_pal_cmpxchg32:
    mov %esi, %eax
    .globl occlum_pal_cmpxchg32_insn
occlum_pal_cmpxchg32_insn:
    lock cmpxchg %edx, (%rdi)
    mov %eax, (%rcx)
    xor %eax, %eax
    ret
    .globl occlum_pal_cmpxchg32_fixup
occlum_pal_cmpxchg32_fixup:
    mov $1, %eax
    ret
    .size occlum_pal_cmpxchg32, .-occlum_pal_cmpxchg32

    .section .rodata
    .align 4
occlum_pal_default_mxcsr:
    .long 0x1f80
    .text
"#,
    options(att_syntax)
);

extern "C" {
    pub(crate) fn occlum_pal_signal_entry();
    pub(crate) fn occlum_pal_restorer();
    pub(crate) fn occlum_pal_restorer_end();
    pub(crate) fn occlum_pal_enter_user(entry: u64, sp: u64, fs: u64, block: *mut u8) -> i64;
    pub(crate) fn occlum_pal_enter_user_regs(regs: *const u8, fs: u64, block: *mut u8) -> i64;
    pub(crate) fn occlum_pal_user_exited();
    pub(crate) fn occlum_pal_copy(dst: *mut u8, src: *const u8, len: usize) -> u64;
    pub(crate) fn occlum_pal_copy_insn();
    pub(crate) fn occlum_pal_copy_fixup();
    pub(crate) fn occlum_pal_cmpxchg32(
        addr: *mut u32,
        expected: u32,
        new: u32,
        found: *mut u32,
    ) -> u64;
    pub(crate) fn occlum_pal_cmpxchg32_insn();
    pub(crate) fn occlum_pal_cmpxchg32_fixup();
}

/// Reads the FS base of the calling thread.
pub(crate) fn read_fs_base() -> u64 {
    let v: u64;
    // SAFETY: rdfsbase only reads a register; FSGSBASE support is checked at start.
    unsafe { std::arch::asm!("rdfsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Writes the GS base of the calling thread. GS is unused by the LibOS's Rust
/// and libc code; the PAL keeps the thread block pointer there.
pub(crate) fn write_gs_base(v: u64) {
    // SAFETY: neither Rust nor glibc on x86_64 uses GS; changing it only
    // affects the PAL's entry stub, which reads it as the thread block pointer.
    unsafe { std::arch::asm!("wrgsbase {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
}
