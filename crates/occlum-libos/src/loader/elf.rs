//! ELF parsing and mapping of `PT_LOAD` segments.

use goblin::elf::header::{EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{
    ProgramHeader, PF_R, PF_W, PF_X, PT_GNU_EH_FRAME, PT_INTERP, PT_LOAD, PT_PHDR,
};
use goblin::elf::Elf;

use super::LoadError;
use crate::fs::program::ProgramBytes;
use crate::vm::{
    learned, page_down, page_up, Placement, VmSpace, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use crate::Errno;

/// Size of one ELF64 program header.
const PHDR_SIZE: usize = 56;

/// A parsed, checked ELF executable or shared object.
pub struct ElfImage {
    entry: u64,
    phoff: u64,
    loads: Vec<Segment>,
    phdr_vaddr: Option<u64>,
    phnum: usize,
    fixed: bool,
    interp: Option<Vec<u8>>,
    /// Where `.eh_frame_hdr` is (`PT_GNU_EH_FRAME`): address and size.
    eh_frame_hdr: Option<(u64, u64)>,
}

#[derive(Clone, Copy)]
struct Segment {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    flags: u32,
}

/// Where the program landed.
pub struct Loaded {
    /// Entry point.
    pub entry: u64,
    /// Address of the program headers in memory (`AT_PHDR`).
    pub phdr: u64,
    /// One past the highest loaded address.
    pub end: usize,
    /// The load bias (0 for `ET_EXEC`).
    pub base: u64,
}

fn noexec(msg: impl Into<String>) -> LoadError {
    LoadError::new(Errno::ENOEXEC, msg)
}

impl ElfImage {
    /// Parses and checks an executable: x86_64, 64-bit, `ET_DYN` (PIE or
    /// static-PIE, or an interpreter) or `ET_EXEC` (loaded at its fixed
    /// addresses).
    pub fn parse(bytes: &[u8]) -> Result<ElfImage, LoadError> {
        if bytes.get(..4) != Some(b"\x7fELF") {
            return Err(noexec("not an ELF file"));
        }
        // Only the file header and program headers matter for loading;
        // parsing sections and symbol tables would cost every spawn.
        let header =
            Elf::parse_header(bytes).map_err(|e| noexec(format!("malformed ELF file: {e}")))?;
        if header.e_ident[goblin::elf::header::EI_CLASS] != goblin::elf::header::ELFCLASS64
            || header.e_machine != EM_X86_64
        {
            return Err(noexec("not an x86_64 64-bit ELF program"));
        }
        let ctx = goblin::container::Ctx::new(
            goblin::container::Container::Big,
            goblin::container::Endian::Little,
        );
        // As Linux: program headers of the one size x86_64 defines, at most
        // 64 KiB of them.
        if usize::from(header.e_phentsize) != PHDR_SIZE
            || header.e_phnum == 0
            || usize::from(header.e_phnum) * PHDR_SIZE > 65536
        {
            return Err(noexec(
                "malformed ELF program headers: bad entry size or count",
            ));
        }
        let program_headers =
            ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)
                .map_err(|e| noexec(format!("malformed ELF program headers: {e}")))?;
        let fixed = match header.e_type {
            ET_DYN => false,
            ET_EXEC => true,
            _ => return Err(noexec("not an executable ELF file")),
        };
        let interp = match program_headers.iter().find(|p| p.p_type == PT_INTERP) {
            None => None,
            Some(p) => {
                let raw = p
                    .p_offset
                    .checked_add(p.p_filesz)
                    .and_then(|end| bytes.get(p.p_offset as usize..end as usize))
                    .ok_or_else(|| noexec("malformed PT_INTERP"))?;
                let path: Vec<u8> = raw.iter().copied().take_while(|&b| b != 0).collect();
                if path.is_empty() || path.len() >= 4096 {
                    return Err(noexec("malformed PT_INTERP"));
                }
                Some(path)
            }
        };
        let loads: Vec<Segment> = program_headers
            .iter()
            .filter(|p| p.p_type == PT_LOAD)
            .map(|p| Segment {
                vaddr: p.p_vaddr,
                memsz: p.p_memsz,
                offset: p.p_offset,
                filesz: p.p_filesz,
                flags: p.p_flags,
            })
            .collect();
        if loads.is_empty() {
            return Err(noexec("ELF file has no loadable segment"));
        }
        for s in &loads {
            let file_end = s.offset.checked_add(s.filesz);
            if s.filesz > s.memsz
                || file_end.is_none_or(|e| e > bytes.len() as u64)
                || s.vaddr.checked_add(s.memsz).is_none()
            {
                return Err(noexec("ELF segment lies outside the file or is malformed"));
            }
            if s.vaddr % 4096 != s.offset % 4096 {
                return Err(noexec("ELF segment is not page-aligned consistently"));
            }
        }
        Ok(ElfImage {
            entry: header.e_entry,
            phoff: header.e_phoff,
            phdr_vaddr: program_headers
                .iter()
                .find(|p| p.p_type == PT_PHDR)
                .map(|p| p.p_vaddr),
            phnum: program_headers.len(),
            loads,
            fixed,
            interp,
            eh_frame_hdr: program_headers
                .iter()
                .find(|p| p.p_type == PT_GNU_EH_FRAME)
                .map(|p| (p.p_vaddr, p.p_filesz)),
        })
    }

    /// Whether this is a non-PIE (`ET_EXEC`) executable.
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The interpreter the program asks for (`PT_INTERP`), if any.
    pub fn interp(&self) -> Option<&[u8]> {
        self.interp.as_deref()
    }

    /// Number of program headers (`AT_PHNUM`).
    pub fn phnum(&self) -> usize {
        self.phnum
    }

    /// The whole pages the segments cover, `None` if they wrap.
    pub fn page_span(&self) -> Option<(usize, usize)> {
        let (lo, hi) = self.span();
        Some((lo as usize, crate::vm::page_up(usize::try_from(hi).ok()?)?))
    }

    fn span(&self) -> (u64, u64) {
        let lo = self.loads.iter().map(|s| s.vaddr).min().unwrap_or(0);
        let hi = self
            .loads
            .iter()
            .map(|s| s.vaddr + s.memsz)
            .max()
            .unwrap_or(0);
        (page_down(lo as usize) as u64, hi)
    }

    /// For a position-independent image with an executable segment: where
    /// its parts are, as `vm::learned` reads them, the bytes its span
    /// takes (whole pages) and the file offset of its first segment's page.
    pub fn library_layout(&self) -> Option<(learned::Layout, usize, u64)> {
        if self.fixed || !self.loads.iter().any(|s| s.flags & PF_X != 0) {
            return None;
        }
        let (lo, hi) = self.span();
        let first = self.loads.iter().min_by_key(|s| s.vaddr)?;
        let span = page_up(usize::try_from(hi - lo).ok()?)?;
        Some((self.layout(), span, page_down(first.offset as usize) as u64))
    }

    /// Where the image's parts are, as `vm::learned` reads them.
    fn layout(&self) -> learned::Layout {
        let segments = self
            .loads
            .iter()
            .map(|s| learned::Segment {
                vaddr: s.vaddr,
                offset: s.offset,
                filesz: s.filesz,
                exec: s.flags & PF_X != 0,
            })
            .collect();
        learned::Layout {
            segments,
            lo: self.span().0,
            eh_frame_hdr: self.eh_frame_hdr,
        }
    }

    /// The whole pages of read-only segment `i`, placed with `bias`, that
    /// can map the file directly: pages no other segment touches, holding
    /// only file bytes (none of the segment's zero-filled tail).
    fn file_pages(&self, i: usize, bias: u64) -> Option<(usize, usize)> {
        let s = self.loads[i];
        if s.flags & PF_W != 0 {
            return None;
        }
        let seg_start = (bias + s.vaddr) as usize;
        let file_end = seg_start + s.filesz as usize;
        let mut start = page_down(seg_start);
        let mut end = if s.memsz > s.filesz {
            page_down(file_end)
        } else {
            page_up(file_end)?
        };
        let touched_by_other = |page: usize| {
            self.loads.iter().enumerate().any(|(j, o)| {
                let (os, oe) = (
                    (bias + o.vaddr) as usize,
                    (bias + o.vaddr + o.memsz) as usize,
                );
                j != i && os < page + 4096 && page < oe
            })
        };
        if start < end && touched_by_other(start) {
            start += 4096;
        }
        if start < end && touched_by_other(end - 4096) {
            end -= 4096;
        }
        (start < end).then_some((start, end))
    }

    /// Maps the segments into `vm` at a free place and fills them: pages of
    /// read-only segments of a sealed file are mapped from it (shared with
    /// every other process running it); the others get a copy. A
    /// position-independent image is placed where `room_after` more bytes
    /// are free above it, kept free for its break (`VmSpace::claim_program`).
    /// The sites of `shared` code (an interpreter, which every dynamic
    /// program runs) are found before its first run (`learned::variant`).
    pub fn map_into(
        &self,
        vm: &mut VmSpace,
        file: &ProgramBytes,
        room_after: usize,
        shared: bool,
    ) -> Result<Loaded, LoadError> {
        let (lo, hi) = self.span();
        let span = page_up((hi - lo) as usize).ok_or(Errno::ENOMEM)?;
        // A position-independent image whose sites were found or learned
        // comes prepatched, its stubs just below it (`vm/learned.rs`).
        let original = file.sealed().filter(|_| !self.fixed);
        let variant = original.and_then(|f| learned::variant(f, &self.layout(), shared));
        let sealed = variant.as_ref().map(|v| &v.pages).or(file.sealed());
        let bytes: &[u8] = sealed.map_or(&**file, |s| s.bytes());
        let stub_len = variant.as_ref().map_or(0, |v| v.stub_len);
        let base = if self.fixed {
            vm.map(Placement::FixedNoReplace(lo as usize), span, PROT_READ | PROT_WRITE)
                .map_err(|_| {
                    noexec(format!(
                        "this non-PIE (ET_EXEC) program must be loaded at {lo:#x}..{hi:#x}, which is outside the LibOS's user space or used by another process; rebuild it as a PIE"
                    ))
                })?
        } else {
            let at = vm.claim_program(span + stub_len, room_after, super::BRK_ROOM)?;
            vm.map(
                Placement::Fixed(at),
                span + stub_len,
                PROT_READ | PROT_WRITE,
            )?;
            if let Some(v) = &variant {
                vm.map_sealed(at, stub_len, PROT_READ | PROT_EXEC, &v.stubs, 0)?;
            }
            at + stub_len
        };
        let bias = base as u64 - lo;
        for (i, s) in self.loads.iter().enumerate() {
            let seg_start = (bias + s.vaddr) as usize;
            let data = &bytes[s.offset as usize..(s.offset + s.filesz) as usize];
            let direct = sealed.and_then(|f| Some((f, self.file_pages(i, bias)?)));
            let Some((sealed, (start, end))) = direct else {
                crate::user::write_bytes_unchecked(seg_start as u64, data)?;
                continue;
            };
            // The file offset of `start`: congruent to it modulo the page size.
            let offset = (s.offset as usize + start).checked_sub(seg_start);
            match offset {
                // With its final protection (read-only segments only).
                Some(offset) => {
                    vm.map_sealed(start, end - start, prot_of(s.flags), sealed, offset)?
                }
                None => {
                    crate::user::write_bytes_unchecked(seg_start as u64, data)?;
                    continue;
                }
            }
            // The bytes outside the directly mapped pages.
            let head = start.saturating_sub(seg_start).min(data.len());
            crate::user::write_bytes_unchecked(seg_start as u64, &data[..head])?;
            let tail = end.saturating_sub(seg_start).min(data.len());
            crate::user::write_bytes_unchecked((seg_start + tail) as u64, &data[tail..])?;
        }
        // Final protections; a page shared by two segments gets both.
        let mut prots: Vec<(usize, usize, u32)> = Vec::new();
        for s in &self.loads {
            let start = page_down((bias + s.vaddr) as usize);
            let end = page_up((bias + s.vaddr + s.memsz) as usize).ok_or(Errno::ENOMEM)?;
            prots.push((start, end, prot_of(s.flags)));
        }
        prots.sort_unstable();
        let mut covered = base;
        for (i, &(start, end, prot)) in prots.iter().enumerate() {
            if start > covered {
                vm.unmap(covered, start - covered)?;
            }
            let start = start.max(covered);
            if start >= end {
                continue;
            }
            let shared_last = prots.get(i + 1).filter(|n| n.0 < end).map(|n| n.2);
            match shared_last {
                Some(next) => {
                    vm.protect(start, end - start - 4096, prot).ok();
                    vm.protect(end - 4096, 4096, prot | next)?;
                }
                None => vm.protect(start, end - start, prot)?,
            }
            covered = end;
        }
        if let Some(f) = original {
            vm.add_image(base, base + span, bias, f.id());
        }
        if let Some(v) = &variant {
            tracing::debug!("a prepatched image at {base:#x} (bias {bias:#x})");
            vm.adopt_variant(v, bias, base - stub_len);
        }
        let phdr = match self.phdr_vaddr {
            Some(v) => bias + v,
            None => {
                let seg = self
                    .loads
                    .iter()
                    .find(|s| s.offset <= self.phoff && self.phoff < s.offset + s.filesz)
                    .ok_or_else(|| noexec("program headers are not in a loaded segment"))?;
                bias + seg.vaddr + (self.phoff - seg.offset)
            }
        };
        Ok(Loaded {
            entry: bias + self.entry,
            phdr,
            end: (bias + hi) as usize,
            base: bias,
        })
    }
}

fn prot_of(flags: u32) -> u32 {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= PROT_READ;
    }
    if flags & PF_W != 0 {
        p |= PROT_WRITE;
    }
    if flags & PF_X != 0 {
        p |= PROT_EXEC;
    }
    p
}
