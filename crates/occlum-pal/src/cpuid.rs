//! CPUID served by the LibOS rather than the CPU.
//!
//! In a VM every `cpuid` exits to the hypervisor (about 5 us on these
//! machines), and glibc runs some 65 of them at each program start; inside
//! an SGX enclave `cpuid` cannot run at all. So user threads run with CPUID
//! faulting on (`arch_prctl(ARCH_SET_CPUID, 0)`): a `cpuid` of user code
//! raises SIGSEGV, which the LibOS serves from a table of the CPU's answers
//! ([`query`]) and rewrites into a direct call of the LibOS, as it does
//! syscall sites. A `cpuid` of the LibOS's own code on such a thread (a
//! crate detecting CPU features) is answered in the signal handler
//! ([`serve_host_fault`]). A thread has faulting on from when it starts
//! user code (of a program started before: a first run would pay a fault
//! and a rewrite for sites it runs once) until it first sleeps ([`arm`],
//! [`disarm`]): in a VM each switch between threads with and without it
//! costs an exit, and the `cpuid`s are in programs' start-up.
//!
//! The answers are the CPU's own, asked once per leaf and sub-leaf; fields
//! that differ between CPUs (APIC IDs) are those of the CPU that answered
//! first, as in an enclave, where the answers come from outside.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// `arch_prctl` codes (asm/prctl.h).
const ARCH_GET_CPUID: libc::c_ulong = 0x1011;
const ARCH_SET_CPUID: libc::c_ulong = 0x1012;
/// Most leaf and sub-leaf pairs remembered; others are asked every time.
const MAX_ENTRIES: usize = 1024;
/// `si_code` of a fault the kernel raises for a general-protection fault.
const SI_KERNEL: i32 = 0x80;

/// The pseudo syscall number with which a rewritten `cpuid` site enters
/// the LibOS through the direct entry (see `fastpath::cpuid_stub`).
pub const PSEUDO_SYSCALL: u64 = 0x4f43_5055;

static ON: AtomicBool = AtomicBool::new(false);
/// The CPU's answers, by leaf and sub-leaf: EAX, EBX, ECX, EDX.
type Answers = HashMap<(u32, u32), [u32; 4]>;

static TABLE: Mutex<Option<Answers>> = Mutex::new(None);

thread_local! {
    /// Whether this thread runs with CPUID faulting on.
    static FAULTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Turns emulation on or off (for threads armed from now on); on only
/// where the kernel and CPU offer CPUID faulting, which the first
/// [`arm`] finds out. Returns `on`.
pub fn set_enabled(on: bool) -> bool {
    ON.store(on, Ordering::SeqCst);
    on
}

/// Whether user code's `cpuid` is served by the LibOS.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Asks once whether CPUID faulting works here, and starts [`prefill`]
/// if it does.
fn usable() -> bool {
    static USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USABLE.get_or_init(|| {
        // SAFETY: ARCH_GET_CPUID only reads a thread flag.
        let r = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_GET_CPUID, 0) };
        if r < 0 {
            ON.store(false, Ordering::SeqCst);
            return false;
        }
        let started = std::thread::Builder::new()
            .name("cpuid".into())
            .spawn(prefill);
        if started.is_err() {
            PREFILLED.set(()).ok();
        }
        true
    })
}

/// Set once [`prefill`] is done.
static PREFILLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// Asks the CPU, on a thread without CPUID faulting, the leaves programs
/// ask at their start (glibc some 68 times): each `cpuid` is a VM exit
/// here, and a thread with faulting on would also pay two MSR writes
/// (exits too) to ask one itself. Runs while the LibOS boots.
fn prefill() {
    let mut answers = Answers::new();
    let mut ask = |leaf: u32, sub: u32| {
        *answers.entry((leaf, sub)).or_insert_with(|| {
            let r = std::arch::x86_64::__cpuid_count(leaf, sub);
            [r.eax, r.ebx, r.ecx, r.edx]
        })
    };
    for base in [0u32, 0x8000_0000] {
        let max = ask(base, 0)[0].min(base + 0x28);
        for leaf in base + 1..=max {
            let first = ask(leaf, 0);
            if !has_subleaves(leaf) {
                continue;
            }
            let last = match leaf {
                // Cache and topology levels: up to the first empty one.
                0x4 | 0x8000_001d => (1..8).find(|&s| ask(leaf, s)[0] & 0x1f == 0).unwrap_or(8),
                0xb | 0x1f => (1..6)
                    .find(|&s| (ask(leaf, s)[2] >> 8) & 0xff == 0)
                    .unwrap_or(6),
                0x7 | 0x14 => first[0].min(4),
                0xd => 19,
                _ => 1,
            };
            for sub in 1..=last {
                ask(leaf, sub);
            }
        }
    }
    if let Ok(mut t) = TABLE.lock() {
        let t = t.get_or_insert_with(HashMap::new);
        for (k, v) in answers {
            t.entry(k).or_insert(v);
        }
    }
    PREFILLED.set(()).ok();
}

