//! What procfs files contain.

use std::fmt::Write;
use std::sync::Arc;

use super::boot_instant;

use crate::fs::vfs;
use crate::process::{self, Process};
use crate::vm::{PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::{Errno, Result};

/// Clock ticks per second (`AT_CLKTCK`).
const HZ: u64 = 100;

fn mounts() -> String {
    let mut out = String::new();
    for (source, target, fs_type, ro) in vfs::mounts() {
        let _ = writeln!(
            out,
            "{source} {target} {fs_type} {} 0 0",
            if ro { "ro" } else { "rw" }
        );
    }
    out
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The machine's uptime (`CLOCK_BOOTTIME`), as Linux reports it; the LibOS's
/// own age if the host does not say.
fn uptime() -> std::time::Duration {
    const CLOCK_BOOTTIME: i32 = 7;
    occlum_pal::host::clock_gettime(CLOCK_BOOTTIME).unwrap_or_else(|_| boot_instant().elapsed())
}

/// Clock ticks from the machine's boot to `at`.
fn ticks_since_boot(at: std::time::Instant) -> u64 {
    let ago = std::time::Instant::now().saturating_duration_since(at);
    (uptime().saturating_sub(ago).as_millis() as u64) * HZ / 1000
}

/// The contents of `/proc/<name>`.
pub fn global(name: &str) -> Result<Vec<u8>> {
    let text = match name {
        "cpuinfo" => return Ok(cpuinfo()),
        "meminfo" => meminfo(),
        "mounts" => mounts(),
        "uptime" => {
            let up = uptime().as_secs_f64();
            format!("{up:.2} {:.2}\n", up * cpu_count() as f64)
        }
        "loadavg" => {
            let procs = process::all_processes();
            let last = procs.iter().map(|p| p.pid()).max().unwrap_or(1);
            format!("0.00 0.00 0.00 1/{} {last}\n", process::live_threads().max(1))
        }
        "stat" => {
            let n = cpu_count();
            let mut s = String::from("cpu  0 0 0 0 0 0 0 0 0 0\n");
            for i in 0..n {
                let _ = writeln!(s, "cpu{i} 0 0 0 0 0 0 0 0 0 0");
            }
            let boot = crate::fs::Timespec::now().sec - uptime().as_secs() as i64;
            let _ = write!(
                s,
                "intr 0\nctxt 0\nbtime {boot}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\n",
                process::all_processes().len()
            );
            s
        }
        "filesystems" => "nodev\tramfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\thostfs\n\timagefs\nnodev\tunionfs\n\tsefs\n".into(),
        _ => return Err(Errno::ENOENT),
    };
    Ok(text.into_bytes())
}

/// The host's `/proc/cpuinfo` (information about the CPU is not secret),
/// or a minimal one.
fn cpuinfo() -> Vec<u8> {
    if let Ok(b) = occlum_pal::host::read_file(std::path::Path::new("/proc/cpuinfo"), 1 << 20) {
        if std::str::from_utf8(&b).is_ok_and(|t| t.contains("processor")) {
            return b;
        }
    }
    let mut s = String::new();
    for i in 0..cpu_count() {
        let _ = write!(s, "processor\t: {i}\nvendor_id\t: unknown\nmodel name\t: unknown\nflags\t\t: fpu sse sse2\n\n");
    }
    s.into_bytes()
}

fn meminfo() -> String {
    let total = crate::boot::config().user_space_size as u64 / 1024;
    let used = crate::vm::user_space_in_use() as u64 / 1024;
    let free = total.saturating_sub(used);
    format!(
        "MemTotal:       {total:8} kB\nMemFree:        {free:8} kB\nMemAvailable:   {free:8} kB\nBuffers:               0 kB\nCached:                0 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nShmem:                 0 kB\n"
    )
}

fn comm(p: &Process) -> String {
    let main = p
        .state()
        .threads
        .iter()
        .find(|t| t.tid() == p.pid())
        .cloned();
    match main {
        Some(t) => String::from_utf8_lossy(&t.comm()).into_owned(),
        None => {
            let exe = p.exe_path();
            exe.rsplit('/')
                .next()
                .unwrap_or("")
                .chars()
                .take(15)
                .collect()
        }
    }
}

/// `Z` for a zombie, `S` while every thread waits in the LibOS, else `R`.
fn state_letter(p: &Process) -> char {
    let st = p.state();
    if st.zombie.is_some() {
        'Z'
    } else if !st.threads.is_empty() && st.threads.iter().all(|t| t.is_sleeping()) {
        'S'
    } else {
        'R'
    }
}

/// The contents of `/proc/[pid]/<name>`.
pub fn of_process(p: &Arc<Process>, name: &str) -> Result<Vec<u8>> {
    let text = match name {
        "cmdline" => return Ok(p.state().cmdline.to_vec()),
        "environ" => return Ok(p.state().environ.to_vec()),
        "mounts" => mounts(),
        "comm" => format!("{}\n", comm(p)),
        "maps" => maps(p),
        "stat" => stat(p),
        "status" => status(p),
        _ => return Err(Errno::ENOENT),
    };
    Ok(text.into_bytes())
}

fn vm_bytes(p: &Process) -> u64 {
    p.vm()
        .map(|vm| crate::sync::lock(&vm).mapped_bytes() as u64)
        .unwrap_or(0)
}

fn maps(p: &Process) -> String {
    let Ok(vm) = p.vm() else { return String::new() };
    let entries = crate::sync::lock(&vm).maps();
    let mut out = String::new();
    for m in entries {
        let flag = |bit, c| if m.prot & bit != 0 { c } else { '-' };
        let shared = m.file.as_ref().is_some_and(|f| f.4);
        let perms: String = [
            flag(PROT_READ, 'r'),
            flag(PROT_WRITE, 'w'),
            flag(PROT_EXEC, 'x'),
            if shared { 's' } else { 'p' },
        ]
        .iter()
        .collect();
        let (offset, dev, ino, name) = match &m.file {
            Some((path, offset, dev, ino, _)) => (
                *offset,
                *dev,
                *ino,
                String::from_utf8_lossy(path).into_owned(),
            ),
            None => (0, 0, 0, m.label.to_string()),
        };
        let line = format!(
            "{:08x}-{:08x} {perms} {offset:08x} {:02x}:{:02x} {ino}",
            m.start,
            m.end,
            (dev >> 8) & 0xfff,
            dev & 0xff
        );
        if name.is_empty() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "{line:<73}{name}");
        }
    }
    out
}

