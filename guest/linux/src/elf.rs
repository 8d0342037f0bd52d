//! Linux ELF executables and their interpreters: validation and load plans.
//!
//! [`parse`] checks an x86-64 ELF file held in memory and describes how to
//! load it ([`LoadPlan`]): where each `PT_LOAD` segment goes, with which
//! permissions, the values the initial stack's auxiliary vector needs, and
//! the ELF interpreter it asks for, if any. It accepts what Linux programs
//! are:
//!
//! * `ET_EXEC`, linked at a fixed address (Debian's `busybox-static`,
//!   `gcc -no-pie`);
//! * `ET_DYN` (position-independent executables), loaded at
//!   [`ET_DYN_BASE`]: static PIEs (`musl-gcc -static-pie`, Rust's
//!   `x86_64-unknown-linux-musl`) relocate themselves (their `_start`
//!   applies their own `R_X86_64_RELATIVE` relocations), so the loader only
//!   chooses the bias; dynamically linked ones leave that to their
//!   interpreter.
//!
//! A dynamically linked program names its interpreter (`ld.so`) in
//! `PT_INTERP` ([`LoadPlan::interpreter`]). The kernel then reads that file
//! and plans it with [`parse_interpreter`], which puts it at
//! [`INTERP_BASE`]; the program starts at the interpreter's entry, and the
//! interpreter finds the program through the auxiliary vector (`AT_PHDR`,
//! `AT_ENTRY`) and itself through `AT_BASE`, as Linux's `binfmt_elf` does.
//!
//! Everything else fails with a precise [`ElfError`] (execve reports
//! `ENOEXEC`, or `EIO` for a `PT_INTERP` outside the file, as Linux does),
//! or for the interpreter an [`InterpreterError`] (`ELIBBAD`).
//!
//! The parser is hand-written (about 300 lines) rather than `goblin`: it
//! needs a dozen fields of two fixed-layout headers, every one of which must
//! be validated against the file anyway, and this keeps the trusted loader
//! free of a large dependency and its parsing of sections, symbols and
//! relocations we never use.
//!
//! [`parse_shebang`] recognises `#!` scripts the way Linux's `binfmt_script`
//! does.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::PAGE_SIZE;
use crate::errno::Errno;

/// ELF type of a fixed-address executable.
pub const ET_EXEC: u16 = 2;
/// ELF type of a position-independent object (here: static PIE).
pub const ET_DYN: u16 = 3;
/// ELF machine number of x86-64.
pub const EM_X86_64: u16 = 62;
/// Program header type: loadable segment.
pub const PT_LOAD: u32 = 1;
/// Program header type: path of the ELF interpreter (dynamic linking).
pub const PT_INTERP: u32 = 3;
/// Program header type: the program header table itself.
pub const PT_PHDR: u32 = 6;
/// Program header type: stack permissions (GNU extension).
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;

/// Where a position-independent (`ET_DYN`) executable is loaded: the
/// lowest page of its lowest segment goes here. It is Linux's
/// `ELF_ET_DYN_BASE` without randomisation, the address debuggers show for
/// PIEs (two thirds of the 47-bit user space, page-aligned).
pub const ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// Where the ELF interpreter of a dynamically linked program is loaded: the
/// lowest page of its lowest segment goes here, and the others follow
/// upwards, up to [`INTERP_END`]. Linux puts the interpreter in the mmap
/// area; this fixed base is the top of the vessel-linux kernel's mmap area
/// (the mappings the kernel places go below it, top-down), far above
/// programs (`ET_EXEC` ones low, PIEs at [`ET_DYN_BASE`]) and their heaps
/// (which stop below the mmap area), and far below the stack.
pub const INTERP_BASE: u64 = 0x7f00_0000_0000;
/// The interpreter's segments end at or below this address (1020 GiB above
/// [`INTERP_BASE`], 4 GiB below the top of user space where the stack is).
pub const INTERP_END: u64 = 0x7fff_0000_0000;
/// Linux's `PATH_MAX`: the longest `PT_INTERP`, its NUL included.
pub const PATH_MAX: u64 = 4096;
/// First address above user space (x86-64 `TASK_SIZE_MAX`, 47-bit
/// addresses minus the guard page Linux keeps below the canonical hole).
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;
/// Lowest address a segment may occupy: page 0 stays unmapped so that null
/// pointer dereferences fault.
pub const USER_START: u64 = PAGE_SIZE;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// Linux refuses program header tables larger than 64 KiB.
const MAX_PHDR_TABLE: usize = 65536;

