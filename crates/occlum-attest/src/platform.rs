//! The simulated SGX platform: the secrets a CPU and Intel's provisioning
//! would give one machine, kept in one file under the user's data
//! directory (created on first use, never inside an instance), and the
//! instructions and enclaves built on them: EREPORT, EGETKEY and the
//! quoting enclave.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aes::Aes128;
use cmac::{Cmac, Mac};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::pki;
use crate::quote::{self, QeIdentity, QuoteError, QuoteParts, Verified};
use crate::sgx::{
    Attributes, KeyName, KeyRequest, Report, ReportBody, TargetInfo, FLAGS_DEBUG, FLAGS_INITTED,
    FLAGS_MODE64BIT, FLAGS_PROVISION_KEY, KEYPOLICY_CONFIGID, KEYPOLICY_ISVEXTPRODID,
    KEYPOLICY_ISVFAMILYID, KEYPOLICY_MRENCLAVE, KEYPOLICY_MRSIGNER, KEYPOLICY_NOISVPRODID,
    XFRM_LEGACY,
};

/// The file that holds a platform, in its directory.
const FILE: &str = "platform.json";
/// The simulated quoting enclave's ISVSVN.
const QE_SVN: u16 = 8;
/// The simulated provisioning enclave's ISVSVN.
const PCE_SVN: u16 = 13;

/// An enclave as the CPU knows it: what goes into its reports and keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enclave {
    /// MRENCLAVE.
    pub mr_enclave: [u8; 32],
    /// MRSIGNER.
    pub mr_signer: [u8; 32],
    /// Attributes (DEBUG for a debuggable enclave).
    pub attributes: Attributes,
    /// ISVPRODID.
    pub isv_prod_id: u16,
    /// ISVSVN.
    pub isv_svn: u16,
    /// ISVFAMILYID.
    pub isv_family_id: [u8; 16],
    /// ISVEXTPRODID.
    pub isv_ext_prod_id: [u8; 16],
}

impl Enclave {
    /// An enclave with this identity, as `occlum build` signs it.
    pub fn new(
        mr_enclave: [u8; 32],
        mr_signer: [u8; 32],
        isv_prod_id: u16,
        isv_svn: u16,
        debug: bool,
    ) -> Enclave {
        Enclave {
            mr_enclave,
            mr_signer,
            attributes: Attributes {
                flags: FLAGS_INITTED | FLAGS_MODE64BIT | if debug { FLAGS_DEBUG } else { 0 },
                xfrm: XFRM_LEGACY,
            },
            isv_prod_id,
            isv_svn,
            isv_family_id: [0; 16],
            isv_ext_prod_id: [0; 16],
        }
    }

    /// Its target info (what `SELF_TARGET` returns).
    pub fn target_info(&self) -> TargetInfo {
        TargetInfo {
            mr_enclave: self.mr_enclave,
            attributes: self.attributes,
            config_svn: 0,
            misc_select: 0,
            config_id: [0; 64],
        }
    }
}

/// The simulated quoting enclave: a fixed identity of this project's.
pub fn quoting_enclave() -> Enclave {
    let mut qe = Enclave::new(
        Sha256::digest(b"occlum-rs simulated quoting enclave v1").into(),
        Sha256::digest(b"occlum-rs simulated quoting enclave signer").into(),
        1,
        QE_SVN,
        false,
    );
    qe.attributes.flags |= FLAGS_PROVISION_KEY;
    qe
}

/// What a verifier requires of the quoting enclave that made a quote.
pub fn quoting_enclave_identity() -> QeIdentity {
    let qe = quoting_enclave();
    QeIdentity {
        mr_signer: qe.mr_signer,
        isv_prod_id: qe.isv_prod_id,
    }
}

/// Why EGETKEY refuses a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// An ISVSVN (or CONFIGSVN) above the enclave's own.
    #[error("the requested ISVSVN is higher than the enclave's")]
    InvalidIsvSvn,
    /// A CPUSVN above the platform's.
    #[error("the requested CPUSVN is higher than the platform's")]
    InvalidCpuSvn,
    /// A key the enclave's attributes do not allow.
    #[error("the enclave's attributes do not allow this key")]
    InvalidAttribute,
}

