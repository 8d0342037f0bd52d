//! Helpers to build synthetic ELF images, for tests (of this crate and of
//! its users) and tools. Not needed to run a VM.

use vessel_abi::layout::{IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};

pub mod hostile;

/// A raw ELF64 program header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawPhdr {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags` (`PF_X` = 1, `PF_W` = 2, `PF_R` = 4).
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_paddr`.
    pub p_paddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

impl RawPhdr {
    /// A `PT_LOAD` header.
    pub fn load(flags: u32, offset: u64, vaddr: u64, paddr: u64, filesz: u64, memsz: u64) -> Self {
        Self {
            p_type: 1,
            p_flags: flags,
            p_offset: offset,
            p_vaddr: vaddr,
            p_paddr: paddr,
            p_filesz: filesz,
            p_memsz: memsz,
            p_align: 0x1000,
        }
    }
}

/// A synthetic ELF file: header fields, program headers (written right after
/// the 64-byte header) and blobs written at given file offsets.
#[derive(Clone, Debug)]
pub struct ElfSpec {
    /// `EI_CLASS` (2 = 64-bit).
    pub class: u8,
    /// `EI_DATA` (1 = little-endian).
    pub data: u8,
    /// `e_type` (2 = `ET_EXEC`, 3 = `ET_DYN`).
    pub e_type: u16,
    /// `e_machine` (62 = x86-64).
    pub machine: u16,
    /// `e_entry`.
    pub entry: u64,
    /// Overrides `e_phoff` (default 64).
    pub phoff_override: Option<u64>,
    /// Program headers.
    pub phdrs: Vec<RawPhdr>,
    /// `(file offset, bytes)` written into the file.
    pub blobs: Vec<(u64, Vec<u8>)>,
}

impl ElfSpec {
    /// A little-endian x86-64 `ET_EXEC` with no segments.
    pub fn exec(entry: u64) -> Self {
        Self {
            class: 2,
            data: 1,
            e_type: 2,
            machine: 62,
            entry,
            phoff_override: None,
            phdrs: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// Serializes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; 64 + 56 * self.phdrs.len()];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = self.class;
        out[5] = self.data;
        out[6] = 1;
        out[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        out[18..20].copy_from_slice(&self.machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[24..32].copy_from_slice(&self.entry.to_le_bytes());
        out[32..40].copy_from_slice(&self.phoff_override.unwrap_or(64).to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[54..56].copy_from_slice(&56u16.to_le_bytes());
        out[56..58].copy_from_slice(&(self.phdrs.len() as u16).to_le_bytes());
        out[58..60].copy_from_slice(&64u16.to_le_bytes());
        for (i, p) in self.phdrs.iter().enumerate() {
            let o = 64 + 56 * i;
            out[o..o + 4].copy_from_slice(&p.p_type.to_le_bytes());
            out[o + 4..o + 8].copy_from_slice(&p.p_flags.to_le_bytes());
            for (j, v) in [
                p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz, p.p_align,
            ]
            .into_iter()
            .enumerate()
            {
                out[o + 8 + 8 * j..o + 16 + 8 * j].copy_from_slice(&v.to_le_bytes());
            }
        }
        for (off, bytes) in &self.blobs {
            let off = *off as usize;
            if out.len() < off + bytes.len() {
                out.resize(off + bytes.len(), 0);
            }
            out[off..off + bytes.len()].copy_from_slice(bytes);
        }
        out
    }
}

/// A valid `ET_EXEC` image: one RWX segment at physical `IMAGE_MIN_PHYS`
/// (virtual `KERNEL_VIRT_BASE + IMAGE_MIN_PHYS`) holding `contents` at file
/// offset 0x1000, `memsz` bytes in memory (at least `contents.len()`), entry
/// at its first byte.
pub fn exec_image(contents: &[u8], memsz: u64) -> Vec<u8> {
    let virt = KERNEL_VIRT_BASE + IMAGE_MIN_PHYS;
    let mut spec = ElfSpec::exec(virt);
    let len = contents.len() as u64;
    spec.phdrs.push(RawPhdr::load(
        7,
        0x1000,
        virt,
        IMAGE_MIN_PHYS,
        len,
        memsz.max(len),
    ));
    spec.blobs.push((0x1000, contents.to_vec()));
    spec.to_bytes()
}

/// A complete tiny guest: writes `message` to stdout with one `ConsoleWrite`
/// hypercall, then exits with `code` (hand-assembled x86-64 code, no
/// runtime). Useful to test and benchmark the VMM without a guest kernel.
pub fn hello_image(message: &[u8], code: i32) -> Vec<u8> {
    use vessel_abi::hypercall::{Number, Status};
    const DATA: u64 = 0x100;
    let base = IMAGE_MIN_PHYS;
    let console = base + DATA;
    let exit = console + 0x20;
    let text = exit + 0x28;
    let mut contents = Vec::new();
    for (gpa, number) in [(console, Number::ConsoleWrite), (exit, Number::Exit)] {
        // mov rax, gpa; mov dx, port; out dx, eax
        contents.extend_from_slice(&[0x48, 0xb8]);
        contents.extend_from_slice(&gpa.to_le_bytes());
        contents.extend_from_slice(&[0x66, 0xba]);
        contents.extend_from_slice(&number.port().to_le_bytes());
        contents.push(0xef);
    }
    contents.push(0xf4); // hlt: not reached
    contents.resize(DATA as usize, 0xcc);
    let not_handled = (Status::NotHandled as i64).to_le_bytes();
    contents.extend_from_slice(&not_handled);
    contents.extend_from_slice(&1u32.to_le_bytes());
    contents.extend_from_slice(&0u32.to_le_bytes());
    contents.extend_from_slice(&text.to_le_bytes());
    contents.extend_from_slice(&(message.len() as u64).to_le_bytes());
    contents.extend_from_slice(&not_handled);
    contents.extend_from_slice(&code.to_le_bytes());
    contents.extend_from_slice(&[0u8; 28]);
    contents.extend_from_slice(message);
    exec_image(&contents, contents.len() as u64)
}
