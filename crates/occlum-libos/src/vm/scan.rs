//! Finding the `syscall` and `cpuid` instructions of shared code (a
//! library or an interpreter) before it runs, so that even the first
//! process running it gets them prepatched (`learned.rs`), instead of
//! trapping once at each (code run once, as most of a start-up, is only
//! rewritten for the next process).
//!
//! A site must be an instruction boundary. The kernel says so of a trapped
//! site; here the unwind tables (`.eh_frame`, found through
//! `.eh_frame_hdr`, which every toolchain emits for code that can be
//! unwound) say where each function starts and ends, and a function
//! holding the two bytes of an instruction is decoded from its start: only
//! instructions it decodes to count, and a function that does not decode
//! cleanly to its end is left alone. The prepatching decodes each site's
//! window again and checks that it falls in step there (`site.rs`), as for
//! a learned site.

use std::collections::BTreeMap;

use gimli::{BaseAddresses, EhFrame, EhFrameHdr, LittleEndian, Pointer, UnwindSection};
use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic};

use super::learned::{Layout, Segment};
use super::plan::SiteKind;
use super::prepatch::exec_offset;

/// Largest function decoded.
const MAX_FUNCTION: u64 = 1 << 20;

/// The `syscall` and `cpuid` instructions in the functions of `bytes` (an
/// image laid out as `layout`), by virtual address (before the load bias),
/// with the function holding each; none if it has no unwind tables.
pub(super) fn sites(bytes: &[u8], layout: &Layout) -> Vec<(u64, SiteKind, (u64, u64))> {
    let mut found = Vec::new();
    let Some(functions) = Functions::new(bytes, layout) else {
        return found;
    };
    // The functions decoded: their ends, by start.
    let mut decoded: BTreeMap<u64, u64> = BTreeMap::new();
    for seg in layout.segments.iter().filter(|s| s.exec) {
        let Some(code) = file_bytes(bytes, seg) else {
            continue;
        };
        let hits = memchr::memmem::find_iter(code, b"\x0f\x05")
            .chain(memchr::memmem::find_iter(code, b"\x0f\xa2"));
        for hit in hits {
            let vaddr = seg.vaddr + hit as u64;
            if decoded
                .range(..=vaddr)
                .next_back()
                .is_some_and(|(_, &e)| vaddr < e)
            {
                continue;
            }
            let Some((start, end)) = functions.containing(vaddr) else {
                continue;
            };
            decoded.insert(start, end);
            let sites = function_sites(bytes, &layout.segments, start, end);
            found.extend(sites.into_iter().map(|(a, k)| (a, k, (start, end))));
        }
    }
    found
}

/// The file bytes of segment `seg`.
fn file_bytes<'a>(bytes: &'a [u8], seg: &Segment) -> Option<&'a [u8]> {
    let start = usize::try_from(seg.offset).ok()?;
    bytes.get(start..start.checked_add(usize::try_from(seg.filesz).ok()?)?)
}

/// The `syscall` and `cpuid` instructions of the function at
/// `[start, end)`; none unless it lies in one executable segment and
/// decodes to valid instructions that end exactly at its end.
fn function_sites(
    bytes: &[u8],
    segments: &[Segment],
    start: u64,
    end: u64,
) -> Vec<(u64, SiteKind)> {
    let len = end - start;
    let Some((offset, _)) = exec_offset(segments, start, len) else {
        return Vec::new();
    };
    let code = &bytes[offset as usize..(offset + len) as usize];
    let mut d = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
    let mut insn = Instruction::default();
    let mut sites = Vec::new();
    while d.can_decode() {
        d.decode_out(&mut insn);
        if insn.is_invalid() {
            return Vec::new();
        }
        match insn.mnemonic() {
            Mnemonic::Syscall => sites.push((insn.ip(), SiteKind::Syscall)),
            Mnemonic::Cpuid => sites.push((insn.ip(), SiteKind::Cpuid)),
            _ => {}
        }
    }
    if insn.next_ip() != end {
        return Vec::new();
    }
    sites
}