/// Why a file is not a loadable x86-64 executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than an ELF header.
    TooShort,
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not `ELFCLASS64` (1 means a 32-bit binary).
    NotElf64(u8),
    /// `EI_DATA` is not little-endian.
    NotLittleEndian(u8),
    /// `EI_VERSION` or `e_version` is not 1.
    BadVersion,
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN` (e.g. an object file or
    /// a core dump).
    NotExecutable(u16),
    /// `e_machine` is not x86-64.
    WrongMachine(u16),
    /// `e_phentsize` is not the size of an ELF64 program header.
    BadProgramHeaderSize(u16),
    /// No program headers, or a table larger than 64 KiB.
    BadProgramHeaderCount(u16),
    /// The program header table lies (partly) outside the file.
    ProgramHeadersOutsideFile,
    /// `PT_INTERP` is shorter than 2 bytes (a path and its NUL) or longer
    /// than [`PATH_MAX`] (its size).
    BadInterpreterPathSize(u64),
    /// `PT_INTERP`'s bytes lie (partly) outside the file.
    InterpreterPathOutsideFile,
    /// `PT_INTERP`'s last byte is not a NUL.
    InterpreterPathNotTerminated,
    /// The binary has no `PT_LOAD` segment.
    NoLoadSegment,
    /// A segment's file bytes (`p_offset + p_filesz`) lie outside the file.
    SegmentOutsideFile(usize),
    /// A segment has `p_filesz > p_memsz`.
    FileSizeExceedsMemSize(usize),
    /// A segment's address range wraps around or leaves user space.
    SegmentOutsideUserSpace(usize),
    /// `p_vaddr` and `p_offset` differ modulo the page size, so the segment
    /// cannot be mapped page by page.
    MisalignedSegment(usize),
    /// Two segments (program header indices) overlap in memory.
    SegmentsOverlap(usize, usize),
    /// The entry point is not inside any loaded segment.
    EntryOutsideSegments,
    /// The program header table is not inside any loaded segment, so
    /// `AT_PHDR` could not point at it (libc reads it to find `PT_TLS`).
    ProgramHeadersNotLoaded,
}

impl ElfError {
    /// The error number execve reports: `EIO` when the interpreter's path
    /// cannot be read from the file (Linux's short read), else `ENOEXEC`.
    pub const fn errno(self) -> Errno {
        match self {
            ElfError::InterpreterPathOutsideFile => Errno::EIO,
            _ => Errno::ENOEXEC,
        }
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ElfError::TooShort => write!(f, "file too short for an ELF header"),
            ElfError::BadMagic => write!(f, "not an ELF file (bad magic)"),
            ElfError::NotElf64(1) => write!(f, "32-bit ELF binaries are not supported"),
            ElfError::NotElf64(c) => write!(f, "bad ELF class {c}"),
            ElfError::NotLittleEndian(d) => write!(f, "not little-endian (EI_DATA {d})"),
            ElfError::BadVersion => write!(f, "bad ELF version"),
            ElfError::NotExecutable(t) => write!(f, "ELF type {t} is not an executable"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine {m} is not x86-64 (62)"),
            ElfError::BadProgramHeaderSize(s) => write!(f, "bad program header size {s}"),
            ElfError::BadProgramHeaderCount(n) => write!(f, "bad program header count {n}"),
            ElfError::ProgramHeadersOutsideFile => {
                write!(f, "program headers lie outside the file")
            }
            ElfError::BadInterpreterPathSize(n) => write!(
                f,
                "PT_INTERP is {n} bytes, not 2 to {PATH_MAX} (a path and its NUL)"
            ),
            ElfError::InterpreterPathOutsideFile => {
                write!(f, "the interpreter path (PT_INTERP) lies outside the file")
            }
            ElfError::InterpreterPathNotTerminated => {
                write!(
                    f,
                    "the interpreter path (PT_INTERP) does not end with a NUL"
                )
            }
            ElfError::NoLoadSegment => write!(f, "no PT_LOAD segment"),
            ElfError::SegmentOutsideFile(i) => write!(f, "segment {i} lies outside the file"),
            ElfError::FileSizeExceedsMemSize(i) => {
                write!(f, "segment {i} has p_filesz > p_memsz")
            }
            ElfError::SegmentOutsideUserSpace(i) => {
                write!(f, "segment {i} wraps around or lies outside user space")
            }
            ElfError::MisalignedSegment(i) => {
                write!(
                    f,
                    "segment {i}: p_vaddr and p_offset differ modulo the page size"
                )
            }
            ElfError::SegmentsOverlap(a, b) => write!(f, "segments {a} and {b} overlap"),
            ElfError::EntryOutsideSegments => {
                write!(f, "entry point is outside every loaded segment")
            }
            ElfError::ProgramHeadersNotLoaded => {
                write!(f, "program headers are not inside any loaded segment")
            }
        }
    }
}

/// The kind of image a [`LoadPlan`] loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: loaded at its link addresses (bias 0).
    Exec,
    /// An `ET_DYN` program (static or dynamically linked PIE), loaded at
    /// [`ET_DYN_BASE`].
    Pie,
    /// An `ET_DYN` ELF interpreter, loaded at [`INTERP_BASE`].
    Interpreter,
}

/// Access permissions of a segment (from `p_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perms {
    /// `PF_R`.
    pub read: bool,
    /// `PF_W`.
    pub write: bool,
    /// `PF_X`.
    pub exec: bool,
}

impl Perms {
    /// The permissions of ELF segment flags `p_flags`.
    pub const fn from_flags(flags: u32) -> Perms {
        Perms {
            read: flags & PF_R != 0,
            write: flags & PF_W != 0,
            exec: flags & PF_X != 0,
        }
    }
}

/// One `PT_LOAD` segment, at its final (biased) address.
///
/// Memory `[vaddr, vaddr + mem_size)` is filled with file bytes
/// `[file_offset, file_offset + file_size)` followed by zeros. Two segments
/// never overlap, but may share a page at their boundary; a mapper working
/// in pages gives such a page the union of both permissions, as Linux does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    /// Address of the first byte (`p_vaddr` + bias).
    pub vaddr: u64,
    /// Size in memory (`p_memsz`), at least `file_size`.
    pub mem_size: u64,
    /// Offset of the segment's bytes in the file (`p_offset`).
    pub file_offset: u64,
    /// Number of bytes taken from the file (`p_filesz`).
    pub file_size: u64,
    /// Access permissions.
    pub perms: Perms,
}

impl LoadSegment {
    /// The file bytes of this segment, as a range into the parsed file
    /// (valid: [`parse`] checked it lies inside the file).
    pub fn file_range(&self) -> Range<usize> {
        self.file_offset as usize..(self.file_offset + self.file_size) as usize
    }

    /// One past the last byte in memory.
    pub const fn end(&self) -> u64 {
        self.vaddr + self.mem_size
    }

    /// The pages the segment touches: `[start, end)`, both page-aligned.
    pub const fn page_range(&self) -> Range<u64> {
        page_down(self.vaddr)..page_up(self.end())
    }

    /// The pages holding some of the segment's file bytes (empty when it
    /// has none): the pages after them, up to [`LoadSegment::page_range`]'s
    /// end, are all zeros (bss) and need no frame until touched.
    pub const fn file_page_range(&self) -> Range<u64> {
        let start = page_down(self.vaddr);
        if self.file_size == 0 {
            start..start
        } else {
            start..page_up(self.vaddr + self.file_size)
        }
    }
}

/// How to load a validated executable or interpreter, and what the
/// process's auxiliary vector says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// `ET_EXEC`, PIE or interpreter.
    pub kind: ElfKind,
    /// Added to every `p_vaddr` (0 for `ET_EXEC`); for an interpreter, its
    /// `AT_BASE`.
    pub load_bias: u64,
    /// The `PT_LOAD` segments with a non-zero size, sorted by address.
    pub segments: Vec<LoadSegment>,
    /// Entry point (`e_entry` + bias): `AT_ENTRY` and the initial `rip`.
    pub entry: u64,
    /// Address of the program header table in memory: `AT_PHDR`. Always
    /// inside a segment for a program; 0 for an interpreter whose table is
    /// not loaded (Linux does not ask that of interpreters, and nothing
    /// reads it).
    pub phdr: u64,
    /// Size of one program header: `AT_PHENT`.
    pub phent: u64,
    /// Number of program headers: `AT_PHNUM`.
    pub phnum: u64,
    /// Where the heap (`brk`) starts: the page-aligned end of the highest
    /// segment.
    pub brk_start: u64,
    /// Whether `PT_GNU_STACK` asks for an executable stack. Without
    /// `PT_GNU_STACK` the stack is not executable (x86-64 Linux with NX).
    pub exec_stack: bool,
    /// The ELF interpreter the program needs (`PT_INTERP`, up to its first
    /// NUL), which the kernel loads too and starts instead of the program;
    /// `None` for a static program (and always for an interpreter).
    pub interpreter: Option<Vec<u8>>,
}

impl LoadPlan {
    /// The pages from the lowest segment's first to the highest one's
    /// last: `[start, end)`, both page-aligned.
    pub fn span(&self) -> Range<u64> {
        match (self.segments.first(), self.segments.last()) {
            (Some(first), Some(last)) => first.page_range().start..last.page_range().end,
            _ => 0..0,
        }
    }
}

