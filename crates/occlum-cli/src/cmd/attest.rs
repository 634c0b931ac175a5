//! `occlum attest`: checking quotes made inside an enclave (`verify`), and
//! the root certificate a verifier trusts (`root`).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use occlum_attest::{quote, Platform};
use serde::Serialize;

use crate::enclave::unhex;

/// What `verify` prints.
#[derive(Serialize)]
struct Identity {
    verified: bool,
    simulated: bool,
    note: &'static str,
    mrenclave: String,
    mrsigner: String,
    isv_prod_id: u16,
    isv_svn: u16,
    debug: bool,
    report_data: String,
    qe_svn: u16,
    pce_svn: u16,
}

const NOTE: &str = "made on a simulated SGX platform: this proves nothing about hardware";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// This user's simulated platform (made if there is none yet).
fn platform() -> Result<Platform> {
    let dir = occlum_attest::default_dir()
        .ok_or_else(|| anyhow!("{}", occlum_attest::PlatformError::NoDirectory))?;
    Ok(Platform::open_or_create(&dir)?)
}

/// `occlum attest root`: this platform's root CA certificate (PEM).
pub fn root() -> Result<u8> {
    print!("{}", platform()?.root_pem());
    Ok(0)
}

/// What a quote must say besides verifying.
pub struct Expected<'a> {
    /// `--mrenclave`.
    pub mrenclave: Option<&'a str>,
    /// `--mrsigner`.
    pub mrsigner: Option<&'a str>,
    /// `--report-data` (at most 64 bytes; the rest must be zero).
    pub report_data: Option<&'a str>,
}

fn expected_bytes(flag: &str, hex_value: &str, len: usize) -> Result<Vec<u8>> {
    let v = unhex(hex_value.trim_start_matches("0x"))
        .filter(|v| v.len() <= len)
        .ok_or_else(|| anyhow!("{flag} {hex_value:?}: expected at most {len} bytes in hex"))?;
    Ok(v)
}

/// `occlum attest verify QUOTE`: checks the quote up to the root (`--root
/// FILE`, else this machine's simulated platform's) and what it says;
/// prints the identity as JSON. Exit status 0 if it verifies and matches,
/// 1 otherwise.
pub fn verify(file: &Path, root: Option<&Path>, expected: &Expected<'_>) -> Result<u8> {
    let q = std::fs::read(file).with_context(|| format!("{}: cannot read it", file.display()))?;
    let roots = match root {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("--root {}: cannot read it", path.display()))?;
            let ders = occlum_attest::pki::ders(&pem)
                .map_err(|e| anyhow!("--root {}: {e}", path.display()))?;
            if ders.is_empty() {
                bail!("--root {}: no certificate in it", path.display());
            }
            ders
        }
        None => vec![platform()?.root_der().to_vec()],
    };
    let v = quote::verify(
        &q,
        &roots,
        &occlum_attest::quoting_enclave_identity(),
        std::time::SystemTime::now(),
    )
    .map_err(|e| anyhow!("{}: refused: {e}", file.display()))?;
    let b = &v.body;
    let checks: [(&str, Option<&str>, &[u8], usize); 3] = [
        ("--mrenclave", expected.mrenclave, &b.mr_enclave, 32),
        ("--mrsigner", expected.mrsigner, &b.mr_signer, 32),
        ("--report-data", expected.report_data, &b.report_data, 64),
    ];
    for (flag, want, got, len) in checks {
        if let Some(want) = want {
            let mut w = expected_bytes(flag, want, len)?;
            if flag != "--report-data" && w.len() != len {
                bail!("{flag} {want:?}: expected {len} bytes in hex");
            }
            w.resize(len, 0);
            if w != got {
                bail!(
                    "{}: refused: the quote says {} {}, not {}",
                    file.display(),
                    &flag[2..],
                    hex(got),
                    hex(&w)
                );
            }
        }
    }
    let out = Identity {
        verified: true,
        simulated: true,
        note: NOTE,
        mrenclave: hex(&b.mr_enclave),
        mrsigner: hex(&b.mr_signer),
        isv_prod_id: b.isv_prod_id,
        isv_svn: b.isv_svn,
        debug: b.debug(),
        report_data: hex(&b.report_data),
        qe_svn: v.qe_svn,
        pce_svn: v.pce_svn,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}