/// The functions an image's unwind tables describe.
struct Functions<'a> {
    bases: BaseAddresses,
    hdr: gimli::ParsedEhFrameHdr<gimli::EndianSlice<'a, LittleEndian>>,
    eh_frame: EhFrame<gimli::EndianSlice<'a, LittleEndian>>,
}

impl<'a> Functions<'a> {
    /// Reads the tables of `bytes` laid out as `layout`; `None` if it has
    /// none, or they do not lie in its file bytes.
    fn new(bytes: &'a [u8], layout: &Layout) -> Option<Functions<'a>> {
        let (hdr_at, hdr_len) = layout.eh_frame_hdr?;
        let hdr_bytes = in_file(bytes, &layout.segments, hdr_at, hdr_len)?;
        let bases = BaseAddresses::default().set_eh_frame_hdr(hdr_at);
        let hdr = EhFrameHdr::new(hdr_bytes, LittleEndian)
            .parse(&bases, 8)
            .ok()?;
        let Pointer::Direct(eh_frame_at) = hdr.eh_frame_ptr() else {
            return None;
        };
        // `.eh_frame` runs up to its terminator, within its segment.
        let seg = layout
            .segments
            .iter()
            .find(|s| s.vaddr <= eh_frame_at && eh_frame_at < s.vaddr.saturating_add(s.filesz))?;
        let rest = seg.vaddr + seg.filesz - eh_frame_at;
        let eh_frame_bytes = in_file(bytes, &layout.segments, eh_frame_at, rest)?;
        hdr.table()?;
        Some(Functions {
            bases: bases.set_eh_frame(eh_frame_at),
            hdr,
            eh_frame: EhFrame::new(eh_frame_bytes, LittleEndian),
        })
    }

    /// The function holding `vaddr`: its start and end.
    fn containing(&self, vaddr: u64) -> Option<(u64, u64)> {
        let fde = self
            .hdr
            .table()?
            .fde_for_address(&self.eh_frame, &self.bases, vaddr, EhFrame::cie_from_offset)
            .ok()?;
        let (start, len) = (fde.initial_address(), fde.len());
        (len <= MAX_FUNCTION).then_some((start, start.checked_add(len)?))
    }
}

/// The `len` bytes at virtual address `vaddr`, if they lie in one
/// segment's file bytes.
fn in_file<'a>(bytes: &'a [u8], segments: &[Segment], vaddr: u64, len: u64) -> Option<&'a [u8]> {
    let seg = segments.iter().find(|s| {
        s.vaddr <= vaddr
            && vaddr
                .checked_add(len)
                .is_some_and(|e| e <= s.vaddr + s.filesz)
    })?;
    let start = usize::try_from(seg.offset + (vaddr - seg.vaddr)).ok()?;
    bytes.get(start..start.checked_add(usize::try_from(len).ok()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the test image's code and unwind tables are.
    const CODE: u64 = 0x1000;
    const TABLES: u64 = 0x3000;

    /// An image with `code` at [`CODE`] and unwind tables at [`TABLES`]
    /// for the functions `[start, end)`, in address order, as GCC writes
    /// them: one CIE, an FDE each (addresses PC-relative), and a sorted
    /// search table.
    fn image(code: &[u8], functions: &[(u64, u64)]) -> (Vec<u8>, Layout) {
        // The CIE: version 1, "zR", code and data alignment 1 and -8,
        // return address column 16, FDE addresses pcrel|sdata4.
        let mut eh = vec![0u8; 4];
        eh.extend_from_slice(&[0, 0, 0, 0, 1, b'z', b'R', 0, 1, 0x78, 16, 1, 0x1b, 0, 0, 0]);
        let cie_len = (eh.len() - 4) as u32;
        eh[..4].copy_from_slice(&cie_len.to_le_bytes());
        let hdr_len = 12 + 8 * functions.len() as u64;
        let eh_at = TABLES + hdr_len;
        let mut fdes = Vec::new();
        for &(start, end) in functions {
            let at = eh.len() as u64;
            fdes.push(eh_at + at);
            eh.extend_from_slice(&16u32.to_le_bytes());
            // The CIE pointer: back from this field to the CIE.
            eh.extend_from_slice(&((at + 4) as u32).to_le_bytes());
            let pc_field = eh_at + at + 8;
            eh.extend_from_slice(&((start as i64 - pc_field as i64) as i32).to_le_bytes());
            eh.extend_from_slice(&((end - start) as u32).to_le_bytes());
            eh.extend_from_slice(&[0, 0, 0, 0]);
        }
        eh.extend_from_slice(&[0; 4]);
        // The header: version 1, eh_frame_ptr pcrel|sdata4, a udata4
        // count, table datarel|sdata4.
        let mut hdr = vec![1u8, 0x1b, 0x03, 0x3b];
        hdr.extend_from_slice(&((eh_at as i64 - (TABLES + 4) as i64) as i32).to_le_bytes());
        hdr.extend_from_slice(&(functions.len() as u32).to_le_bytes());
        for (&(start, _), &fde) in functions.iter().zip(&fdes) {
            hdr.extend_from_slice(&((start - TABLES) as i32).to_le_bytes());
            hdr.extend_from_slice(&((fde - TABLES) as i32).to_le_bytes());
        }
        let mut bytes = vec![0xccu8; TABLES as usize];
        bytes[CODE as usize..CODE as usize + code.len()].copy_from_slice(code);
        bytes.extend_from_slice(&hdr);
        bytes.extend_from_slice(&eh);
        let segments = vec![
            Segment {
                vaddr: CODE,
                offset: CODE,
                filesz: TABLES - CODE,
                exec: true,
            },
            Segment {
                vaddr: TABLES,
                offset: TABLES,
                filesz: bytes.len() as u64 - TABLES,
                exec: false,
            },
        ];
        let layout = Layout {
            segments,
            lo: 0,
            eh_frame_hdr: Some((TABLES, hdr_len)),
        };
        (bytes, layout)
    }

    #[test]
    fn only_instructions_of_described_functions_are_sites() {
        let code = [
            // 0x1000: mov $0x50f,%eax (its immediate holds 0f 05);
            // mov $0x27,%eax; syscall; cpuid; ret
            0xb8, 0x0f, 0x05, 0, 0, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x0f, 0xa2, 0xc3,
            // 0x100f: a syscall no function holds
            0x0f, 0x05,
        ];
        let (bytes, layout) = image(&code, &[(CODE, CODE + 15)]);
        let found = sites(&bytes, &layout);
        assert_eq!(
            found,
            [
                (CODE + 10, SiteKind::Syscall, (CODE, CODE + 15)),
                (CODE + 12, SiteKind::Cpuid, (CODE, CODE + 15)),
            ]
        );
    }

    #[test]
    fn a_function_that_does_not_decode_cleanly_is_left_alone() {
        let code = [
            // 0x1000: an invalid opcode (push %es) before a syscall
            0x06, 0x0f, 0x05, 0xc3, //
            // 0x1004: a function said to end inside its last instruction
            0x0f, 0x05, 0xb8, 0x27, 0, 0, 0,
        ];
        let (bytes, layout) = image(&code, &[(CODE, CODE + 4), (CODE + 4, CODE + 9)]);
        assert!(sites(&bytes, &layout).is_empty());
    }

    #[test]
    fn an_image_without_unwind_tables_has_no_sites_found() {
        let (bytes, mut layout) = image(&[0x0f, 0x05, 0xc3], &[(CODE, CODE + 3)]);
        assert_eq!(sites(&bytes, &layout).len(), 1);
        layout.eh_frame_hdr = None;
        assert!(sites(&bytes, &layout).is_empty());
    }
}