/// Rounds down to a page boundary.
pub const fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary (saturating at the last page).
pub const fn page_up(addr: u64) -> u64 {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(a) => page_down(a),
        None => page_down(u64::MAX),
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut v = [0; 4];
    v.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(v)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut v = [0; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

/// A raw ELF64 program header.
#[derive(Clone, Copy, Debug)]
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

impl Phdr {
    fn read(b: &[u8]) -> Phdr {
        Phdr {
            p_type: u32_at(b, 0),
            p_flags: u32_at(b, 4),
            p_offset: u64_at(b, 8),
            p_vaddr: u64_at(b, 16),
            p_filesz: u64_at(b, 32),
            p_memsz: u64_at(b, 40),
        }
    }
}

/// The checked headers of an x86-64 ELF file.
struct Headers {
    /// `e_type`: `ET_EXEC` or `ET_DYN`.
    e_type: u16,
    /// `e_entry`, at its link address.
    entry: u64,
    /// `e_phoff`: where the program header table is in the file.
    phoff: u64,
    /// The program headers.
    phdrs: Vec<Phdr>,
}

impl Headers {
    /// Checks the ELF header and reads the program header table.
    fn read(file: &[u8]) -> Result<Headers, ElfError> {
        if file.len() >= 4 && file[..4] != *b"\x7fELF" {
            return Err(ElfError::BadMagic);
        }
        if file.len() < EHDR_SIZE {
            return Err(ElfError::TooShort);
        }
        if file[4] != 2 {
            return Err(ElfError::NotElf64(file[4]));
        }
        if file[5] != 1 {
            return Err(ElfError::NotLittleEndian(file[5]));
        }
        if file[6] != 1 || u32_at(file, 20) != 1 {
            return Err(ElfError::BadVersion);
        }
        let e_type = u16_at(file, 16);
        if e_type != ET_EXEC && e_type != ET_DYN {
            return Err(ElfError::NotExecutable(e_type));
        }
        let machine = u16_at(file, 18);
        if machine != EM_X86_64 {
            return Err(ElfError::WrongMachine(machine));
        }
        let phoff = u64_at(file, 32);
        let phentsize = u16_at(file, 54);
        let phnum = u16_at(file, 56);
        if usize::from(phentsize) != PHDR_SIZE {
            return Err(ElfError::BadProgramHeaderSize(phentsize));
        }
        let table_size = usize::from(phnum) * PHDR_SIZE;
        if phnum == 0 || table_size > MAX_PHDR_TABLE {
            return Err(ElfError::BadProgramHeaderCount(phnum));
        }
        let table = usize::try_from(phoff)
            .ok()
            .and_then(|start| Some(start..start.checked_add(table_size)?))
            .filter(|r| r.end <= file.len())
            .ok_or(ElfError::ProgramHeadersOutsideFile)?;
        let phdrs = file[table]
            .chunks_exact(PHDR_SIZE)
            .map(Phdr::read)
            .collect();
        Ok(Headers {
            e_type,
            entry: u64_at(file, 24),
            phoff,
            phdrs,
        })
    }

    /// Whether the file has a `PT_INTERP` header.
    fn has_interpreter(&self) -> bool {
        self.phdrs.iter().any(|p| p.p_type == PT_INTERP)
    }

    /// The path the first `PT_INTERP` names (Linux uses the first), up to
    /// its first NUL, with Linux's checks: 2 to [`PATH_MAX`] bytes inside
    /// the file, the last one a NUL.
    fn interpreter(&self, file: &[u8]) -> Result<Option<Vec<u8>>, ElfError> {
        let Some(p) = self.phdrs.iter().find(|p| p.p_type == PT_INTERP) else {
            return Ok(None);
        };
        if !(2..=PATH_MAX).contains(&p.p_filesz) {
            return Err(ElfError::BadInterpreterPathSize(p.p_filesz));
        }
        let bytes = usize::try_from(p.p_offset)
            .ok()
            .and_then(|start| file.get(start..start.checked_add(p.p_filesz as usize)?))
            .ok_or(ElfError::InterpreterPathOutsideFile)?;
        if bytes.last() != Some(&0) {
            return Err(ElfError::InterpreterPathNotTerminated);
        }
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(Some(bytes[..end].to_vec()))
    }

    /// Validates the `PT_LOAD` segments and places them as `kind` says:
    /// at their link addresses, or with the lowest page at [`ET_DYN_BASE`]
    /// or [`INTERP_BASE`].
    fn plan(
        &self,
        file: &[u8],
        kind: ElfKind,
        interpreter: Option<Vec<u8>>,
    ) -> Result<LoadPlan, ElfError> {
        let phdrs = &self.phdrs;
        // Validate every PT_LOAD on its own, at its link address.
        let mut loads: Vec<(usize, Phdr)> = Vec::new();
        for (index, p) in phdrs.iter().enumerate() {
            if p.p_type != PT_LOAD {
                continue;
            }
            if p.p_filesz > p.p_memsz {
                return Err(ElfError::FileSizeExceedsMemSize(index));
            }
            match p.p_offset.checked_add(p.p_filesz) {
                Some(end) if end <= file.len() as u64 => {}
                _ => return Err(ElfError::SegmentOutsideFile(index)),
            }
            if p.p_vaddr.checked_add(p.p_memsz).is_none() {
                return Err(ElfError::SegmentOutsideUserSpace(index));
            }
            if p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
                return Err(ElfError::MisalignedSegment(index));
            }
            if p.p_memsz > 0 {
                loads.push((index, *p));
            }
        }
        if loads.is_empty() {
            return Err(ElfError::NoLoadSegment);
        }
        loads.sort_by_key(|(_, p)| p.p_vaddr);
        for pair in loads.windows(2) {
            let ((a, pa), (b, pb)) = (pair[0], pair[1]);
            if pa.p_vaddr + pa.p_memsz > pb.p_vaddr {
                return Err(ElfError::SegmentsOverlap(a.min(b), a.max(b)));
            }
        }

        // Choose the bias, then place every segment inside user space.
        let lowest = page_down(loads[0].1.p_vaddr);
        let base = match kind {
            ElfKind::Exec => None,
            ElfKind::Pie => Some(ET_DYN_BASE),
            ElfKind::Interpreter => Some(INTERP_BASE),
        };
        let load_bias = base.map_or(0, |base| base.wrapping_sub(lowest));
        let mut segments = Vec::with_capacity(loads.len());
        for &(index, p) in &loads {
            let vaddr = match base {
                None => Some(p.p_vaddr),
                // Cannot underflow: `lowest` is at or below every p_vaddr.
                Some(base) => (p.p_vaddr - lowest).checked_add(base),
            }
            .filter(|&v| v >= USER_START)
            .ok_or(ElfError::SegmentOutsideUserSpace(index))?;
            match vaddr.checked_add(p.p_memsz) {
                Some(end) if end <= USER_END => {}
                _ => return Err(ElfError::SegmentOutsideUserSpace(index)),
            }
            segments.push(LoadSegment {
                vaddr,
                mem_size: p.p_memsz,
                file_offset: p.p_offset,
                file_size: p.p_filesz,
                perms: Perms::from_flags(p.p_flags),
            });
        }
        let contains = |addr: u64, len: u64| {
            segments
                .iter()
                .any(|s| addr >= s.vaddr && addr.checked_add(len).is_some_and(|e| e <= s.end()))
        };

        let entry = self.entry.wrapping_add(load_bias);
        if !contains(entry, 1) {
            return Err(ElfError::EntryOutsideSegments);
        }

        // AT_PHDR: PT_PHDR if the binary has one, else where the PT_LOAD
        // that holds the table in the file puts it in memory (as Linux
        // does).
        let table_size = (phdrs.len() * PHDR_SIZE) as u64;
        let phdr = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
            Some(p) => Some(p.p_vaddr.wrapping_add(load_bias)),
            None => segments.iter().find_map(|s| {
                let in_file = self.phoff >= s.file_offset
                    && self.phoff + table_size <= s.file_offset + s.file_size;
                in_file.then(|| s.vaddr + (self.phoff - s.file_offset))
            }),
        }
        .filter(|&addr| contains(addr, table_size));
        let phdr = match (phdr, kind) {
            (Some(addr), _) => addr,
            (None, ElfKind::Interpreter) => 0,
            (None, _) => return Err(ElfError::ProgramHeadersNotLoaded),
        };

        let brk_start = page_up(segments.iter().map(LoadSegment::end).max().unwrap_or(0));
        let exec_stack = phdrs
            .iter()
            .find(|p| p.p_type == PT_GNU_STACK)
            .is_some_and(|p| p.p_flags & PF_X != 0);

        Ok(LoadPlan {
            kind,
            load_bias,
            segments,
            entry,
            phdr,
            phent: PHDR_SIZE as u64,
            phnum: phdrs.len() as u64,
            brk_start,
            exec_stack,
            interpreter,
        })
    }
}

