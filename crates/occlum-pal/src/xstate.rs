//! The user's FPU and vector state as Linux lays it out in a signal frame:
//! the 512-byte FXSAVE area, whose software-reserved bytes 464..512 carry
//! `struct _fpx_sw_bytes` (`FP_XSTATE_MAGIC1`, sizes, features), then the
//! 64-byte XSAVE header and the extended components in the standard
//! (uncompacted) format; `FP_XSTATE_MAGIC2` follows the area.
//!
//! The host kernel restores this state with `XRSTOR` on `rt_sigreturn` and
//! kills the whole process when it does not load. So what user code supplies
//! is merged into the kernel's own copy by [`merge_user_state`], which keeps
//! every byte the kernel relies on (software bytes, header format, reserved
//! MXCSR bits, components the user may not set) as the kernel wrote it.

/// Size of the legacy FPU/SSE state (`FXSAVE` area).
pub const FXSAVE_SIZE: usize = 512;
/// Offset of `struct _fpx_sw_bytes` in the FXSAVE area.
pub const SW_BYTES: usize = 464;
/// Offset of the XSAVE header.
pub const XSAVE_HEADER: usize = 512;
/// Size of the FXSAVE area plus the XSAVE header.
pub const XSAVE_MIN_SIZE: usize = XSAVE_HEADER + 64;
/// `FP_XSTATE_MAGIC1`, at the start of the software bytes.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// `FP_XSTATE_MAGIC2`, right after the XSAVE area.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Largest XSAVE area accepted (the largest user layout today, with AMX
/// tiles, is about 11 KiB).
pub const XSTATE_MAX_SIZE: usize = 64 * 1024;
/// Components user code may set through a signal frame: x87, SSE, AVX and
/// the AVX-512 state (opmask, ZMM upper halves, high ZMM). Others (PKRU
/// above all: it guards every page, the LibOS's included) keep their values.
pub const USER_XFEATURES: u64 = 0b1110_0111;
/// The x87 and SSE components, the FXSAVE part.
const LEGACY_XFEATURES: u64 = 0b11;
pub(crate) const MXCSR: usize = 24;
const MXCSR_MASK: usize = 28;
/// `MXCSR` mask when the CPU reports none (all but DAZ).
const MXCSR_DEFAULT_MASK: u32 = 0xffbf;

fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The extent of the XSAVE area that starts with `fxsave` (its first 512
/// bytes) according to its software bytes: `Some((xstate_size, xfeatures))`
/// when they carry `FP_XSTATE_MAGIC1` and a plausible size, else `None` (an
/// FXSAVE-only area). `FP_XSTATE_MAGIC2` is the caller's to check.
pub fn extent(fxsave: &[u8]) -> Option<(usize, u64)> {
    if fxsave.len() < FXSAVE_SIZE || get_u32(fxsave, SW_BYTES) != FP_XSTATE_MAGIC1 {
        return None;
    }
    let extended = get_u32(fxsave, SW_BYTES + 4) as usize;
    let xfeatures = get_u64(fxsave, SW_BYTES + 8);
    let size = get_u32(fxsave, SW_BYTES + 16) as usize;
    let plausible = (XSAVE_MIN_SIZE..=XSTATE_MAX_SIZE).contains(&size)
        && extended == size + 4
        && xfeatures & LEGACY_XFEATURES == LEGACY_XFEATURES;
    plausible.then_some((size, xfeatures))
}

/// Merges the state user code supplied, `user` (an FXSAVE area, or a whole
/// XSAVE area in the standard format), into `kernel`, the area the host
/// kernel saved and will restore. What the kernel relies on stays its own:
/// the software bytes, MXCSR's reserved bits, the header's format and
/// reserved fields, and components outside [`USER_XFEATURES`]. Each user
/// component is copied where both areas hold it (`offsets(i)` gives the
/// standard-format `(offset, size)` of component `i`): the two may differ
/// in size, as the host kernel's frames and the direct entry's area do on
/// CPUs with AMX. A component `user` lacks (all of them for an FXSAVE-only
/// `user`) is put in its initial state, as Linux does for such a frame.
pub fn merge_user_state(
    kernel: &mut [u8],
    user: &[u8],
    offsets: impl Fn(u32) -> Option<(usize, usize)>,
) {
    if kernel.len() < FXSAVE_SIZE || user.len() < FXSAVE_SIZE {
        return;
    }
    let mask = match get_u32(kernel, MXCSR_MASK) {
        0 => MXCSR_DEFAULT_MASK,
        m => m,
    };
    let mxcsr = get_u32(user, MXCSR) & mask;
    kernel[..MXCSR].copy_from_slice(&user[..MXCSR]);
    kernel[MXCSR..MXCSR + 4].copy_from_slice(&mxcsr.to_le_bytes());
    kernel[MXCSR_MASK + 4..SW_BYTES].copy_from_slice(&user[MXCSR_MASK + 4..SW_BYTES]);
    let Some((size, xfeatures)) = extent(kernel) else {
        return;
    };
    if kernel.len() < size {
        return;
    }
    let settable = USER_XFEATURES & xfeatures;
    let kernel_bv = get_u64(kernel, XSAVE_HEADER);
    let mut user_bv = LEGACY_XFEATURES;
    if user.len() >= XSAVE_MIN_SIZE {
        let given = get_u64(user, XSAVE_HEADER);
        user_bv = given & LEGACY_XFEATURES;
        for i in 2..64 {
            if settable & (1 << i) == 0 {
                continue;
            }
            let Some((off, len)) = offsets(i) else {
                continue;
            };
            let end = off + len;
            if end <= size && end <= user.len() {
                kernel[off..end].copy_from_slice(&user[off..end]);
                user_bv |= given & (1 << i);
            }
        }
    }
    put_u64(
        kernel,
        XSAVE_HEADER,
        (kernel_bv & !settable) | (user_bv & settable),
    );
    // The standard format, no compaction; the rest of the header reserved.
    kernel[XSAVE_HEADER + 8..XSAVE_MIN_SIZE].fill(0);
}

/// Puts the user components of `kernel` in their initial state, as Linux
/// does for a signal handler: x87 control word 0x37f, MXCSR 0x1f80, all
/// registers zero.
pub fn reset_user_state(kernel: &mut [u8]) {
    let mut clean = [0u8; XSAVE_MIN_SIZE];
    clean[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    clean[MXCSR..MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
    // No component in use (`XSTATE_BV` 0): XRSTOR initializes them all.
    merge_user_state(kernel, &clean, |_| None);
}

/// Writes the initial values of the user components that `area`'s header
/// says are in their initial state (`XSTATE_BV` bit clear), as `XSAVE`
/// leaves them and as a signal frame shows them (`XSAVEOPT` leaves such
/// components as they were). `offsets(i)` gives the standard-format
/// `(offset, size)` of extended component `i`.
pub fn write_init_components(area: &mut [u8], offsets: impl Fn(u32) -> Option<(usize, usize)>) {
    let Some((size, xfeatures)) = extent(area) else {
        return;
    };
    if area.len() < size {
        return;
    }
    let bv = get_u64(area, XSAVE_HEADER);
    let init = USER_XFEATURES & xfeatures & !bv;
    if init & 1 != 0 {
        // x87: control word 0x37f, everything else zero.
        area[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        area[2..MXCSR].fill(0);
        area[32..160].fill(0);
    }
    if init & 2 != 0 {
        area[160..416].fill(0);
    }
    for i in 2..8 {
        if init & (1 << i) == 0 {
            continue;
        }
        if let Some((off, len)) = offsets(i) {
            if let Some(bytes) = area.get_mut(off..off + len) {
                bytes.fill(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel-like area: magic, size `size`, features `xf`, header bits `bv`.
    fn area(size: usize, xf: u64, bv: u64) -> Vec<u8> {
        let mut a = vec![0u8; size];
        a[MXCSR_MASK..MXCSR_MASK + 4].copy_from_slice(&0xffffu32.to_le_bytes());
        a[SW_BYTES..SW_BYTES + 4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        a[SW_BYTES + 4..SW_BYTES + 8].copy_from_slice(&(size as u32 + 4).to_le_bytes());
        put_u64(&mut a, SW_BYTES + 8, xf);
        a[SW_BYTES + 16..SW_BYTES + 20].copy_from_slice(&(size as u32).to_le_bytes());
        put_u64(&mut a, XSAVE_HEADER, bv);
        a
    }

    /// The AVX component's standard place; no other component.
    fn avx(i: u32) -> Option<(usize, usize)> {
        (i == 2).then_some((576, 256))
    }

    #[test]
    fn areas_of_other_sizes_merge_the_components_both_hold() {
        // As on a CPU with AMX: the host kernel's frame and the direct
        // entry's area differ in size.
        let comps = |i| match i {
            2 => Some((576, 256)),
            5 => Some((832, 64)),
            _ => None,
        };
        let mut kernel = area(896, 0x27, 0x3);
        let mut user = area(832, 0x7, 0x7);
        user[600] = 0xbb;
        merge_user_state(&mut kernel, &user, comps);
        assert_eq!(kernel[600], 0xbb, "AVX, in both, copied");
        assert_eq!(
            get_u64(&kernel, XSAVE_HEADER),
            0x7,
            "opmask, in user's only, initial"
        );
        let mut small = area(832, 0x7, 0x3);
        let mut big = area(896, 0x27, 0x27);
        big[600] = 0xcc;
        big[850] = 0xdd;
        merge_user_state(&mut small, &big, comps);
        assert_eq!(small[600], 0xcc);
        assert_eq!(get_u64(&small, XSAVE_HEADER), 0x7);
    }

    #[test]
    fn init_components_read_as_their_initial_values() {
        let mut a = area(1024, 0x7, 0x1);
        a[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
        a[200] = 0xaa;
        a[600] = 0xbb;
        write_init_components(&mut a, |i| (i == 2).then_some((576, 256)));
        assert_eq!(a[0..2], 0x1234u16.to_le_bytes(), "x87 is in use: kept");
        assert_eq!((a[200], a[600]), (0, 0), "SSE and AVX are initial: zero");
        let mut x = area(1024, 0x7, 0x6);
        x[0..2].copy_from_slice(&0x1234u16.to_le_bytes());
        write_init_components(&mut x, |_| None);
        assert_eq!(x[0..2], 0x037fu16.to_le_bytes());
    }

    #[test]
    fn extent_needs_magic_and_consistent_sizes() {
        assert_eq!(extent(&area(832, 0x7, 0x7)), Some((832, 0x7)));
        assert_eq!(extent(&[0u8; 512]), None);
        let mut bad = area(832, 0x7, 0x7);
        bad[SW_BYTES + 4] ^= 1;
        assert_eq!(extent(&bad), None);
        let mut small = area(832, 0x7, 0x7);
        small[SW_BYTES + 16..SW_BYTES + 20].copy_from_slice(&100u32.to_le_bytes());
        small[SW_BYTES + 4..SW_BYTES + 8].copy_from_slice(&104u32.to_le_bytes());
        assert_eq!(extent(&small), None, "smaller than the XSAVE header");
    }

    #[test]
    fn merge_keeps_what_the_kernel_relies_on() {
        let mut kernel = area(832, 0x207, 0x203);
        kernel[600] = 0xaa;
        let mut user = area(832, 0xffff, u64::MAX);
        user[MXCSR..MXCSR + 4].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        user[SW_BYTES..FXSAVE_SIZE].fill(0x55);
        user[XSAVE_HEADER + 8] = 0x80;
        user[600] = 0xbb;
        user[40] = 0x11;
        merge_user_state(&mut kernel, &user, avx);
        assert_eq!(
            get_u32(&kernel, MXCSR),
            0xffff,
            "reserved MXCSR bits cleared"
        );
        assert_eq!(get_u32(&kernel, SW_BYTES), FP_XSTATE_MAGIC1);
        assert_eq!(get_u64(&kernel, XSAVE_HEADER), 0x207, "AVX set, PKRU kept");
        assert!(kernel[XSAVE_HEADER + 8..XSAVE_MIN_SIZE]
            .iter()
            .all(|&b| b == 0));
        assert_eq!((kernel[600], kernel[40]), (0xbb, 0x11));
    }

    #[test]
    fn fxsave_only_user_state_resets_the_upper_components() {
        let mut kernel = area(832, 0x7, 0x7);
        merge_user_state(&mut kernel, &[0u8; FXSAVE_SIZE], avx);
        assert_eq!(get_u64(&kernel, XSAVE_HEADER), 0x3);
    }

    #[test]
    fn reset_gives_initial_control_words_and_no_components() {
        let mut kernel = area(832, 0x7, 0x7);
        kernel[200] = 9;
        reset_user_state(&mut kernel);
        assert_eq!(u16::from_le_bytes([kernel[0], kernel[1]]), 0x37f);
        assert_eq!(get_u32(&kernel, MXCSR), 0x1f80);
        assert_eq!(kernel[200], 0);
        assert_eq!(get_u64(&kernel, XSAVE_HEADER), 0);
    }
}
