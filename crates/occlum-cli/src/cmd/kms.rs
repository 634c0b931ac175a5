//! `occlum kms serve`: the key broker on the host, which releases secrets
//! to enclaves that attest over RA-TLS and match a policy.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

/// What `occlum kms serve` was given.
pub struct Serve<'a> {
    /// `--listen`.
    pub listen: &'a str,
    /// `--policy`.
    pub policy: &'a Path,
    /// `--secret NAME=FILE`, each.
    pub secrets: &'a [String],
    /// `--tls-key`.
    pub tls_key: &'a Path,
    /// `--root`.
    pub root: Option<&'a Path>,
}

/// The broker's TLS key from `path`, made there (mode 0600) if missing.
fn tls_key(path: &Path) -> Result<SigningKey> {
    match std::fs::read_to_string(path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
            anyhow!(
                "--tls-key {}: expected an ECDSA P-256 private key in PEM (PKCS#8)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::OpenOptionsExt;
            let key = SigningKey::random(&mut rand_core::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| anyhow!("cannot encode the key: {e}"))?;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .and_then(|mut f| f.write_all(pem.as_bytes()))
                .with_context(|| format!("--tls-key {}: cannot write it", path.display()))?;
            eprintln!(
                "occlum kms: made a new TLS key in {} (keep it: enclaves pin it)",
                path.display()
            );
            Ok(key)
        }
        Err(e) => Err(anyhow!("--tls-key {}: cannot read it: {e}", path.display())),
    }
}

fn secrets(specs: &[String]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--secret {spec:?}: expected NAME=FILE"))?;
        if !occlum_config::valid_secret_name(name) {
            bail!("--secret {spec:?}: {name:?} is not a secret name, expected letters, digits, '_', '-' or '.'");
        }
        let value = std::fs::read(file)
            .with_context(|| format!("--secret {spec:?}: cannot read {file}"))?;
        if out.insert(name.to_string(), value).is_some() {
            bail!("--secret {spec:?}: {name:?} is given twice");
        }
    }
    Ok(out)
}

/// Serves until killed. Prints the address it listens on and the SHA-256
/// of its TLS key (for `Occlum.json`'s `kms`), then one line per
/// connection on stderr.
pub fn serve(s: &Serve<'_>) -> Result<u8> {
    let key = tls_key(s.tls_key)?;
    let secrets = secrets(s.secrets)?;
    let roots = match s.root {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("--root {}: cannot read it", path.display()))?;
            occlum_attest::pki::ders(&pem).map_err(|e| anyhow!("--root {}: {e}", path.display()))?
        }
        None => {
            let dir = occlum_attest::default_dir()
                .ok_or_else(|| anyhow!("{}", occlum_attest::PlatformError::NoDirectory))?;
            vec![occlum_attest::Platform::open_or_create(&dir)?
                .root_der()
                .to_vec()]
        }
    };
    let broker = occlum_kms::Broker::new(&key, PathBuf::from(s.policy), roots, secrets)
        .map_err(|e| anyhow!("{e}"))?;
    let listener = std::net::TcpListener::bind(s.listen)
        .with_context(|| format!("--listen {}: cannot listen there", s.listen))?;
    let pin: String = occlum_kms::ratls::public_key_sha256(&key)
        .map_err(|e| anyhow!("{e}"))?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("listening on {}", listener.local_addr()?);
    println!("server_key_sha256 {pin}");
    std::io::stdout().flush()?;
    eprintln!(
        "occlum kms: the quotes it accepts come from a simulated SGX platform: they prove nothing about hardware"
    );
    let e = broker.serve(listener, |line| eprintln!("occlum kms: {line}"));
    Err(anyhow!("accepting connections: {e}"))
}
