//! The `Occlum.json` data model and its defaults (Occlum's template values).

use std::fmt;
use std::str::FromStr;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::size::ByteSize;

/// Implements `Serialize`/`Deserialize` for structs derived with
/// `#[serde(remote = "Self")]`, accepting only JSON objects (a plain derive
/// would also read a struct from an array of its field values).
macro_rules! object_only_serde {
    ($($ty:ty),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$ty>::serialize(self, s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a JSON object")
                    }

                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        <$ty>::deserialize(MapAccessDeserializer::new(map))
                    }
                }

                d.deserialize_map(ObjectVisitor)
            }
        }
    )*};
}

object_only_serde!(
    Config,
    ResourceLimits,
    ProcessConfig,
    EnvConfig,
    Metadata,
    MetaId,
    Feature,
    MountConfig,
    MountOptions,
    KmsConfig,
);

/// A whole `Occlum.json`. Every omitted field takes its value from
/// [`Config::default`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct Config {
    /// Enclave-wide memory and thread limits.
    pub resource_limits: ResourceLimits,
    /// Per-process defaults.
    pub process: ProcessConfig,
    /// Absolute path prefixes that `occlum run <path>` may execute.
    pub entry_points: Vec<String>,
    /// Environment of the root process.
    pub env: EnvConfig,
    /// Enclave signing metadata.
    pub metadata: Metadata,
    /// Optional LibOS features.
    pub feature: Feature,
    /// File systems mounted at boot, in order.
    pub mount: Vec<MountConfig>,
    /// Secrets from a key broker (`occlum kms serve`), fetched with remote
    /// attestation before the file systems are mounted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms: Option<KmsConfig>,
}

/// `kms`: where the enclave gets its secrets, and what it does with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct KmsConfig {
    /// The key broker, `HOST:PORT`.
    pub address: String,
    /// SHA-256 of the broker's TLS public key, in hex (as `occlum kms
    /// serve` prints it): the only broker the enclave talks to.
    pub server_key_sha256: String,
    /// The secret that keys the encrypted root; without it the root is not
    /// mounted and nothing runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_key: Option<String>,
    /// Secrets given to programs as files `/run/secrets/NAME` (in memory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Environment variables set to secrets: variable name to secret name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `resource_limits`: enclave-wide memory and thread limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct ResourceLimits {
    /// Initial LibOS kernel heap (default 32MB).
    pub kernel_space_heap_size: ByteSize,
    /// Maximum kernel heap with EDMM; `None` means the initial size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_space_heap_max_size: Option<ByteSize>,
    /// Stack of each LibOS kernel thread (default 1MB).
    pub kernel_space_stack_size: ByteSize,
    /// Initial memory for all user processes (default 300MB).
    pub user_space_size: ByteSize,
    /// Maximum user memory with EDMM; `None` means `user_space_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_space_max_size: Option<ByteSize>,
    /// Initial number of enclave threads with EDMM (Occlum's optional field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_num_of_threads: Option<u32>,
    /// Maximum number of LibOS threads/processes (default 32).
    pub max_num_of_threads: u32,
}

impl ResourceLimits {
    /// The largest user space the enclave may use:
    /// `user_space_max_size` if given, else `user_space_size`, whichever is larger.
    pub fn effective_user_space_max(&self) -> ByteSize {
        self.user_space_max_size
            .map_or(self.user_space_size, |m| m.max(self.user_space_size))
    }

    /// The largest kernel heap: `kernel_space_heap_max_size` if given (and
    /// larger), else `kernel_space_heap_size`.
    pub fn effective_kernel_heap_max(&self) -> ByteSize {
        self.kernel_space_heap_max_size
            .map_or(self.kernel_space_heap_size, |m| {
                m.max(self.kernel_space_heap_size)
            })
    }
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            kernel_space_heap_size: ByteSize::mb(32),
            kernel_space_heap_max_size: None,
            kernel_space_stack_size: ByteSize::mb(1),
            user_space_size: ByteSize::mb(300),
            user_space_max_size: None,
            init_num_of_threads: None,
            max_num_of_threads: 32,
        }
    }
}

/// `process`: defaults for each LibOS process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct ProcessConfig {
    /// Stack of the main thread (default 4MB).
    pub default_stack_size: ByteSize,
    /// Maximum `brk` heap (default 32MB).
    pub default_heap_size: ByteSize,
    /// Maximum `mmap` total (default 100MB; Occlum keeps it only for compatibility).
    pub default_mmap_size: ByteSize,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            default_stack_size: ByteSize::mb(4),
            default_heap_size: ByteSize::mb(32),
            default_mmap_size: ByteSize::mb(100),
        }
    }
}

