//! `/proc/sys`: the kernel settings programs read (limits of pids,
//! files, IPC, inotify, message queues; the kernel's names), read only.

/// Every file under `/proc/sys`, by path below it.
pub const FILES: &[&str] = &[
    "fs/file-max",
    "fs/inotify/max_queued_events",
    "fs/inotify/max_user_instances",
    "fs/inotify/max_user_watches",
    "fs/mqueue/msg_max",
    "fs/mqueue/msgsize_max",
    "fs/mqueue/queues_max",
    "fs/nr_open",
    "fs/pipe-max-size",
    "kernel/cap_last_cap",
    "kernel/hostname",
    "kernel/msgmax",
    "kernel/msgmnb",
    "kernel/msgmni",
    "kernel/ngroups_max",
    "kernel/osrelease",
    "kernel/ostype",
    "kernel/pid_max",
    "kernel/random/boot_id",
    "kernel/random/uuid",
    "kernel/sem",
    "kernel/shmall",
    "kernel/shmmax",
    "kernel/shmmni",
    "kernel/threads-max",
    "kernel/version",
    "net/core/somaxconn",
    "vm/max_map_count",
    "vm/overcommit_memory",
];

/// The directories under `/proc/sys` (`""` is `/proc/sys` itself).
pub fn is_dir(path: &str) -> bool {
    path.is_empty()
        || FILES
            .iter()
            .any(|f| f.starts_with(path) && f[path.len()..].starts_with('/'))
}

/// The names in directory `path`, each with its full path.
pub fn entries(path: &str) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for f in FILES {
        let rest = if path.is_empty() {
            Some(*f)
        } else {
            f.strip_prefix(path).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else { continue };
        let name = rest.split('/').next().unwrap_or(rest);
        let full_len = f.len() - rest.len() + name.len();
        let full: &'static str = &f[..full_len];
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), full));
        }
    }
    out
}

/// A random UUID in its text form.
fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = occlum_pal::host::getrandom(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// The contents of file `path`.
pub fn read(path: &str) -> Option<String> {
    static BOOT_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let v = match path {
        "fs/file-max" => "9223372036854775807".to_string(),
        "fs/inotify/max_queued_events" => "16384".into(),
        "fs/inotify/max_user_instances" => "128".into(),
        "fs/inotify/max_user_watches" => "65536".into(),
        "fs/mqueue/msg_max" => "10".into(),
        "fs/mqueue/msgsize_max" => "8192".into(),
        "fs/mqueue/queues_max" => "256".into(),
        "fs/nr_open" => "1048576".into(),
        "fs/pipe-max-size" => crate::fs::pipe::PIPE_MAX_SIZE.to_string(),
        "kernel/cap_last_cap" => crate::process::CAP_LAST_CAP.to_string(),
        "kernel/hostname" => crate::syscall::node_name(),
        "kernel/msgmax" => "8192".into(),
        "kernel/msgmnb" => "16384".into(),
        "kernel/msgmni" => "32000".into(),
        "kernel/ngroups_max" => crate::process::NGROUPS_MAX.to_string(),
        "kernel/osrelease" => "6.6.0".into(),
        "kernel/ostype" => "Linux".into(),
        "kernel/pid_max" => "4194304".into(),
        "kernel/random/boot_id" => BOOT_ID.get_or_init(uuid).clone(),
        "kernel/random/uuid" => uuid(),
        "kernel/sem" => "32000\t1024000000\t500\t32000".into(),
        "kernel/shmall" => "18446744073692774399".into(),
        "kernel/shmmax" => "18446744073692774399".into(),
        "kernel/shmmni" => "4096".into(),
        "kernel/threads-max" => crate::boot::config().max_threads.to_string(),
        "kernel/version" => "#1 SMP Occlum LibOS".into(),
        "net/core/somaxconn" => "4096".into(),
        "vm/max_map_count" => "65530".into(),
        "vm/overcommit_memory" => "0".into(),
        _ => return None,
    };
    Some(v + "\n")
}
