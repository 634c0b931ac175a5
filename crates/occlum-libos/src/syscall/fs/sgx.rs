//! The ioctls of `/dev/sgx`, with the original Occlum's numbers and
//! argument layouts, so that its programs (its DCAP library, report and key
//! demos) run unchanged. The platform answers as a DCAP-only machine: the
//! EPID ioctls fail. A bad pointer gives `EFAULT`; anything else that is
//! wrong (a malformed structure, a report that does not verify, a key the
//! enclave may not have) gives `EINVAL`, as in the original.

use crate::attest::{self, KeyRequest, Report, TargetInfo};
use crate::user;
use crate::{Errno, Result};

const IS_EDMM_SUPPORTED: u32 = 0x8004_7300;
const GET_EPID_GROUP_ID: u32 = 0x8004_7301;
const GEN_EPID_QUOTE: u32 = 0xc080_7302;
const SELF_TARGET: u32 = 0x8200_7303;
const CREATE_REPORT: u32 = 0xc018_7304;
const VERIFY_REPORT: u32 = 0x41b0_7305;
const DETECT_DCAP_DRIVER: u32 = 0x8004_7306;
const GET_DCAP_QUOTE_SIZE: u32 = 0x8004_7307;
const GEN_DCAP_QUOTE: u32 = 0xc018_7308;
const GET_DCAP_SUPPLEMENTAL_SIZE: u32 = 0x8004_7309;
const VER_DCAP_QUOTE: u32 = 0xc030_730a;
const GET_KEY: u32 = 0xc010_730b;

/// The ioctl type byte of these commands (`'s'`).
const SGX_MAGIC: u32 = b's' as u32;
/// The largest quote `VER_DCAP_QUOTE` reads.
const MAX_QUOTE: u32 = 128 * 1024;
/// `sgx_ql_qv_result_t`: the quote verifies.
const QV_RESULT_OK: u32 = 0;
/// `sgx_ql_qv_result_t`: a signature in the quote does not verify.
const QV_RESULT_INVALID_SIGNATURE: u32 = 0xa004;
/// Size of the supplemental data: a simulated platform has no TCB
/// collateral, so it holds only its version (3.0) and zeros.
const SUPPLEMENTAL_SIZE: u32 = 256;

