//! The simulated provisioning certificates: a root CA, a platform CA under
//! it and the platform's PCK certificate, all ECDSA P-256 as Intel's, and
//! the checks a verifier makes on such a chain.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::{Encode, EncodePem};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;
use x509_cert::Certificate;

/// `ecdsa-with-SHA256`.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The subject of the simulated root CA.
pub const ROOT_SUBJECT: &str =
    "CN=Occlum-rs Simulated SGX Root CA,O=occlum-rs (simulation: no hardware)";
const PLATFORM_CA_SUBJECT: &str =
    "CN=Occlum-rs Simulated SGX PCK Platform CA,O=occlum-rs (simulation: no hardware)";
const PCK_SUBJECT: &str =
    "CN=Occlum-rs Simulated SGX PCK Certificate,O=occlum-rs (simulation: no hardware)";

/// Why a certificate chain is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// Not PEM certificates, or not three of them.
    #[error("the certificate chain cannot be read: {0}")]
    Malformed(String),
    /// A signature in the chain does not verify.
    #[error("certificate {0:?} is not signed by its issuer")]
    BadSignature(String),
    /// A certificate is outside its validity period.
    #[error("certificate {0:?} is not valid at this time")]
    Expired(String),
    /// An issuer is not a CA.
    #[error("certificate {0:?} is not a CA but issued another")]
    NotCa(String),
    /// The chain does not end in a trusted root.
    #[error("the chain ends in a root that is not trusted ({0})")]
    UntrustedRoot(String),
}

/// A new certificate chain for a platform whose PCK key is `pck`:
/// PEM of the PCK certificate, the platform CA and the root CA, in that
/// order (as DCAP's certification data type 5).
pub fn new_chain(pck: &VerifyingKey) -> Result<String, String> {
    let root_key = SigningKey::random(&mut rand_core::OsRng);
    let ca_key = SigningKey::random(&mut rand_core::OsRng);
    let root = make(
        Profile::Root,
        ROOT_SUBJECT,
        root_key.verifying_key(),
        &root_key,
        1,
    )?;
    let platform_ca = make(
        Profile::SubCA {
            issuer: name(ROOT_SUBJECT)?,
            path_len_constraint: Some(0),
        },
        PLATFORM_CA_SUBJECT,
        ca_key.verifying_key(),
        &root_key,
        2,
    )?;
    let leaf = make(
        Profile::Leaf {
            issuer: name(PLATFORM_CA_SUBJECT)?,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        PCK_SUBJECT,
        pck,
        &ca_key,
        3,
    )?;
    let mut pem = String::new();
    for c in [leaf, platform_ca, root] {
        pem.push_str(
            &c.to_pem(Default::default())
                .map_err(|e| format!("PEM: {e}"))?,
        );
    }
    Ok(pem)
}

fn name(s: &str) -> Result<Name, String> {
    Name::from_str(s).map_err(|e| format!("name {s:?}: {e}"))
}

fn make(
    profile: Profile,
    subject: &str,
    key: &VerifyingKey,
    signer: &SigningKey,
    serial: u8,
) -> Result<Certificate, String> {
    let spki = SubjectPublicKeyInfoOwned::from_key(*key).map_err(|e| format!("key: {e}"))?;
    // Valid from a day ago (clocks differ) for 30 years.
    let validity = Validity::from_now(Duration::from_secs(30 * 365 * 86400))
        .map_err(|e| format!("validity: {e}"))?;
    let mut validity = validity;
    let yesterday = SystemTime::now() - Duration::from_secs(86400);
    validity.not_before =
        x509_cert::time::Time::try_from(yesterday).map_err(|e| format!("validity: {e}"))?;
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity,
        name(subject)?,
        spki,
        signer,
    )
    .map_err(|e| format!("certificate: {e}"))?;
    builder
        .build::<DerSignature>()
        .map_err(|e| format!("certificate: {e}"))
}

/// Parses concatenated PEM certificates.
pub fn parse_chain(pem: &[u8]) -> Result<Vec<Certificate>, ChainError> {
    Certificate::load_pem_chain(pem).map_err(|e| ChainError::Malformed(e.to_string()))
}

/// The DER of each certificate in `pem` (roots a verifier trusts).
pub fn ders(pem: &[u8]) -> Result<Vec<Vec<u8>>, ChainError> {
    parse_chain(pem)?
        .iter()
        .map(|c| c.to_der().map_err(|e| ChainError::Malformed(e.to_string())))
        .collect()
}

/// The DER of the last certificate of a PEM chain (its root).
pub fn root_der(pem: &[u8]) -> Result<Vec<u8>, ChainError> {
    let chain = parse_chain(pem)?;
    let root = chain
        .last()
        .ok_or_else(|| ChainError::Malformed("no certificate".into()))?;
    root.to_der()
        .map_err(|e| ChainError::Malformed(e.to_string()))
}

