//! Which enclaves the key broker releases secrets to (`policy.json`):
//!
//! ```json
//! { "mrenclave": ["<64 hex digits>", ...], "mrsigner": ["<64 hex digits>", ...],
//!   "isv_prod_id": 0, "min_isv_svn": 0, "allow_debug": false }
//! ```
//!
//! An enclave must match one listed MRENCLAVE (if any are listed) and one
//! listed MRSIGNER (if any are listed; at least one of the two lists must
//! be given), the product id if given, have at least `min_isv_svn`, and
//! not be debuggable unless `allow_debug`.

use std::path::Path;

use occlum_attest::sgx::ReportBody;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default)]
    mrenclave: Vec<String>,
    #[serde(default)]
    mrsigner: Vec<String>,
    #[serde(default)]
    isv_prod_id: Option<u16>,
    #[serde(default)]
    min_isv_svn: u16,
    #[serde(default)]
    allow_debug: bool,
}

/// A release policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    mrenclave: Vec<[u8; 32]>,
    mrsigner: Vec<[u8; 32]>,
    isv_prod_id: Option<u16>,
    min_isv_svn: u16,
    allow_debug: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn digest(file: &str, field: &str, s: &str) -> Result<[u8; 32], String> {
    let bad = || format!("{file}: field `{field}`: {s:?} is not 64 hex digits");
    if s.len() != 64 || !s.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl Policy {
    /// Parses a policy; errors name the file and the field.
    pub fn parse(file: &str, text: &[u8]) -> Result<Policy, String> {
        let s: Stored = serde_json::from_slice(text).map_err(|e| format!("{file}: {e}"))?;
        let list = |field: &str, v: &[String]| -> Result<Vec<[u8; 32]>, String> {
            v.iter()
                .enumerate()
                .map(|(i, h)| digest(file, &format!("{field}[{i}]"), h))
                .collect()
        };
        let p = Policy {
            mrenclave: list("mrenclave", &s.mrenclave)?,
            mrsigner: list("mrsigner", &s.mrsigner)?,
            isv_prod_id: s.isv_prod_id,
            min_isv_svn: s.min_isv_svn,
            allow_debug: s.allow_debug,
        };
        if p.mrenclave.is_empty() && p.mrsigner.is_empty() {
            return Err(format!(
                "{file}: neither `mrenclave` nor `mrsigner` lists an enclave; expected at least one"
            ));
        }
        Ok(p)
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Policy, String> {
        let text =
            std::fs::read(path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
        Policy::parse(&path.display().to_string(), &text)
    }

    /// Whether the enclave that made `body` may have the secrets; the
    /// error says why not.
    pub fn check(&self, body: &ReportBody) -> Result<(), String> {
        if !self.mrenclave.is_empty() && !self.mrenclave.contains(&body.mr_enclave) {
            return Err(format!(
                "MRENCLAVE {} is not in the policy",
                hex(&body.mr_enclave)
            ));
        }
        if !self.mrsigner.is_empty() && !self.mrsigner.contains(&body.mr_signer) {
            return Err(format!(
                "MRSIGNER {} is not in the policy",
                hex(&body.mr_signer)
            ));
        }
        if let Some(id) = self.isv_prod_id {
            if body.isv_prod_id != id {
                return Err(format!(
                    "product id {} is not the policy's {id}",
                    body.isv_prod_id
                ));
            }
        }
        if body.isv_svn < self.min_isv_svn {
            return Err(format!(
                "ISVSVN {} is below the policy's minimum {}",
                body.isv_svn, self.min_isv_svn
            ));
        }
        if body.debug() && !self.allow_debug {
            return Err(
                "the enclave is debuggable and the policy does not allow debug enclaves".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(mre: u8, mrs: u8, prod: u16, svn: u16, debug: bool) -> ReportBody {
        ReportBody {
            mr_enclave: [mre; 32],
            mr_signer: [mrs; 32],
            isv_prod_id: prod,
            isv_svn: svn,
            attributes: occlum_attest::sgx::Attributes {
                flags: if debug { 2 } else { 0 },
                xfrm: 3,
            },
            ..ReportBody::default()
        }
    }

    #[test]
    fn policies_release_only_to_matching_enclaves() {
        let p = Policy::parse(
            "p.json",
            format!(
                r#"{{"mrenclave": ["{}"], "isv_prod_id": 3, "min_isv_svn": 2}}"#,
                "11".repeat(32)
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(p.check(&body(0x11, 9, 3, 2, false)), Ok(()));
        assert!(p
            .check(&body(0x12, 9, 3, 2, false))
            .unwrap_err()
            .contains("MRENCLAVE"));
        assert!(p
            .check(&body(0x11, 9, 4, 2, false))
            .unwrap_err()
            .contains("product id"));
        assert!(p
            .check(&body(0x11, 9, 3, 1, false))
            .unwrap_err()
            .contains("minimum"));
        assert!(p
            .check(&body(0x11, 9, 3, 2, true))
            .unwrap_err()
            .contains("debug"));

        let by_signer = Policy::parse(
            "p.json",
            format!(
                r#"{{"mrsigner": ["{}"], "allow_debug": true}}"#,
                "22".repeat(32)
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(by_signer.check(&body(1, 0x22, 0, 0, true)), Ok(()));
        assert!(by_signer.check(&body(1, 0x23, 0, 0, true)).is_err());
    }

    #[test]
    fn bad_policies_name_the_field() {
        let e = Policy::parse("p.json", br#"{"mrenclave": ["abc"]}"#).unwrap_err();
        assert!(e.contains("field `mrenclave[0]`"), "{e}");
        let e = Policy::parse("p.json", br#"{}"#).unwrap_err();
        assert!(e.contains("expected at least one"), "{e}");
        let e = Policy::parse("p.json", br#"{"mrsigner": [], "extra": 1}"#).unwrap_err();
        assert!(e.contains("extra"), "{e}");
    }
}
