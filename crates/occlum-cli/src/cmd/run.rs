//! `occlum run`: start the simulated enclave and run one program of the
//! built image in it; exit with the program's status.

use std::fmt;

use std::path::{Component, Path};

use anyhow::{anyhow, bail, Context, Result};
use occlum_config::Config;
use occlum_config::FsType;
use occlum_libos::keys;
use occlum_libos::{
    BootConfig, BootError, DispatchMode, Errno, ExitStatus, FsSpec, MountSpec, Program,
};

use super::build::{config_changed_since_build, image_file, image_key_path, image_layer, key_id};
use crate::enclave::{self, unhex, SignedEnclave};
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

pub(crate) fn failure(exit_code: u8, message: String) -> anyhow::Error {
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

fn environment(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Vec<Vec<u8>> {
    let mut env: Vec<String> = config.env.default.clone();
    for name in &config.env.untrusted {
        if let Some(value) = lookup(name) {
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

/// `OCCLUM_FASTPATH`: `1` (default) rewrites trapped syscall sites into
/// direct calls of the LibOS; `0` traps every syscall.
fn direct_syscalls() -> Result<bool> {
    match std::env::var("OCCLUM_FASTPATH").as_deref() {
        Err(_) | Ok("1") => Ok(true),
        Ok("0") => Ok(false),
        Ok(other) => bail!("OCCLUM_FASTPATH={other}: expected 0 or 1"),
    }
}

/// `OCCLUM_CPUID`: `1` (default) serves user code's `cpuid` in the LibOS,
/// from the CPU's answers, and rewrites its sites into direct calls (with
/// the direct entry on); `0` lets it run on the CPU.
fn emulate_cpuid() -> Result<bool> {
    match std::env::var("OCCLUM_CPUID").as_deref() {
        Err(_) | Ok("1") => Ok(true),
        Ok("0") => Ok(false),
        Ok(other) => bail!("OCCLUM_CPUID={other}: expected 0 or 1"),
    }
}

/// The built instance, checked: its configuration, the image's root hash,
/// the image key if it was built with one, and the signed identity.
pub struct Identity {
    /// The configuration it runs with (`build/Occlum.json`).
    pub config: Config,
    /// The image's root hash.
    pub root_hash: [u8; 32],
    /// The `--image-key` it was built with.
    pub image_key: Option<Vec<u8>>,
    /// The verified signature.
    pub signed: SignedEnclave,
}

/// Loads the built instance and checks that it is what `occlum build`
/// signed: same LibOS, same configuration, same image (and that
/// `Occlum.json` did not change since).
pub fn verified_identity(inst: &Instance) -> Result<Identity> {
    let built = inst.built_config_path();
    if !built.is_file() {
        bail!("the instance is not built (no build/Occlum.json); run `occlum build` first");
    }
    if config_changed_since_build(inst) {
        bail!("Occlum.json changed after the last `occlum build`; run `occlum build` again");
    }
    // One read: what is measured is what runs.
    let text = std::fs::read(&built)?;
    let mut config = Config::from_json_str_named(
        std::str::from_utf8(&text).map_err(|_| anyhow!("build/Occlum.json: not UTF-8 text"))?,
        "build/Occlum.json",
    )
    .map_err(|e| anyhow!("{e}"))?;
    let layer = image_layer(&mut config).ok_or_else(|| {
        anyhow!("build/Occlum.json: field `mount`: no image layer; run `occlum build` again")
    })?;
    let image = image_file(inst, layer);
    let mac = layer.options.mac.clone().unwrap_or_default();
    let root_hash: [u8; 32] = unhex(&mac)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            anyhow!("build/Occlum.json: field `MAC` of the image layer: \"{mac}\" is not a 64-digit hex root hash; run `occlum build` again")
        })?;
    let key_path = image_key_path(inst);
    let image_key = match std::fs::read_to_string(&key_path) {
        Ok(t) => Some(unhex(t.trim()).ok_or_else(|| {
            anyhow!(
                "{}: not a key written by `occlum build`; run `occlum build` again",
                key_path.display()
            )
        })?),
        Err(_) => None,
    };
    let key_id = image_key.as_deref().map(key_id).unwrap_or_default();
    let signed = enclave::verify(inst, &text, &[root_hash.to_vec(), key_id].concat())?;
    check_image_once(inst, image, &root_hash)?;
    Ok(Identity {
        config,
        root_hash,
        image_key,
        signed,
    })
}

/// The LibOS's mounts from `Occlum.json`'s `mount` list: `/` first, then
/// the others in order. Host sources are relative to the instance. The root
/// is the union of the integrity-protected image and the encrypted writable
/// layer, whose key is the sealing key of the enclave's signer, or the
/// `--image-key` the instance was built with.
/// Reads the whole image once for each copy of it (a new file, or one
/// written since: its inode or change time differ from the stamp in
/// `run/`) and checks every block against the signed root hash, so that a
/// changed byte anywhere is refused before anything runs, not only when a
/// program reads it. Unchanged images are not read again.
fn check_image_once(inst: &Instance, file: std::path::PathBuf, root_hash: &[u8; 32]) -> Result<()> {
    if image_known_good(inst, &file, root_hash) {
        return Ok(());
    }
    let dev = std::fs::File::open(&file)
        .with_context(|| format!("{}: cannot open the image", file.display()))?;
    let refused = |e: occlum_image::ImageError| {
        anyhow!(
            "{}: the image was changed after `occlum build` signed it ({e}); run `occlum build` again, or unpack the package again",
            file.display()
        )
    };
    let image = occlum_image::Image::open(std::sync::Arc::new(dev), *root_hash).map_err(refused)?;
    image.verify_all().map_err(refused)?;
    record_image_checked(inst, &file, root_hash);
    Ok(())
}

/// What identifies one copy of the image file in a given state: device,
/// inode, size, change time, and the root hash it was checked against.
fn image_stamp(file: &Path, root_hash: &[u8; 32]) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).with_context(|| {
        format!(
            "{}: cannot read the image; run `occlum build`",
            file.display()
        )
    })?;
    let hash: String = root_hash.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{} {} {} {} {hash}\n",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
    ))
}