/// Why a platform cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// Its file cannot be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Its file is damaged.
    #[error("{0}: not a simulated SGX platform ({1}); move it away to make a new one")]
    Damaged(PathBuf, String),
    /// No directory for it.
    #[error("no directory for the simulated SGX platform: set HOME, XDG_DATA_HOME or OCCLUM_SGX_SIM_DIR")]
    NoDirectory,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: u32,
    fuse_key: String,
    owner_epoch: String,
    report_key_id: String,
    cpu_svn: String,
    qe_id: String,
    attestation_key: String,
    pck_key: String,
    pck_chain: String,
}

/// One simulated machine's SGX secrets and certificates.
pub struct Platform {
    fuse_key: [u8; 16],
    owner_epoch: [u8; 16],
    report_key_id: [u8; 32],
    cpu_svn: [u8; 16],
    qe_id: [u8; 16],
    attestation_key: SigningKey,
    pck_key: SigningKey,
    pck_chain: String,
    root_der: Vec<u8>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Platform(..)")
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// Where this user's simulated platform lives: `$OCCLUM_SGX_SIM_DIR`, else
/// `$XDG_DATA_HOME/occlum/sgx-sim`, else `~/.local/share/occlum/sgx-sim`.
pub fn default_dir() -> Option<PathBuf> {
    let env = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("OCCLUM_SGX_SIM_DIR")
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("occlum/sgx-sim")))
        .or_else(|| env("HOME").map(|h| h.join(".local/share/occlum/sgx-sim")))
}

