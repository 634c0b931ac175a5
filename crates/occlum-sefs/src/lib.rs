//! The encrypted writable file system.
#![forbid(unsafe_code)]