/// `env`: environment variables of the root process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct EnvConfig {
    /// Trusted `NAME=value` entries (default `["OCCLUM=yes"]`).
    pub default: Vec<String>,
    /// Names that may be passed in from the host, overriding `default`
    /// (default `["EXAMPLE"]`).
    pub untrusted: Vec<String>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            default: vec!["OCCLUM=yes".to_string()],
            untrusted: vec!["EXAMPLE".to_string()],
        }
    }
}

/// `metadata`: values for the enclave signature (SIGSTRUCT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct Metadata {
    /// ISVPRODID (default 0).
    pub product_id: u32,
    /// ISVSVN (default 0).
    pub version_number: u32,
    /// Whether the enclave is debuggable (default true; set false in production).
    pub debuggable: bool,
    /// Disable LibOS logging; `None` means "disabled iff not debuggable".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_log: Option<bool>,
    /// Enable Key Separation and Sharing (default false).
    pub enable_kss: bool,
    /// ISVFAMILYID, used with KSS.
    pub family_id: MetaId,
    /// ISVEXTPRODID, used with KSS.
    pub ext_prod_id: MetaId,
    /// Legacy location of [`Feature::pkru`] (older Occlum releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkru: Option<u32>,
    /// Legacy location of [`Feature::amx`] (older Occlum releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amx: Option<u32>,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            product_id: 0,
            version_number: 0,
            debuggable: true,
            disable_log: None,
            enable_kss: false,
            family_id: MetaId::default(),
            ext_prod_id: MetaId::default(),
            pkru: None,
            amx: None,
        }
    }
}

impl Metadata {
    /// Whether logging is off: `disable_log` if given, else `!debuggable`.
    pub fn log_disabled(&self) -> bool {
        self.disable_log.unwrap_or(!self.debuggable)
    }
}

/// A 128-bit ID written as two hex strings, `{"high": "0x0", "low": "0x0"}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct MetaId {
    /// Upper 64 bits.
    #[serde(with = "hex_u64")]
    pub high: u64,
    /// Lower 64 bits.
    #[serde(with = "hex_u64")]
    pub low: u64,
}

mod hex_u64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{v:#x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct HexVisitor;

        impl Visitor<'_> for HexVisitor {
            type Value = u64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 64-bit hex string such as \"0x1234567812345678\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                let t = v.trim();
                let digits = t
                    .strip_prefix("0x")
                    .or_else(|| t.strip_prefix("0X"))
                    .unwrap_or(t);
                let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit());
                ok.then(|| u64::from_str_radix(digits, 16).ok())
                    .flatten()
                    .ok_or_else(|| {
                        E::custom(format_args!(
                            "invalid ID {v:?}, expected a 64-bit hex string such as \"0x1234567812345678\""
                        ))
                    })
            }
        }

        d.deserialize_str(HexVisitor)
    }
}

/// `feature`: optional LibOS features (all off by default).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct Feature {
    /// Intel AMX: 0 disabled, otherwise enabled (Occlum semantics).
    pub amx: u32,
    /// PKU isolation: 0 off, 1 required, 2 if the platform supports it.
    pub pkru: u32,
    /// Number of io_uring instances (0 = off).
    pub io_uring: u32,
    /// Build for an EDMM (SGX2) platform.
    pub enable_edmm: bool,
    /// Enable POSIX shared memory (`shm_open`).
    pub enable_posix_shm: bool,
}

/// One entry of `mount` (or of a unionfs's `options.layers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct MountConfig {
    /// Absolute mount point inside the LibOS.
    pub target: String,
    /// File system type (JSON key `type`).
    #[serde(rename = "type")]
    pub fs_type: FsType,
    /// Host-side source (directory or image path), if the type uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Type-specific options.
    #[serde(default, skip_serializing_if = "MountOptions::is_empty")]
    pub options: MountOptions,
}

impl MountConfig {
    /// A mount with no source and no options.
    pub fn new(target: impl Into<String>, fs_type: FsType) -> Self {
        MountConfig {
            target: target.into(),
            fs_type,
            source: None,
            options: MountOptions::default(),
        }
    }

    /// Builder: sets `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Builder: sets `options`.
    pub fn with_options(mut self, options: MountOptions) -> Self {
        self.options = options;
        self
    }
}

