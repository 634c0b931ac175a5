//! libFuzzer driver for [`occlum_fuzz::shared_code`].

#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| occlum_fuzz::shared_code(data));
