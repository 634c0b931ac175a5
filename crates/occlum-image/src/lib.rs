//! The integrity-protected image format.
#![forbid(unsafe_code)]
