//! The `Occlum.json` schema, defaults and validation.
//!
//! Accepts every field of a real Occlum `Occlum.json` (including the EDMM
//! add-ons and legacy `metadata.pkru`/`metadata.amx`), fills omitted fields
//! from [`Config::default`] (Occlum's template values), and rejects unknown
//! fields, wrong types and bad sizes with a one-line [`ConfigError`] naming
//! the field.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod schema;
mod size;
mod validate;

use std::path::Path;

use serde::Serialize;

pub use error::{ConfigError, ConfigErrorKind, DEFAULT_FILE_NAME};
pub use schema::{
    default_mounts, Config, EnvConfig, Feature, FsType, KmsConfig, MetaId, Metadata, MountConfig,
    MountOptions, ParseFsTypeError, ProcessConfig, ResourceLimits,
};
pub use size::{ByteSize, ParseByteSizeError, PAGE_SIZE};
pub use validate::{
    valid_secret_name, MAX_THREADS, MIN_CACHE_SIZE, MIN_KERNEL_STACK_SIZE, MIN_USER_SPACE_SIZE,
};

impl Config {
    /// Parses and validates `Occlum.json` text; errors name `"Occlum.json"`.
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        Self::from_json_str_named(text, DEFAULT_FILE_NAME)
    }

    /// Like [`Config::from_json_str`], with `file` as the name in errors.
    pub fn from_json_str_named(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| ConfigError::from_serde(file, e))?;
        // Reject trailing characters after the top-level object.
        de.end()
            .map_err(|e| ConfigError::from_json(file, None, e))?;
        config.validate().map_err(|e| e.with_file(file))?;
        Ok(config)
    }

    /// Reads `path` and parses it with [`Config::from_json_str`]; errors name
    /// the file as given.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(&file, e))?;
        Self::from_json_str_named(&text, &file)
    }

    /// Checks the semantic rules (sizes, thread counts, paths, env entries,
    /// mounts). Errors name `"Occlum.json"` as the file.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::validate(self)
    }

    /// Pretty JSON in Occlum's style (4-space indent, trailing newline).
    pub fn to_json_pretty(&self) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser)
            .expect("serializing a Config to memory cannot fail");
        let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
        text.push('\n');
        text
    }
}

/// The `Occlum.json` text `occlum new` writes: the defaults, with a user
/// space that may grow to 16 GB.
pub fn default_template() -> String {
    Config::template().to_json_pretty()
}

impl Config {
    /// The configuration `occlum new` writes: the defaults, with room for
    /// runtimes that reserve gigabytes of address space up front (the JVM's
    /// heap and code cache, V8's pointer cage); reserving address space
    /// costs nothing until it is used.
    pub fn template() -> Config {
        let mut c = Config::default();
        c.resource_limits.user_space_max_size = Some(ByteSize::gb(16));
        c
    }
}

#[cfg(test)]
mod tests;
