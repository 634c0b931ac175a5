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
//! instructions it decodes to count, and a function is left alone unless
//! it decodes cleanly to its end and every direct branch inside it lands on
//! one of its instructions (data in code, or a start that is not an
//! instruction, would show). Signal trampolines are left alone: their
//! tables start a byte early on purpose (glibc's `__restore_rt`), for
//! unwinders that look up a return address minus one.

use std::collections::BTreeMap;

use gimli::{BaseAddresses, EhFrame, EhFrameHdr, LittleEndian, Pointer, UnwindSection};
use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic};

use super::learned::{Layout, Segment};
use super::plan::SiteKind;
use super::prepatch::exec_offset;

/// Largest function decoded.
const MAX_FUNCTION: u64 = 1 << 20;

/// A function, as the unwind tables describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Function {
    /// Its first byte.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// Where the next function starts (`u64::MAX` if none does): the bytes
    /// in between are padding.
    pub next: u64,
}

/// The `syscall` and `cpuid` instructions in the functions of `bytes` (an
/// image laid out as `layout`), by virtual address (before the load bias),
/// with the function holding each; none if it has no unwind tables.
pub(super) fn sites(bytes: &[u8], layout: &Layout) -> Vec<(u64, SiteKind, Function)> {
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
            let Some(f) = functions.containing(vaddr) else {
                continue;
            };
            decoded.insert(f.start, f.end);
            let sites = function_sites(bytes, &layout.segments, f.start, f.end);
            found.extend(sites.into_iter().map(|(a, k)| (a, k, f)));
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
/// `[start, end)`; none unless it lies in one executable segment, decodes
/// to valid instructions that end exactly at its end, and its direct
/// branches that land inside it land on those instructions.
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
    let (mut starts, mut targets) = (Vec::new(), Vec::new());
    while d.can_decode() {
        d.decode_out(&mut insn);
        if insn.is_invalid() {
            return Vec::new();
        }
        starts.push(insn.ip());
        let target = insn.near_branch_target();
        if (start..end).contains(&target) {
            targets.push(target);
        }
        match insn.mnemonic() {
            Mnemonic::Syscall => sites.push((insn.ip(), SiteKind::Syscall)),
            Mnemonic::Cpuid => sites.push((insn.ip(), SiteKind::Cpuid)),
            _ => {}
        }
    }
    // `starts` is in address order.
    let on_boundaries = targets.iter().all(|t| starts.binary_search(t).is_ok());
    if insn.next_ip() != end || !on_boundaries {
        return Vec::new();
    }
    sites
}

/// The functions an image's unwind tables describe.
struct Functions<'a> {
    bases: BaseAddresses,
    hdr: gimli::ParsedEhFrameHdr<gimli::EndianSlice<'a, LittleEndian>>,
    eh_frame: EhFrame<gimli::EndianSlice<'a, LittleEndian>>,
    /// Where every function starts, in address order.
    starts: Vec<u64>,
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
        let bases = bases.set_eh_frame(eh_frame_at);
        let mut starts = Vec::new();
        for entry in hdr.table()?.iter(&bases) {
            match entry {
                Ok((Pointer::Direct(start), _)) => starts.push(start),
                _ => return None,
            }
        }
        starts.sort_unstable();
        Some(Functions {
            bases,
            hdr,
            eh_frame: EhFrame::new(eh_frame_bytes, LittleEndian),
            starts,
        })
    }

    /// The function holding `vaddr`, unless it is a signal trampoline.
    fn containing(&self, vaddr: u64) -> Option<Function> {
        let fde = self
            .hdr
            .table()?
            .fde_for_address(&self.eh_frame, &self.bases, vaddr, EhFrame::cie_from_offset)
            .ok()?;
        let (start, len) = (fde.initial_address(), fde.len());
        if len > MAX_FUNCTION || fde.is_signal_trampoline() {
            return None;
        }
        let end = start.checked_add(len)?;
        let later = self.starts.partition_point(|&s| s <= start);
        let next = self.starts.get(later).copied().unwrap_or(u64::MAX);
        Some(Function {
            start,
            end,
            next: next.max(end),
        })
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
        image_of(code, functions, false)
    }

    /// [`image`], its functions signal trampolines if `signal` (the CIE's
    /// augmentation "zRS", as glibc's `__restore_rt` has).
    fn image_of(code: &[u8], functions: &[(u64, u64)], signal: bool) -> (Vec<u8>, Layout) {
        // The CIE: version 1, "zR" or "zRS", code and data alignment 1 and
        // -8, return address column 16, FDE addresses pcrel|sdata4.
        let mut eh = vec![0u8; 4];
        let augmentation: &[u8] = if signal { b"zRS\0" } else { b"zR\0" };
        eh.extend_from_slice(&[0, 0, 0, 0, 1]);
        eh.extend_from_slice(augmentation);
        eh.extend_from_slice(&[1, 0x78, 16, 1, 0x1b]);
        while !eh.len().is_multiple_of(4) {
            eh.push(0);
        }
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
        let f = Function {
            start: CODE,
            end: CODE + 15,
            next: u64::MAX,
        };
        assert_eq!(
            found,
            [
                (CODE + 10, SiteKind::Syscall, f),
                (CODE + 12, SiteKind::Cpuid, f),
            ]
        );
    }

    #[test]
    fn the_next_function_bounds_the_padding() {
        // Two functions, each `syscall; ret`, 8 bytes apart.
        let code = [
            0x0f, 0x05, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x0f, 0x05, 0xc3,
        ];
        let (bytes, layout) = image(&code, &[(CODE, CODE + 3), (CODE + 8, CODE + 11)]);
        let nexts: Vec<u64> = sites(&bytes, &layout).iter().map(|s| s.2.next).collect();
        assert_eq!(nexts, [CODE + 8, u64::MAX]);
    }

    #[test]
    fn signal_trampolines_and_branches_into_instructions_are_left_alone() {
        // glibc's __restore_rt, its tables starting a byte early (in the
        // last byte of a nopl): mov $0xf,%rax; syscall.
        let code = [
            0x0f, 0x1f, 0x00, 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05,
        ];
        let (bytes, layout) = image_of(&code, &[(CODE + 2, CODE + 12)], true);
        assert!(sites(&bytes, &layout).is_empty());
        let (bytes, layout) = image_of(&code, &[(CODE + 3, CODE + 12)], false);
        assert_eq!(
            sites(&bytes, &layout).len(),
            1,
            "the same, not a trampoline"
        );
        // jmp +1 (into the middle of mov $0x27,%eax); mov; syscall; ret
        let code = [0xeb, 0x01, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3];
        let (bytes, layout) = image(&code, &[(CODE, CODE + 10)]);
        assert!(sites(&bytes, &layout).is_empty());
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