/// `options` of a mount. Fields a file system does not use are ignored by it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct MountOptions {
    /// `"MAC"`: expected MAC of an integrity-protected image (filled in at build
    /// time; `""` in the template marks the image layer).
    #[serde(rename = "MAC", skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// unionfs layers, lowest (read-only image) first, writable layer last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<MountConfig>>,
    /// sefs: keep contents only in memory, discarded at exit.
    #[serde(skip_serializing_if = "is_false")]
    pub temporary: bool,
    /// sefs (legacy Occlum option): image is integrity-only, not encrypted.
    #[serde(skip_serializing_if = "is_false")]
    pub integrity_only: bool,
    /// sefs: auto-key derivation policy (Occlum option).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autokey_policy: Option<u32>,
    /// Page cache size of a cached file system (Occlum option).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_size: Option<ByteSize>,
    /// ramfs: most bytes of file contents it holds (`ENOSPC` past it); without
    /// it, its contents count against `resource_limits.kernel_space_heap_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    /// Disk size of a disk-backed file system (Occlum option).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<ByteSize>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl MountOptions {
    /// True when every option has its default value (omitted when serialized).
    pub fn is_empty(&self) -> bool {
        *self == MountOptions::default()
    }
}

/// Supported file system types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FsType {
    /// `"unionfs"`: layers in `options.layers`.
    UnionFs,
    /// `"sefs"`: Occlum's secure FS image (here: the integrity-protected image
    /// or a writable encrypted layer).
    Sefs,
    /// `"hostfs"`: a host directory (`source`), untrusted.
    HostFs,
    /// `"ramfs"`: in-memory.
    RamFs,
    /// `"devfs"`: `/dev`.
    DevFs,
    /// `"procfs"`: `/proc`.
    ProcFs,
}

impl FsType {
    /// All types, in the order listed in error messages.
    pub const ALL: [FsType; 6] = [
        FsType::UnionFs,
        FsType::Sefs,
        FsType::HostFs,
        FsType::RamFs,
        FsType::DevFs,
        FsType::ProcFs,
    ];

    /// The JSON name, e.g. `"unionfs"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FsType::UnionFs => "unionfs",
            FsType::Sefs => "sefs",
            FsType::HostFs => "hostfs",
            FsType::RamFs => "ramfs",
            FsType::DevFs => "devfs",
            FsType::ProcFs => "procfs",
        }
    }

    fn expected_list() -> String {
        let names: Vec<String> = Self::ALL
            .iter()
            .map(|t| format!("`{}`", t.as_str()))
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for FsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`FsType::from_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported file system type {0:?}, expected one of {list}", list = FsType::expected_list())]
pub struct ParseFsTypeError(pub String);

impl FromStr for FsType {
    type Err = ParseFsTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FsType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseFsTypeError(s.to_string()))
    }
}

impl Serialize for FsType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FsType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TypeVisitor;

        impl Visitor<'_> for TypeVisitor {
            type Value = FsType;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "one of {}", FsType::expected_list())
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<FsType, E> {
                v.parse().map_err(E::custom)
            }
        }

        d.deserialize_str(TypeVisitor)
    }
}

/// The mounts `occlum new` writes: the root unionfs (read-only integrity image
/// under a writable layer), `/host`, `/proc`, `/dev` and `/tmp`.
pub fn default_mounts() -> Vec<MountConfig> {
    let image = MountConfig::new("/", FsType::Sefs)
        .with_source("./build/mount/__ROOT")
        .with_options(MountOptions {
            mac: Some(String::new()),
            ..MountOptions::default()
        });
    let writable = MountConfig::new("/", FsType::Sefs).with_source("./run/mount/__ROOT");
    vec![
        MountConfig::new("/", FsType::UnionFs).with_options(MountOptions {
            layers: Some(vec![image, writable]),
            ..MountOptions::default()
        }),
        MountConfig::new("/host", FsType::HostFs).with_source("."),
        MountConfig::new("/proc", FsType::ProcFs),
        MountConfig::new("/dev", FsType::DevFs),
        MountConfig::new("/tmp", FsType::RamFs),
    ]
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resource_limits: ResourceLimits::default(),
            process: ProcessConfig::default(),
            entry_points: vec!["/bin".to_string()],
            env: EnvConfig::default(),
            metadata: Metadata::default(),
            feature: Feature::default(),
            mount: default_mounts(),
            kms: None,
        }
    }
}