/// Serves ioctl `cmd` on `/dev/sgx`.
pub(in crate::syscall) fn ioctl(cmd: u32, arg: u64) -> Result<u64> {
    if (cmd >> 8) & 0xff != SGX_MAGIC {
        return Err(Errno::ENOTTY);
    }
    match cmd {
        // Memory grows on demand up to `user_space_max_size`, as with EDMM.
        IS_EDMM_SUPPORTED => user::write_i32(arg, 1)?,
        DETECT_DCAP_DRIVER => user::write_i32(arg, 1)?,
        GET_EPID_GROUP_ID | GEN_EPID_QUOTE => return Err(Errno::EINVAL),
        SELF_TARGET => user::write_bytes(arg, &attest::enclave()?.target_info().to_bytes())?,
        CREATE_REPORT => create_report(arg)?,
        VERIFY_REPORT => {
            let report = read_report(arg)?;
            if !attest::platform()?.verify_report(attest::enclave()?, &report) {
                return Err(Errno::EINVAL);
            }
        }
        GET_DCAP_QUOTE_SIZE => {
            let size = attest::platform()?.quote_size() as u32;
            user::write_bytes(arg, &size.to_le_bytes())?;
        }
        GEN_DCAP_QUOTE => gen_quote(arg)?,
        GET_DCAP_SUPPLEMENTAL_SIZE => {
            user::write_bytes(arg, &SUPPLEMENTAL_SIZE.to_le_bytes())?;
        }
        VER_DCAP_QUOTE => verify_quote(arg)?,
        GET_KEY => get_key(arg)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

fn nonnull(p: u64) -> Result<u64> {
    if p == 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(p)
    }
}

fn read_report(addr: u64) -> Result<Report> {
    let mut b = [0u8; Report::SIZE];
    user::read_into(addr, &mut b)?;
    Ok(Report::parse(&b))
}

/// `{ const sgx_target_info_t *target; const sgx_report_data_t *data; sgx_report_t *report; }`
fn create_report(arg: u64) -> Result<()> {
    let (target, data, out) = (
        user::read_u64(arg)?,
        user::read_u64(arg + 8)?,
        user::read_u64(arg + 16)?,
    );
    let out = nonnull(out)?;
    let target = match target {
        0 => TargetInfo::none(),
        p => {
            let mut b = [0u8; TargetInfo::SIZE];
            user::read_into(p, &mut b)?;
            TargetInfo::parse(&b).ok_or(Errno::EINVAL)?
        }
    };
    let mut report_data = [0u8; 64];
    if data != 0 {
        user::read_into(data, &mut report_data)?;
    }
    user::write_bytes(out, &attest::report(&target, &report_data)?.to_bytes())
}

/// `{ sgx_report_data_t *data; uint32_t *quote_len; uint8_t *quote; }`;
/// the buffer must hold the quote; its length is set to the quote's.
fn gen_quote(arg: u64) -> Result<()> {
    let (data, len_ptr, buf) = (
        nonnull(user::read_u64(arg)?)?,
        nonnull(user::read_u64(arg + 8)?)?,
        nonnull(user::read_u64(arg + 16)?)?,
    );
    let mut report_data = [0u8; 64];
    user::read_into(data, &mut report_data)?;
    let room = user::read_u32(len_ptr)? as usize;
    if room < attest::platform()?.quote_size() {
        return Err(Errno::EINVAL);
    }
    let quote = attest::quote(&report_data)?;
    user::write_bytes(buf, &quote)?;
    user::write_bytes(len_ptr, &(quote.len() as u32).to_le_bytes())
}

/// `{ const uint8_t *quote; uint32_t quote_size; uint32_t
/// *collateral_expiration_status; sgx_ql_qv_result_t *result; uint32_t
/// supplemental_size; uint8_t *supplemental; }`. A quote that parses gets a
/// result (OK or INVALID_SIGNATURE, checked against this platform's root);
/// one that does not is `EINVAL`.
fn verify_quote(arg: u64) -> Result<()> {
    let quote_ptr = nonnull(user::read_u64(arg)?)?;
    let size = user::read_u32(arg + 8)?;
    let expiration = nonnull(user::read_u64(arg + 16)?)?;
    let result = nonnull(user::read_u64(arg + 24)?)?;
    let supplemental_size = user::read_u32(arg + 32)?;
    let supplemental = user::read_u64(arg + 40)?;
    if size == 0 || size > MAX_QUOTE {
        return Err(Errno::EINVAL);
    }
    if supplemental != 0 && supplemental_size < SUPPLEMENTAL_SIZE {
        return Err(Errno::EINVAL);
    }
    let quote = user::read_bytes(quote_ptr, size as usize)?;
    let verdict = match attest::platform()?.verify_quote(&quote) {
        Ok(_) => QV_RESULT_OK,
        Err(
            occlum_attest::QuoteError::Malformed(_) | occlum_attest::QuoteError::Unsupported(_),
        ) => return Err(Errno::EINVAL),
        Err(_) => QV_RESULT_INVALID_SIGNATURE,
    };
    user::write_bytes(expiration, &0u32.to_le_bytes())?;
    user::write_bytes(result, &verdict.to_le_bytes())?;
    if supplemental != 0 {
        let mut s = vec![0u8; SUPPLEMENTAL_SIZE as usize];
        s[..2].copy_from_slice(&3u16.to_le_bytes());
        user::write_bytes(supplemental, &s)?;
    }
    Ok(())
}

/// `{ const sgx_key_request_t *request; sgx_key_128bit_t *key; }`
fn get_key(arg: u64) -> Result<()> {
    let request = nonnull(user::read_u64(arg)?)?;
    let out = nonnull(user::read_u64(arg + 8)?)?;
    let mut b = [0u8; KeyRequest::SIZE];
    user::read_into(request, &mut b)?;
    let req = KeyRequest::parse(&b).ok_or(Errno::EINVAL)?;
    let key = attest::platform()?
        .get_key(attest::enclave()?, &req)
        .map_err(|_| Errno::EINVAL)?;
    user::write_bytes(out, &key)
}
