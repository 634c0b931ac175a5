//! The init stage of `Occlum.json`'s `kms`: before the file systems are
//! mounted, the LibOS attests to the key broker over RA-TLS (`occlum-kms`)
//! and receives its secrets: the encrypted root's key (without which the
//! root stays locked and nothing runs), files for `/run/secrets` (an
//! in-memory file system) and environment variables for every program.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use occlum_pal::host_net::{HostSocket, SockKind};

use crate::fs::mounts::{FsSpec, MountSpec};
use crate::fs::ramfs::RamFs;
use crate::fs::vfs;
use crate::fs::FileType;
use crate::Errno;

/// `EINPROGRESS`: a non-blocking connect under way.
const EINPROGRESS: i32 = 115;
/// How long the broker may take to answer a connection or a read.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What `Occlum.json`'s `kms` asks for, with the broker's address resolved.
#[derive(Clone, Debug)]
pub struct KmsBoot {
    /// `kms.address`, as `HOST:PORT` (for messages).
    pub address: String,
    /// Its socket addresses, tried in order.
    pub addrs: Vec<SocketAddr>,
    /// SHA-256 of the broker's TLS public key.
    pub server_key_sha256: [u8; 32],
    /// The secret that keys the encrypted file systems.
    pub root_key: Option<String>,
    /// Secrets for `/run/secrets`.
    pub files: Vec<String>,
    /// Environment variables set to secrets (variable, secret).
    pub env: Vec<(String, String)>,
}

/// `NAME=value` entries every program gets.
static ENV: OnceLock<Vec<Vec<u8>>> = OnceLock::new();

/// A blocking byte stream over a non-blocking host socket.
struct HostStream(HostSocket);

impl HostStream {
    fn connect(addr: &SocketAddr) -> Result<HostStream, Errno> {
        let s = HostSocket::new(addr.is_ipv6(), SockKind::Stream, 0)?;
        match s.connect(addr) {
            Ok(()) => {}
            Err(e) if e.0 == EINPROGRESS => {
                if !s.wait(true, Some(TIMEOUT))? {
                    return Err(Errno::ETIMEDOUT);
                }
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        Ok(HostStream(s))
    }
}

fn io_error(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.0)
}

impl Read for HostStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.recv(buf, 0) {
                Ok(r) => return Ok(r.len),
                Err(Errno::EAGAIN) => {
                    if !self.0.wait(false, Some(TIMEOUT)).map_err(io_error)? {
                        return Err(io_error(Errno::ETIMEDOUT));
                    }
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }
}

impl Write for HostStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.0.send(buf, 0, None) {
                Ok(n) => return Ok(n),
                Err(Errno::EAGAIN) => {
                    if !self.0.wait(true, Some(TIMEOUT)).map_err(io_error)? {
                        return Err(io_error(Errno::ETIMEDOUT));
                    }
                }
                Err(Errno::EINTR) => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Attests to the broker and gets the secrets; checks that every one the
/// configuration names was released.
pub(crate) fn fetch(cfg: &KmsBoot) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let me = occlum_kms::ratls::attested_identity(|report_data| {
        crate::attest::quote(report_data)
            .map_err(|e| format!("cannot make a quote of this enclave: {e}"))
    })?;
    let mut last = String::from("no address");
    let mut secrets = None;
    for addr in &cfg.addrs {
        match HostStream::connect(addr) {
            Ok(s) => {
                secrets = Some(occlum_kms::fetch(s, cfg.server_key_sha256, &me)?);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let secrets = secrets.ok_or(last)?;
    let wanted = cfg
        .root_key
        .iter()
        .chain(&cfg.files)
        .chain(cfg.env.iter().map(|(_, n)| n));
    for name in wanted {
        if !secrets.contains_key(name) {
            return Err(format!(
                "the key broker did not release the secret {name:?}"
            ));
        }
    }
    Ok(secrets)
}

/// `mounts` with every encrypted file system keyed by `secret`.
pub(crate) fn with_root_key(mounts: &[MountSpec], secret: &[u8]) -> Vec<MountSpec> {
    fn rekey(fs: &FsSpec, key: &crate::keys::Key) -> FsSpec {
        match fs {
            FsSpec::Sefs { file, .. } => FsSpec::Sefs {
                file: file.clone(),
                key: key.clone(),
            },
            FsSpec::Union { lower, upper } => FsSpec::Union {
                lower: Box::new(rekey(lower, key)),
                upper: Box::new(rekey(upper, key)),
            },
            other => other.clone(),
        }
    }
    let key = crate::keys::image_key(secret);
    mounts
        .iter()
        .map(|m| MountSpec {
            target: m.target.clone(),
            fs: rekey(&m.fs, &key),
        })
        .collect()
}

/// Puts the configured secrets into `/run/secrets` (an in-memory file
/// system mounted there; the directories are made if missing) and keeps
/// the environment entries for [`with_secret_env`].
pub(crate) fn install(cfg: &KmsBoot, secrets: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    let _ = ENV.set(
        cfg.env
            .iter()
            .map(|(var, name)| [var.as_bytes(), b"=", &secrets[name]].concat())
            .collect(),
    );
    if cfg.files.is_empty() {
        return Ok(());
    }
    let fail = |what: &str, e: Errno| format!("/run/secrets: {what}: {e}");
    let root = vfs::root().map_err(|e| fail("the root file system", e))?;
    let mut dir = root.inode().clone();
    for name in [&b"run"[..], b"secrets"] {
        dir = match dir.lookup(name) {
            Ok(d) => d,
            Err(Errno::ENOENT) => dir
                .create(name, FileType::Directory, 0o755, 0)
                .map_err(|e| fail("making the directory", e))?,
            Err(e) => return Err(fail("looking it up", e)),
        };
    }
    let store: Arc<RamFs> = RamFs::new(0o755);
    for name in &cfg.files {
        let f = vfs::FileSystem::root(store.as_ref())
            .create(name.as_bytes(), FileType::Regular, 0o400, 0)
            .map_err(|e| fail(name, e))?;
        f.write_at(0, &secrets[name]).map_err(|e| fail(name, e))?;
    }
    let at = vfs::resolve(&root, b"/run/secrets", true).map_err(|e| fail("mount point", e))?;
    vfs::mount(&at, store, "ramfs").map_err(|e| fail("mounting", e))
}

/// `envp` with the secrets' environment entries (replacing those of the
/// same names).
pub(crate) fn with_secret_env(envp: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let Some(extra) = ENV.get().filter(|e| !e.is_empty()) else {
        return envp.to_vec();
    };
    let name = |e: &[u8]| e.split(|&b| b == b'=').next().unwrap_or_default().to_vec();
    let names: Vec<Vec<u8>> = extra.iter().map(|e| name(e)).collect();
    envp.iter()
        .filter(|e| !names.contains(&name(e)))
        .chain(extra)
        .cloned()
        .collect()
}
