//! SGX's architectural structures in their byte layouts (Intel SDM vol. 3D,
//! and the SGX SDK's `sgx_report.h`/`sgx_key.h`): what programs hand to
//! `/dev/sgx` and what quotes carry.

/// `sgx_attributes_t`: the enclave's attribute flags and XSAVE feature mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    /// `SGX_FLAGS_*`.
    pub flags: u64,
    /// XFRM: the extended features the enclave may use.
    pub xfrm: u64,
}

/// The enclave is initialized (always set in reports).
pub const FLAGS_INITTED: u64 = 0x1;
/// The enclave is debuggable: its memory can be read from outside.
pub const FLAGS_DEBUG: u64 = 0x2;
/// The enclave runs 64-bit code.
pub const FLAGS_MODE64BIT: u64 = 0x4;
/// The enclave may get provisioning keys (the quoting enclave does).
pub const FLAGS_PROVISION_KEY: u64 = 0x10;
/// x87 and SSE state (XFRM bits 0-1).
pub const XFRM_LEGACY: u64 = 0x3;

impl Attributes {
    fn read(b: &[u8]) -> Attributes {
        Attributes {
            flags: u64_at(b, 0),
            xfrm: u64_at(b, 8),
        }
    }

    fn write(&self, b: &mut [u8]) {
        b[..8].copy_from_slice(&self.flags.to_le_bytes());
        b[8..16].copy_from_slice(&self.xfrm.to_le_bytes());
    }

    /// The attributes as 16 bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        self.write(&mut b);
        b
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b[at..at + N].try_into().expect("in bounds")
}

/// `sgx_target_info_t` (512 bytes): the enclave a report is meant for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// MRENCLAVE of the target.
    pub mr_enclave: [u8; 32],
    /// Its attributes.
    pub attributes: Attributes,
    /// Its CONFIGSVN.
    pub config_svn: u16,
    /// Its MISCSELECT.
    pub misc_select: u32,
    /// Its CONFIGID.
    pub config_id: [u8; 64],
}

impl TargetInfo {
    /// Size in bytes.
    pub const SIZE: usize = 512;

    /// Parses the 512 bytes; `None` if reserved bytes are not zero (as
    /// EREPORT faults on them).
    pub fn parse(b: &[u8; Self::SIZE]) -> Option<TargetInfo> {
        let reserved = b[48..50].iter().chain(&b[56..64]).chain(&b[128..]);
        if reserved.into_iter().any(|&x| x != 0) {
            return None;
        }
        Some(TargetInfo {
            mr_enclave: array(b, 0),
            attributes: Attributes::read(&b[32..48]),
            config_svn: u16_at(b, 50),
            misc_select: u32_at(b, 52),
            config_id: array(b, 64),
        })
    }

    /// The 512 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..32].copy_from_slice(&self.mr_enclave);
        self.attributes.write(&mut b[32..48]);
        b[50..52].copy_from_slice(&self.config_svn.to_le_bytes());
        b[52..56].copy_from_slice(&self.misc_select.to_le_bytes());
        b[64..128].copy_from_slice(&self.config_id);
        b
    }

    /// Targets no enclave (`sgx_create_report` without a target).
    pub fn none() -> TargetInfo {
        TargetInfo {
            mr_enclave: [0; 32],
            attributes: Attributes::default(),
            config_svn: 0,
            misc_select: 0,
            config_id: [0; 64],
        }
    }
}

/// `sgx_report_body_t` (384 bytes): who made a report, and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportBody {
    /// The platform's security version.
    pub cpu_svn: [u8; 16],
    /// MISCSELECT.
    pub misc_select: u32,
    /// ISVEXTPRODID.
    pub isv_ext_prod_id: [u8; 16],
    /// Attributes.
    pub attributes: Attributes,
    /// MRENCLAVE: the measurement of the enclave's contents.
    pub mr_enclave: [u8; 32],
    /// MRSIGNER: the hash of the key that signed the enclave.
    pub mr_signer: [u8; 32],
    /// CONFIGID.
    pub config_id: [u8; 64],
    /// ISVPRODID (`metadata.product_id`).
    pub isv_prod_id: u16,
    /// ISVSVN (`metadata.version_number`).
    pub isv_svn: u16,
    /// CONFIGSVN.
    pub config_svn: u16,
    /// ISVFAMILYID.
    pub isv_family_id: [u8; 16],
    /// The 64 bytes the enclave chose (a hash of a public key, a nonce).
    pub report_data: [u8; 64],
    /// The reserved bytes (zero in reports made here), kept as received so
    /// that a MAC or signature covers exactly the bytes it was made over.
    pub reserved: [u8; RESERVED_LEN],
}

/// The reserved ranges of a report body, in order.
const RESERVED: [(usize, usize); 4] = [(20, 32), (96, 128), (160, 192), (262, 304)];
/// Their total size.
pub const RESERVED_LEN: usize = 12 + 32 + 32 + 42;

impl Default for ReportBody {
    fn default() -> Self {
        ReportBody::parse(&[0; Self::SIZE])
    }
}

