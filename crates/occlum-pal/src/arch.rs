//! The hand-written assembly of the PAL: the signal entry stub (FS base swap),
//! the signal restorer, the doors into user code and back, and the
//! fault-tolerant user-memory routines.
//!
//! The thread block of a host thread sits at the bottom of its alternate
//! signal stack's slot in the PAL's stack zone (slots are `SLOT_SIZE`-aligned),
//! so the entry stub finds it from RSP alone: nothing user code can change
//! (GS, FS, memory) is trusted to locate it. Block layout (see
//! `thread::ThreadBlock`): offset 0: the LibOS's FS base; offset 8: the LibOS
//! stack pointer saved by the enter routines; offset 20: the SUD selector
//! byte (0 = ALLOW while LibOS code runs, 1 = BLOCK while user code runs).

use std::arch::global_asm;
use std::sync::atomic::{AtomicU64, AtomicU8};

/// Size and alignment of one alternate-stack slot (must match the `and` masks below).
pub(crate) const SLOT_SIZE: usize = 1 << 22;

/// `[lo, hi)` of the stack zone; read by the entry stub.
#[no_mangle]
pub(crate) static OCCLUM_PAL_ZONE: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Whether the CPU has protection keys (then the stub resets PKRU).
#[no_mangle]
pub(crate) static OCCLUM_PAL_HAS_PKU: AtomicU8 = AtomicU8::new(0);

/// The state components the direct syscall entry saves with `XSAVE`.
#[no_mangle]
pub(crate) static OCCLUM_PAL_XSAVE_MASK: AtomicU64 = AtomicU64::new(0);

/// Whether `XGETBV` with ECX = 1 (XINUSE) is available.
#[no_mangle]
pub(crate) static OCCLUM_PAL_HAS_XINUSE: AtomicU8 = AtomicU8::new(0);

/// How the direct syscall entry saves vector registers: 0 with `XSAVEOPT`,
/// 1 XMM, 2 YMM, 3 ZMM and opmask registers by hand (`fastpath.rs`).
#[no_mangle]
pub(crate) static OCCLUM_PAL_VEC_MODE: AtomicU8 = AtomicU8::new(0);