/// Turns CPUID faulting on or off for the calling thread.
fn set_faulting(on: bool) -> bool {
    // SAFETY: ARCH_SET_CPUID only changes a flag of the calling thread.
    let ok = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_SET_CPUID, u64::from(!on)) } == 0;
    if ok {
        FAULTING.with(|f| f.set(on));
    }
    ok
}

/// Turns CPUID faulting on for the calling thread, which is about to run
/// user code (a program's start-up is where its `cpuid`s are).
pub fn arm() {
    if enabled() && !FAULTING.with(|f| f.get()) && usable() && !set_faulting(true) {
        ON.store(false, Ordering::SeqCst);
    }
}

/// Turns CPUID faulting off for the calling thread, which is about to
/// sleep in the host: every switch between a thread with it and one
/// without (the idle task) rewrites an MSR, which in a VM is an exit too.
/// User code's later `cpuid`s at sites not rewritten yet run on the CPU.
pub fn disarm() {
    if FAULTING.with(|f| f.get()) {
        set_faulting(false);
    }
}

/// Whether `leaf` has sub-leaves (its answer depends on ECX).
fn has_subleaves(leaf: u32) -> bool {
    matches!(
        leaf,
        0x4 | 0x7
            | 0xb
            | 0xd
            | 0xf
            | 0x10
            | 0x12
            | 0x14
            | 0x17
            | 0x18
            | 0x1a
            | 0x1b
            | 0x1d
            | 0x1e
            | 0x1f
            | 0x20
            | 0x23
            | 0x24
            | 0x8000_001d
            | 0x8000_0020
            | 0x8000_0026
    )
}

/// The CPU's answer to `cpuid` with EAX = `leaf` and ECX = `subleaf`:
/// EAX, EBX, ECX and EDX.
pub fn query(leaf: u32, subleaf: u32) -> [u32; 4] {
    let key = (leaf, if has_subleaves(leaf) { subleaf } else { 0 });
    if let Ok(mut t) = TABLE.try_lock() {
        if let Some(hit) = t.get_or_insert_with(HashMap::new).get(&key) {
            return *hit;
        }
    }
    if PREFILLED.get().is_none() && FAULTING.with(|f| f.get()) {
        // Soon there, and cheaper than asking with faulting off.
        while PREFILLED.get().is_none() {
            std::thread::yield_now();
        }
        if let Some(hit) = TABLE
            .try_lock()
            .ok()
            .and_then(|t| t.as_ref()?.get(&key).copied())
        {
            return hit;
        }
    }
    let answer = ask_cpu(key.0, key.1);
    if let Ok(mut t) = TABLE.try_lock() {
        let t = t.get_or_insert_with(HashMap::new);
        if t.len() < MAX_ENTRIES {
            t.insert(key, answer);
        }
    }
    answer
}

/// Runs `cpuid` itself, with faulting off for the moment if it is on.
fn ask_cpu(leaf: u32, subleaf: u32) -> [u32; 4] {
    let faulting = FAULTING.with(|f| f.get());
    if faulting {
        set_faulting(false);
    }
    let r = std::arch::x86_64::__cpuid_count(leaf, subleaf);
    if faulting {
        set_faulting(true);
    }
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// Serves a fault of the LibOS's own code: if it is a `cpuid` that CPUID
/// faulting stopped (a general-protection fault at `cpuid`), answers it in
/// `mc` and steps past it. Returns whether it did.
pub(crate) fn serve_host_fault(sig: i32, code: i32, mc: &mut libc::mcontext_t) -> bool {
    if sig != libc::SIGSEGV || code != SI_KERNEL || !FAULTING.with(|f| f.get()) {
        return false;
    }
    let rip = mc.gregs[libc::REG_RIP as usize] as usize;
    // SAFETY: `rip` is the address of the instruction that faulted in the
    // LibOS's own code (not the user region: the caller checked), which is
    // mapped executable and readable.
    let insn = unsafe { std::ptr::read_unaligned(rip as *const [u8; 2]) };
    if insn != [0x0f, 0xa2] {
        return false;
    }
    let g = &mut mc.gregs;
    let out = query(
        g[libc::REG_RAX as usize] as u32,
        g[libc::REG_RCX as usize] as u32,
    );
    for (reg, v) in [libc::REG_RAX, libc::REG_RBX, libc::REG_RCX, libc::REG_RDX]
        .into_iter()
        .zip(out)
    {
        g[reg as usize] = i64::from(v);
    }
    g[libc::REG_RIP as usize] += 2;
    true
}
