//! Reading and verifying images (the LibOS side).

mod cache;
mod dev;
mod error;
mod image;
pub(crate) mod store;

pub use dev::ReadAt;
pub use error::ImageError;
pub use image::{Image, DEFAULT_CACHE_BYTES};
