//! The crate's error type and its Linux errno mapping.

/// Everything that can go wrong in a file-system call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such file or directory.
    #[error("no such file or directory")]
    NotFound,
    /// The name is already taken.
    #[error("file exists")]
    Exists,
    /// A directory was required.
    #[error("not a directory")]
    NotDir,
    /// The operation does not apply to a directory.
    #[error("is a directory")]
    IsDir,
    /// The directory is not empty.
    #[error("directory not empty")]
    NotEmpty,
    /// A name is longer than 255 bytes (or a symlink target longer than 4095).
    #[error("file name too long")]
    NameTooLong,
    /// An invalid argument.
    #[error("invalid argument")]
    Invalid,
    /// The notional capacity is exhausted.
    #[error("no space left on device")]
    NoSpace,
    /// The file would exceed the largest supported size.
    #[error("file too large")]
    FileTooBig,
    /// Neither superblock slot authenticates: wrong key, or the host changed it.
    #[error("wrong key or corrupted superblocks")]
    BadKeyOrCorrupted,
    /// The host file is empty or too short to hold a file system.
    #[error("storage is not formatted")]
    NotFormatted,
    /// A block failed authentication or holds inconsistent data.
    #[error("corrupted: {0}")]
    Corrupted(String),
    /// The host storage failed.
    #[error("host I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

const ENOENT: i32 = 2;
const EIO: i32 = 5;
const EEXIST: i32 = 17;
const ENOTDIR: i32 = 20;
const EISDIR: i32 = 21;
const EINVAL: i32 = 22;
const EFBIG: i32 = 27;
const ENOSPC: i32 = 28;
const ENAMETOOLONG: i32 = 36;
const ENOTEMPTY: i32 = 39;

impl Error {
    /// The Linux errno for this error (EIO for corruption, bad key and host I/O).
    pub fn errno(&self) -> i32 {
        match self {
            Error::NotFound => ENOENT,
            Error::Exists => EEXIST,
            Error::NotDir => ENOTDIR,
            Error::IsDir => EISDIR,
            Error::NotEmpty => ENOTEMPTY,
            Error::NameTooLong => ENAMETOOLONG,
            Error::Invalid => EINVAL,
            Error::NoSpace => ENOSPC,
            Error::FileTooBig => EFBIG,
            Error::BadKeyOrCorrupted | Error::NotFormatted | Error::Corrupted(_) | Error::Io(_) => {
                EIO
            }
        }
    }
}

/// Shorthand for a `Corrupted` error.
pub(crate) fn corrupted(what: impl Into<String>) -> Error {
    Error::Corrupted(what.into())
}