/// Whether the image `file` is the copy last recorded as matching
/// `root_hash` (unchanged since).
pub fn image_known_good(inst: &Instance, file: &Path, root_hash: &[u8; 32]) -> bool {
    image_stamp(file, root_hash).is_ok_and(|stamp| {
        std::fs::read_to_string(inst.dir().join("run/image.verified")).is_ok_and(|s| s == stamp)
    })
}

/// Records that the image `file` is known to match `root_hash` (checked in
/// full, or just made by `occlum build`). Best effort: an instance whose
/// `run/` cannot be written checks its image at every start.
pub fn record_image_checked(inst: &Instance, file: &Path, root_hash: &[u8; 32]) {
    if let Ok(stamp) = image_stamp(file, root_hash) {
        let _ = std::fs::create_dir_all(inst.dir().join("run"));
        let _ = std::fs::write(inst.dir().join("run/image.verified"), stamp);
    }
}

fn mounts(id: &Identity, inst: &Instance) -> Result<Vec<MountSpec>> {
    let mut config = id.config.clone();
    let key = match &id.image_key {
        Some(k) => keys::image_key(k),
        None => {
            let mrsigner: [u8; 32] = unhex(&id.signed.mrsigner)
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| {
                    anyhow!("build/enclave.sig.json: bad mrsigner; run `occlum build`")
                })?;
            keys::sealing_key(&mrsigner, id.signed.product_id)
        }
    };
    let layer = image_layer(&mut config).ok_or_else(|| {
        anyhow!("build/Occlum.json: field `mount`: no image layer; run `occlum build` again")
    })?;
    let image = FsSpec::Image {
        file: image_file(inst, layer),
        root_hash: id.root_hash,
    };
    let writable = writable_layer(&config).map(|(source, temporary)| match temporary {
        true => FsSpec::RamFs { size: None },
        false => FsSpec::Sefs {
            file: inst
                .dir()
                .join(source.trim_start_matches("./"))
                .join("sefs.img"),
            key: key.clone(),
        },
    });
    let root = match writable {
        Some(upper) => FsSpec::Union {
            lower: Box::new(image),
            upper: Box::new(upper),
        },
        None => image,
    };
    let mut out = vec![MountSpec {
        target: "/".into(),
        fs: root,
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
            FsType::RamFs => FsSpec::RamFs {
                size: m.options.size.map(|s| s.0),
            },
            FsType::Sefs if m.options.temporary => FsSpec::RamFs { size: None },
            FsType::Sefs => FsSpec::Sefs {
                file: inst
                    .dir()
                    .join(
                        m.source
                            .as_deref()
                            .unwrap_or("run/mount/sefs")
                            .trim_start_matches("./"),
                    )
                    .join("sefs.img"),
                key: key.clone(),
            },
            FsType::UnionFs => bail!(
                "Occlum.json: field `mount[{i}].type`: \"unionfs\" is supported only at `/` for now"
            ),
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

/// The root union's writable layer (the layer without a `MAC` option): its
/// source, and whether it is `temporary` (kept in memory only).
fn writable_layer(config: &Config) -> Option<(String, bool)> {
    let root = config.mount.iter().find(|m| m.target == "/")?;
    root.options
        .layers
        .as_ref()?
        .iter()
        .find(|l| l.fs_type == FsType::Sefs && l.options.mac.is_none())
        .map(|l| {
            let source = l
                .source
                .clone()
                .unwrap_or_else(|| "run/mount/__ROOT".into());
            (source, l.options.temporary)
        })
}

/// Signal names for messages.
pub(crate) fn signal_name(sig: i32) -> &'static str {
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

/// Checks that `path` may be run: absolute, inside the image, under an
/// entry point.
pub fn check_program_path(config: &Config, path: &str) -> Result<()> {
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
    Ok(())
}

/// How the LibOS is to run for this instance.
pub fn boot_config(inst: &Instance, id: &Identity) -> Result<BootConfig> {
    let config = &id.config;
    Ok(BootConfig {
        // Address space is cheap in the simulated enclave: reserve the most
        // the user space may grow to (EDMM's limit) from the start.
        user_space_size: config.resource_limits.effective_user_space_max().0 as usize,
        kernel_stack_size: config.resource_limits.kernel_space_stack_size.0 as usize,
        kernel_heap_size: config.resource_limits.effective_kernel_heap_max().0,
        stack_size: config.process.default_stack_size.0 as usize,
        heap_size: config.process.default_heap_size.0 as usize,
        max_threads: config.resource_limits.max_num_of_threads as usize,
        dispatch_mode: dispatch_mode()?,
        direct_syscalls: direct_syscalls()?,
        emulate_cpuid: emulate_cpuid()?,
        mounts: mounts(id, inst)?,
        inherited: occlum_libos::inherited_state(),
        sgx: Some(sgx_config(id)?),
        kms: id.config.kms.as_ref().map(kms_boot).transpose()?,
        inject_panic: std::env::var("OCCLUM_TEST_INJECT_PANIC")
            .ok()
            .and_then(|v| v.parse().ok()),
    })
}

/// `Occlum.json`'s `kms`, with the broker's address resolved here (the
/// answer is not trusted: the broker is pinned by its key).
fn kms_boot(k: &occlum_config::KmsConfig) -> Result<occlum_libos::kms::KmsBoot> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = k
        .address
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "Occlum.json: field `kms.address`: cannot resolve {:?}",
                k.address
            )
        })?
        .collect();
    let pin: [u8; 32] = unhex(&k.server_key_sha256)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            anyhow!("Occlum.json: field `kms.server_key_sha256`: expected 64 hex digits")
        })?;
    Ok(occlum_libos::kms::KmsBoot {
        address: k.address.clone(),
        addrs,
        server_key_sha256: pin,
        root_key: k.root_key.clone(),
        files: k.files.clone(),
        env: k.env.iter().map(|(v, n)| (v.clone(), n.clone())).collect(),
    })
}