/// Validates an x86-64 Linux executable and plans its loading; a
/// dynamically linked one's plan names its interpreter.
pub fn parse(file: &[u8]) -> Result<LoadPlan, ElfError> {
    let headers = Headers::read(file)?;
    let kind = match headers.e_type {
        ET_EXEC => ElfKind::Exec,
        _ => ElfKind::Pie,
    };
    let interpreter = headers.interpreter(file)?;
    headers.plan(file, kind, interpreter)
}

/// Why a program's ELF interpreter cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpreterError {
    /// It is not a loadable x86-64 ELF file (the error says why).
    Elf(ElfError),
    /// It is not a shared object (`ET_DYN`) but this ELF type. (Linux
    /// would also map an `ET_EXEC` interpreter at its link addresses;
    /// every real one is `ET_DYN`, placed where nothing else is.)
    NotShared(u16),
    /// It names an interpreter itself (`PT_INTERP`).
    HasInterpreter,
    /// Its segments span more than [`INTERP_BASE`]..[`INTERP_END`].
    TooLarge,
    /// The program (an `ET_EXEC` linked that high) occupies pages of the
    /// interpreter's place.
    Overlaps,
}

impl InterpreterError {
    /// The error number execve reports, Linux's: `EIO` for a file shorter
    /// than an ELF header (its short read), `ENOMEM` when there is no room
    /// for the interpreter (what its failing mmap gives), else `ELIBBAD`
    /// (not a usable interpreter: "corrupted shared library").
    pub const fn errno(self) -> Errno {
        match self {
            InterpreterError::Elf(ElfError::TooShort) => Errno::EIO,
            InterpreterError::TooLarge | InterpreterError::Overlaps => Errno::ENOMEM,
            _ => Errno::ELIBBAD,
        }
    }
}

impl fmt::Display for InterpreterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InterpreterError::Elf(e) => write!(f, "{e}"),
            InterpreterError::NotShared(t) => {
                write!(f, "ELF type {t} is not a shared object (ET_DYN)")
            }
            InterpreterError::HasInterpreter => {
                write!(f, "it names an interpreter itself (PT_INTERP)")
            }
            InterpreterError::TooLarge => write!(
                f,
                "its segments do not fit between {INTERP_BASE:#x} and {INTERP_END:#x}"
            ),
            InterpreterError::Overlaps => {
                write!(f, "the program occupies its place at {INTERP_BASE:#x}")
            }
        }
    }
}

/// Validates the ELF interpreter `program` asks for and plans its loading
/// at [`INTERP_BASE`]: an x86-64 `ET_DYN` without `PT_INTERP`, whose
/// segments fit below [`INTERP_END`] and share no page with the program's.
pub fn parse_interpreter(file: &[u8], program: &LoadPlan) -> Result<LoadPlan, InterpreterError> {
    // Linux reads a whole ELF header before it looks at the magic.
    if file.len() < EHDR_SIZE {
        return Err(InterpreterError::Elf(ElfError::TooShort));
    }
    let headers = Headers::read(file).map_err(InterpreterError::Elf)?;
    if headers.e_type != ET_DYN {
        return Err(InterpreterError::NotShared(headers.e_type));
    }
    if headers.has_interpreter() {
        return Err(InterpreterError::HasInterpreter);
    }
    let plan = headers
        .plan(file, ElfKind::Interpreter, None)
        .map_err(|e| match e {
            // Placed at INTERP_BASE, only its size can leave user space.
            ElfError::SegmentOutsideUserSpace(_) => InterpreterError::TooLarge,
            e => InterpreterError::Elf(e),
        })?;
    let span = plan.span();
    if span.end > INTERP_END {
        return Err(InterpreterError::TooLarge);
    }
    let overlaps = |pages: Range<u64>| pages.start < span.end && span.start < pages.end;
    if program.segments.iter().any(|s| overlaps(s.page_range())) {
        return Err(InterpreterError::Overlaps);
    }
    Ok(plan)
}

/// Linux's `BINPRM_BUF_SIZE`: how much of a file execve looks at for `#!`.
pub const BINPRM_BUF_SIZE: usize = 256;
/// How many `#!` interpreters may be chained (a script whose interpreter
/// is a script, …) before execve fails with `ELOOP`, as in Linux.
pub const MAX_INTERPRETER_DEPTH: usize = 4;

/// A `#!` line: the interpreter and its optional single argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shebang<'a> {
    /// The interpreter path (first word after `#!`).
    pub interpreter: &'a [u8],
    /// Everything after the interpreter up to the end of the line, with
    /// surrounding blanks removed, as one argument (Linux does not split
    /// it), or `None` if there is nothing.
    pub argument: Option<&'a [u8]>,
}

