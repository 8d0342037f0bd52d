//! The ELF loader.
//!
//! Headers are parsed with goblin from small reads; segment contents are read
//! straight from the file into guest memory (no intermediate copy of the
//! image, no zeroing of `.bss`: fresh guest memory is already zero).
//!
//! * `ET_EXEC`: every `PT_LOAD` segment must run in the kernel window,
//!   `p_vaddr == KERNEL_VIRT_BASE + p_paddr`, with `p_paddr >= IMAGE_MIN_PHYS`
//!   and its end inside the 1 GiB window and inside RAM.
//! * `ET_DYN` (static PIE): loaded at physical bias [`IMAGE_MIN_PHYS`] and
//!   virtual bias `KERNEL_VIRT_BASE + IMAGE_MIN_PHYS`; `R_X86_64_RELATIVE`
//!   relocations from the dynamic section are applied, any other type is
//!   rejected.
//!
//! Every size and address is checked with checked arithmetic; no input makes
//! the loader panic.

use std::io::{Read, Seek, SeekFrom};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::ProgramHeader;
use goblin::elf::header::{self, EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{PF_W, PF_X, PT_DYNAMIC, PT_LOAD};
use tracing::debug;
use vessel_abi::layout::{IMAGE_MIN_PHYS, KERNEL_VIRT_BASE, KERNEL_WINDOW_SIZE, MEMORY_GRANULE};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap, ReadVolatile};

use crate::error::LoadError;

/// Size of an ELF64 file header.
const EHDR_SIZE: usize = 64;
/// Size of an ELF64 program header.
const PHDR_SIZE: usize = 56;
/// Most program headers accepted.
const MAX_PHDRS: u16 = 256;
/// Largest `PT_DYNAMIC` accepted.
const MAX_DYNAMIC: u64 = 64 << 10;
/// `DT_RELR` (packed relative relocations), not in goblin's constants.
const DT_RELR: u64 = 36;
/// `R_X86_64_NONE`.
const R_X86_64_NONE: u32 = 0;
/// `R_X86_64_RELATIVE`.
const R_X86_64_RELATIVE: u32 = 8;
/// Size of an `Elf64_Rela`.
const RELA_SIZE: u64 = 24;

/// Something an image can be read from: a [`std::fs::File`] or, in tests, a
/// `std::io::Cursor` over bytes.
pub trait ImageSource: Read + Seek + ReadVolatile {}
impl<T: Read + Seek + ReadVolatile> ImageSource for T {}

/// One loadable segment, placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Program-header index.
    pub index: usize,
    /// Offset of its contents in the file.
    pub file_offset: u64,
    /// Bytes taken from the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
    /// Guest-physical load address.
    pub phys: u64,
    /// Virtual address it runs at.
    pub virt: u64,
    /// Executable?
    pub executable: bool,
    /// Writable?
    pub writable: bool,
}

/// A validated, placed image (nothing written yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    /// `true` for a static PIE (`ET_DYN`).
    pub pie: bool,
    /// Loadable segments, sorted by physical address.
    pub segments: Vec<Segment>,
    /// Virtual entry point.
    pub entry: u64,
    /// `PT_DYNAMIC` (file offset, size), for PIEs.
    pub dynamic: Option<(u64, u64)>,
}

impl ImagePlan {
    /// Lowest physical address of the image.
    pub fn phys_start(&self) -> u64 {
        self.segments.first().map_or(IMAGE_MIN_PHYS, |s| s.phys)
    }

    /// One past the highest physical address of the image.
    pub fn phys_end(&self) -> u64 {
        // Ends were checked not to overflow during planning.
        self.segments
            .iter()
            .map(|s| s.phys + s.memsz)
            .max()
            .unwrap_or(IMAGE_MIN_PHYS)
    }
}