global_asm!(
    r#"
    .text
    .globl occlum_pal_asm_start
occlum_pal_asm_start:

    // Every PAL signal handler enters here, on the alternate signal stack
    // (RDI, RSI, RDX: signal, siginfo, ucontext). First the CPU state user code
    // may have left that would break LibOS code: RFLAGS.AC (alignment checks)
    // and PKRU (protection keys) -- the kernel resets neither on signal
    // delivery; rt_sigreturn restores both. Then the interrupted FS base is
    // saved on the stack and, on a PAL thread, the LibOS's own FS base is
    // loaded from the thread block and the SUD selector set to ALLOW. The
    // dispatcher gets a pointer to the saved FS slot so it can change what is
    // restored (arch_prctl, leaving user code).
    .globl occlum_pal_signal_entry
    .type occlum_pal_signal_entry,@function
occlum_pal_signal_entry:
    pushfq
    andq $-0x40001, (%rsp)
    popfq
    cmpb $0, OCCLUM_PAL_HAS_PKU(%rip)
    je 3f
    mov %rdx, %r8
    xor %eax, %eax
    xor %ecx, %ecx
    xor %edx, %edx
    wrpkru
    mov %r8, %rdx
3:
    rdfsbase %rcx
    push %rcx
    mov %rsp, %rax
    cmp OCCLUM_PAL_ZONE(%rip), %rax
    jb 1f
    cmp OCCLUM_PAL_ZONE+8(%rip), %rax
    jae 1f
    and $-0x400000, %rax
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
    mov %rsp, %rax
    and $-0x400000, %rax
    mov %cl, 20(%rax)
    pop %rcx
    wrfsbase %rcx
    ret
1:
    // Not a PAL thread: no FS swap.
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
    // Saves the LibOS's callee-saved registers and the block pointer on the
    // LibOS stack, records the stack pointer in the thread block, and jumps to
    // user code with clean registers. It returns when a trap handler leaves
    // user code for good: rt_sigreturn then resumes at occlum_pal_user_exited
    // with RSP set to the recorded value and RAX to the return value.
    .globl occlum_pal_enter_user
    .type occlum_pal_enter_user,@function
occlum_pal_enter_user:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rcx
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
    push %rdx
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

    // Where a thread that left user code for good resumes (see above).
    .globl occlum_pal_user_exited
    .type occlum_pal_user_exited,@function
occlum_pal_user_exited:
    pop %r11
    movb $0, 20(%r11)
    cmpb $0, OCCLUM_PAL_HAS_PKU(%rip)
    je 4f
    mov %rax, %r10
    xor %eax, %eax
    xor %ecx, %ecx
    xor %edx, %edx
    wrpkru
    mov %r10, %rax
4:
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
    .size occlum_pal_user_exited, .-occlum_pal_user_exited

    // The direct syscall entry (`fastpath.rs`). A rewritten syscall site
    // jumps here from its stub with RAX = the syscall number and RCX = the
    // address after the site's `syscall` instruction (which is left in
    // place); every other register is the user's. GS base must be the
    // thread block of a thread running user code with the fast path on,
    // else (user code changed GS, or the fast path is off) the site's own
    // `syscall` runs and traps as before. Arithmetic flags are not kept,
    // and R11 returns the flags, as after `syscall`.
    .globl occlum_pal_fast_entry
    .type occlum_pal_fast_entry,@function
occlum_pal_fast_entry:
    rdgsbase %r11
    cmp OCCLUM_PAL_ZONE(%rip), %r11
    jb occlum_pal_fast_refuse
    cmp OCCLUM_PAL_ZONE+8(%rip), %r11
    jae occlum_pal_fast_refuse
    test $0x3fffff, %r11
    jnz occlum_pal_fast_refuse
    // A slot no thread uses is inaccessible: a fault here resumes at
    // occlum_pal_fast_refuse.
    .globl occlum_pal_fast_check
occlum_pal_fast_check:
    cmp %r11, 24(%r11)
    jne occlum_pal_fast_refuse
    cmpb $1, 20(%r11)
    jne occlum_pal_fast_refuse
    mov %rax, 64(%r11)
    mov %rbx, 72(%r11)
    mov %rcx, 80(%r11)
    mov %rdx, 88(%r11)
    mov %rsi, 96(%r11)
    mov %rdi, 104(%r11)
    mov %rbp, 112(%r11)
    mov %rsp, 120(%r11)
    mov %r8, 128(%r11)
    mov %r9, 136(%r11)
    mov %r10, 144(%r11)
    mov %r12, 160(%r11)
    mov %r13, 168(%r11)
    mov %r14, 176(%r11)
    mov %r15, 184(%r11)
    mov %rcx, 192(%r11)
    movq $0, 56(%r11)
    mov 40(%r11), %rsp
    pushfq
    pop %rax
    mov %rax, 200(%r11)
    mov %rax, 152(%r11)
    jmp occlum_pal_fast_common
    .globl occlum_pal_fast_refuse
occlum_pal_fast_refuse:
    lea -2(%rcx), %r11
    jmp *%r11
    .size occlum_pal_fast_entry, .-occlum_pal_fast_entry

    // Where an interrupt that hit the exit tail resumes (see
    // occlum_pal_signal_dispatch): RSP = the fast stack; the block still
    // holds the whole user state, which the registers hold too.
    .globl occlum_pal_fast_reenter
    .type occlum_pal_fast_reenter,@function
occlum_pal_fast_reenter:
    rdgsbase %r11
    movq $1, 56(%r11)
    .size occlum_pal_fast_reenter, .-occlum_pal_fast_reenter

    // RSP = the fast stack (16-byte aligned), R11 = the block, the user's
    // general registers saved in it, their FPU state and FS still live.
occlum_pal_fast_common:
    movb $1, 22(%r11)
    movl $1, 16(%r11)
    movb $0, 20(%r11)
    pushfq
    andq $-0x40401, (%rsp)
    popfq
    rdfsbase %rax
    mov %rax, 32(%r11)
    mov 0(%r11), %rax
    wrfsbase %rax
    mov %r11, %rbx
    // The vector registers the LibOS may change are saved by hand in the
    // vector area (mode 1: XMM, 2: YMM, 3: ZMM and opmasks; offset 208),
    // which costs a sixth of XSAVE and XRSTOR; the x87 state, which the
    // LibOS never touches, stays in the registers. The PAL saves the whole
    // state into the XSAVE area only when the LibOS asks for it
    // (`fastpath::materialize`; offset 216 says where it is). Mode 0:
    // XSAVEOPT, for CPUs the modes do not cover.
    movzbl OCCLUM_PAL_VEC_MODE(%rip), %ecx
    test %ecx, %ecx
    jz 20f
    movq $0, 216(%rbx)
    mov 208(%rbx), %rdi
    stmxcsr 2112(%rdi)
    // XINUSE: which state components were in use (not in their initial
    // state); the exit keeps clean YMM/ZMM upper halves clean.
    movl $-1, 2120(%rdi)
    cmpb $0, OCCLUM_PAL_HAS_XINUSE(%rip)
    je 26f
    mov %ecx, %r8d
    mov $1, %ecx
    xgetbv
    mov %eax, 2120(%rdi)
    mov %r8d, %ecx
26:
    cmp $3, %ecx
    je 23f
    cmp $2, %ecx
    je 22f
    movdqu %xmm0, 0(%rdi)
    movdqu %xmm1, 16(%rdi)
    movdqu %xmm2, 32(%rdi)
    movdqu %xmm3, 48(%rdi)
    movdqu %xmm4, 64(%rdi)
    movdqu %xmm5, 80(%rdi)
    movdqu %xmm6, 96(%rdi)
    movdqu %xmm7, 112(%rdi)
    movdqu %xmm8, 128(%rdi)
    movdqu %xmm9, 144(%rdi)
    movdqu %xmm10, 160(%rdi)
    movdqu %xmm11, 176(%rdi)
    movdqu %xmm12, 192(%rdi)
    movdqu %xmm13, 208(%rdi)
    movdqu %xmm14, 224(%rdi)
    movdqu %xmm15, 240(%rdi)
    jmp 24f
22:
    vmovdqu %ymm0, 0(%rdi)
    vmovdqu %ymm1, 32(%rdi)
    vmovdqu %ymm2, 64(%rdi)
    vmovdqu %ymm3, 96(%rdi)
    vmovdqu %ymm4, 128(%rdi)
    vmovdqu %ymm5, 160(%rdi)
    vmovdqu %ymm6, 192(%rdi)
    vmovdqu %ymm7, 224(%rdi)
    vmovdqu %ymm8, 256(%rdi)
    vmovdqu %ymm9, 288(%rdi)
    vmovdqu %ymm10, 320(%rdi)
    vmovdqu %ymm11, 352(%rdi)
    vmovdqu %ymm12, 384(%rdi)
    vmovdqu %ymm13, 416(%rdi)
    vmovdqu %ymm14, 448(%rdi)
    vmovdqu %ymm15, 480(%rdi)
    jmp 24f
23:
    vmovdqu64 %zmm0, 0(%rdi)
    vmovdqu64 %zmm1, 64(%rdi)
    vmovdqu64 %zmm2, 128(%rdi)
    vmovdqu64 %zmm3, 192(%rdi)
    vmovdqu64 %zmm4, 256(%rdi)
    vmovdqu64 %zmm5, 320(%rdi)
    vmovdqu64 %zmm6, 384(%rdi)
    vmovdqu64 %zmm7, 448(%rdi)
    vmovdqu64 %zmm8, 512(%rdi)
    vmovdqu64 %zmm9, 576(%rdi)
    vmovdqu64 %zmm10, 640(%rdi)
    vmovdqu64 %zmm11, 704(%rdi)
    vmovdqu64 %zmm12, 768(%rdi)
    vmovdqu64 %zmm13, 832(%rdi)
    vmovdqu64 %zmm14, 896(%rdi)
    vmovdqu64 %zmm15, 960(%rdi)
    vmovdqu64 %zmm16, 1024(%rdi)
    vmovdqu64 %zmm17, 1088(%rdi)
    vmovdqu64 %zmm18, 1152(%rdi)
    vmovdqu64 %zmm19, 1216(%rdi)
    vmovdqu64 %zmm20, 1280(%rdi)
    vmovdqu64 %zmm21, 1344(%rdi)
    vmovdqu64 %zmm22, 1408(%rdi)
    vmovdqu64 %zmm23, 1472(%rdi)
    vmovdqu64 %zmm24, 1536(%rdi)
    vmovdqu64 %zmm25, 1600(%rdi)
    vmovdqu64 %zmm26, 1664(%rdi)
    vmovdqu64 %zmm27, 1728(%rdi)
    vmovdqu64 %zmm28, 1792(%rdi)
    vmovdqu64 %zmm29, 1856(%rdi)
    vmovdqu64 %zmm30, 1920(%rdi)
    vmovdqu64 %zmm31, 1984(%rdi)
    kmovq %k0, 2048(%rdi)
    kmovq %k1, 2056(%rdi)
    kmovq %k2, 2064(%rdi)
    kmovq %k3, 2072(%rdi)
    kmovq %k4, 2080(%rdi)
    kmovq %k5, 2088(%rdi)
    kmovq %k6, 2096(%rdi)
    kmovq %k7, 2104(%rdi)
24:
    cmpb $0, OCCLUM_PAL_HAS_PKU(%rip)
    je 6f
    xor %ecx, %ecx
    rdpkru
    mov %eax, 2116(%rdi)
    jmp 25f
20:
    movq $1, 216(%rbx)
    mov 48(%rbx), %rdi
    mov OCCLUM_PAL_XSAVE_MASK(%rip), %eax
    mov OCCLUM_PAL_XSAVE_MASK+4(%rip), %edx
    // XSAVEOPT skips what is unchanged since the XRSTOR from this area
    // (tracked by the CPU, which falls back to a full save). The LibOS
    // uses no x87 state: only MXCSR is reset.
    xsaveopt64 (%rdi)
    cmpb $0, OCCLUM_PAL_HAS_PKU(%rip)
    je 6f
25:
    xor %eax, %eax
    xor %ecx, %ecx
    xor %edx, %edx
    wrpkru
6:
    ldmxcsr occlum_pal_default_mxcsr(%rip)
    mov %rbx, %rdi
    call occlum_pal_fast_dispatch
    cmpq $0, 216(%rbx)
    jne 30f
    mov 208(%rbx), %rdi
    movzbl OCCLUM_PAL_VEC_MODE(%rip), %ecx
    // Upper halves of YMM/ZMM0-15 that were clean at entry are made clean
    // again (VZEROUPPER, then legacy SSE loads), not left in use: legacy
    // SSE code pays for in-use upper halves on some CPUs.
    cmp $1, %ecx
    je 35f
    testl $0x44, 2120(%rdi)
    jnz 35f
    vzeroupper
    cmp $3, %ecx
    je 36f
    movdqu 0(%rdi), %xmm0
    movdqu 32(%rdi), %xmm1
    movdqu 64(%rdi), %xmm2
    movdqu 96(%rdi), %xmm3
    movdqu 128(%rdi), %xmm4
    movdqu 160(%rdi), %xmm5
    movdqu 192(%rdi), %xmm6
    movdqu 224(%rdi), %xmm7
    movdqu 256(%rdi), %xmm8
    movdqu 288(%rdi), %xmm9
    movdqu 320(%rdi), %xmm10
    movdqu 352(%rdi), %xmm11
    movdqu 384(%rdi), %xmm12
    movdqu 416(%rdi), %xmm13
    movdqu 448(%rdi), %xmm14
    movdqu 480(%rdi), %xmm15
    jmp 34f
36:
    movdqu 0(%rdi), %xmm0
    movdqu 64(%rdi), %xmm1
    movdqu 128(%rdi), %xmm2
    movdqu 192(%rdi), %xmm3
    movdqu 256(%rdi), %xmm4
    movdqu 320(%rdi), %xmm5
    movdqu 384(%rdi), %xmm6
    movdqu 448(%rdi), %xmm7
    movdqu 512(%rdi), %xmm8
    movdqu 576(%rdi), %xmm9
    movdqu 640(%rdi), %xmm10
    movdqu 704(%rdi), %xmm11
    movdqu 768(%rdi), %xmm12
    movdqu 832(%rdi), %xmm13
    movdqu 896(%rdi), %xmm14
    movdqu 960(%rdi), %xmm15
    vmovdqu64 1024(%rdi), %zmm16
    vmovdqu64 1088(%rdi), %zmm17
    vmovdqu64 1152(%rdi), %zmm18
    vmovdqu64 1216(%rdi), %zmm19
    vmovdqu64 1280(%rdi), %zmm20
    vmovdqu64 1344(%rdi), %zmm21
    vmovdqu64 1408(%rdi), %zmm22
    vmovdqu64 1472(%rdi), %zmm23
    vmovdqu64 1536(%rdi), %zmm24
    vmovdqu64 1600(%rdi), %zmm25
    vmovdqu64 1664(%rdi), %zmm26
    vmovdqu64 1728(%rdi), %zmm27
    vmovdqu64 1792(%rdi), %zmm28
    vmovdqu64 1856(%rdi), %zmm29
    vmovdqu64 1920(%rdi), %zmm30
    vmovdqu64 1984(%rdi), %zmm31
    kmovq 2048(%rdi), %k0
    kmovq 2056(%rdi), %k1
    kmovq 2064(%rdi), %k2
    kmovq 2072(%rdi), %k3
    kmovq 2080(%rdi), %k4
    kmovq 2088(%rdi), %k5
    kmovq 2096(%rdi), %k6
    kmovq 2104(%rdi), %k7
    jmp 34f
35:
    cmp $3, %ecx
    je 33f
    cmp $2, %ecx
    je 32f
    movdqu 0(%rdi), %xmm0
    movdqu 16(%rdi), %xmm1
    movdqu 32(%rdi), %xmm2
    movdqu 48(%rdi), %xmm3
    movdqu 64(%rdi), %xmm4
    movdqu 80(%rdi), %xmm5
    movdqu 96(%rdi), %xmm6
    movdqu 112(%rdi), %xmm7
    movdqu 128(%rdi), %xmm8
    movdqu 144(%rdi), %xmm9
    movdqu 160(%rdi), %xmm10
    movdqu 176(%rdi), %xmm11
    movdqu 192(%rdi), %xmm12
    movdqu 208(%rdi), %xmm13
    movdqu 224(%rdi), %xmm14
    movdqu 240(%rdi), %xmm15
    jmp 34f
32:
    vmovdqu 0(%rdi), %ymm0
    vmovdqu 32(%rdi), %ymm1
    vmovdqu 64(%rdi), %ymm2
    vmovdqu 96(%rdi), %ymm3
    vmovdqu 128(%rdi), %ymm4
    vmovdqu 160(%rdi), %ymm5
    vmovdqu 192(%rdi), %ymm6
    vmovdqu 224(%rdi), %ymm7
    vmovdqu 256(%rdi), %ymm8
    vmovdqu 288(%rdi), %ymm9
    vmovdqu 320(%rdi), %ymm10
    vmovdqu 352(%rdi), %ymm11
    vmovdqu 384(%rdi), %ymm12
    vmovdqu 416(%rdi), %ymm13
    vmovdqu 448(%rdi), %ymm14
    vmovdqu 480(%rdi), %ymm15
    jmp 34f
33:
    vmovdqu64 0(%rdi), %zmm0
    vmovdqu64 64(%rdi), %zmm1
    vmovdqu64 128(%rdi), %zmm2
    vmovdqu64 192(%rdi), %zmm3
    vmovdqu64 256(%rdi), %zmm4
    vmovdqu64 320(%rdi), %zmm5
    vmovdqu64 384(%rdi), %zmm6
    vmovdqu64 448(%rdi), %zmm7
    vmovdqu64 512(%rdi), %zmm8
    vmovdqu64 576(%rdi), %zmm9
    vmovdqu64 640(%rdi), %zmm10
    vmovdqu64 704(%rdi), %zmm11
    vmovdqu64 768(%rdi), %zmm12
    vmovdqu64 832(%rdi), %zmm13
    vmovdqu64 896(%rdi), %zmm14
    vmovdqu64 960(%rdi), %zmm15
    vmovdqu64 1024(%rdi), %zmm16
    vmovdqu64 1088(%rdi), %zmm17
    vmovdqu64 1152(%rdi), %zmm18
    vmovdqu64 1216(%rdi), %zmm19
    vmovdqu64 1280(%rdi), %zmm20
    vmovdqu64 1344(%rdi), %zmm21
    vmovdqu64 1408(%rdi), %zmm22
    vmovdqu64 1472(%rdi), %zmm23
    vmovdqu64 1536(%rdi), %zmm24
    vmovdqu64 1600(%rdi), %zmm25
    vmovdqu64 1664(%rdi), %zmm26
    vmovdqu64 1728(%rdi), %zmm27
    vmovdqu64 1792(%rdi), %zmm28
    vmovdqu64 1856(%rdi), %zmm29
    vmovdqu64 1920(%rdi), %zmm30
    vmovdqu64 1984(%rdi), %zmm31
    kmovq 2048(%rdi), %k0
    kmovq 2056(%rdi), %k1
    kmovq 2064(%rdi), %k2
    kmovq 2072(%rdi), %k3
    kmovq 2080(%rdi), %k4
    kmovq 2088(%rdi), %k5
    kmovq 2096(%rdi), %k6
    kmovq 2104(%rdi), %k7
34:
    ldmxcsr 2112(%rdi)
    cmpb $0, OCCLUM_PAL_HAS_PKU(%rip)
    je 31f
    mov 2116(%rdi), %eax
    xor %ecx, %ecx
    xor %edx, %edx
    wrpkru
    jmp 31f
30:
    mov 48(%rbx), %rdi
    mov OCCLUM_PAL_XSAVE_MASK(%rip), %eax
    mov OCCLUM_PAL_XSAVE_MASK+4(%rip), %edx
    xrstor64 (%rdi)
31:
    mov 32(%rbx), %rax
    wrfsbase %rax
    // The exit tail reads only the block, so an interrupt anywhere in it
    // can restart the whole exit at occlum_pal_fast_reenter. If an
    // interrupt was deferred (see occlum_pal_signal_dispatch), it unblocks
    // SIG_INTERRUPT first: the interrupt is delivered right there.
    .globl occlum_pal_fast_tail
occlum_pal_fast_tail:
    rdgsbase %r11
    movb $0, 22(%r11)
    cmpb $0, 23(%r11)
    je 7f
    movb $0, 23(%r11)
    mov $14, %eax
    mov $1, %edi
    lea occlum_pal_interrupt_set(%rip), %rsi
    xor %edx, %edx
    mov $8, %r10d
    syscall
    rdgsbase %r11
7:
    movl $0, 16(%r11)
    movb $1, 20(%r11)
    pushq 200(%r11)
    popfq
    mov 64(%r11), %rax
    mov 72(%r11), %rbx
    mov 80(%r11), %rcx
    mov 88(%r11), %rdx
    mov 96(%r11), %rsi
    mov 104(%r11), %rdi
    mov 112(%r11), %rbp
    mov 128(%r11), %r8
    mov 136(%r11), %r9
    mov 144(%r11), %r10
    mov 160(%r11), %r12
    mov 168(%r11), %r13
    mov 176(%r11), %r14
    mov 184(%r11), %r15
    mov 120(%r11), %rsp
    mov %gs:152, %r11
    jmp *%gs:192
    .globl occlum_pal_fast_tail_end
occlum_pal_fast_tail_end:

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

    .globl occlum_pal_asm_end
occlum_pal_asm_end:

    .section .rodata
    .align 4
occlum_pal_default_mxcsr:
    .long 0x1f80
    .align 8
occlum_pal_interrupt_set:
    .quad 0x8000000000000000
    .text
"#,
    options(att_syntax)
);

