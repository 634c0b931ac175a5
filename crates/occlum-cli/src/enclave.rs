//! The enclave's identity, as SGX would give it: a measurement over the
//! LibOS code (the loadable segments of this binary), the configuration the
//! instance runs with (which records the image's root hash) and the image
//! root hash; signed by the instance's signer. `occlum build` signs,
//! `occlum run` verifies before starting anything.
//!
//! In the simulation nothing but this check stands between a changed
//! binary, configuration or image and the program: no hardware measures the
//! code. The check still makes any such change fail loudly.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::pkcs1v15::{
    Signature as RsaSignature, SigningKey as RsaSigningKey, VerifyingKey as RsaVerifyingKey,
};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::instance::Instance;

/// What `build/enclave.sig.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedEnclave {
    /// The measurement (MRENCLAVE), hex.
    pub mrenclave: String,
    /// SHA-256 of the signer's public key (MRSIGNER), hex.
    pub mrsigner: String,
    /// `ed25519` or `rsa3072-pkcs1v15-sha256`.
    pub algorithm: String,
    /// The signer's public key (SubjectPublicKeyInfo PEM).
    pub public_key: String,
    /// The signature over the measurement, hex.
    pub signature: String,
    /// `metadata.product_id` of the configuration.
    pub product_id: u32,
    /// `metadata.version_number` of the configuration.
    pub version_number: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex digits into bytes.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// [`libos_hash`], remembered in the instance's `build/` for this exact