/// The enclave as SGX would report it (identity from the signature,
/// attributes from `metadata`), on this user's simulated SGX platform.
fn sgx_config(id: &Identity) -> Result<occlum_libos::attest::SgxConfig> {
    let digest = |hex: &str, what: &str| -> Result<[u8; 32]> {
        unhex(hex)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| anyhow!("build/enclave.sig.json: bad {what}; run `occlum build`"))
    };
    let meta = &id.config.metadata;
    let enclave = occlum_attest::Enclave::new(
        digest(&id.signed.mrenclave, "mrenclave")?,
        digest(&id.signed.mrsigner, "mrsigner")?,
        meta.product_id as u16,
        meta.version_number as u16,
        meta.debuggable,
    );
    let platform = occlum_libos::attest::PlatformSource::new(|| {
        let dir = occlum_attest::default_dir()
            .ok_or_else(|| occlum_attest::PlatformError::NoDirectory.to_string())?;
        occlum_attest::Platform::open_or_create(&dir).map_err(|e| e.to_string())
    });
    Ok(occlum_libos::attest::SgxConfig { enclave, platform })
}

/// The program `path` with `args` and the environment of `occlum run`
/// (`env.default`, then the `env.untrusted` names found by `lookup`).
pub fn program(
    config: &Config,
    path: &str,
    args: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Program {
    let mut argv = vec![path.as_bytes().to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    Program {
        path: path.to_string(),
        argv,
        envp: environment(config, lookup),
    }
}

/// What a program's end means for `occlum run` and `occlum exec`: their
/// exit status, or a failure to report.
pub fn outcome(what: &str, path: &str, r: Result<ExitStatus, BootError>) -> Result<u8> {
    match r {
        Ok(ExitStatus::Exited(code)) => Ok(code),
        Ok(ExitStatus::Killed(sig)) => {
            // Like a shell, stay quiet about SIGPIPE: it is how pipelines end.
            if sig != 13 {
                eprintln!(
                    "occlum {what}: {path}: terminated by signal {sig} ({})",
                    signal_name(sig)
                );
            }
            Ok((128 + sig) as u8)
        }
        Ok(ExitStatus::LibosBug) => Err(failure(
            134,
            format!("{path}: ended by a LibOS bug (see the message above)"),
        )),
        Err(e) => Err(start_failure(path, e)),
    }
}

/// A program that could not start, as `occlum run` and `occlum exec` say it:
/// 127 for a missing file, 126 for one that cannot run.
pub fn start_failure(path: &str, e: BootError) -> anyhow::Error {
    match e {
        BootError::Load(e) if matches!(e.errno, Errno::ENOENT | Errno::ENOTDIR) => failure(
            127,
            format!("{path}: no such file in the image, or the ELF interpreter it needs is not there (`occlum add` copies a program with its libraries; then `occlum build`)"),
        ),
        BootError::Load(e) => failure(126, format!("{path}: {e}")),
        e => e.into(),
    }
}

/// Runs `path` with `args`; returns the exit status for `occlum run`.
pub fn run(path: &str, args: &[String]) -> Result<u8> {
    let inst = Instance::current()?;
    if crate::service::connect(&inst).is_ok() {
        bail!("the instance's enclave is running (`occlum start`): run programs in it with `occlum exec`, or end it with `occlum stop` first");
    }
    let id = verified_identity(&inst)?;
    check_program_path(&id.config, path)?;
    let boot = boot_config(&inst, &id)?;
    let program = program(&id.config, path, args, |n| std::env::var(n).ok());
    outcome("run", path, occlum_libos::run(&boot, program))
}
