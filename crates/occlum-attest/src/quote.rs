//! DCAP ECDSA quotes, version 3, in Intel's byte layout (`sgx_quote_3.h`):
//! a 48-byte header, the enclave's report body, then the signature data:
//! the attestation key's signature over header and body, that key, the
//! quoting enclave's report (whose report data binds the key) signed by the
//! PCK key, authentication data, and the PCK certificate chain as PEM
//! (certification data type 5). Existing quote parsers read these quotes;
//! [`verify`] checks them as Intel's verification library does, minus the
//! TCB collateral, which a simulated platform does not have.

use std::time::SystemTime;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::pki::{self, ChainError};
use crate::sgx::ReportBody;

/// Quote format version.
pub const VERSION: u16 = 3;
/// Attestation key type: ECDSA P-256.
pub const ATT_KEY_TYPE_ECDSA_P256: u16 = 2;
/// Vendor id of Intel's quoting enclave, which verifiers expect.
pub const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];
/// Certification data type: the PCK certificate chain, PEM.
pub const CERT_TYPE_PCK_CHAIN: u16 = 5;

const HEADER: usize = 48;
/// Offset of the enclave's report body.
pub const BODY_OFFSET: usize = HEADER;
/// Bytes the attestation key signs: header and report body.
pub const SIGNED_LEN: usize = HEADER + ReportBody::SIZE;
const SIG_DATA: usize = SIGNED_LEN + 4;
/// The smallest well-formed quote (empty authentication and certification data).
pub const MIN_SIZE: usize = SIG_DATA + 64 + 64 + ReportBody::SIZE + 64 + 2 + 2 + 4;
/// The most certification data accepted.
const MAX_CERT_DATA: usize = 64 * 1024;
/// The most authentication data accepted (as Intel's reference QE).
const MAX_AUTH_DATA: usize = 64;

/// What the quoting enclave puts into a quote.
pub struct QuoteParts<'a> {
    /// Its own ISVSVN.
    pub qe_svn: u16,
    /// The provisioning enclave's ISVSVN.
    pub pce_svn: u16,
    /// A platform id (`user_data`'s first 16 bytes).
    pub qe_id: [u8; 16],
    /// The quoted enclave's report body.
    pub body: &'a ReportBody,
    /// The attestation key.
    pub attestation_key: &'a SigningKey,
    /// The quoting enclave's report body (its report data binds the key).
    pub qe_report: &'a ReportBody,
    /// The PCK key that signs `qe_report`.
    pub pck_key: &'a SigningKey,
    /// Authentication data.
    pub auth_data: &'a [u8],
    /// The PCK certificate chain, PEM.
    pub pck_chain: &'a [u8],
}

/// The uncompressed coordinates of `key` (64 bytes, no 0x04 prefix).
pub fn raw_public_key(key: &VerifyingKey) -> [u8; 64] {
    let point = key.to_encoded_point(false);
    point.as_bytes()[1..]
        .try_into()
        .expect("an uncompressed P-256 point is 65 bytes")
}

/// The report data the quoting enclave's report carries for an
/// attestation key and authentication data.
pub fn qe_report_data(attestation_key: &[u8; 64], auth_data: &[u8]) -> [u8; 64] {
    let mut d = [0; 64];
    let h = Sha256::new()
        .chain_update(attestation_key)
        .chain_update(auth_data)
        .finalize();
    d[..32].copy_from_slice(&h);
    d
}

/// Builds a quote.
pub fn build(p: &QuoteParts<'_>) -> Vec<u8> {
    let mut q = Vec::with_capacity(MIN_SIZE + p.auth_data.len() + p.pck_chain.len());
    q.extend_from_slice(&VERSION.to_le_bytes());
    q.extend_from_slice(&ATT_KEY_TYPE_ECDSA_P256.to_le_bytes());
    q.extend_from_slice(&0u32.to_le_bytes());
    q.extend_from_slice(&p.qe_svn.to_le_bytes());
    q.extend_from_slice(&p.pce_svn.to_le_bytes());
    q.extend_from_slice(&INTEL_QE_VENDOR_ID);
    q.extend_from_slice(&p.qe_id);
    q.extend_from_slice(&[0; 4]);
    q.extend_from_slice(&p.body.to_bytes());
    let isv_sig: Signature = p.attestation_key.sign(&q[..SIGNED_LEN]);
    let qe_body = p.qe_report.to_bytes();
    let qe_sig: Signature = p.pck_key.sign(&qe_body);
    let mut sig = Vec::new();
    sig.extend_from_slice(&isv_sig.to_bytes());
    sig.extend_from_slice(&raw_public_key(p.attestation_key.verifying_key()));
    sig.extend_from_slice(&qe_body);
    sig.extend_from_slice(&qe_sig.to_bytes());
    sig.extend_from_slice(&(p.auth_data.len() as u16).to_le_bytes());
    sig.extend_from_slice(p.auth_data);
    sig.extend_from_slice(&CERT_TYPE_PCK_CHAIN.to_le_bytes());
    sig.extend_from_slice(&(p.pck_chain.len() as u32).to_le_bytes());
    sig.extend_from_slice(p.pck_chain);
    q.extend_from_slice(&(sig.len() as u32).to_le_bytes());
    q.extend_from_slice(&sig);
    q
}