/// executable file (device, inode, size, modification and change times):
/// hashing ~4 MB costs a few milliseconds of every `occlum run`. A changed
/// executable has another identity and is hashed again. (In the simulation
/// a changed executable could skip any check anyway; on hardware the CPU
/// measures the code and this cache does not exist.)
pub fn libos_hash_cached(inst: &Instance) -> Result<[u8; 32]> {
    use std::os::unix::fs::MetadataExt;
    let exe = std::env::current_exe().context("cannot find the occlum executable")?;
    let m = fs::metadata(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
    let identity = format!(
        "{} {} {} {} {} {} {} {}",
        exe.display(),
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    );
    let cache = inst.build_dir().join("libos-hash.cache");
    if let Ok(text) = fs::read_to_string(&cache) {
        if let Some((_, hash)) = text.rsplit_once('\n').filter(|(id, _)| *id == identity) {
            if let Some(h) = unhex(hash.trim()).and_then(|v| <[u8; 32]>::try_from(v).ok()) {
                return Ok(h);
            }
        }
    }
    let h = libos_hash()?;
    let _ = fs::write(&cache, format!("{identity}\n{}", hex(&h)));
    Ok(h)
}

/// SHA-256 over the loadable segments of this executable: the LibOS code
/// and data as they are loaded (debug information is not part of it).
pub fn libos_hash() -> Result<[u8; 32]> {
    use std::os::unix::fs::FileExt;
    let exe = std::env::current_exe().context("cannot find the occlum executable")?;
    let file = fs::File::open(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
    let mut head = vec![0u8; 64];
    file.read_exact_at(&mut head, 0)
        .with_context(|| format!("cannot read {}", exe.display()))?;
    let elf = goblin::elf::Elf::parse_header(&head)
        .map_err(|e| anyhow!("{}: not an ELF file: {e}", exe.display()))?;
    let mut table = vec![0u8; elf.e_phnum as usize * elf.e_phentsize as usize];
    file.read_exact_at(&mut table, elf.e_phoff)
        .with_context(|| format!("cannot read {}", exe.display()))?;
    let ctx = goblin::container::Ctx::new(
        goblin::container::Container::Big,
        goblin::container::Endian::Little,
    );
    let phdrs = goblin::elf::ProgramHeader::parse(&table, 0, elf.e_phnum as usize, ctx)
        .map_err(|e| anyhow!("{}: bad program headers: {e}", exe.display()))?;
    let mut h = Sha256::new();
    let mut seg = Vec::new();
    for p in phdrs
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
    {
        seg.resize(p.p_filesz as usize, 0);
        file.read_exact_at(&mut seg, p.p_offset).with_context(|| {
            format!("{}: a segment lies past the end of the file", exe.display())
        })?;
        h.update(p.p_vaddr.to_le_bytes());
        h.update((seg.len() as u64).to_le_bytes());
        h.update(&seg);
    }
    Ok(h.finalize().into())
}

/// The measurement of an enclave made of this LibOS, `config` (the bytes of
/// `build/Occlum.json`) and the image with `root_hash`.
pub fn measure(libos: &[u8; 32], config: &[u8], root_hash: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"occlum-rs enclave v1\0");
    h.update(libos);
    h.update(Sha256::digest(config));
    h.update(root_hash);
    h.finalize().into()
}

/// A key to sign enclaves with.
pub enum SigningKey {
    /// Ed25519.
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// RSA (3072 bits, like SGX's), PKCS#1 v1.5 with SHA-256.
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl SigningKey {
    /// Loads a PKCS#8 or PKCS#1 PEM private key (Ed25519 or RSA-3072).
    pub fn load(path: &Path) -> Result<SigningKey> {
        let pem = fs::read_to_string(path)
            .with_context(|| format!("--sign-key {}: cannot read it", path.display()))?;
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem) {
            return Ok(SigningKey::Ed25519(Box::new(k)));
        }
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let rsa_key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(&pem))
            .map_err(|_| {
                anyhow!("--sign-key {}: expected an Ed25519 or RSA-3072 private key in PEM (PKCS#8 or PKCS#1)", path.display())
            })?;
        use rsa::traits::PublicKeyParts;
        if rsa_key.size() * 8 != 3072 {
            bail!(
                "--sign-key {}: an RSA key of {} bits; expected 3072 bits (as SGX) or an Ed25519 key",
                path.display(),
                rsa_key.size() * 8
            );
        }
        Ok(SigningKey::Rsa(Box::new(rsa_key)))
    }

    /// A new Ed25519 key.
    pub fn generate() -> SigningKey {
        SigningKey::Ed25519(Box::new(ed25519_dalek::SigningKey::generate(
            &mut rand_core::OsRng,
        )))
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<String> {
        match self {
            SigningKey::Ed25519(k) => Ok(k
                .to_pkcs8_pem(Default::default())
                .map_err(|e| anyhow!("cannot encode the key: {e}"))?
                .to_string()),
            SigningKey::Rsa(k) => {
                use rsa::pkcs8::EncodePrivateKey as _;
                Ok(k.to_pkcs8_pem(Default::default())
                    .map_err(|e| anyhow!("cannot encode the key: {e}"))?
                    .to_string())
            }
        }
    }

    /// The public key: DER and PEM (SubjectPublicKeyInfo).
    fn public_key(&self) -> Result<(Vec<u8>, String)> {
        let lf = Default::default();
        let (der, pem) = match self {
            SigningKey::Ed25519(k) => {
                let vk = k.verifying_key();
                (vk.to_public_key_der(), vk.to_public_key_pem(lf))
            }
            SigningKey::Rsa(k) => {
                use rsa::pkcs8::EncodePublicKey as _;
                let pk = rsa::RsaPublicKey::from(k.as_ref());
                (pk.to_public_key_der(), pk.to_public_key_pem(lf))
            }
        };
        let err = |e: &dyn std::fmt::Display| anyhow!("cannot encode the public key: {e}");
        Ok((
            der.map_err(|e| err(&e))?.into_vec(),
            pem.map_err(|e| err(&e))?,
        ))
    }

    fn algorithm(&self) -> &'static str {
        match self {
            SigningKey::Ed25519(_) => "ed25519",
            SigningKey::Rsa(_) => "rsa3072-pkcs1v15-sha256",
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SigningKey::Rsa(k) => RsaSigningKey::<Sha256>::new((**k).clone())
                .sign(msg)
                .to_vec(),
        }
    }
}

/// Where `occlum build` keeps the instance's own signing key when no
/// `--sign-key` is given.
pub fn instance_key_path(inst: &Instance) -> PathBuf {
    inst.dir().join(".occlum/signing-key.pem")
}

/// The signed identity of the built instance.
pub fn signature_path(inst: &Instance) -> PathBuf {
    inst.build_dir().join("enclave.sig.json")
}

/// Signs the enclave made of this LibOS, `config` and `root_hash`.
pub fn sign(
    inst: &Instance,
    key: &SigningKey,
    config: &[u8],
    root_hash: &[u8],
    product_id: u32,
    version_number: u32,
) -> Result<SignedEnclave> {
    let m = measure(&libos_hash_cached(inst)?, config, root_hash);
    let (der, pem) = key.public_key()?;
    let signed = SignedEnclave {
        mrenclave: hex(&m),
        mrsigner: hex(&Sha256::digest(&der)),
        algorithm: key.algorithm().into(),
        public_key: pem,
        signature: hex(&key.sign(&m)),
        product_id,
        version_number,
    };
    fs::write(signature_path(inst), serde_json::to_vec_pretty(&signed)?)?;
    Ok(signed)
}