fn stat(p: &Arc<Process>) -> String {
    let (pgid, sid, threads) = {
        let st = p.state();
        (st.pgid, st.sid, st.threads.len().max(1))
    };
    let start = ticks_since_boot(p.started());
    let (user, total) = p.cpu_time();
    let (cuser, ctotal) = p.children_cpu_time();
    let ticks = |ns: u64| ns / 10_000_000;
    let vsize = vm_bytes(p);
    let rss = vsize / 4096;
    format!(
        "{pid} ({comm}) {state} {ppid} {pgid} {sid} 0 -1 4194560 0 0 0 0 {utime} {stime} {cutime} {cstime} {prio} {nice} {threads} 0 {start} {vsize} {rss} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        utime = ticks(user),
        stime = ticks(total.saturating_sub(user)),
        cutime = ticks(cuser),
        cstime = ticks(ctotal.saturating_sub(cuser)),
        prio = 20 + p.nice(),
        nice = p.nice(),
        pid = p.pid(),
        comm = comm(p),
        state = state_letter(p),
        ppid = p.ppid(),
    )
}

fn status(p: &Arc<Process>) -> String {
    let threads = p.state().threads.len().max(1);
    let umask = p.fs().umask;
    let vm_kb = vm_bytes(p) / 1024;
    let fds = p.files().fds().len();
    let creds = p.creds().clone();
    let (u, g) = (creds.uid, creds.gid);
    let u = format!("{}\t{}\t{}\t{}", u.real, u.effective, u.saved, u.fs);
    let g = format!("{}\t{}\t{}\t{}", g.real, g.effective, g.saved, g.fs);
    let groups: String = creds.groups.iter().map(|x| format!("{x} ")).collect();
    // The signal sets of the process and of its main thread.
    let main = p.state().threads.first().cloned();
    let (sig_pnd, sig_blk) = main.map_or((0, 0), |t| (t.sig_pending().set().0, t.sig_mask().0));
    let shd_pnd = p.pending_set().0;
    let (mut sig_ign, mut sig_cgt) = (0u64, 0u64);
    {
        let actions = p.sig_actions();
        for sig in 1..=64 {
            let h = actions.get(sig).handler;
            if h == crate::signal::SIG_IGN {
                sig_ign |= 1 << (sig - 1);
            } else if h != crate::signal::SIG_DFL {
                sig_cgt |= 1 << (sig - 1);
            }
        }
    }
    let rss_kb = vm_kb;
    format!(
        "Name:\t{comm}\nUmask:\t{umask:04o}\nState:\t{state} (running)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\nUid:\t{u}\nGid:\t{g}\nFDSize:\t{fdsize}\nGroups:\t{groups}\nVmPeak:\t{vm_kb:8} kB\nVmSize:\t{vm_kb:8} kB\nVmHWM:\t{rss_kb:8} kB\nVmRSS:\t{rss_kb:8} kB\nVmLck:\t       0 kB\nVmSwap:\t       0 kB\nThreads:\t{threads}\nSigQ:\t0/0\nSigPnd:\t{sig_pnd:016x}\nShdPnd:\t{shd_pnd:016x}\nSigBlk:\t{sig_blk:016x}\nSigIgn:\t{sig_ign:016x}\nSigCgt:\t{sig_cgt:016x}\nCapInh:\t{inh:016x}\nCapPrm:\t{prm:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{bnd:016x}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nCpus_allowed_list:\t0-{last_cpu}\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        comm = comm(p),
        state = state_letter(p),
        pid = p.pid(),
        ppid = p.ppid(),
        fdsize = fds.next_power_of_two().max(64),
        last_cpu = cpu_count() - 1,
        inh = creds.caps.inheritable,
        prm = creds.caps.permitted,
        eff = creds.caps.effective,
        bnd = crate::process::ALL_CAPS,
    )
}