fn subject_of(c: &Certificate) -> String {
    c.tbs_certificate.subject.to_string()
}

/// The P-256 public key a certificate certifies.
pub fn public_key(c: &Certificate) -> Result<VerifyingKey, ChainError> {
    let bits = c
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| ChainError::Malformed("a key with unused bits".into()))?;
    VerifyingKey::from_sec1_bytes(bits)
        .map_err(|_| ChainError::Malformed(format!("{}: not a P-256 key", subject_of(c))))
}

fn signed_by(c: &Certificate, issuer: &Certificate) -> Result<(), ChainError> {
    let bad = || ChainError::BadSignature(subject_of(c));
    if c.signature_algorithm.oid != ECDSA_WITH_SHA256
        || c.tbs_certificate.issuer != issuer.tbs_certificate.subject
    {
        return Err(bad());
    }
    let tbs = c.tbs_certificate.to_der().map_err(|_| bad())?;
    let sig = c.signature.as_bytes().ok_or_else(bad)?;
    let sig = Signature::from_der(sig).map_err(|_| bad())?;
    public_key(issuer)?.verify(&tbs, &sig).map_err(|_| bad())
}

fn is_ca(c: &Certificate) -> bool {
    matches!(
        c.tbs_certificate.get::<BasicConstraints>(),
        Ok(Some((_, BasicConstraints { ca: true, .. })))
    )
}

fn valid_at(c: &Certificate, now: SystemTime) -> bool {
    let v = &c.tbs_certificate.validity;
    let since_epoch = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    v.not_before.to_unix_duration() <= since_epoch && since_epoch <= v.not_after.to_unix_duration()
}

/// Checks `chain` (leaf first): each certificate valid at `now` and signed
/// by the next, every issuer a CA, and the last one, self-signed, equal
/// to one of `trusted_roots` (DER). Returns the leaf's public key.
pub fn verify_chain(
    chain: &[Certificate],
    trusted_roots: &[Vec<u8>],
    now: SystemTime,
) -> Result<VerifyingKey, ChainError> {
    let (leaf, root) = match chain {
        [leaf, .., root] if chain.len() <= 4 => (leaf, root),
        _ => {
            return Err(ChainError::Malformed(format!(
                "{} certificates; expected a leaf, its CAs and the root",
                chain.len()
            )))
        }
    };
    for c in chain {
        if !valid_at(c, now) {
            return Err(ChainError::Expired(subject_of(c)));
        }
    }
    for pair in chain.windows(2) {
        if !is_ca(&pair[1]) {
            return Err(ChainError::NotCa(subject_of(&pair[1])));
        }
        signed_by(&pair[0], &pair[1])?;
    }
    signed_by(root, root)?;
    let der = root
        .to_der()
        .map_err(|e| ChainError::Malformed(e.to_string()))?;
    if !trusted_roots.contains(&der) {
        use sha2::Digest;
        let fingerprint: String = sha2::Sha256::digest(&der)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return Err(ChainError::UntrustedRoot(format!(
            "{}, SHA-256 {fingerprint}...",
            subject_of(root)
        )));
    }
    public_key(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_chain_verifies_against_its_root_only() {
        let pck = SigningKey::random(&mut rand_core::OsRng);
        let pem = new_chain(pck.verifying_key()).unwrap();
        let chain = parse_chain(pem.as_bytes()).unwrap();
        assert_eq!(chain.len(), 3);
        let root = root_der(pem.as_bytes()).unwrap();
        let now = SystemTime::now();
        let leaf = verify_chain(&chain, std::slice::from_ref(&root), now).unwrap();
        assert_eq!(&leaf, pck.verifying_key());

        let other = new_chain(pck.verifying_key()).unwrap();
        let other_root = root_der(other.as_bytes()).unwrap();
        assert!(matches!(
            verify_chain(&chain, std::slice::from_ref(&other_root), now),
            Err(ChainError::UntrustedRoot(_))
        ));
        // Another platform's CA certificate in the middle: signatures fail.
        let mut mixed = parse_chain(other.as_bytes()).unwrap();
        mixed[0] = chain[0].clone();
        assert!(matches!(
            verify_chain(&mixed, &[other_root], now),
            Err(ChainError::BadSignature(_))
        ));
        let far = now + Duration::from_secs(40 * 365 * 86400);
        assert!(matches!(
            verify_chain(&chain, std::slice::from_ref(&root), far),
            Err(ChainError::Expired(_))
        ));
        assert!(matches!(
            verify_chain(&chain[..1], &[root], now),
            Err(ChainError::Malformed(_))
        ));
    }
}