impl ReportBody {
    /// Size in bytes.
    pub const SIZE: usize = 384;

    /// Parses the 384 bytes (reserved bytes are ignored, as verifiers do).
    pub fn parse(b: &[u8; Self::SIZE]) -> ReportBody {
        ReportBody {
            cpu_svn: array(b, 0),
            misc_select: u32_at(b, 16),
            isv_ext_prod_id: array(b, 32),
            attributes: Attributes::read(&b[48..64]),
            mr_enclave: array(b, 64),
            mr_signer: array(b, 128),
            config_id: array(b, 192),
            isv_prod_id: u16_at(b, 256),
            isv_svn: u16_at(b, 258),
            config_svn: u16_at(b, 260),
            isv_family_id: array(b, 304),
            report_data: array(b, 320),
            reserved: {
                let mut r = [0u8; RESERVED_LEN];
                let mut at = 0;
                for (start, end) in RESERVED {
                    r[at..at + end - start].copy_from_slice(&b[start..end]);
                    at += end - start;
                }
                r
            },
        }
    }

    /// The 384 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..16].copy_from_slice(&self.cpu_svn);
        b[16..20].copy_from_slice(&self.misc_select.to_le_bytes());
        b[32..48].copy_from_slice(&self.isv_ext_prod_id);
        self.attributes.write(&mut b[48..64]);
        b[64..96].copy_from_slice(&self.mr_enclave);
        b[128..160].copy_from_slice(&self.mr_signer);
        b[192..256].copy_from_slice(&self.config_id);
        b[256..258].copy_from_slice(&self.isv_prod_id.to_le_bytes());
        b[258..260].copy_from_slice(&self.isv_svn.to_le_bytes());
        b[260..262].copy_from_slice(&self.config_svn.to_le_bytes());
        b[304..320].copy_from_slice(&self.isv_family_id);
        b[320..384].copy_from_slice(&self.report_data);
        let mut at = 0;
        for (start, end) in RESERVED {
            b[start..end].copy_from_slice(&self.reserved[at..at + end - start]);
            at += end - start;
        }
        b
    }

    /// Whether the enclave is debuggable (then it proves little).
    pub fn debug(&self) -> bool {
        self.attributes.flags & FLAGS_DEBUG != 0
    }
}

/// `sgx_report_t` (432 bytes): a report body MAC'd with the target's report key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What the report says.
    pub body: ReportBody,
    /// Which report key (the platform's current one).
    pub key_id: [u8; 32],
    /// AES-CMAC of the body with the target's report key.
    pub mac: [u8; 16],
}

impl Report {
    /// Size in bytes.
    pub const SIZE: usize = 432;

    /// Parses the 432 bytes.
    pub fn parse(b: &[u8; Self::SIZE]) -> Report {
        Report {
            body: ReportBody::parse(&array(b, 0)),
            key_id: array(b, 384),
            mac: array(b, 416),
        }
    }

    /// The 432 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..384].copy_from_slice(&self.body.to_bytes());
        b[384..416].copy_from_slice(&self.key_id);
        b[416..].copy_from_slice(&self.mac);
        b
    }
}

/// `SGX_KEYSELECT_*`: which key EGETKEY derives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyName {
    /// For launch tokens (architectural enclaves only).
    EinitToken = 0,
    /// Provisioning key (needs the PROVISION_KEY attribute).
    Provision = 1,
    /// Provisioning seal key (needs the PROVISION_KEY attribute).
    ProvisionSeal = 2,
    /// The key that MACs reports for this enclave.
    Report = 3,
    /// A sealing key.
    Seal = 4,
}

/// Key policy: bind the key to MRENCLAVE.
pub const KEYPOLICY_MRENCLAVE: u16 = 0x1;
/// Key policy: bind the key to MRSIGNER.
pub const KEYPOLICY_MRSIGNER: u16 = 0x2;
/// Key policy: leave ISVPRODID out.
pub const KEYPOLICY_NOISVPRODID: u16 = 0x4;
/// Key policy: bind the key to CONFIGID.
pub const KEYPOLICY_CONFIGID: u16 = 0x8;
/// Key policy: bind the key to ISVFAMILYID.
pub const KEYPOLICY_ISVFAMILYID: u16 = 0x10;
/// Key policy: bind the key to ISVEXTPRODID.
pub const KEYPOLICY_ISVEXTPRODID: u16 = 0x20;
const KEYPOLICY_ALL: u16 = 0x3f;

/// `sgx_key_request_t` (512 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    /// Which key.
    pub key_name: KeyName,
    /// `KEYPOLICY_*` bits.
    pub key_policy: u16,
    /// The ISVSVN to derive for (at most the enclave's own).
    pub isv_svn: u16,
    /// The CPUSVN to derive for (at most the platform's).
    pub cpu_svn: [u8; 16],
    /// Which attributes go into the key.
    pub attribute_mask: Attributes,
    /// Caller-chosen diversifier.
    pub key_id: [u8; 32],
    /// Which MISCSELECT bits go into the key.
    pub misc_mask: u32,
    /// The CONFIGSVN to derive for.
    pub config_svn: u16,
}

