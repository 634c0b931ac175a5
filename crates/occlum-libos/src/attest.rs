//! SGX attestation for the programs inside: the enclave's identity, and the
//! platform that makes its reports, keys and quotes (`/dev/sgx`,
//! `/dev/attestation`). The platform comes from a source the runtime
//! gives at boot (the simulated platform of `occlum-attest` here; the CPU
//! and Intel's quoting enclave on hardware) and is opened on first use, so
//! that programs that never attest do not pay for it.

use std::fmt;
use std::sync::{Arc, OnceLock};

pub use occlum_attest::sgx::{KeyRequest, Report, TargetInfo};
pub use occlum_attest::{Enclave, Platform};

use crate::{Errno, Result};

/// Opens the platform (once, on first use).
#[derive(Clone)]
pub struct PlatformSource(Arc<dyn Fn() -> std::result::Result<Platform, String> + Send + Sync>);

impl PlatformSource {
    /// A source that calls `open`.
    pub fn new(
        open: impl Fn() -> std::result::Result<Platform, String> + Send + Sync + 'static,
    ) -> Self {
        PlatformSource(Arc::new(open))
    }
}

impl fmt::Debug for PlatformSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlatformSource(..)")
    }
}

/// What the LibOS attests to, and with what.
#[derive(Clone, Debug)]
pub struct SgxConfig {
    /// The enclave's identity, as signed by `occlum build`.
    pub enclave: Enclave,
    /// The platform.
    pub platform: PlatformSource,
}

static CONFIG: OnceLock<SgxConfig> = OnceLock::new();
static PLATFORM: OnceLock<std::result::Result<Platform, String>> = OnceLock::new();

/// Sets the enclave and platform (at boot; once).
pub(crate) fn init(cfg: Option<SgxConfig>) {
    if let Some(cfg) = cfg {
        let _ = CONFIG.set(cfg);
    }
}

/// This enclave's identity; `ENODEV` if the LibOS runs without one.
pub fn enclave() -> Result<&'static Enclave> {
    CONFIG.get().map(|c| &c.enclave).ok_or(Errno::ENODEV)
}

/// The platform; `EIO` (logged once) if it cannot be opened.
pub fn platform() -> Result<&'static Platform> {
    let cfg = CONFIG.get().ok_or(Errno::ENODEV)?;
    let p = PLATFORM.get_or_init(|| {
        let p = (cfg.platform.0)();
        if let Err(e) = &p {
            tracing::error!("SGX attestation is not available: {e}");
        }
        p
    });
    p.as_ref().map_err(|_| Errno::EIO)
}

/// A report of this enclave for `target` with `report_data`.
pub fn report(target: &TargetInfo, report_data: &[u8; 64]) -> Result<Report> {
    Ok(platform()?.report(enclave()?, target, report_data))
}

/// A DCAP quote of this enclave with `report_data`.
pub fn quote(report_data: &[u8; 64]) -> Result<Vec<u8>> {
    let p = platform()?;
    let r = p.report(enclave()?, &p.qe_target_info(), report_data);
    p.quote(&r).map_err(|_| Errno::EIO)
}

/// What a process set in `/dev/attestation` for its next report.
#[derive(Clone, Debug)]
pub struct ReportInputs {
    /// `user_report_data`.
    pub user_report_data: [u8; 64],
    /// `target_info` (`None`: this enclave itself).
    pub target_info: Option<[u8; TargetInfo::SIZE]>,
}

impl Default for ReportInputs {
    fn default() -> Self {
        ReportInputs {
            user_report_data: [0; 64],
            target_info: None,
        }
    }
}
