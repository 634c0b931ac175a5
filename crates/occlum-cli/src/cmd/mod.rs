//! The subcommands.

pub mod add;
pub mod attest;
pub mod build;
pub mod keys;
pub mod kms;
pub mod mount;
pub mod new;
pub mod package;
pub mod print;
pub mod run;
pub mod server;
