//! The subcommands.

pub mod build;
pub mod new;
pub mod run;
