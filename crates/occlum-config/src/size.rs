//! [`ByteSize`]: memory sizes written as strings such as `"32MB"`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;
const TB: u64 = 1024 * GB;

/// The page size used by [`ByteSize::page_aligned`].
pub const PAGE_SIZE: u64 = 4096;

/// A size in bytes.
///
/// Parsed from strings of a decimal integer, optional spaces and a unit:
/// `B`, `KB`/`K`, `MB`/`M`, `GB`/`G` or `TB`/`T`, case-insensitive and
/// 1024-based (`"32MB"`, `"1 gb"`, `"4096B"`). A unit is required, as in
/// Occlum. Displayed (and serialized) with the largest of `GB`, `MB`, `KB`
/// that divides it exactly, else in `B` (`"32MB"`, `"1536KB"`, `"0B"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// `n` bytes.
    pub const fn b(n: u64) -> Self {
        ByteSize(n)
    }

    /// `n` KiB. Panics if the result does not fit in a `u64`.
    pub const fn kb(n: u64) -> Self {
        Self::scaled(n, KB)
    }

    /// `n` MiB. Panics if the result does not fit in a `u64`.
    pub const fn mb(n: u64) -> Self {
        Self::scaled(n, MB)
    }

    /// `n` GiB. Panics if the result does not fit in a `u64`.
    pub const fn gb(n: u64) -> Self {
        Self::scaled(n, GB)
    }

    const fn scaled(n: u64, factor: u64) -> Self {
        match n.checked_mul(factor) {
            Some(v) => ByteSize(v),
            None => panic!("ByteSize overflow"),
        }
    }

    /// The number of bytes.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Rounded up to a multiple of [`PAGE_SIZE`] (saturating at the largest
    /// page-aligned `u64`).
    pub const fn page_aligned(self) -> Self {
        match self.0.checked_add(PAGE_SIZE - 1) {
            Some(v) => ByteSize(v & !(PAGE_SIZE - 1)),
            None => ByteSize(!(PAGE_SIZE - 1)),
        }
    }
}

impl From<u64> for ByteSize {
    fn from(n: u64) -> Self {
        ByteSize(n)
    }
}

impl From<ByteSize> for u64 {
    fn from(s: ByteSize) -> u64 {
        s.0
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            return f.write_str("0B");
        }
        for (unit, factor) in [("GB", GB), ("MB", MB), ("KB", KB)] {
            if n.is_multiple_of(factor) {
                return write!(f, "{}{}", n / factor, unit);
            }
        }
        write!(f, "{n}B")
    }
}

/// Why a size string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseByteSizeError {
    /// Not `<digits><optional spaces><unit>`.
    #[error("invalid size \"{0}\", expected a number with unit B, KB, MB or GB (e.g. \"300MB\")")]
    Invalid(String),
    /// Well formed but larger than `u64::MAX` bytes.
    #[error("size \"{0}\" is too large, expected at most 2^64 - 1 bytes")]
    Overflow(String),
}

impl FromStr for ByteSize {
    type Err = ParseByteSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseByteSizeError::Invalid(text.to_string());
        let s = text.trim();
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, rest) = s.split_at(digits_end);
        if digits.is_empty() {
            return Err(invalid());
        }
        let factor = match rest.trim_start().to_ascii_uppercase().as_str() {
            "B" => 1,
            "K" | "KB" => KB,
            "M" | "MB" => MB,
            "G" | "GB" => GB,
            "T" | "TB" => TB,
            _ => return Err(invalid()),
        };
        let overflow = || ParseByteSizeError::Overflow(text.to_string());
        // `digits` is all ASCII digits, so parse can only fail by overflow.
        let number: u64 = digits.parse().map_err(|_| overflow())?;
        number
            .checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(overflow)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size string such as \"300MB\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        let ok = [
            ("4096B", 4096),
            ("512KB", 512 * KB),
            ("32MB", 32 * MB),
            ("1GB", GB),
            ("2TB", 2 * TB),
            ("100 MB", 100 * MB),
            (" 8mb ", 8 * MB),
            ("3K", 3 * KB),
            ("3m", 3 * MB),
            ("3G", 3 * GB),
            ("0B", 0),
        ];
        for (s, n) in ok {
            assert_eq!(s.parse::<ByteSize>(), Ok(ByteSize(n)), "{s}");
        }
    }

    #[test]
    fn rejects_bad_strings() {
        for s in [
            "", "MB", "12", "12XB", "1.5GB", "-1MB", "+1MB", "1 0MB", "MB12", "12 M B", "12KiB",
        ] {
            assert!(
                matches!(s.parse::<ByteSize>(), Err(ParseByteSizeError::Invalid(_))),
                "{s:?} should be invalid"
            );
        }
    }

    #[test]
    fn rejects_overflow() {
        for s in [
            "16777216TB",
            "99999999999999999999999B",
            "18014398509481984KB",
        ] {
            assert!(
                matches!(s.parse::<ByteSize>(), Err(ParseByteSizeError::Overflow(_))),
                "{s:?} should overflow"
            );
        }
        assert_eq!(
            "18446744073709551615B".parse::<ByteSize>(),
            Ok(ByteSize(u64::MAX))
        );
    }

    #[test]
    fn displays_largest_exact_unit() {
        assert_eq!(ByteSize::mb(32).to_string(), "32MB");
        assert_eq!(ByteSize::gb(1).to_string(), "1GB");
        assert_eq!(ByteSize::kb(1536).to_string(), "1536KB");
        assert_eq!(ByteSize(4097).to_string(), "4097B");
        assert_eq!(ByteSize(0).to_string(), "0B");
        assert_eq!(ByteSize::gb(2048).to_string(), "2048GB");
        for n in [0, 1, 4096, 3 * MB, 5 * GB + KB, u64::MAX] {
            let s = ByteSize(n).to_string();
            assert_eq!(s.parse::<ByteSize>(), Ok(ByteSize(n)), "{s}");
        }
    }

    #[test]
    fn page_aligned_rounds_up() {
        assert_eq!(ByteSize(0).page_aligned(), ByteSize(0));
        assert_eq!(ByteSize(1).page_aligned(), ByteSize(4096));
        assert_eq!(ByteSize(4096).page_aligned(), ByteSize(4096));
        assert_eq!(ByteSize(u64::MAX).page_aligned(), ByteSize(u64::MAX - 4095));
    }

    #[test]
    fn serde_uses_strings() {
        assert_eq!(
            serde_json::to_string(&ByteSize::mb(300)).unwrap(),
            "\"300MB\""
        );
        let s: ByteSize = serde_json::from_str("\"1GB\"").unwrap();
        assert_eq!(s, ByteSize::gb(1));
        let err = serde_json::from_str::<ByteSize>("32").unwrap_err();
        assert!(err.to_string().contains("expected a size string"), "{err}");
    }
}