/// A quote's fields, as parsed (nothing checked but the layout).
#[derive(Debug)]
pub struct Quote<'a> {
    /// Header: format version.
    pub version: u16,
    /// Header: attestation key type.
    pub att_key_type: u16,
    /// Header: TEE type (0 for SGX).
    pub tee_type: u32,
    /// Header: the quoting enclave's ISVSVN.
    pub qe_svn: u16,
    /// Header: the provisioning enclave's ISVSVN.
    pub pce_svn: u16,
    /// Header: the quoting enclave's vendor.
    pub vendor_id: [u8; 16],
    /// Header: user data (the platform's QE id, then zeros).
    pub user_data: [u8; 20],
    /// The quoted enclave's report body.
    pub body: ReportBody,
    signed: &'a [u8],
    isv_sig: &'a [u8],
    attestation_key: [u8; 64],
    qe_report_raw: &'a [u8],
    /// The quoting enclave's report body.
    pub qe_report: ReportBody,
    qe_sig: &'a [u8],
    auth_data: &'a [u8],
    /// Certification data type.
    pub cert_type: u16,
    /// Certification data.
    pub cert_data: &'a [u8],
}

/// Why a quote is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QuoteError {
    /// The bytes are not a quote of this format.
    #[error("malformed quote: {0}")]
    Malformed(String),
    /// A quote of another version, key type or TEE.
    #[error("unsupported quote: {0}")]
    Unsupported(String),
    /// The PCK certificate chain does not verify.
    #[error("the PCK certificate chain: {0}")]
    Chain(#[from] ChainError),
    /// A signature or binding does not verify.
    #[error("invalid quote: {0}")]
    Invalid(&'static str),
}

fn malformed(what: &str) -> QuoteError {
    QuoteError::Malformed(what.into())
}

/// Reads `len` bytes at `*at`, advancing it.
fn take<'a>(b: &'a [u8], at: &mut usize, len: usize, what: &str) -> Result<&'a [u8], QuoteError> {
    let end = at
        .checked_add(len)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| malformed(&format!("{what} runs past the end")))?;
    let s = &b[*at..end];
    *at = end;
    Ok(s)
}

fn u16_of(s: &[u8]) -> u16 {
    u16::from_le_bytes([s[0], s[1]])
}

fn u32_of(s: &[u8]) -> u32 {
    u32::from_le_bytes([s[0], s[1], s[2], s[3]])
}

/// Parses a quote's layout.
pub fn parse(b: &[u8]) -> Result<Quote<'_>, QuoteError> {
    if b.len() < MIN_SIZE {
        return Err(malformed(&format!(
            "{} bytes; a quote has at least {MIN_SIZE}",
            b.len()
        )));
    }
    let sig_len = u32_of(&b[SIGNED_LEN..]) as usize;
    if SIG_DATA.checked_add(sig_len) != Some(b.len()) {
        return Err(malformed(&format!(
            "the signature data is said to be {sig_len} bytes, but {} follow",
            b.len() - SIG_DATA
        )));
    }
    let mut at = SIG_DATA;
    let isv_sig = take(b, &mut at, 64, "the signature")?;
    let attestation_key = take(b, &mut at, 64, "the attestation key")?
        .try_into()
        .expect("64 bytes");
    let qe_report_raw = take(b, &mut at, ReportBody::SIZE, "the QE report")?;
    let qe_sig = take(b, &mut at, 64, "the QE report signature")?;
    let auth_len = u16_of(take(b, &mut at, 2, "the authentication data size")?) as usize;
    if auth_len > MAX_AUTH_DATA {
        return Err(malformed(&format!(
            "{auth_len} bytes of authentication data (at most {MAX_AUTH_DATA})"
        )));
    }
    let auth_data = take(b, &mut at, auth_len, "the authentication data")?;
    let cert_type = u16_of(take(b, &mut at, 2, "the certification data type")?);
    let cert_len = u32_of(take(b, &mut at, 4, "the certification data size")?) as usize;
    if cert_len > MAX_CERT_DATA {
        return Err(malformed(&format!(
            "{cert_len} bytes of certification data (at most {MAX_CERT_DATA})"
        )));
    }
    let cert_data = take(b, &mut at, cert_len, "the certification data")?;
    if at != b.len() {
        return Err(malformed(&format!(
            "{} bytes after the certification data",
            b.len() - at
        )));
    }
    Ok(Quote {
        version: u16_of(&b[0..]),
        att_key_type: u16_of(&b[2..]),
        tee_type: u32_of(&b[4..]),
        qe_svn: u16_of(&b[8..]),
        pce_svn: u16_of(&b[10..]),
        vendor_id: b[12..28].try_into().expect("16 bytes"),
        user_data: b[28..48].try_into().expect("20 bytes"),
        body: ReportBody::parse(b[BODY_OFFSET..SIGNED_LEN].try_into().expect("384 bytes")),
        signed: &b[..SIGNED_LEN],
        isv_sig,
        attestation_key,
        qe_report: ReportBody::parse(qe_report_raw.try_into().expect("384 bytes")),
        qe_report_raw,
        qe_sig,
        auth_data,
        cert_type,
        cert_data,
    })
}

