//! Shared libraries that a dynamic loader (`ld.so`, musl's too) maps with
//! `mmap`: the first mapping of one takes its whole span from its first
//! segment's page, and the loader maps the other segments over it. Such a
//! first mapping is recognized, so that the library's sites are found
//! before it runs (`scan.rs`) and the sites rewritten in it are learned as
//! a program's are (`learned.rs`), and its processes get its prepatched
//! copy: room for the stubs is kept just below the span, and the library's
//! code (its executable mappings, and only those: a program reading the
//! file through a mapping sees its own bytes) comes from the copy, with the
//! stubs mapped and the sites taken as rewritten.

use std::sync::Arc;

use occlum_pal::sealed::SealedPages;

use super::learned::{self, Variant};
use super::placement::Placement;
use super::{page_up, VmSpace, PROT_EXEC, PROT_READ};
use crate::Result;

/// A library's span in an address space.
#[derive(Clone)]
pub struct Library {
    start: usize,
    end: usize,
    bias: u64,
    /// The library's own sealed pages.
    pages: Arc<SealedPages>,
    /// Its prepatched copy, with the address of the room for its stubs.
    variant: Option<(Arc<Variant>, usize)>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Library({:#x}..{:#x}, file {}, prepatched {})",
            self.start,
            self.end,
            self.pages.id(),
            self.variant.is_some()
        )
    }
}

/// How to make one private mapping of a library's sealed pages.
pub struct LibraryMap {
    /// The pages to map: the prepatched copy for code, else the library's.
    pub pages: Arc<SealedPages>,
    /// Bytes to keep below the mapping for stubs (a first mapping).
    pub stub_room: usize,
    library: Library,
    /// The library's lowest page before the load bias (a first mapping).
    first: Option<u64>,
    /// Where the mapping is (once [`VmSpace::prepare_library_map`] knows)
    /// and its length in whole pages.
    at: usize,
    len: usize,
    /// Whether the mapping is executable.
    code: bool,
}

impl VmSpace {
    /// For a private mapping with `prot` of `len` bytes of the sealed
    /// `pages` from `offset` at `placement`: how to make it if it is a
    /// library's first mapping, or a mapping of one of its segments in its
    /// span; `None` for any other mapping.
    pub fn library_map(
        &self,
        pages: &Arc<SealedPages>,
        placement: Placement,
        (len, offset, prot): (usize, u64, u32),
    ) -> Option<LibraryMap> {
        let len = page_up(len)?;
        let code = prot & PROT_EXEC != 0;
        let (library, first) = match placement {
            Placement::Fixed(addr) => {
                let lib = self.libraries.iter().rev().find(|l| {
                    l.pages.id() == pages.id()
                        && l.start <= addr
                        && addr.checked_add(len) <= Some(l.end)
                })?;
                (lib.clone(), None)
            }
            Placement::Hint(_) => {
                let image = crate::loader::ElfImage::parse(pages.bytes()).ok()?;
                let (layout, span, first_offset) = image.library_layout()?;
                if len != span || offset != first_offset {
                    return None;
                }
                let variant = learned::variant(pages, &layout, true);
                let library = Library {
                    start: 0,
                    end: 0,
                    bias: 0,
                    pages: pages.clone(),
                    variant: variant.map(|v| (v, 0)),
                };
                (library, Some(layout.lo))
            }
            _ => return None,
        };
        let stub_room = match (&library.variant, first) {
            (Some((v, _)), Some(_)) => v.stub_len,
            _ => 0,
        };
        let pages = match &library.variant {
            Some((v, _)) if code => v.pages.clone(),
            _ => library.pages.clone(),
        };
        Some(LibraryMap {
            pages,
            stub_room,
            library,
            first,
            at: 0,
            len,
            code,
        })
    }

    /// Before a library's mapping is filled at `addr` (its stub room, if
    /// any, just below): a first mapping places the library; code from the
    /// prepatched copy needs its stubs there (not only once: the room could
    /// have been unmapped since).
    pub fn prepare_library_map(&mut self, map: &mut LibraryMap, addr: usize) -> Result<()> {
        map.at = addr;
        let lib = &mut map.library;
        if let Some(lo) = map.first {
            lib.start = addr;
            lib.end = addr + map.len;
            lib.bias = addr as u64 - lo;
            if let Some((_, room)) = &mut lib.variant {
                *room = addr - map.stub_room;
            }
        }
        match &lib.variant {
            Some((v, room)) if map.code && !self.holds_stubs(*room, v) => {
                self.map_sealed(*room, v.stub_len, PROT_READ | PROT_EXEC, &v.stubs, 0)
            }
            // The room stays out of reach until code needs it.
            Some((v, room)) if map.first.is_some() && !map.code => {
                self.protect(*room, v.stub_len, 0)
            }
            _ => Ok(()),
        }
    }

    /// The mapping `map` planned was made: a first mapping records the
    /// library; a mapping of its code is an image whose rewritten sites are
    /// learned, and takes a prepatched copy's sites (its stubs are in place)
    /// as rewritten.
    pub fn library_mapped(&mut self, map: LibraryMap) {
        let lib = map.library;
        self.forget_libraries(lib.start, lib.end);
        if map.code {
            if let Some((v, room)) = &lib.variant {
                self.adopt_variant(v, lib.bias, *room);
            }
            self.add_image(map.at, map.at + map.len, lib.bias, lib.pages.id());
        }
        self.libraries.push(lib);
    }

    /// Whether `v`'s stubs are mapped at `room`.
    fn holds_stubs(&self, room: usize, v: &Variant) -> bool {
        self.backings
            .iter()
            .any(|b| b.start == room && b.end == room + v.stub_len && b.pages.id() == v.stubs.id())
            && self
                .vmas
                .containing(room)
                .is_some_and(|m| m.end >= room + v.stub_len && m.prot == PROT_READ | PROT_EXEC)
    }

    /// The stub rooms of the libraries whose whole spans lie in
    /// `[start, end)` (being unmapped: `dlclose`), where the rooms still
    /// hold their stubs: each `[room, room + len)`.
    pub(super) fn stub_rooms_within(&self, start: usize, end: usize) -> Vec<(usize, usize)> {
        self.libraries
            .iter()
            .filter(|l| start <= l.start && l.end <= end)
            .filter_map(|l| {
                let (v, room) = l.variant.as_ref()?;
                self.holds_stubs(*room, v)
                    .then_some((*room, room + v.stub_len))
            })
            .collect()
    }

    /// Forgets the libraries whose spans overlap `[start, end)`.
    pub(super) fn forget_libraries(&mut self, start: usize, end: usize) {
        self.libraries.retain(|l| l.end <= start || end <= l.start);
    }
}
