//! SGX attestation on a simulated platform: reports (EREPORT), keys
//! (EGETKEY), DCAP ECDSA quotes (version 3) and their verification, with
//! SGX's structures and Intel's quote layout, so that programs and
//! verifiers written for SGX work unchanged.
//!
//! No SGX hardware is involved. A [`Platform`] stands in for one machine:
//! a random fuse key from which report and sealing keys are derived with
//! AES-CMAC (as the CPU derives them from its fuses), an ECDSA P-256
//! attestation key, and a PCK key certified by a simulated provisioning CA
//! chain with its own root. A quote that verifies against that root proves
//! only that someone holding this platform's file (`platform.json`, in the
//! user's data directory) made it: **a simulated quote proves nothing about
//! hardware**. A hardware backend replaces the platform's secrets with the
//! CPU's instructions and Intel's quoting enclave; the formats stay.
//! docs/attestation.md has the details.

#![forbid(unsafe_code)]

pub mod pki;
mod platform;
pub mod quote;
pub mod sgx;

pub use platform::{
    default_dir, quoting_enclave, quoting_enclave_identity, Enclave, KeyError, Platform,
    PlatformError,
};
pub use quote::{QuoteError, Verified};

#[cfg(test)]
mod tests;