/// What the loader produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// Virtual entry point.
    pub entry: u64,
    /// Lowest physical address of the image.
    pub phys_start: u64,
    /// One past the highest physical address of the image.
    pub phys_end: u64,
    /// `R_X86_64_RELATIVE` relocations applied.
    pub relocations: u64,
    /// The loaded segments, sorted by address and disjoint: what the
    /// kernel page tables map (see [`crate::boot::write_page_tables`]).
    pub segments: Vec<ImageSegment>,
}

/// A loaded segment as the page tables map it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSegment {
    /// Guest-physical start (the image runs at `KERNEL_VIRT_BASE + phys`).
    pub phys: u64,
    /// Length in memory (`p_memsz`).
    pub len: u64,
    /// `PF_W`.
    pub writable: bool,
    /// `PF_X`.
    pub executable: bool,
}

fn read_err(e: std::io::Error) -> LoadError {
    LoadError::Read(e)
}

/// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
fn read_at<S: ImageSource>(src: &mut S, offset: u64, buf: &mut [u8]) -> Result<usize, LoadError> {
    src.seek(SeekFrom::Start(offset)).map_err(read_err)?;
    let mut done = 0;
    while done < buf.len() {
        match src.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
    Ok(done)
}

/// Validates the image in `src` against a VM whose RAM below the 3 GiB hole
/// is `low_ram` bytes, and places its segments. Reads only headers.
pub fn plan<S: ImageSource>(src: &mut S, low_ram: u64) -> Result<ImagePlan, LoadError> {
    let file_len = src.seek(SeekFrom::End(0)).map_err(read_err)?;
    let mut ehdr = [0u8; EHDR_SIZE];
    let got = read_at(src, 0, &mut ehdr)?;
    if got < 4 || ehdr[..4] != *b"\x7fELF" {
        return Err(LoadError::NotElf);
    }
    if got < 6 {
        return Err(LoadError::BadHeader("truncated ELF identification".into()));
    }
    match ehdr[header::EI_CLASS] {
        header::ELFCLASS64 => {}
        class => return Err(LoadError::Not64Bit(class)),
    }
    match ehdr[header::EI_DATA] {
        header::ELFDATA2LSB => {}
        data => return Err(LoadError::NotLittleEndian(data)),
    }
    if got < EHDR_SIZE {
        return Err(LoadError::BadHeader(format!(
            "truncated ELF header ({got} of {EHDR_SIZE} bytes)"
        )));
    }
    let hdr = goblin::elf64::header::Header::parse(&ehdr)
        .map_err(|e| LoadError::BadHeader(e.to_string()))?;
    if hdr.e_machine != EM_X86_64 {
        return Err(LoadError::WrongMachine {
            machine: hdr.e_machine,
            name: header::machine_to_str(hdr.e_machine),
        });
    }
    let pie = match hdr.e_type {
        ET_EXEC => false,
        ET_DYN => true,
        t => {
            return Err(LoadError::WrongType {
                e_type: t,
                name: header::et_to_str(t),
            });
        }
    };
    if hdr.e_phnum == 0 {
        return Err(LoadError::NoLoadableSegments);
    }
    if usize::from(hdr.e_phentsize) != PHDR_SIZE {
        return Err(LoadError::BadHeader(format!(
            "program header size is {}, expected {PHDR_SIZE}",
            hdr.e_phentsize
        )));
    }
    if hdr.e_phnum > MAX_PHDRS {
        return Err(LoadError::BadHeader(format!(
            "too many program headers ({}, at most {MAX_PHDRS})",
            hdr.e_phnum
        )));
    }
    let table_len = u64::from(hdr.e_phnum) * PHDR_SIZE as u64;
    let outside = LoadError::PhdrsOutsideFile {
        offset: hdr.e_phoff,
        count: hdr.e_phnum,
        file_len,
    };
    match hdr.e_phoff.checked_add(table_len) {
        Some(end) if end <= file_len => {}
        _ => return Err(outside),
    }
    let mut table = vec![0u8; table_len as usize];
    if read_at(src, hdr.e_phoff, &mut table)? != table.len() {
        return Err(outside);
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let phdrs = ProgramHeader::parse(&table, 0, usize::from(hdr.e_phnum), ctx)
        .map_err(|e| LoadError::BadHeader(e.to_string()))?;
    plan_segments(&phdrs, pie, hdr.e_entry, file_len, low_ram)
}

/// Validates and places the program headers (pure; see [`plan`]).
pub fn plan_segments(
    phdrs: &[ProgramHeader],
    pie: bool,
    e_entry: u64,
    file_len: u64,
    low_ram: u64,
) -> Result<ImagePlan, LoadError> {
    let mut segments = Vec::new();
    let mut dynamic = None;
    for (index, ph) in phdrs.iter().enumerate() {
        if ph.p_type == PT_DYNAMIC && pie {
            match ph.p_offset.checked_add(ph.p_filesz) {
                Some(end) if end <= file_len => {}
                _ => {
                    return Err(LoadError::SegmentOutsideFile {
                        index,
                        offset: ph.p_offset,
                        filesz: ph.p_filesz,
                        file_len,
                    });
                }
            }
            dynamic = Some((ph.p_offset, ph.p_filesz));
        }
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(LoadError::FileszExceedsMemsz {
                index,
                filesz: ph.p_filesz,
                memsz: ph.p_memsz,
            });
        }
        match ph.p_offset.checked_add(ph.p_filesz) {
            Some(end) if end <= file_len => {}
            _ => {
                return Err(LoadError::SegmentOutsideFile {
                    index,
                    offset: ph.p_offset,
                    filesz: ph.p_filesz,
                    file_len,
                });
            }
        }
        let phys = if pie {
            ph.p_vaddr
                .checked_add(IMAGE_MIN_PHYS)
                .ok_or(LoadError::OutsideKernelWindow {
                    index,
                    start: ph.p_vaddr,
                    end: u64::MAX,
                })?
        } else {
            if KERNEL_VIRT_BASE.checked_add(ph.p_paddr) != Some(ph.p_vaddr) {
                return Err(LoadError::NotInKernelWindow {
                    index,
                    vaddr: ph.p_vaddr,
                    paddr: ph.p_paddr,
                });
            }
            ph.p_paddr
        };
        if phys < IMAGE_MIN_PHYS {
            return Err(LoadError::BelowImageMin { index, paddr: phys });
        }
        let end = phys.checked_add(ph.p_memsz);
        let end = match end {
            Some(end) if end <= KERNEL_WINDOW_SIZE => end,
            _ => {
                return Err(LoadError::OutsideKernelWindow {
                    index,
                    start: phys,
                    end: end.unwrap_or(u64::MAX),
                });
            }
        };
        debug_assert!(end > phys);
        segments.push(Segment {
            index,
            file_offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
            phys,
            // phys < 1 GiB: cannot overflow.
            virt: KERNEL_VIRT_BASE + phys,
            executable: ph.p_flags & PF_X != 0,
            writable: ph.p_flags & PF_W != 0,
        });
    }
    if segments.is_empty() {
        return Err(LoadError::NoLoadableSegments);
    }
    segments.sort_by_key(|s| s.phys);
    for pair in segments.windows(2) {
        if pair[0].phys + pair[0].memsz > pair[1].phys {
            let (a, b) = (
                pair[0].index.min(pair[1].index),
                pair[0].index.max(pair[1].index),
            );
            return Err(LoadError::OverlappingSegments {
                first: a,
                second: b,
            });
        }
    }
    let plan_end = segments.iter().map(|s| s.phys + s.memsz).max().unwrap_or(0);
    if plan_end > low_ram {
        return Err(LoadError::TooBig {
            needs: plan_end.div_ceil(MEMORY_GRANULE) * MEMORY_GRANULE,
            end: plan_end,
            has: low_ram,
        });
    }
    let entry = if pie {
        e_entry
            .checked_add(KERNEL_VIRT_BASE + IMAGE_MIN_PHYS)
            .ok_or(LoadError::BadEntry(e_entry))?
    } else {
        e_entry
    };
    let in_exec = segments
        .iter()
        .any(|s| s.executable && entry >= s.virt && entry - s.virt < s.memsz);
    if !in_exec {
        return Err(LoadError::BadEntry(entry));
    }
    Ok(ImagePlan {
        pie,
        segments,
        entry,
        dynamic: if pie { dynamic } else { None },
    })
}

/// Loads the image in `src` into `mem` (whose RAM below the 3 GiB hole is
/// `low_ram` bytes): validates, copies segments, applies PIE relocations.
pub fn load<S: ImageSource>(
    src: &mut S,
    mem: &GuestMemoryMmap,
    low_ram: u64,
) -> Result<LoadedImage, LoadError> {
    let plan = plan(src, low_ram)?;
    for seg in &plan.segments {
        if seg.filesz == 0 {
            continue;
        }
        src.seek(SeekFrom::Start(seg.file_offset))
            .map_err(read_err)?;
        let count =
            usize::try_from(seg.filesz).map_err(|e| LoadError::GuestWrite(e.to_string()))?;
        mem.read_exact_volatile_from(GuestAddress(seg.phys), src, count)
            .map_err(|e| LoadError::GuestWrite(e.to_string()))?;
    }
    let relocations = match plan.dynamic {
        Some((offset, size)) => relocate(src, mem, &plan, offset, size)?,
        None => 0,
    };
    debug!(
        entry = format_args!("{:#x}", plan.entry),
        segments = plan.segments.len(),
        pie = plan.pie,
        relocations,
        "image loaded"
    );
    Ok(LoadedImage {
        entry: plan.entry,
        phys_start: plan.phys_start(),
        phys_end: plan.phys_end(),
        relocations,
        segments: plan
            .segments
            .iter()
            .map(|s| ImageSegment {
                phys: s.phys,
                len: s.memsz,
                writable: s.writable,
                executable: s.executable,
            })
            .collect(),
    })
}

/// Whether `[phys, phys + len)` lies inside one loaded segment.
fn in_segments(plan: &ImagePlan, phys: u64, len: u64) -> bool {
    let Some(end) = phys.checked_add(len) else {
        return false;
    };
    plan.segments
        .iter()
        .any(|s| phys >= s.phys && end <= s.phys + s.memsz)
}

/// Applies the `R_X86_64_RELATIVE` relocations a PIE's dynamic section names.
/// The relocation table itself is read from the already loaded image.
fn relocate<S: ImageSource>(
    src: &mut S,
    mem: &GuestMemoryMmap,
    plan: &ImagePlan,
    offset: u64,
    size: u64,
) -> Result<u64, LoadError> {
    if size > MAX_DYNAMIC {
        return Err(LoadError::BadDynamic(format!("too large ({size} bytes)")));
    }
    let mut raw = vec![0u8; size as usize];
    if read_at(src, offset, &mut raw)? != raw.len() {
        return Err(LoadError::BadDynamic("truncated".into()));
    }
    let (mut rela, mut relasz, mut relaent) = (None, 0u64, RELA_SIZE);
    let (mut jmprel, mut pltrelsz) = (None, 0u64);
    for entry in raw.chunks_exact(16) {
        let tag = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
        let val = u64::from_le_bytes(entry[8..].try_into().unwrap_or_default());
        use goblin::elf::dynamic::*;
        match tag {
            DT_NULL => break,
            DT_RELA => rela = Some(val),
            DT_RELASZ => relasz = val,
            DT_RELAENT => relaent = val,
            DT_JMPREL => jmprel = Some(val),
            DT_PLTRELSZ => pltrelsz = val,
            DT_REL | DT_RELSZ if val != 0 => {
                return Err(LoadError::BadDynamic(
                    "DT_REL relocations are not supported".into(),
                ));
            }
            DT_RELR => {
                return Err(LoadError::BadDynamic(
                    "DT_RELR packed relocations are not supported".into(),
                ));
            }
            DT_NEEDED => {
                return Err(LoadError::BadDynamic(
                    "image needs shared libraries (DT_NEEDED); only static PIEs are supported"
                        .into(),
                ));
            }
            _ => {}
        }
    }
    if relaent != RELA_SIZE {
        return Err(LoadError::BadDynamic(format!(
            "DT_RELAENT is {relaent}, expected {RELA_SIZE}"
        )));
    }
    let virt_bias = KERNEL_VIRT_BASE + IMAGE_MIN_PHYS;
    let mut applied = 0u64;
    for (table, len) in [(rela, relasz), (jmprel, pltrelsz)] {
        let Some(table) = table else { continue };
        if !len.is_multiple_of(RELA_SIZE) {
            return Err(LoadError::BadDynamic(format!(
                "relocation table size {len} is not a multiple of {RELA_SIZE}"
            )));
        }
        let table_phys = table
            .checked_add(IMAGE_MIN_PHYS)
            .filter(|&p| in_segments(plan, p, len))
            .ok_or_else(|| {
                LoadError::BadDynamic(format!(
                    "relocation table at {table:#x} lies outside the image"
                ))
            })?;
        for i in 0..len / RELA_SIZE {
            let mut r = [0u8; RELA_SIZE as usize];
            mem.read_slice(&mut r, GuestAddress(table_phys + i * RELA_SIZE))
                .map_err(|e| LoadError::GuestWrite(e.to_string()))?;
            let r_offset = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let r_info = u64::from_le_bytes(r[8..16].try_into().unwrap_or_default());
            let r_addend = u64::from_le_bytes(r[16..].try_into().unwrap_or_default());
            let r_type = (r_info & 0xffff_ffff) as u32;
            match r_type {
                R_X86_64_NONE => continue,
                R_X86_64_RELATIVE => {}
                _ => {
                    return Err(LoadError::UnsupportedRelocation {
                        r_type,
                        name: goblin::elf::reloc::r_to_str(r_type, EM_X86_64),
                    });
                }
            }
            let target = r_offset
                .checked_add(IMAGE_MIN_PHYS)
                .filter(|&p| in_segments(plan, p, 8))
                .ok_or(LoadError::RelocationOutOfImage(r_offset))?;
            let value = virt_bias.wrapping_add(r_addend);
            mem.write_slice(&value.to_le_bytes(), GuestAddress(target))
                .map_err(|e| LoadError::GuestWrite(e.to_string()))?;
            applied += 1;
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{ElfSpec, RawPhdr, exec_image};
    use std::io::Cursor;
    use vm_memory::GuestMemoryBackend;

    const MIB: u64 = 1 << 20;

    fn mem(size: u64) -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0), size as usize)]).unwrap()
    }

    fn try_load(bytes: &[u8], size: u64) -> Result<LoadedImage, LoadError> {
        let m = mem(size);
        load(&mut Cursor::new(bytes), &m, m.last_addr().0 + 1)
    }

    fn err(bytes: &[u8]) -> String {
        try_load(bytes, 16 * MIB).unwrap_err().to_string()
    }

    fn code_seg(vaddr: u64, paddr: u64, len: u64) -> RawPhdr {
        RawPhdr::load(PF_X | 4, 0x1000, vaddr, paddr, len, len)
    }

    fn base() -> ElfSpec {
        let mut spec = ElfSpec::exec(KERNEL_VIRT_BASE + IMAGE_MIN_PHYS);
        spec.phdrs.push(code_seg(
            KERNEL_VIRT_BASE + IMAGE_MIN_PHYS,
            IMAGE_MIN_PHYS,
            16,
        ));
        spec.blobs.push((0x1000, vec![0x90; 16]));
        spec
    }

    #[test]
    fn loads_a_valid_exec_image() {
        let m = mem(16 * MIB);
        let img = exec_image(&[0xf4, 0xeb, 0xfe], 0x3000);
        let loaded = load(&mut Cursor::new(&img), &m, 16 * MIB).unwrap();
        assert_eq!(loaded.entry, KERNEL_VIRT_BASE + IMAGE_MIN_PHYS);
        assert_eq!(loaded.phys_start, IMAGE_MIN_PHYS);
        let mut b = [0u8; 3];
        m.read_slice(&mut b, GuestAddress(IMAGE_MIN_PHYS)).unwrap();
        assert_eq!(b, [0xf4, 0xeb, 0xfe]);
        assert!(loaded.phys_end >= IMAGE_MIN_PHYS + 0x3000);
    }

    #[test]
    fn header_errors() {
        assert_eq!(err(b""), "not an ELF file");
        assert_eq!(err(b"hello world, this is text\n"), "not an ELF file");
        let mut spec = base();
        spec.class = 1;
        assert_eq!(
            err(&spec.to_bytes()),
            "not a 64-bit ELF file (ELFCLASS32, 32-bit)"
        );
        let mut spec = base();
        spec.data = 2;
        assert_eq!(
            err(&spec.to_bytes()),
            "not a little-endian ELF file (data encoding 2)"
        );
        let mut spec = base();
        spec.machine = header::EM_AARCH64;
        assert_eq!(
            err(&spec.to_bytes()),
            "not an x86_64 ELF file (machine is AARCH64, 183)"
        );
        let mut spec = base();
        spec.e_type = header::ET_REL;
        assert_eq!(
            err(&spec.to_bytes()),
            "not an executable or static-PIE ELF file (type is REL, 1)"
        );
        assert!(err(&base().to_bytes()[..40]).starts_with("malformed ELF header: truncated"));
    }

    #[test]
    fn segment_errors() {
        let mut spec = base();
        spec.phdrs.clear();
        assert_eq!(err(&spec.to_bytes()), "no loadable segments");

        let mut spec = base();
        spec.phoff_override = Some(1 << 40);
        assert!(
            err(&spec.to_bytes())
                .starts_with("program header table (offset 0x10000000000, 1 entries) lies outside")
        );

        let mut spec = base();
        spec.phdrs[0].p_offset = u64::MAX - 4;
        assert!(
            err(&spec.to_bytes())
                .starts_with("segment 0: file range 0xfffffffffffffffb+0x10 lies outside the file")
        );

        let mut spec = base();
        spec.phdrs[0].p_filesz = 32;
        assert_eq!(
            err(&spec.to_bytes()),
            "segment 0: file size 0x20 exceeds memory size 0x10"
        );

        let mut spec = base();
        spec.phdrs[0].p_vaddr += 0x1000;
        assert!(
            err(&spec.to_bytes()).contains("is not KERNEL_VIRT_BASE + physical address 0x200000")
        );

        let mut spec = base();
        spec.phdrs[0] = code_seg(KERNEL_VIRT_BASE + 0x1000, 0x1000, 16);
        spec.entry = KERNEL_VIRT_BASE + 0x1000;
        assert_eq!(
            err(&spec.to_bytes()),
            "segment 0: physical address 0x1000 is below the image minimum 0x200000"
        );

        let mut spec = base();
        spec.phdrs[0].p_memsz = 1 << 30;
        assert!(err(&spec.to_bytes()).ends_with("lies outside the 1 GiB kernel window"));

        let mut spec = base();
        spec.phdrs[0].p_memsz = u64::MAX;
        assert!(err(&spec.to_bytes()).ends_with("lies outside the 1 GiB kernel window"));

        let mut spec = base();
        spec.phdrs.push(code_seg(
            KERNEL_VIRT_BASE + IMAGE_MIN_PHYS + 8,
            IMAGE_MIN_PHYS + 8,
            16,
        ));
        assert_eq!(err(&spec.to_bytes()), "segments 0 and 1 overlap");

        let mut spec = base();
        spec.phdrs[0].p_memsz = 20 * MIB;
        assert_eq!(
            err(&spec.to_bytes()),
            "image does not fit in memory: it needs 22 MiB of guest memory (it ends at 0x1600000) but the VM has 16 MiB"
        );

        let mut spec = base();
        spec.entry = KERNEL_VIRT_BASE + IMAGE_MIN_PHYS + 16;
        assert_eq!(
            err(&spec.to_bytes()),
            "entry point 0xffffffff80200010 is not inside an executable loadable segment"
        );

        let mut spec = base();
        spec.phdrs[0].p_flags = 6;
        assert!(err(&spec.to_bytes()).starts_with("entry point"));
    }

    fn pie(relocs: &[(u64, u32, u64)]) -> Vec<u8> {
        // Segment 0 (RX): code at vaddr 0. Segment 1 (RW) at vaddr 0x1000:
        // 16 bytes of slots, then the RELA table, then the dynamic section.
        let mut spec = ElfSpec::exec(0);
        spec.e_type = ET_DYN;
        spec.phdrs.push(RawPhdr::load(PF_X | 4, 0x1000, 0, 0, 4, 4));
        spec.blobs.push((0x1000, vec![0x90, 0x90, 0xeb, 0xfe]));
        let mut data = vec![0u8; 16];
        let rela_off = data.len() as u64;
        for &(off, ty, add) in relocs {
            data.extend_from_slice(&off.to_le_bytes());
            data.extend_from_slice(&u64::from(ty).to_le_bytes());
            data.extend_from_slice(&add.to_le_bytes());
        }
        let dyn_off = data.len() as u64;
        use goblin::elf::dynamic::*;
        for (tag, val) in [
            (DT_RELA, 0x1000 + rela_off),
            (DT_RELASZ, relocs.len() as u64 * 24),
            (DT_RELAENT, 24),
            (DT_NULL, 0),
        ] {
            data.extend_from_slice(&tag.to_le_bytes());
            data.extend_from_slice(&val.to_le_bytes());
        }
        let len = data.len() as u64;
        spec.phdrs
            .push(RawPhdr::load(6, 0x2000, 0x1000, 0x1000, len, len + 0x100));
        spec.phdrs.push(RawPhdr {
            p_type: PT_DYNAMIC,
            p_flags: 6,
            p_offset: 0x2000 + dyn_off,
            p_vaddr: 0x1000 + dyn_off,
            p_paddr: 0x1000 + dyn_off,
            p_filesz: 64,
            p_memsz: 64,
            p_align: 8,
        });
        spec.blobs.push((0x2000, data));
        spec.to_bytes()
    }

    #[test]
    fn pie_relative_relocations_are_applied() {
        let m = mem(16 * MIB);
        let img = pie(&[
            (0x1000, R_X86_64_RELATIVE, 0x2),
            (0x1008, R_X86_64_RELATIVE, 0x1000),
        ]);
        let loaded = load(&mut Cursor::new(&img), &m, 16 * MIB).unwrap();
        assert_eq!(loaded.entry, KERNEL_VIRT_BASE + IMAGE_MIN_PHYS);
        assert_eq!(loaded.relocations, 2);
        let a: u64 = m.read_obj(GuestAddress(IMAGE_MIN_PHYS + 0x1000)).unwrap();
        let b: u64 = m.read_obj(GuestAddress(IMAGE_MIN_PHYS + 0x1008)).unwrap();
        assert_eq!(a, KERNEL_VIRT_BASE + IMAGE_MIN_PHYS + 2);
        assert_eq!(b, KERNEL_VIRT_BASE + IMAGE_MIN_PHYS + 0x1000);
        let mut code = [0u8; 4];
        m.read_slice(&mut code, GuestAddress(IMAGE_MIN_PHYS))
            .unwrap();
        assert_eq!(code, [0x90, 0x90, 0xeb, 0xfe]);
    }

    #[test]
    fn pie_rejects_other_relocations() {
        let img = pie(&[(0x1000, 1, 0)]);
        assert_eq!(err(&img), "unsupported relocation type R_X86_64_64 (1)");
        let img = pie(&[(0x5000_0000, R_X86_64_RELATIVE, 0)]);
        assert_eq!(
            err(&img),
            "relocation at offset 0x50000000 lies outside the loaded segments"
        );
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = try_load(&bytes, 8 * MIB);
        }

        #[test]
        fn mutated_images_never_panic(
            // Mostly headers (the first 0x200 bytes), sometimes contents.
            muts in proptest::collection::vec(
                (prop_oneof![3 => 0usize..0x200, 1 => 0usize..0x2200], any::<u8>()),
                1..16,
            ),
            which in 0usize..2,
        ) {
            let mut img = if which == 0 {
                exec_image(&[0x90; 64], 0x2000)
            } else {
                pie(&[(0x1000, R_X86_64_RELATIVE, 0x2), (0x1008, R_X86_64_RELATIVE, 0)])
            };
            for (pos, val) in muts {
                if let Some(len) = img.len().checked_sub(1) {
                    let p = pos.min(len);
                    img[p] = val;
                }
            }
            let _ = try_load(&img, 8 * MIB);
        }
    }
}

