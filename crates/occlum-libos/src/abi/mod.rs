//! The Linux x86_64 structures that cross the user boundary, in one place:
//! each is a plain Rust struct whose fields, padding included, spell out the
//! C layout, with its size checked at compile time; [`UserPtr`] reads and
//! writes them in user memory through the checked copies (`EFAULT` for a
//! bad pointer). No offset arithmetic by hand in the syscall handlers.

mod structs;

use std::marker::PhantomData;

pub use structs::*;

use crate::user;
use crate::Result;

/// A value with a fixed little-endian layout of [`Abi::SIZE`] bytes.
pub trait Abi: Sized + Copy {
    /// Size in bytes, as C's `sizeof`.
    const SIZE: usize;

    /// Decodes the first [`Abi::SIZE`] bytes of `b` (at least that long).
    fn read_from(b: &[u8]) -> Self;

    /// Encodes into the first [`Abi::SIZE`] bytes of `b` (at least that long).
    fn write_to(&self, b: &mut [u8]);

    /// The encoded bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; Self::SIZE];
        self.write_to(&mut b);
        b
    }

    /// The value whose bytes are all zero.
    fn zeroed() -> Self {
        Self::read_from(&vec![0u8; Self::SIZE])
    }
}

macro_rules! abi_int {
    ($($t:ty),*) => {$(
        impl Abi for $t {
            const SIZE: usize = std::mem::size_of::<$t>();

            fn read_from(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b[..Self::SIZE].try_into().expect("SIZE bytes"))
            }

            fn write_to(&self, b: &mut [u8]) {
                b[..Self::SIZE].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

abi_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl<T: Abi, const N: usize> Abi for [T; N] {
    const SIZE: usize = T::SIZE * N;

    fn read_from(b: &[u8]) -> Self {
        std::array::from_fn(|i| T::read_from(&b[i * T::SIZE..]))
    }

    fn write_to(&self, b: &mut [u8]) {
        for (i, v) in self.iter().enumerate() {
            v.write_to(&mut b[i * T::SIZE..]);
        }
    }
}

/// Declares a C structure: fields in order, padding as explicit fields, and
/// the C size, checked against the fields at compile time.
macro_rules! abi_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident: $t:ty,)* } = $size:expr;) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $crate::abi::Abi for $name {
            const SIZE: usize = $size;

            fn read_from(b: &[u8]) -> Self {
                let mut _at = 0;
                $(
                    let $f = <$t as $crate::abi::Abi>::read_from(&b[_at..]);
                    _at += <$t as $crate::abi::Abi>::SIZE;
                )*
                $name { $($f,)* }
            }

            fn write_to(&self, b: &mut [u8]) {
                let mut _at = 0;
                $(
                    $crate::abi::Abi::write_to(&self.$f, &mut b[_at..]);
                    _at += <$t as $crate::abi::Abi>::SIZE;
                )*
            }
        }

        const _: () = assert!(
            0 $(+ <$t as $crate::abi::Abi>::SIZE)* == $size,
            concat!("the fields of ", stringify!($name), " do not add up to its C size")
        );
    };
}

pub(crate) use abi_struct;

/// A pointer into user memory to a `T`.
#[derive(Debug)]
pub struct UserPtr<T> {
    addr: u64,
    _t: PhantomData<T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for UserPtr<T> {}

impl<T: Abi> UserPtr<T> {
    /// The pointer a syscall argument holds.
    pub fn new(addr: u64) -> Self {
        UserPtr {
            addr,
            _t: PhantomData,
        }
    }

    /// Whether it is NULL.
    pub fn is_null(&self) -> bool {
        self.addr == 0
    }

    /// The address.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// The `i`-th element of an array starting here.
    pub fn at(&self, i: usize) -> Self {
        UserPtr::new(self.addr.wrapping_add((i * T::SIZE) as u64))
    }

    /// Reads the value (`EFAULT` if the memory is not readable user memory).
    pub fn read(&self) -> Result<T> {
        let b = user::read_bytes(self.addr, T::SIZE)?;
        Ok(T::read_from(&b))
    }

    /// Writes `v` (`EFAULT` if the memory is not writable user memory).
    pub fn write(&self, v: &T) -> Result<()> {
        user::write_bytes(self.addr, &v.to_bytes())
    }

    /// Writes consecutive values.
    pub fn write_array(&self, values: &[T]) -> Result<()> {
        let mut b = vec![0u8; values.len() * T::SIZE];
        for (i, v) in values.iter().enumerate() {
            v.write_to(&mut b[i * T::SIZE..]);
        }
        user::write_bytes(self.addr, &b)
    }

    /// Reads `n` consecutive values.
    pub fn read_array(&self, n: usize) -> Result<Vec<T>> {
        let len = n.checked_mul(T::SIZE).ok_or(crate::Errno::EINVAL)?;
        let b = user::read_bytes(self.addr, len)?;
        Ok(b.chunks_exact(T::SIZE).map(T::read_from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    abi_struct! {
        /// A test structure with padding.
        pub struct Sample {
            pub a: u32,
            pub _pad: u32,
            pub b: i64,
            pub c: [u16; 4],
        } = 24;
    }

    #[test]
    fn round_trip_and_layout() {
        let s = Sample {
            a: 0x0102_0304,
            _pad: 0,
            b: -2,
            c: [1, 2, 3, 4],
        };
        let b = s.to_bytes();
        assert_eq!(b.len(), 24);
        assert_eq!(&b[..4], &[4, 3, 2, 1]);
        assert_eq!(&b[8..16], &(-2i64).to_le_bytes());
        assert_eq!(&b[16..18], &[1, 0]);
        assert_eq!(Sample::read_from(&b), s);
        assert_eq!(Sample::zeroed().b, 0);
    }

    #[test]
    fn linux_sizes() {
        assert_eq!(Stat::SIZE, 144);
        assert_eq!(Timespec::SIZE, 16);
        assert_eq!(KernelSigaction::SIZE, 32);
        assert_eq!(StackT::SIZE, 24);
        assert_eq!(Statx::SIZE, 256);
        assert_eq!(Statfs::SIZE, 120);
    }
}
