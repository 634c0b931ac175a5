//! Errors returned by [`crate::Image`].

use std::fmt;
use std::io;

use crate::attr::Ino;

/// Linux errno values used by [`ImageError::errno`].
mod errno {
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EINVAL: i32 = 22;
}

/// Why an image operation failed.
#[derive(Debug)]
pub enum ImageError {
    /// No such entry or inode.
    NotFound,
    /// A directory operation on a non-directory.
    NotDir,
    /// A file-data read on a directory.
    IsDir,
    /// The operation does not apply to this inode (e.g. `readlink` on a regular file).
    InvalidArgument,
    /// Integrity check failed (tampered or truncated image) while accessing `path`.
    Corrupted {
        /// The inode being accessed, if any.
        ino: Option<Ino>,
        /// Path of that inode inside the image, for error messages.
        path: String,
        /// Image block that failed verification.
        block: u64,
    },
    /// The header does not match the trusted root hash or is malformed.
    BadHeader(String),
    /// The host failed to read the image.
    Io(io::Error),
}

impl ImageError {
    /// The Linux errno for this error.
    pub fn errno(&self) -> i32 {
        match self {
            ImageError::NotFound => errno::ENOENT,
            ImageError::NotDir => errno::ENOTDIR,
            ImageError::IsDir => errno::EISDIR,
            ImageError::InvalidArgument => errno::EINVAL,
            ImageError::Corrupted { .. } | ImageError::BadHeader(_) | ImageError::Io(_) => {
                errno::EIO
            }
        }
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotFound => f.write_str("no such file or directory in image"),
            ImageError::NotDir => f.write_str("not a directory"),
            ImageError::IsDir => f.write_str("is a directory"),
            ImageError::InvalidArgument => f.write_str("invalid argument for this file kind"),
            ImageError::Corrupted { path, block, .. } => {
                write!(
                    f,
                    "image integrity check failed reading {path} (image block {block})"
                )
            }
            ImageError::BadHeader(why) => write!(f, "bad image header: {why}"),
            ImageError::Io(e) => write!(f, "image I/O error: {e}"),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImageError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ImageError {
    fn from(e: io::Error) -> Self {
        ImageError::Io(e)
    }
}