/// What an ELF file is, as `vessel run` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageKind {
    /// A Vessel guest image: it carries the Vessel ELF note, with the ABI
    /// version it speaks.
    Vessel {
        /// The `vessel_abi::ABI_VERSION` the image was built for.
        abi_version: u32,
    },
    /// An x86-64 ELF executable without the note and with no segment in the
    /// kernel window: a Linux program, for the vessel-linux kernel to run.
    LinuxProgram,
    /// Not an x86-64 ELF executable: left to [`load`] to explain.
    Other,
}

/// Classifies the file at `path`; errors only if it cannot be read.
pub fn classify(path: &std::path::Path) -> Result<ImageKind, LoadError> {
    let bytes = std::fs::read(path).map_err(LoadError::Open)?;
    Ok(classify_bytes(&bytes))
}

/// Classifies an image held in memory; see [`classify`].
pub fn classify_bytes(bytes: &[u8]) -> ImageKind {
    let Ok(elf) = goblin::elf::Elf::parse(bytes) else {
        return ImageKind::Other;
    };
    let executable = matches!(
        elf.header.e_type,
        goblin::elf::header::ET_EXEC | goblin::elf::header::ET_DYN
    );
    if !elf.is_64 || elf.header.e_machine != goblin::elf::header::EM_X86_64 || !executable {
        return ImageKind::Other;
    }
    let vessel_note = elf
        .iter_note_headers(bytes)
        .into_iter()
        .flatten()
        .flatten()
        .find(|note| {
            note.name == vessel_abi::note::NAME && note.n_type == vessel_abi::note::ABI_VERSION_TYPE
        });
    // Linux programs live in the lower half; a segment in the kernel window
    // makes a Vessel image even without the note (hand-made images).
    let in_kernel_window = elf.program_headers.iter().any(|ph| {
        ph.p_type == goblin::elf::program_header::PT_LOAD && ph.p_vaddr >= KERNEL_VIRT_BASE
    });
    match vessel_note {
        Some(note) => {
            let version = note
                .desc
                .get(..4)
                .map_or(0, |d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
            ImageKind::Vessel {
                abi_version: version,
            }
        }
        None if in_kernel_window => ImageKind::Vessel {
            abi_version: vessel_abi::ABI_VERSION,
        },
        None => ImageKind::LinuxProgram,
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;

    #[test]
    fn tells_vessel_images_from_linux_programs() {
        let vessel = crate::test_util::hello_image(b"hi", 7);
        assert_eq!(
            classify_bytes(&vessel),
            ImageKind::Vessel {
                abi_version: vessel_abi::ABI_VERSION
            }
        );
        assert_eq!(classify_bytes(b"#!/bin/sh\n"), ImageKind::Other);
        assert_eq!(classify_bytes(&[]), ImageKind::Other);
        let host_program = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(classify_bytes(&host_program), ImageKind::LinuxProgram);
    }
}
