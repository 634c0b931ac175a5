//! `occlum run`: start the simulated enclave and run one program of the
//! built image in it; exit with the program's status.

use std::fmt;

use std::path::{Component, Path};

use anyhow::{anyhow, bail, Result};
use occlum_config::Config;
use occlum_config::FsType;
use occlum_libos::{
    BootConfig, BootError, DispatchMode, Errno, ExitStatus, FsSpec, MountSpec, Program,
};

use super::build::{image_file, image_layer, load_config};
use crate::instance::Instance;

/// A failure with a specific exit status (like a shell: 126 for a file that
/// cannot be executed, 127 for one that does not exist).
#[derive(Debug)]
pub struct RunFailure {
    /// The status `occlum run` exits with.
    pub exit_code: u8,
    message: String,
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunFailure {}

fn failure(exit_code: u8, message: String) -> anyhow::Error {
    RunFailure { exit_code, message }.into()
}

fn is_under(path: &str, entry_point: &str) -> bool {
    let ep = entry_point.trim_end_matches('/');
    ep.is_empty()
        || path == ep
        || path
            .strip_prefix(ep)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn environment(config: &Config) -> Vec<Vec<u8>> {
    let mut env: Vec<String> = config.env.default.clone();
    for name in &config.env.untrusted {
        if let Ok(value) = std::env::var(name) {
            let entry = format!("{name}={value}");
            match env.iter_mut().find(|e| e.split('=').next() == Some(name)) {
                Some(e) => *e = entry,
                None => env.push(entry),
            }
        }
    }
    env.into_iter().map(String::into_bytes).collect()
}

/// `OCCLUM_SUD_MODE`: `inclusive`, `exclusive` or `auto` (default). Exclusive
/// mode is what kernels before 6.17 offer; forcing it lets it be tested here.
fn dispatch_mode() -> Result<DispatchMode> {
    match std::env::var("OCCLUM_SUD_MODE").as_deref() {
        Err(_) | Ok("auto") => Ok(DispatchMode::Auto),
        Ok("inclusive") => Ok(DispatchMode::Inclusive),
        Ok("exclusive") => Ok(DispatchMode::Exclusive),
        Ok(other) => bail!("OCCLUM_SUD_MODE={other}: expected auto, inclusive or exclusive"),
    }
}

/// The LibOS's mounts from `Occlum.json`'s `mount` list: `/` first, then
/// the others in order. Host sources are relative to the instance.
///
/// For now the root is the integrity-protected image alone (read-only);
/// the encrypted writable layer joins it with the union file system.
fn mounts(config: &Config, inst: &Instance) -> Result<Vec<MountSpec>> {
    let mut config = config.clone();
    let layer = image_layer(&mut config).ok_or_else(|| {
        anyhow!("build/Occlum.json: field `mount`: no image layer; run `occlum build` again")
    })?;
    let mac = layer.options.mac.clone().unwrap_or_default();
    let root_hash = parse_hash(&mac).ok_or_else(|| {
        anyhow!("build/Occlum.json: field `MAC` of the image layer: \"{mac}\" is not a 64-digit hex root hash; run `occlum build` again")
    })?;
    let mut out = vec![MountSpec {
        target: "/".into(),
        fs: FsSpec::Image {
            file: image_file(inst, layer),
            root_hash,
        },
    }];
    for (i, m) in config.mount.iter().enumerate() {
        if m.target == "/" {
            continue;
        }
        let fs = match m.fs_type {
            FsType::HostFs => {
                let source = m.source.as_deref().unwrap_or(".");
                let dir = inst.dir().join(source);
                if !dir.is_dir() {
                    bail!(
                        "Occlum.json: field `mount[{i}].source`: `{source}` is not a directory of the instance"
                    );
                }
                FsSpec::HostFs {
                    source: dir,
                    read_only: false,
                }
            }
            FsType::RamFs | FsType::Sefs | FsType::UnionFs => FsSpec::RamFs,
            FsType::DevFs => FsSpec::DevFs,
            FsType::ProcFs => FsSpec::ProcFs,
        };
        out.push(MountSpec {
            target: m.target.clone(),
            fs,
        });
    }
    Ok(out)
}

/// Parses a 32-byte hash written as 64 hex digits.
fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Signal names for messages.
fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "signal",
    }
}

/// Runs `path` with `args`; returns the exit status for `occlum run`.
pub fn run(path: &str, args: &[String]) -> Result<u8> {
    let inst = Instance::current()?;
    if !inst.built_config_path().is_file() {
        bail!("the instance is not built (no build/ directory); run `occlum build` first");
    }
    let config = load_config(&inst.built_config_path())?;
    if !path.starts_with('/')
        || Path::new(path)
            .components()
            .any(|c| c == Component::ParentDir)
    {
        bail!("`{path}`: expected an absolute path without `..` inside the image, e.g. /bin/hello");
    }
    if !config.entry_points.iter().any(|ep| is_under(path, ep)) {
        bail!(
            "`{path}` is not under an entry point of Occlum.json (entry_points: {:?})",
            config.entry_points
        );
    }
    let boot = BootConfig {
        user_space_size: config.resource_limits.user_space_size.0 as usize,
        kernel_stack_size: config.resource_limits.kernel_space_stack_size.0 as usize,
        stack_size: config.process.default_stack_size.0 as usize,
        heap_size: config.process.default_heap_size.0 as usize,
        max_threads: config.resource_limits.max_num_of_threads as usize,
        dispatch_mode: dispatch_mode()?,
        mounts: mounts(&config, &inst)?,
        inject_panic_at_syscall: std::env::var("OCCLUM_TEST_INJECT_PANIC")
            .ok()
            .and_then(|v| v.parse().ok()),
    };
    let mut argv = vec![path.as_bytes().to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let program = Program {
        path: path.to_string(),
        argv,
        envp: environment(&config),
    };
    match occlum_libos::run(&boot, program) {
        Ok(ExitStatus::Exited(code)) => Ok(code),
        Ok(ExitStatus::Killed(sig)) => {
            // Like a shell, stay quiet about SIGPIPE: it is how pipelines end.
            if sig != 13 {
                eprintln!(
                "occlum run: {path}: terminated by signal {sig} ({})",
                signal_name(sig)
            );
            }
            Ok((128 + sig) as u8)
        }
        Ok(ExitStatus::LibosBug) => Err(failure(
            134,
            format!("{path}: ended by a LibOS bug (see the message above)"),
        )),
        Err(BootError::Load(e)) if matches!(e.errno, Errno::ENOENT | Errno::ENOTDIR) => Err(failure(
            127,
            format!("{path}: no such file in the image (did you run `occlum build` after adding it?)"),
        )),
        Err(BootError::Load(e)) => Err(failure(126, format!("{path}: {e}"))),
        Err(e) => Err(e.into()),
    }
}