extern "C" {
    pub(crate) fn occlum_pal_asm_start();
    pub(crate) fn occlum_pal_asm_end();
    pub(crate) fn occlum_pal_signal_entry();
    pub(crate) fn occlum_pal_restorer();
    pub(crate) fn occlum_pal_restorer_end();
    pub(crate) fn occlum_pal_enter_user(entry: u64, sp: u64, fs: u64, block: *mut u8) -> i64;
    pub(crate) fn occlum_pal_enter_user_regs(regs: *const u8, fs: u64, block: *mut u8) -> i64;
    pub(crate) fn occlum_pal_user_exited();
    pub(crate) fn occlum_pal_fast_entry();
    pub(crate) fn occlum_pal_fast_check();
    pub(crate) fn occlum_pal_fast_refuse();
    pub(crate) fn occlum_pal_fast_reenter();
    pub(crate) fn occlum_pal_fast_tail();
    pub(crate) fn occlum_pal_fast_tail_end();
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

/// Whether `rip` lies in the PAL's assembly (a fault there is the LibOS's).
pub(crate) fn in_pal_asm(rip: u64) -> bool {
    let (lo, hi) = (
        occlum_pal_asm_start as *const () as u64,
        occlum_pal_asm_end as *const () as u64,
    );
    (lo..hi).contains(&rip)
}

/// Reads the FS base of the calling thread.
pub(crate) fn read_fs_base() -> u64 {
    let v: u64;
    // SAFETY: rdfsbase only reads a register; FSGSBASE support is checked at start.
    unsafe { std::arch::asm!("rdfsbase {}", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Whether the CPU and kernel enable protection keys (CPUID.7.0:ECX.OSPKE).
pub(crate) fn has_pku() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    __cpuid(0).eax >= 7 && __cpuid_count(7, 0).ecx & (1 << 4) != 0
}