impl Platform {
    /// The platform in `dir`, made there (with new random secrets and
    /// certificates) if there is none yet. Two processes that make one at
    /// once end up with the same one.
    pub fn open_or_create(dir: &Path) -> Result<Platform, PlatformError> {
        let path = dir.join(FILE);
        match fs::read(&path) {
            Ok(text) => return Platform::from_stored(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PlatformError::Io(path, e)),
        }
        let io = |e| PlatformError::Io(dir.to_path_buf(), e);
        {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let text = Platform::new_stored().map_err(|e| PlatformError::Damaged(path.clone(), e))?;
        // Written aside, then linked into place: the first one made wins.
        let tmp = dir.join(format!("{FILE}.{}", std::process::id()));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io)?;
            f.write_all(&text).and_then(|_| f.sync_all()).map_err(io)?;
        }
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let text = fs::read(&path).map_err(|e| PlatformError::Io(path.clone(), e))?;
        Platform::from_stored(&path, &text)
    }

    fn new_stored() -> Result<Vec<u8>, String> {
        let attestation_key = SigningKey::random(&mut OsRng);
        let pck_key = SigningKey::random(&mut OsRng);
        let pem = |k: &SigningKey| {
            k.to_pkcs8_pem(LineEnding::LF)
                .map(|p| p.to_string())
                .map_err(|e| format!("key: {e}"))
        };
        let mut cpu_svn = [0u8; 16];
        cpu_svn[0] = 2;
        let stored = Stored {
            format: 1,
            fuse_key: hex(&random::<16>()),
            owner_epoch: hex(&random::<16>()),
            report_key_id: hex(&random::<32>()),
            cpu_svn: hex(&cpu_svn),
            qe_id: hex(&random::<16>()),
            attestation_key: pem(&attestation_key)?,
            pck_chain: pki::new_chain(pck_key.verifying_key())?,
            pck_key: pem(&pck_key)?,
        };
        serde_json::to_vec_pretty(&stored).map_err(|e| e.to_string())
    }

    fn from_stored(path: &Path, text: &[u8]) -> Result<Platform, PlatformError> {
        let damaged = |what: &str| PlatformError::Damaged(path.to_path_buf(), what.to_string());
        let s: Stored = serde_json::from_slice(text).map_err(|e| damaged(&e.to_string()))?;
        if s.format != 1 {
            return Err(damaged(&format!("format {}", s.format)));
        }
        let key = |pem: &str, what: &str| {
            SigningKey::from_pkcs8_pem(pem).map_err(|_| damaged(&format!("bad {what}")))
        };
        let root_der =
            pki::root_der(s.pck_chain.as_bytes()).map_err(|e| damaged(&e.to_string()))?;
        Ok(Platform {
            fuse_key: unhex(&s.fuse_key).ok_or_else(|| damaged("bad fuse_key"))?,
            owner_epoch: unhex(&s.owner_epoch).ok_or_else(|| damaged("bad owner_epoch"))?,
            report_key_id: unhex(&s.report_key_id).ok_or_else(|| damaged("bad report_key_id"))?,
            cpu_svn: unhex(&s.cpu_svn).ok_or_else(|| damaged("bad cpu_svn"))?,
            qe_id: unhex(&s.qe_id).ok_or_else(|| damaged("bad qe_id"))?,
            attestation_key: key(&s.attestation_key, "attestation_key")?,
            pck_key: key(&s.pck_key, "pck_key")?,
            pck_chain: s.pck_chain,
            root_der,
        })
    }

    /// The root CA certificate (DER) that this platform's quotes chain up to.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The root CA certificate as PEM (for verifiers elsewhere).
    pub fn root_pem(&self) -> String {
        let chain = self.pck_chain.as_str();
        let start = chain.rfind("-----BEGIN CERTIFICATE-----").unwrap_or(0);
        chain[start..].to_string()
    }

    /// The platform's CPUSVN.
    pub fn cpu_svn(&self) -> [u8; 16] {
        self.cpu_svn
    }

    fn derive(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut mac =
            <Cmac<Aes128> as Mac>::new_from_slice(&self.fuse_key).expect("a 16-byte AES key");
        mac.update(b"occlum-rs simulated EGETKEY v1\0");
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// The report key of an enclave (MRENCLAVE, attributes, MISCSELECT)
    /// for reports with `key_id`.
    fn report_key(
        &self,
        mr_enclave: &[u8; 32],
        attributes: &Attributes,
        misc: u32,
        key_id: &[u8; 32],
    ) -> [u8; 16] {
        self.derive(&[
            &(KeyName::Report as u16).to_le_bytes(),
            mr_enclave,
            &attributes.to_bytes(),
            &misc.to_le_bytes(),
            key_id,
            &self.owner_epoch,
            &self.cpu_svn,
        ])
    }

    fn mac(key: &[u8; 16], body: &[u8]) -> [u8; 16] {
        let mut mac = <Cmac<Aes128> as Mac>::new_from_slice(key).expect("a 16-byte AES key");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// EREPORT: a report by `enclave` with `report_data`, for `target`.
    pub fn report(&self, enclave: &Enclave, target: &TargetInfo, report_data: &[u8; 64]) -> Report {
        let body = ReportBody {
            cpu_svn: self.cpu_svn,
            misc_select: 0,
            isv_ext_prod_id: enclave.isv_ext_prod_id,
            attributes: enclave.attributes,
            mr_enclave: enclave.mr_enclave,
            mr_signer: enclave.mr_signer,
            config_id: [0; 64],
            isv_prod_id: enclave.isv_prod_id,
            isv_svn: enclave.isv_svn,
            config_svn: 0,
            isv_family_id: enclave.isv_family_id,
            report_data: *report_data,
            ..ReportBody::default()
        };
        let key = self.report_key(
            &target.mr_enclave,
            &target.attributes,
            target.misc_select,
            &self.report_key_id,
        );
        let mac = Self::mac(&key, &body.to_bytes());
        Report {
            body,
            key_id: self.report_key_id,
            mac,
        }
    }

    /// Whether `report` was made on this platform for `enclave` (its MAC
    /// verifies with `enclave`'s report key).
    pub fn verify_report(&self, enclave: &Enclave, report: &Report) -> bool {
        let key = self.report_key(&enclave.mr_enclave, &enclave.attributes, 0, &report.key_id);
        let mut mac = <Cmac<Aes128> as Mac>::new_from_slice(&key).expect("a 16-byte AES key");
        mac.update(&report.body.to_bytes());
        mac.verify_slice(&report.mac).is_ok()
    }

    /// EGETKEY for `enclave`.
    pub fn get_key(&self, enclave: &Enclave, req: &KeyRequest) -> Result<[u8; 16], KeyError> {
        match req.key_name {
            KeyName::Report => {
                return Ok(self.report_key(
                    &enclave.mr_enclave,
                    &enclave.attributes,
                    0,
                    &req.key_id,
                ))
            }
            KeyName::EinitToken | KeyName::Provision | KeyName::ProvisionSeal
                if enclave.attributes.flags & FLAGS_PROVISION_KEY == 0 =>
            {
                return Err(KeyError::InvalidAttribute)
            }
            _ => {}
        }
        if req.isv_svn > enclave.isv_svn || req.config_svn > 0 {
            return Err(KeyError::InvalidIsvSvn);
        }
        if req.cpu_svn.iter().zip(&self.cpu_svn).any(|(r, p)| r > p) {
            return Err(KeyError::InvalidCpuSvn);
        }
        let policy = req.key_policy;
        let pick = |bit: u16, v: &[u8]| -> Vec<u8> {
            if policy & bit != 0 {
                v.to_vec()
            } else {
                vec![0; v.len()]
            }
        };
        // The DEBUG and INITTED bits always count: a debug enclave never
        // gets a production enclave's keys.
        let mask = Attributes {
            flags: req.attribute_mask.flags | FLAGS_INITTED | FLAGS_DEBUG,
            xfrm: req.attribute_mask.xfrm,
        };
        let attrs = Attributes {
            flags: enclave.attributes.flags & mask.flags,
            xfrm: enclave.attributes.xfrm & mask.xfrm,
        };
        let prod_id = if policy & KEYPOLICY_NOISVPRODID != 0 {
            0
        } else {
            enclave.isv_prod_id
        };
        Ok(self.derive(&[
            &(req.key_name as u16).to_le_bytes(),
            &(policy
                & (KEYPOLICY_MRENCLAVE
                    | KEYPOLICY_MRSIGNER
                    | KEYPOLICY_NOISVPRODID
                    | KEYPOLICY_CONFIGID
                    | KEYPOLICY_ISVFAMILYID
                    | KEYPOLICY_ISVEXTPRODID))
                .to_le_bytes(),
            &pick(KEYPOLICY_MRENCLAVE, &enclave.mr_enclave),
            &pick(KEYPOLICY_MRSIGNER, &enclave.mr_signer),
            &prod_id.to_le_bytes(),
            &req.isv_svn.to_le_bytes(),
            &req.cpu_svn,
            &attrs.to_bytes(),
            &req.key_id,
            &pick(KEYPOLICY_ISVFAMILYID, &enclave.isv_family_id),
            &pick(KEYPOLICY_ISVEXTPRODID, &enclave.isv_ext_prod_id),
            &self.owner_epoch,
        ]))
    }

    /// The quoting enclave's target info: reports for a quote target it.
    pub fn qe_target_info(&self) -> TargetInfo {
        quoting_enclave().target_info()
    }

    /// The quoting enclave: a DCAP quote of `report`, which must be a
    /// report made on this platform for the quoting enclave.
    pub fn quote(&self, report: &Report) -> Result<Vec<u8>, QuoteError> {
        let qe = quoting_enclave();
        if !self.verify_report(&qe, report) {
            return Err(QuoteError::Invalid(
                "the report was not made on this platform for the quoting enclave",
            ));
        }
        let auth_data: Vec<u8> = (0u8..32).collect();
        let ak = quote::raw_public_key(self.attestation_key.verifying_key());
        let qe_report = self.report(
            &qe,
            &TargetInfo::none(),
            &quote::qe_report_data(&ak, &auth_data),
        );
        Ok(quote::build(&QuoteParts {
            qe_svn: qe.isv_svn,
            pce_svn: PCE_SVN,
            qe_id: self.qe_id,
            body: &report.body,
            attestation_key: &self.attestation_key,
            qe_report: &qe_report.body,
            pck_key: &self.pck_key,
            auth_data: &auth_data,
            pck_chain: self.pck_chain.as_bytes(),
        }))
    }

    /// The size of this platform's quotes.
    pub fn quote_size(&self) -> usize {
        quote::MIN_SIZE + 32 + self.pck_chain.len()
    }

    /// Verifies a quote against this platform's root (what a verifier on
    /// this machine trusts by default).
    pub fn verify_quote(&self, q: &[u8]) -> Result<Verified, QuoteError> {
        quote::verify(
            q,
            std::slice::from_ref(&self.root_der),
            &quoting_enclave_identity(),
            SystemTime::now(),
        )
    }
}