/// What a verified quote proves (about a simulated platform: see the crate docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The quoted enclave's report body: its identity and report data.
    pub body: ReportBody,
    /// The quoting enclave's ISVSVN.
    pub qe_svn: u16,
    /// The provisioning enclave's ISVSVN.
    pub pce_svn: u16,
}

/// The identity a quoting enclave must have.
#[derive(Clone, Copy, Debug)]
pub struct QeIdentity {
    /// Its MRSIGNER.
    pub mr_signer: [u8; 32],
    /// Its ISVPRODID.
    pub isv_prod_id: u16,
}

fn signature(raw: &[u8]) -> Result<Signature, QuoteError> {
    Signature::from_slice(raw)
        .map_err(|_| QuoteError::Invalid("a signature is not a P-256 signature"))
}

/// Verifies a quote: its layout, the PCK chain up to one of
/// `trusted_roots` (DER) at `now`, the QE report's signature by the PCK
/// key, the binding of the attestation key in the QE report, the QE's
/// identity, and the attestation key's signature over header and body.
pub fn verify(
    b: &[u8],
    trusted_roots: &[Vec<u8>],
    qe: &QeIdentity,
    now: SystemTime,
) -> Result<Verified, QuoteError> {
    let q = parse(b)?;
    if q.version != VERSION {
        return Err(QuoteError::Unsupported(format!("version {}", q.version)));
    }
    if q.att_key_type != ATT_KEY_TYPE_ECDSA_P256 {
        return Err(QuoteError::Unsupported(format!(
            "attestation key type {}",
            q.att_key_type
        )));
    }
    if q.tee_type != 0 {
        return Err(QuoteError::Unsupported(format!(
            "TEE type {:#x}",
            q.tee_type
        )));
    }
    if q.vendor_id != INTEL_QE_VENDOR_ID {
        return Err(QuoteError::Unsupported("the QE vendor id".into()));
    }
    if q.cert_type != CERT_TYPE_PCK_CHAIN {
        return Err(QuoteError::Unsupported(format!(
            "certification data type {} (expected {CERT_TYPE_PCK_CHAIN}, the PCK chain)",
            q.cert_type
        )));
    }
    let chain = pki::parse_chain(q.cert_data)?;
    let pck = pki::verify_chain(&chain, trusted_roots, now)?;
    pck.verify(q.qe_report_raw, &signature(q.qe_sig)?)
        .map_err(|_| QuoteError::Invalid("the QE report is not signed by the PCK key"))?;
    let bound = qe_report_data(&q.attestation_key, q.auth_data);
    if q.qe_report.report_data[..32] != bound[..32] {
        return Err(QuoteError::Invalid(
            "the QE report does not vouch for the attestation key",
        ));
    }
    if q.qe_report.mr_signer != qe.mr_signer || q.qe_report.isv_prod_id != qe.isv_prod_id {
        return Err(QuoteError::Invalid(
            "the quote was not made by the quoting enclave",
        ));
    }
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..].copy_from_slice(&q.attestation_key);
    let ak = VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| QuoteError::Invalid("the attestation key is not a P-256 key"))?;
    ak.verify(q.signed, &signature(q.isv_sig)?)
        .map_err(|_| QuoteError::Invalid("the quote's signature does not verify"))?;
    Ok(Verified {
        body: q.body,
        qe_svn: q.qe_svn,
        pce_svn: q.pce_svn,
    })
}