impl KeyRequest {
    /// Size in bytes.
    pub const SIZE: usize = 512;

    /// Parses the 512 bytes; `None` for an unknown key name or policy bit,
    /// or reserved bytes that are not zero (EGETKEY faults on them).
    pub fn parse(b: &[u8; Self::SIZE]) -> Option<KeyRequest> {
        let key_name = match u16_at(b, 0) {
            0 => KeyName::EinitToken,
            1 => KeyName::Provision,
            2 => KeyName::ProvisionSeal,
            3 => KeyName::Report,
            4 => KeyName::Seal,
            _ => return None,
        };
        let key_policy = u16_at(b, 2);
        if key_policy & !KEYPOLICY_ALL != 0 || u16_at(b, 6) != 0 || b[78..].iter().any(|&x| x != 0)
        {
            return None;
        }
        Some(KeyRequest {
            key_name,
            key_policy,
            isv_svn: u16_at(b, 4),
            cpu_svn: array(b, 8),
            attribute_mask: Attributes::read(&b[24..40]),
            key_id: array(b, 40),
            misc_mask: u32_at(b, 72),
            config_svn: u16_at(b, 76),
        })
    }

    /// The 512 bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&(self.key_name as u16).to_le_bytes());
        b[2..4].copy_from_slice(&self.key_policy.to_le_bytes());
        b[4..6].copy_from_slice(&self.isv_svn.to_le_bytes());
        b[8..24].copy_from_slice(&self.cpu_svn);
        self.attribute_mask.write(&mut b[24..40]);
        b[40..72].copy_from_slice(&self.key_id);
        b[72..76].copy_from_slice(&self.misc_mask.to_le_bytes());
        b[76..78].copy_from_slice(&self.config_svn.to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_at_sdk_offsets() {
        let body = ReportBody {
            cpu_svn: [1; 16],
            misc_select: 0x0203_0405,
            isv_ext_prod_id: [6; 16],
            attributes: Attributes {
                flags: FLAGS_INITTED | FLAGS_DEBUG,
                xfrm: 3,
            },
            mr_enclave: [7; 32],
            mr_signer: [8; 32],
            config_id: [9; 64],
            isv_prod_id: 0x0a0b,
            isv_svn: 0x0c0d,
            config_svn: 0x0e0f,
            isv_family_id: [0x10; 16],
            report_data: [0x11; 64],
            reserved: [0; RESERVED_LEN],
        };
        let b = body.to_bytes();
        let mut odd = b;
        odd[100] = 1;
        assert_eq!(
            ReportBody::parse(&odd).to_bytes(),
            odd,
            "reserved bytes are kept"
        );
        assert_eq!(b[16], 0x05, "misc_select at 16");
        assert_eq!(b[48], 0x03, "attributes.flags at 48");
        assert_eq!((b[64], b[128], b[192]), (7, 8, 9));
        assert_eq!((b[256], b[258], b[260]), (0x0b, 0x0d, 0x0f));
        assert_eq!((b[304], b[320], b[383]), (0x10, 0x11, 0x11));
        assert_eq!(ReportBody::parse(&b), body);
        assert!(body.debug());

        let report = Report {
            body,
            key_id: [0x12; 32],
            mac: [0x13; 16],
        };
        let r = report.to_bytes();
        assert_eq!((r[384], r[416]), (0x12, 0x13));
        assert_eq!(Report::parse(&r), report);

        let ti = TargetInfo {
            mr_enclave: [1; 32],
            attributes: Attributes { flags: 5, xfrm: 3 },
            config_svn: 0x0102,
            misc_select: 0x0304_0506,
            config_id: [2; 64],
        };
        let t = ti.to_bytes();
        assert_eq!((t[32], t[50], t[52], t[64]), (5, 2, 6, 2));
        assert_eq!(TargetInfo::parse(&t), Some(ti));
        let mut dirty = t;
        dirty[200] = 1;
        assert_eq!(TargetInfo::parse(&dirty), None, "reserved bytes must be 0");
    }

    #[test]
    fn key_requests_refuse_unknown_names_policies_and_reserved_bytes() {
        let req = KeyRequest {
            key_name: KeyName::Seal,
            key_policy: KEYPOLICY_MRSIGNER,
            isv_svn: 2,
            cpu_svn: [3; 16],
            attribute_mask: Attributes {
                flags: 0xff0000000000000b,
                xfrm: 0,
            },
            key_id: [4; 32],
            misc_mask: 0xf000_0000,
            config_svn: 0,
        };
        let b = req.to_bytes();
        assert_eq!((b[0], b[2], b[4], b[8], b[40]), (4, 2, 2, 3, 4));
        assert_eq!(KeyRequest::parse(&b), Some(req));
        let mut bad = b;
        bad[0] = 9;
        assert_eq!(KeyRequest::parse(&bad), None);
        let mut bad = b;
        bad[2] = 0x40;
        assert_eq!(KeyRequest::parse(&bad), None);
        let mut bad = b;
        bad[511] = 1;
        assert_eq!(KeyRequest::parse(&bad), None);
    }
}
