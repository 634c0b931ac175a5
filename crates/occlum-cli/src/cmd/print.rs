//! `occlum print mrenclave|mrsigner`: the built enclave's identity, after
//! checking its signature and measurement.

use anyhow::Result;

use super::run::verified_identity;
use crate::instance::Instance;

/// What `occlum print` can print.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Field {
    /// The measurement of the LibOS, its configuration and image.
    Mrenclave,
    /// The SHA-256 of the signer's public key.
    Mrsigner,
}

/// Prints `field` of the built instance in the current directory.
pub fn print(field: Field) -> Result<()> {
    let inst = Instance::current()?;
    let id = verified_identity(&inst)?;
    match field {
        Field::Mrenclave => println!("{}", id.signed.mrenclave),
        Field::Mrsigner => println!("{}", id.signed.mrsigner),
    }
    Ok(())
}