/// Checks the built instance's signature and that its measurement is that of
/// this LibOS, `config` and `root_hash`; returns the signed identity.
pub fn verify(inst: &Instance, config: &[u8], root_hash: &[u8]) -> Result<SignedEnclave> {
    let path = signature_path(inst);
    let text = fs::read(&path).with_context(|| {
        format!(
            "{}: missing; run `occlum build` to sign the instance",
            path.display()
        )
    })?;
    let signed: SignedEnclave = serde_json::from_slice(&text).map_err(|e| {
        anyhow!(
            "{}: not a valid signature file ({e}); run `occlum build`",
            path.display()
        )
    })?;
    let bad_sig = || {
        anyhow!("{}: the signature does not verify; the file was altered (run `occlum build` to sign again)", path.display())
    };
    let m = unhex(&signed.mrenclave)
        .filter(|m| m.len() == 32)
        .ok_or_else(bad_sig)?;
    let sig = unhex(&signed.signature).ok_or_else(bad_sig)?;
    let (ok, der) = match signed.algorithm.as_str() {
        "ed25519" => {
            let vk = ed25519_dalek::VerifyingKey::from_public_key_pem(&signed.public_key)
                .map_err(|_| bad_sig())?;
            let s = ed25519_dalek::Signature::from_slice(&sig).map_err(|_| bad_sig())?;
            (vk.verify(&m, &s).is_ok(), vk.to_public_key_der())
        }
        "rsa3072-pkcs1v15-sha256" => {
            use rsa::pkcs8::EncodePublicKey as _;
            let pk = rsa::RsaPublicKey::from_public_key_pem(&signed.public_key)
                .map_err(|_| bad_sig())?;
            let s = RsaSignature::try_from(sig.as_slice()).map_err(|_| bad_sig())?;
            let der = pk.to_public_key_der();
            (
                RsaVerifyingKey::<Sha256>::new(pk).verify(&m, &s).is_ok(),
                der,
            )
        }
        _ => return Err(bad_sig()),
    };
    let der = der.map_err(|_| bad_sig())?;
    if !ok || hex(&Sha256::digest(der.as_bytes())) != signed.mrsigner {
        return Err(bad_sig());
    }
    let actual = measure(&libos_hash_cached(inst)?, config, root_hash);
    if actual[..] != m[..] {
        bail!(
            "the enclave's measurement does not match its signature: the LibOS binary, build/Occlum.json or the image changed after `occlum build` signed it (signed {}, now {}); run `occlum build` again",
            signed.mrenclave,
            hex(&actual)
        );
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(key: SigningKey) {
        let tmp = tempfile::tempdir().unwrap();
        let inst = Instance::at(tmp.path());
        fs::create_dir_all(inst.build_dir()).unwrap();
        let signed = sign(&inst, &key, b"{config}", &[7; 32], 3, 1).unwrap();
        assert_eq!(signed.product_id, 3);
        let checked = verify(&inst, b"{config}", &[7; 32]).unwrap();
        assert_eq!(checked.mrenclave, signed.mrenclave);
        assert_eq!(checked.mrsigner, signed.mrsigner);
        // Another configuration or image: refused.
        let e = verify(&inst, b"{other}", &[7; 32]).unwrap_err().to_string();
        assert!(e.contains("measurement does not match"), "{e}");
        assert!(verify(&inst, b"{config}", &[8; 32]).is_err());
        // A forged signature: refused.
        let mut forged = signed.clone();
        forged.signature = forged.signature.replace('a', "b").replace('1', "2");
        fs::write(signature_path(&inst), serde_json::to_vec(&forged).unwrap()).unwrap();
        let e = verify(&inst, b"{config}", &[7; 32])
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not verify"), "{e}");
        // The key survives a PEM round trip.
        let pem_path = tmp.path().join("k.pem");
        fs::write(&pem_path, key.to_pem().unwrap()).unwrap();
        let again = SigningKey::load(&pem_path).unwrap();
        assert_eq!(again.public_key().unwrap().0, key.public_key().unwrap().0);
    }

    #[test]
    fn ed25519_signatures_verify_and_changes_are_refused() {
        round_trip(SigningKey::generate());
    }

    #[test]
    fn rsa3072_signatures_verify_and_changes_are_refused() {
        let k = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 3072).unwrap();
        round_trip(SigningKey::Rsa(Box::new(k)));
    }

    #[test]
    fn rsa_keys_of_other_sizes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let k = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let p = tmp.path().join("k.pem");
        fs::write(&p, SigningKey::Rsa(Box::new(k)).to_pem().unwrap()).unwrap();
        let e = SigningKey::load(&p).err().unwrap().to_string();
        assert!(e.contains("2048 bits"), "{e}");
    }
}