impl Shebang<'_> {
    /// The argument vector execve runs the interpreter with: interpreter,
    /// the `#!` argument if any, the script's path as given to execve, then
    /// the script's own arguments without `argv[0]`.
    pub fn argv<'s>(&'s self, script: &'s [u8], argv: &[&'s [u8]]) -> Vec<&'s [u8]> {
        let mut out = Vec::with_capacity(argv.len() + 2);
        out.push(self.interpreter);
        out.extend(self.argument);
        out.push(script);
        out.extend(argv.iter().skip(1));
        out
    }
}

/// Why a `#!` line cannot be used (execve reports `ENOEXEC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShebangError {
    /// `#!` is followed only by blanks.
    NoInterpreter,
    /// The interpreter path does not end within the first
    /// [`BINPRM_BUF_SIZE`] bytes of the file, so it would be truncated.
    InterpreterTooLong,
}

impl ShebangError {
    /// The error number execve reports: `ENOEXEC`.
    pub const fn errno(self) -> Errno {
        Errno::ENOEXEC
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Recognises a `#!` script. Returns `Ok(None)` if the file does not start
/// with `#!`.
///
/// Follows Linux's `binfmt_script`: only the first [`BINPRM_BUF_SIZE`] bytes
/// are looked at; the line ends at a newline or NUL (or, without either,
/// after 255 bytes); the interpreter is the first blank-delimited word and the
/// rest of the line, trimmed, is one argument. A line longer than the window
/// is accepted if the interpreter ends inside it (the argument is then
/// truncated, as on Linux).
pub fn parse_shebang(file: &[u8]) -> Result<Option<Shebang<'_>>, ShebangError> {
    if !file.starts_with(b"#!") {
        return Ok(None);
    }
    let head = &file[..file.len().min(BINPRM_BUF_SIZE)];
    let (mut line, mut complete) = match head.iter().position(|&b| b == b'\n') {
        Some(newline) => (&head[2..newline], true),
        // No newline: Linux looks at one byte less, and the line ends at
        // end of file only if the file is shorter than that.
        None => {
            let window = &file[..file.len().min(BINPRM_BUF_SIZE - 1)];
            (&window[2..], file.len() < BINPRM_BUF_SIZE - 1)
        }
    };
    // Linux reads the line as C strings: a NUL ends it.
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        line = &line[..nul];
        complete = true;
    }
    let start = line
        .iter()
        .position(|&b| !is_blank(b))
        .ok_or(ShebangError::NoInterpreter)?;
    let line = &line[start..];
    let interp_end = line.iter().position(|&b| is_blank(b));
    if interp_end.is_none() && !complete {
        return Err(ShebangError::InterpreterTooLong);
    }
    let interp_end = interp_end.unwrap_or(line.len());
    let rest = &line[interp_end..];
    let argument = match rest.iter().position(|&b| !is_blank(b)) {
        None => None,
        Some(first) => {
            let last = rest.iter().rposition(|&b| !is_blank(b)).unwrap_or(first);
            Some(&rest[first..=last])
        }
    };
    Ok(Some(Shebang {
        interpreter: &line[..interp_end],
        argument,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program header for the test image builder.
    #[derive(Clone, Copy)]
    struct Ph {
        p_type: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
    }

    fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
        }
    }

    fn other(p_type: u32, flags: u32) -> Ph {
        Ph {
            p_type,
            flags,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
        }
    }

    /// `PT_PHDR` for `n` headers right after the ELF header, linked at 0.
    fn pt_phdr(n: u64) -> Ph {
        Ph {
            p_type: PT_PHDR,
            flags: PF_R,
            offset: 64,
            vaddr: 64,
            filesz: 56 * n,
            memsz: 56 * n,
        }
    }

    /// An ELF image of `len` bytes with the program headers right after
    /// the ELF header (offset 64), as linkers place them.
    fn image(e_type: u16, entry: u64, phdrs: &[Ph], len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len.max(64 + 56 * phdrs.len())];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // little-endian
        f[6] = 1; // EV_CURRENT
        f[16..18].copy_from_slice(&e_type.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            let o = 64 + 56 * i;
            f[o..o + 4].copy_from_slice(&p.p_type.to_le_bytes());
            f[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
            f[o + 8..o + 16].copy_from_slice(&p.offset.to_le_bytes());
            f[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
            f[o + 24..o + 32].copy_from_slice(&p.vaddr.to_le_bytes());
            f[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
            f[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
            f[o + 48..o + 56].copy_from_slice(&PAGE_SIZE.to_le_bytes());
        }
        f
    }

    /// A busybox-static-like ET_EXEC: text at 0x400000 (holding the ELF and
    /// program headers), data+bss at 0x6c1000 with the same page offset.
    fn exec_image() -> Vec<u8> {
        image(
            ET_EXEC,
            0x401000,
            &[
                load(PF_R | PF_X, 0, 0x400000, 0x2000, 0x2000),
                load(PF_R | PF_W, 0x2100, 0x6c2100, 0x100, 0x5000),
                other(PT_GNU_STACK, PF_R | PF_W),
            ],
            0x2200,
        )
    }

    /// A static-PIE like musl-gcc -static-pie produces: linked at 0.
    fn pie_image() -> Vec<u8> {
        image(
            ET_DYN,
            0x1040,
            &[
                pt_phdr(4),
                load(PF_R, 0, 0, 0x500, 0x500),
                load(PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800),
                load(PF_R | PF_W, 0x1800, 0x2800, 0x80, 0x1234),
            ],
            0x1880,
        )
    }

    fn set_phdr_vaddr(f: &mut [u8], index: usize, vaddr: u64) {
        let o = 64 + 56 * index + 16;
        f[o..o + 8].copy_from_slice(&vaddr.to_le_bytes());
    }

    #[test]
    fn et_exec_plan() {
        let f = exec_image();
        let plan = parse(&f).unwrap();
        assert_eq!(plan.kind, ElfKind::Exec);
        assert_eq!(plan.load_bias, 0);
        assert_eq!(plan.entry, 0x401000);
        assert_eq!(plan.phdr, 0x400040);
        assert_eq!((plan.phent, plan.phnum), (56, 3));
        assert_eq!(plan.segments.len(), 2);
        let data = plan.segments[1];
        assert_eq!(data.vaddr, 0x6c2100);
        assert_eq!(data.mem_size, 0x5000);
        assert_eq!(data.file_range(), 0x2100..0x2200);
        assert_eq!(data.page_range(), 0x6c2000..0x6c8000);
        assert_eq!(data.file_page_range(), 0x6c2000..0x6c3000);
        assert_eq!(
            data.perms,
            Perms {
                read: true,
                write: true,
                exec: false
            }
        );
        assert!(plan.segments[0].perms.exec);
        assert_eq!(plan.brk_start, 0x6c8000);
        assert!(!plan.exec_stack);
    }

    #[test]
    fn static_pie_plan_is_biased() {
        let f = pie_image();
        let plan = parse(&f).unwrap();
        assert_eq!(plan.kind, ElfKind::Pie);
        assert_eq!(plan.interpreter, None);
        assert_eq!(plan.load_bias, ET_DYN_BASE);
        assert_eq!(plan.load_bias % PAGE_SIZE, 0);
        assert_eq!(plan.entry, ET_DYN_BASE + 0x1040);
        assert_eq!(plan.phdr, ET_DYN_BASE + 64);
        assert_eq!(plan.phnum, 4);
        let addrs: Vec<u64> = plan.segments.iter().map(|s| s.vaddr).collect();
        assert_eq!(
            addrs,
            [ET_DYN_BASE, ET_DYN_BASE + 0x1000, ET_DYN_BASE + 0x2800]
        );
        assert_eq!(plan.brk_start, page_up(ET_DYN_BASE + 0x2800 + 0x1234));
        assert_eq!(plan.brk_start, ET_DYN_BASE + 0x4000);
    }

    #[test]
    fn pt_phdr_outside_segments_is_refused() {
        // Move PT_PHDR into the gap between the first two segments.
        let mut f = pie_image();
        set_phdr_vaddr(&mut f, 0, 0x700);
        assert_eq!(parse(&f), Err(ElfError::ProgramHeadersNotLoaded));
    }

    #[test]
    fn phdr_table_not_loaded_is_refused() {
        // The text segment starts after the headers in the file.
        let f = image(
            ET_EXEC,
            0x401000,
            &[load(PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100)],
            0x1100,
        );
        assert_eq!(parse(&f), Err(ElfError::ProgramHeadersNotLoaded));
    }

    #[test]
    fn executable_stack_flag() {
        let f = image(
            ET_EXEC,
            0x400100,
            &[
                load(PF_R | PF_X, 0, 0x400000, 0x200, 0x200),
                other(PT_GNU_STACK, PF_R | PF_W | PF_X),
            ],
            0x200,
        );
        assert!(parse(&f).unwrap().exec_stack);
    }

    #[test]
    fn header_errors() {
        let good = exec_image();
        assert_eq!(parse(b"\x7fEL"), Err(ElfError::TooShort));
        assert_eq!(parse(b"#!/bin/sh\n"), Err(ElfError::BadMagic));
        assert_eq!(parse(&good[..63]), Err(ElfError::TooShort));

        let mut f = good.clone();
        f[4] = 1;
        assert_eq!(parse(&f), Err(ElfError::NotElf64(1)));
        let mut f = good.clone();
        f[5] = 2;
        assert_eq!(parse(&f), Err(ElfError::NotLittleEndian(2)));
        let mut f = good.clone();
        f[6] = 0;
        assert_eq!(parse(&f), Err(ElfError::BadVersion));
        let mut f = good.clone();
        f[16] = 1; // ET_REL
        assert_eq!(parse(&f), Err(ElfError::NotExecutable(1)));
        let mut f = good.clone();
        f[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
        assert_eq!(parse(&f), Err(ElfError::WrongMachine(183)));
        let mut f = good.clone();
        f[54] = 32;
        assert_eq!(parse(&f), Err(ElfError::BadProgramHeaderSize(32)));
        let mut f = good.clone();
        f[56..58].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::BadProgramHeaderCount(0)));
        let mut f = good.clone();
        f[56..58].copy_from_slice(&2000u16.to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::BadProgramHeaderCount(2000)));
        let mut f = good.clone();
        f[32..40].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::ProgramHeadersOutsideFile));
        let mut f = good;
        f[32..40].copy_from_slice(&0x2180u64.to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::ProgramHeadersOutsideFile));
    }

    /// Where the dynamic test images keep their `PT_INTERP` bytes.
    const INTERP_AT: u64 = 0x300;

    /// A `PT_INTERP` header for `len` bytes at `offset`.
    fn pt_interp(offset: u64, len: u64) -> Ph {
        Ph {
            p_type: PT_INTERP,
            flags: PF_R,
            offset,
            vaddr: offset,
            filesz: len,
            memsz: len,
        }
    }

    /// A dynamically linked program of type `e_type`, linked at 0x400000
    /// for ET_EXEC and 0 for a PIE, whose `PT_INTERP` holds `path` (give
    /// the NUL) at [`INTERP_AT`].
    fn dynamic_image(e_type: u16, path: &[u8]) -> Vec<u8> {
        let link = if e_type == ET_EXEC { 0x400000 } else { 0 };
        let mut f = image(
            e_type,
            link + 0x1000,
            &[
                pt_interp(INTERP_AT, path.len() as u64),
                load(PF_R | PF_X, 0, link, 0x1100, 0x1100),
            ],
            0x1100,
        );
        let at = INTERP_AT as usize;
        f[at..at + path.len()].copy_from_slice(path);
        f
    }

    const LD_SO: &[u8] = b"/lib64/ld-linux-x86-64.so.2";

    fn with_nul(path: &[u8]) -> Vec<u8> {
        let mut v = path.to_vec();
        v.push(0);
        v
    }

    #[test]
    fn dynamic_programs_name_their_interpreter() {
        let plan = parse(&dynamic_image(ET_DYN, &with_nul(LD_SO))).unwrap();
        assert_eq!(plan.kind, ElfKind::Pie);
        assert_eq!(plan.interpreter.as_deref(), Some(LD_SO));
        assert_eq!(plan.load_bias, ET_DYN_BASE);
        assert_eq!(plan.entry, ET_DYN_BASE + 0x1000);
        // `gcc -no-pie`: a dynamically linked ET_EXEC.
        let plan = parse(&dynamic_image(ET_EXEC, &with_nul(LD_SO))).unwrap();
        assert_eq!(plan.kind, ElfKind::Exec);
        assert_eq!(plan.interpreter.as_deref(), Some(LD_SO));
        assert_eq!(plan.entry, 0x401000);
        // The path ends at its first NUL, as Linux reads it (a C string).
        let plan = parse(&dynamic_image(ET_DYN, b"/lib/ld.so\0junk\0")).unwrap();
        assert_eq!(plan.interpreter.as_deref(), Some(&b"/lib/ld.so"[..]));
    }

    #[test]
    fn the_first_pt_interp_counts() {
        let mut f = image(
            ET_DYN,
            0x1000,
            &[
                pt_interp(INTERP_AT, 4),
                pt_interp(INTERP_AT + 8, 4),
                load(PF_R | PF_X, 0, 0, 0x1100, 0x1100),
            ],
            0x1100,
        );
        let at = INTERP_AT as usize;
        f[at..at + 12].copy_from_slice(b"/l1\0\0\0\0\0/l2\0");
        assert_eq!(parse(&f).unwrap().interpreter.as_deref(), Some(&b"/l1"[..]));
    }

    #[test]
    fn bad_interpreter_paths_are_refused_precisely() {
        assert_eq!(
            parse(&dynamic_image(ET_DYN, b"\0")),
            Err(ElfError::BadInterpreterPathSize(1))
        );
        assert_eq!(
            parse(&dynamic_image(ET_DYN, b"/lib/ld.so")),
            Err(ElfError::InterpreterPathNotTerminated)
        );
        assert_eq!(
            ElfError::InterpreterPathNotTerminated.errno(),
            Errno::ENOEXEC
        );
        // Longer than PATH_MAX (the bytes need not exist for that check).
        let mut f = dynamic_image(ET_DYN, &with_nul(LD_SO));
        let size_at = 64 + 32;
        f[size_at..size_at + 8].copy_from_slice(&(PATH_MAX + 1).to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::BadInterpreterPathSize(4097)));
        // PATH_MAX itself is allowed, if the file holds it.
        f[size_at..size_at + 8].copy_from_slice(&PATH_MAX.to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::InterpreterPathOutsideFile));
        assert_eq!(ElfError::InterpreterPathOutsideFile.errno(), Errno::EIO);
        f.resize(INTERP_AT as usize + PATH_MAX as usize, 0);
        assert_eq!(parse(&f).unwrap().interpreter.as_deref(), Some(LD_SO));
        // An offset that wraps around.
        let mut f = dynamic_image(ET_DYN, &with_nul(LD_SO));
        f[64 + 8..64 + 16].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
        assert_eq!(parse(&f), Err(ElfError::InterpreterPathOutsideFile));
        for error in [
            ElfError::BadInterpreterPathSize(1),
            ElfError::InterpreterPathOutsideFile,
            ElfError::InterpreterPathNotTerminated,
        ] {
            assert!(alloc::format!("{error}").contains("PT_INTERP"));
        }
    }

    /// An ld.so-like interpreter: ET_DYN linked at 0, no `PT_PHDR`, the
    /// headers inside the first segment, text and data after it.
    fn interpreter_image() -> Vec<u8> {
        image(
            ET_DYN,
            0x1040,
            &[
                load(PF_R, 0, 0, 0x800, 0x800),
                load(PF_R | PF_X, 0x1000, 0x1000, 0x800, 0x800),
                load(PF_R | PF_W, 0x1800, 0x2800, 0x80, 0x1000),
                other(PT_GNU_STACK, PF_R | PF_W),
            ],
            0x1880,
        )
    }

    fn program() -> LoadPlan {
        parse(&dynamic_image(ET_DYN, &with_nul(LD_SO))).unwrap()
    }

    #[test]
    fn interpreters_are_placed_at_interp_base() {
        let plan = parse_interpreter(&interpreter_image(), &program()).unwrap();
        assert_eq!(plan.kind, ElfKind::Interpreter);
        assert_eq!(plan.load_bias, INTERP_BASE);
        assert_eq!(plan.entry, INTERP_BASE + 0x1040);
        assert_eq!(plan.phdr, INTERP_BASE + 64);
        assert_eq!(plan.interpreter, None);
        assert_eq!(plan.span(), INTERP_BASE..INTERP_BASE + 0x4000);
        assert!(plan.segments[1].perms.exec);
        // Linux does not ask that an interpreter's headers be loaded.
        let f = image(
            ET_DYN,
            0x1000,
            &[load(PF_R | PF_X, 0x1000, 0x1000, 0x100, 0x100)],
            0x1100,
        );
        let plan = parse_interpreter(&f, &program()).unwrap();
        assert_eq!(plan.phdr, 0);
        // Its lowest page goes at INTERP_BASE; AT_BASE is the bias.
        assert_eq!(plan.entry, INTERP_BASE);
        assert_eq!(plan.load_bias, INTERP_BASE - 0x1000);
        // The place is free below every program and the mmap area, above
        // a PIE, and below the stack at the top of user space.
        const { assert!(ET_DYN_BASE < INTERP_BASE && INTERP_END < USER_END) };
    }

    #[test]
    fn unusable_interpreters_are_elibbad() {
        let program = program();
        let bad = |f: &[u8]| parse_interpreter(f, &program);
        // Shorter than an ELF header: Linux's short read.
        let short = bad(b"#!/bin/sh\n");
        assert_eq!(short, Err(InterpreterError::Elf(ElfError::TooShort)));
        assert_eq!(short.unwrap_err().errno(), Errno::EIO);
        let mut text = b"#!/bin/sh\n".repeat(10);
        assert_eq!(bad(&text), Err(InterpreterError::Elf(ElfError::BadMagic)));
        text.truncate(64);
        assert_eq!(bad(&text), Err(InterpreterError::Elf(ElfError::BadMagic)));
        let mut f = interpreter_image();
        f[16] = ET_EXEC as u8;
        assert_eq!(bad(&f), Err(InterpreterError::NotShared(ET_EXEC)));
        f[16] = 1; // ET_REL
        assert_eq!(
            bad(&f),
            Err(InterpreterError::Elf(ElfError::NotExecutable(1)))
        );
        assert_eq!(
            bad(&dynamic_image(ET_DYN, &with_nul(LD_SO))),
            Err(InterpreterError::HasInterpreter)
        );
        let mut f = interpreter_image();
        set_phdr_vaddr(&mut f, 0, 0x10);
        assert_eq!(
            bad(&f),
            Err(InterpreterError::Elf(ElfError::MisalignedSegment(0)))
        );
        for error in [
            InterpreterError::Elf(ElfError::BadMagic),
            InterpreterError::NotShared(2),
            InterpreterError::HasInterpreter,
        ] {
            assert_eq!(error.errno(), Errno::ELIBBAD);
        }
        assert!(alloc::format!("{}", InterpreterError::NotShared(2)).contains("ET_DYN"));
    }

    #[test]
    fn interpreters_without_room_are_enomem() {
        let program = program();
        let sized = |memsz: u64| {
            let f = image(
                ET_DYN,
                0x100,
                &[load(PF_R | PF_X, 0, 0, 0x200, memsz)],
                0x200,
            );
            parse_interpreter(&f, &program)
        };
        let room = INTERP_END - INTERP_BASE;
        assert!(sized(room).is_ok());
        assert_eq!(sized(room + 1), Err(InterpreterError::TooLarge));
        // Past the end of user space, and wrapping around.
        assert_eq!(
            sized(USER_END - INTERP_BASE + 1),
            Err(InterpreterError::TooLarge)
        );
        assert_eq!(sized(u64::MAX), Err(InterpreterError::TooLarge));
        assert_eq!(InterpreterError::TooLarge.errno(), Errno::ENOMEM);

        // An ET_EXEC linked where the interpreter goes (its last page is
        // the interpreter's first).
        let mut low = program.clone();
        low.segments[0].vaddr = INTERP_BASE - 0x1000;
        low.segments[0].mem_size = 0x1001;
        let f = interpreter_image();
        assert_eq!(parse_interpreter(&f, &low), Err(InterpreterError::Overlaps));
        assert_eq!(InterpreterError::Overlaps.errno(), Errno::ENOMEM);
        // Ending right below it is fine.
        low.segments[0].mem_size = 0x1000;
        assert!(parse_interpreter(&f, &low).is_ok());
    }

    #[test]
    fn segment_errors() {
        let no_load = image(ET_EXEC, 0x400000, &[other(PT_GNU_STACK, PF_R)], 0x100);
        assert_eq!(parse(&no_load), Err(ElfError::NoLoadSegment));

        let rx = load(PF_R | PF_X, 0, 0x400000, 0x200, 0x200);
        let case = |second: Ph| parse(&image(ET_EXEC, 0x400100, &[rx, second], 0x3000));
        assert_eq!(
            case(load(PF_R, 0x1000, 0x401000, 0x2001, 0x3000)),
            Err(ElfError::SegmentOutsideFile(1))
        );
        assert_eq!(
            case(load(PF_R, u64::MAX - 10, 0x401000, 0x20, 0x20)),
            Err(ElfError::SegmentOutsideFile(1))
        );
        assert_eq!(
            case(load(PF_R, 0x1000, 0x401000, 0x200, 0x100)),
            Err(ElfError::FileSizeExceedsMemSize(1))
        );
        assert_eq!(
            case(load(PF_R, 0x1000, u64::MAX - 0xfff, 0x10, 0x2000)),
            Err(ElfError::SegmentOutsideUserSpace(1))
        );
        assert_eq!(
            case(load(PF_R, 0x1000, 0xffff_8000_0000_0000, 0x10, 0x10)),
            Err(ElfError::SegmentOutsideUserSpace(1))
        );
        assert_eq!(
            case(load(PF_R, 0x1000, 0x7fff_ffff_e000, 0x10, 0x1001)),
            Err(ElfError::SegmentOutsideUserSpace(1))
        );
        assert_eq!(
            case(load(PF_R, 0x1000, 0x401080, 0x10, 0x10)),
            Err(ElfError::MisalignedSegment(1))
        );
        assert_eq!(
            case(load(PF_R | PF_W, 0x1100, 0x400100, 0x10, 0x10)),
            Err(ElfError::SegmentsOverlap(0, 1))
        );
        // Overlap by one byte, listed out of order.
        let f = image(
            ET_EXEC,
            0x400100,
            &[
                load(PF_R, 0x1100, 0x401100, 0x10, 0x10),
                load(PF_R | PF_X, 0, 0x400000, 0x200, 0x1101),
            ],
            0x2000,
        );
        assert_eq!(parse(&f), Err(ElfError::SegmentsOverlap(0, 1)));
        // Touching but not overlapping (sharing a page) is fine.
        assert!(case(load(PF_R | PF_W, 0x200, 0x400200, 0x10, 0x10)).is_ok());
        // Page 0 is never mapped.
        let f = image(
            ET_EXEC,
            0x100,
            &[load(PF_R | PF_X, 0, 0, 0x200, 0x200)],
            0x200,
        );
        assert_eq!(parse(&f), Err(ElfError::SegmentOutsideUserSpace(0)));
    }

    #[test]
    fn entry_must_be_loaded() {
        let f = image(
            ET_EXEC,
            0x400200,
            &[load(PF_R | PF_X, 0, 0x400000, 0x200, 0x200)],
            0x200,
        );
        assert_eq!(parse(&f), Err(ElfError::EntryOutsideSegments));
    }

    #[test]
    fn shebang_lines() {
        let s = |f: &'static [u8]| parse_shebang(f);
        assert_eq!(s(b"\x7fELF"), Ok(None));
        assert_eq!(s(b"# comment"), Ok(None));
        assert_eq!(
            s(b"#!/bin/sh\necho hi\n"),
            Ok(Some(Shebang {
                interpreter: b"/bin/sh",
                argument: None
            }))
        );
        assert_eq!(
            s(b"#! \t/usr/bin/env  python3 -u \t\nprint()"),
            Ok(Some(Shebang {
                interpreter: b"/usr/bin/env",
                argument: Some(b"python3 -u")
            }))
        );
        assert_eq!(
            s(b"#!/bin/busybox sh"),
            Ok(Some(Shebang {
                interpreter: b"/bin/busybox",
                argument: Some(b"sh")
            }))
        );
        assert_eq!(s(b"#!   \nx"), Err(ShebangError::NoInterpreter));
        assert_eq!(s(b"#!"), Err(ShebangError::NoInterpreter));
        assert_eq!(ShebangError::NoInterpreter.errno(), Errno::ENOEXEC);
    }

    #[test]
    fn shebang_length_limits() {
        // Interpreter path longer than the window: refused.
        let mut long = b"#!/".to_vec();
        long.extend(core::iter::repeat_n(b'a', 300));
        long.extend(b" arg\n");
        assert_eq!(parse_shebang(&long), Err(ShebangError::InterpreterTooLong));
        // Short interpreter, long argument: truncated like Linux does.
        let mut f = b"#!/bin/sh ".to_vec();
        f.extend(core::iter::repeat_n(b'x', 400));
        let sb = parse_shebang(&f).unwrap().unwrap();
        assert_eq!(sb.interpreter, b"/bin/sh");
        assert_eq!(sb.argument.unwrap().len(), BINPRM_BUF_SIZE - 1 - 10);
        // A newline as the window's last byte: the whole line is used.
        let mut f = b"#!/".to_vec();
        f.extend(core::iter::repeat_n(b'b', BINPRM_BUF_SIZE - 4));
        f.push(b'\n');
        f.extend(b"echo\n");
        assert_eq!(
            parse_shebang(&f).unwrap().unwrap().interpreter.len(),
            BINPRM_BUF_SIZE - 3
        );
        // No newline: a 254-byte file is one complete line, a 255-byte one
        // (or longer) would truncate the interpreter.
        let mut f = b"#!/".to_vec();
        f.extend(core::iter::repeat_n(b'c', BINPRM_BUF_SIZE - 5));
        assert_eq!(f.len(), BINPRM_BUF_SIZE - 2);
        assert_eq!(
            parse_shebang(&f).unwrap().unwrap().interpreter.len(),
            BINPRM_BUF_SIZE - 4
        );
        f.push(b'c');
        assert_eq!(parse_shebang(&f), Err(ShebangError::InterpreterTooLong));
        // ...unless a NUL ends it.
        f[100] = 0;
        assert_eq!(parse_shebang(&f).unwrap().unwrap().interpreter.len(), 98);
    }

    #[test]
    fn shebang_argv() {
        let sb = Shebang {
            interpreter: b"/bin/sh",
            argument: Some(b"-e"),
        };
        let argv: [&[u8]; 3] = [b"script", b"a", b"b"];
        let out = sb.argv(b"/tmp/script", &argv);
        let expected: [&[u8]; 5] = [b"/bin/sh", b"-e", b"/tmp/script", b"a", b"b"];
        assert_eq!(out, expected);
        let bare = Shebang {
            interpreter: b"/bin/sh",
            argument: None,
        };
        let expected: [&[u8]; 2] = [b"/bin/sh", b"/x"];
        assert_eq!(bare.argv(b"/x", &[]), expected);
    }
}
