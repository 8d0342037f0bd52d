//! Boot structures: the GDT, the kernel page tables, the memory map and the
//! [`BootInfo`] with its argument and environment strings.
//!
//! Everything lives below [`IMAGE_MIN_PHYS`] (2 MiB) at fixed addresses:
//!
//! | guest-physical        | contents                                        |
//! |-----------------------|-------------------------------------------------|
//! | `0x0000_0000`         | unused (null page)                              |
//! | [`PML4_ADDR`]         | PML4                                            |
//! | [`PDPT_DIRECT_ADDR`]  | PDPT of the direct map (PML4 slot 256)          |
//! | [`PDPT_KERNEL_ADDR`]  | PDPT of the kernel window (PML4 slot 511)       |
//! | [`PD_KERNEL_ADDR`]    | PD of the kernel window (PDPT slot 510)         |
//! | [`PD_DIRECT_ADDR`]    | PDs of the direct map, one 4 KiB page per GiB   |
//! | [`PT_AREA_ADDR`]      | page tables of the 2 MiB chunks the image spans |
//! | [`GDT_ADDR`]          | GDT: null, code (0x08), data (0x10)             |
//! | [`BOOT_INFO_ADDR`]    | [`BootInfo`]                                    |
//! | [`STRINGS_ADDR`]      | argument strings, then environment strings      |
//! | [`IMAGE_MIN_PHYS`]    | the image                                       |
//!
//! Only non-zero entries are written: guest memory starts zeroed, so a
//! default-sized VM touches just a handful of pages here.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::{offset_of, size_of};

use vessel_abi::boot::{
    BOOT_INFO_MAGIC, Blob, BootInfo, MAX_MEMORY_REGIONS, MemoryKind, MemoryRegion, StringList,
};
use vessel_abi::layout::{DIRECT_MAP_BASE, IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use crate::error::BootError;
use crate::loader::ImageSegment;
use crate::memory::RamRange;

/// The PML4 (loaded into CR3).
pub const PML4_ADDR: u64 = 0x1000;
/// PDPT of the direct map.
pub const PDPT_DIRECT_ADDR: u64 = 0x2000;
/// PDPT of the kernel window.
pub const PDPT_KERNEL_ADDR: u64 = 0x3000;
/// PD of the kernel window (2 MiB pages over the first GiB).
pub const PD_KERNEL_ADDR: u64 = 0x4000;
/// First PD of the direct map: the PD for physical GiB `n` is at
/// `PD_DIRECT_ADDR + n * 0x1000`.
pub const PD_DIRECT_ADDR: u64 = 0x5000;
/// Number of direct-map PDs: physical addresses below this many GiB can be
/// direct-mapped (bounds [`crate::memory::MAX_MEMORY`], plus the MMIO hole).
pub const MAX_DIRECT_PDS: u64 = 66;
/// First of the 4 KiB-page tables of the chunks the image spans (two per
/// chunk: the kernel window's and the direct map's).
pub const PT_AREA_ADDR: u64 = PD_DIRECT_ADDR + MAX_DIRECT_PDS * PAGE_4K;
/// End of the page-table area.
pub const PAGE_TABLES_END: u64 = 0x8_0000;
/// Most 2 MiB chunks an image may span (a page table each in the kernel
/// window and in the direct map).
pub const MAX_IMAGE_CHUNKS: usize = ((PAGE_TABLES_END - PT_AREA_ADDR) / PAGE_4K / 2) as usize;
/// The boot GDT (virtual address for GDTR: `DIRECT_MAP_BASE + GDT_ADDR`).
pub const GDT_ADDR: u64 = 0x8_0000;
/// The three GDT entries: null, 64-bit code, data.
pub const GDT_ENTRIES: [u64; 3] = [0, 0x00af_9b00_0000_ffff, 0x00cf_9300_0000_ffff];
/// The [`BootInfo`] (passed in `RDI`).
pub const BOOT_INFO_ADDR: u64 = 0x8_0040;
/// Size of the encoded [`BootInfo`].
pub const BOOT_INFO_SIZE: usize = size_of::<BootInfo>();
/// Start of the packed argument strings (environment strings follow them).
pub const STRINGS_ADDR: u64 = (BOOT_INFO_ADDR + BOOT_INFO_SIZE as u64).next_multiple_of(16);
/// End of the boot data area.
pub const BOOT_DATA_END: u64 = IMAGE_MIN_PHYS;

/// Page-table entry: present.
pub const PTE_PRESENT: u64 = 1 << 0;
/// Page-table entry: writable.
pub const PTE_WRITABLE: u64 = 1 << 1;
/// Page-table entry: 2 MiB page (in a PD).
pub const PTE_HUGE: u64 = 1 << 7;
/// Page-table entry: global (kept in the TLB when CR3 changes).
pub const PTE_GLOBAL: u64 = 1 << 8;
/// Page-table entry: no-execute.
pub const PTE_NX: u64 = 1 << 63;
/// Address bits of a page-table entry.
const PTE_ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

const PAGE_2M: u64 = 1 << 21;
const GIB: u64 = 1 << 30;
const PAGE_4K: u64 = 4096;

fn write(mem: &GuestMemoryMmap, bytes: &[u8], addr: u64) -> Result<(), BootError> {
    mem.write_slice(bytes, GuestAddress(addr))
        .map_err(|e| BootError::GuestWrite(format!("at {addr:#x}: {e}")))
}

fn write_entries(
    mem: &GuestMemoryMmap,
    table: u64,
    first: u64,
    entries: &[u64],
) -> Result<(), BootError> {
    let bytes: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
    write(mem, &bytes, table + first * 8)
}

/// Writes the boot GDT at [`GDT_ADDR`].
pub fn write_gdt(mem: &GuestMemoryMmap) -> Result<(), BootError> {
    let bytes: Vec<u8> = GDT_ENTRIES.iter().flat_map(|e| e.to_le_bytes()).collect();
    write(mem, &bytes, GDT_ADDR)
}

/// Writes the kernel's page tables for RAM `ranges` and the loaded
/// `image` (its segments), final as vessel-abi's contract describes them
/// (the guest only unmaps its stacks' guard pages):
/// * kernel window: `KERNEL_VIRT_BASE + p -> p` for the image's pages only,
///   4 KiB pages with their segments' rights (a page two segments share
///   gets both), nothing else;
/// * direct map: `DIRECT_MAP_BASE + p -> p` for all RAM, read-write, 2 MiB
///   pages, but 4 KiB pages in the chunks the image spans, where its pages
///   are read-only (no writable alias of the kernel's code);
///
/// all global, no-execute except the image's executable segments. Building
/// them here, natively, spares the guest the work (which an emulating
/// hypervisor makes most of a unikernel's boot).
pub fn write_page_tables(
    mem: &GuestMemoryMmap,
    ranges: &[RamRange],
    image: &[ImageSegment],
) -> Result<(), BootError> {
    let table = |addr: u64| addr | PTE_PRESENT | PTE_WRITABLE;
    let pages = image_pages(image);
    let chunks: BTreeSet<u64> = pages.keys().map(|page| page / PAGE_2M * PAGE_2M).collect();
    if chunks.len() > MAX_IMAGE_CHUNKS {
        return Err(BootError::ImageTooLargeForPageTables {
            chunks: chunks.len(),
            max: MAX_IMAGE_CHUNKS,
        });
    }
    let mut page_tables = (PT_AREA_ADDR..PAGE_TABLES_END).step_by(PAGE_4K as usize);
    let mut page_table = || page_tables.next().expect("room checked above");

    // PML4: slot 256 = direct map, slot 511 = kernel window.
    write_entries(
        mem,
        PML4_ADDR,
        pml4_index(DIRECT_MAP_BASE),
        &[table(PDPT_DIRECT_ADDR)],
    )?;
    write_entries(
        mem,
        PML4_ADDR,
        pml4_index(KERNEL_VIRT_BASE),
        &[table(PDPT_KERNEL_ADDR)],
    )?;

    // Kernel window: the image's pages (below 1 GiB: the loader checks).
    write_entries(
        mem,
        PDPT_KERNEL_ADDR,
        pdpt_index(KERNEL_VIRT_BASE),
        &[table(PD_KERNEL_ADDR)],
    )?;
    for &chunk in &chunks {
        let pt = page_table();
        write_entries(mem, PD_KERNEL_ADDR, chunk / PAGE_2M, &[table(pt)])?;
        let entries: Vec<u64> = (chunk..chunk + PAGE_2M)
            .step_by(PAGE_4K as usize)
            .map(|page| match pages.get(&page) {
                Some(&(writable, executable)) => {
                    let mut entry = page | PTE_PRESENT | PTE_GLOBAL;
                    if writable {
                        entry |= PTE_WRITABLE;
                    }
                    if !executable {
                        entry |= PTE_NX;
                    }
                    entry
                }
                None => 0,
            })
            .collect();
        write_entries(mem, pt, 0, &entries)?;
    }

    // Direct map: one PD per GiB that holds RAM.
    let direct = PTE_PRESENT | PTE_WRITABLE | PTE_NX | PTE_GLOBAL;
    for r in ranges {
        let mut p = r.start;
        while p < r.end() {
            let gib = p / GIB;
            if gib >= MAX_DIRECT_PDS {
                return Err(BootError::GuestWrite(format!(
                    "RAM at {p:#x} is beyond the direct-map page-table area"
                )));
            }
            let pd = PD_DIRECT_ADDR + gib * PAGE_4K;
            let chunk_end = r.end().min((gib + 1) * GIB);
            write_entries(mem, PDPT_DIRECT_ADDR, gib, &[table(pd)])?;
            let mut leaves = Vec::new();
            for chunk in (p..chunk_end).step_by(PAGE_2M as usize) {
                if !chunks.contains(&chunk) {
                    leaves.push(chunk | direct | PTE_HUGE);
                    continue;
                }
                let pt = page_table();
                leaves.push(table(pt));
                let entries: Vec<u64> = (chunk..chunk + PAGE_2M)
                    .step_by(PAGE_4K as usize)
                    .map(|page| {
                        if pages.contains_key(&page) {
                            page | (direct & !PTE_WRITABLE)
                        } else {
                            page | direct
                        }
                    })
                    .collect();
                write_entries(mem, pt, 0, &entries)?;
            }
            write_entries(mem, pd, (p % GIB) / PAGE_2M, &leaves)?;
            p = chunk_end;
        }
    }
    Ok(())
}

/// The image's 4 KiB pages and their rights `(writable, executable)`: the
/// union of those of the segments on the page.
fn image_pages(image: &[ImageSegment]) -> BTreeMap<u64, (bool, bool)> {
    let mut pages = BTreeMap::new();
    for segment in image {
        let first = segment.phys / PAGE_4K * PAGE_4K;
        let end = (segment.phys + segment.len).div_ceil(PAGE_4K) * PAGE_4K;
        for page in (first..end).step_by(PAGE_4K as usize) {
            let rights: &mut (bool, bool) = pages.entry(page).or_default();
            rights.0 |= segment.writable;
            rights.1 |= segment.executable;
        }
    }
    pages
}

fn pml4_index(va: u64) -> u64 {
    (va >> 39) & 511
}

fn pdpt_index(va: u64) -> u64 {
    (va >> 30) & 511
}

/// A translation found by [`translate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The physical address.
    pub phys: u64,
    /// Writable at every level.
    pub writable: bool,
    /// Executable (no NX bit at any level).
    pub executable: bool,
}

/// Walks 4-level page tables rooted at `cr3` in guest memory, as the MMU
/// would (4 KiB, 2 MiB and 1 GiB leaves), for inspection and tests.
pub fn translate(mem: &GuestMemoryMmap, cr3: u64, va: u64) -> Option<Translation> {
    let mut table = cr3 & PTE_ADDR_MASK;
    let (mut writable, mut executable) = (true, true);
    for level in (0..4u32).rev() {
        let shift = 12 + 9 * level;
        let index = (va >> shift) & 511;
        let entry: u64 = mem.read_obj(GuestAddress(table + index * 8)).ok()?;
        if entry & PTE_PRESENT == 0 {
            return None;
        }
        writable &= entry & PTE_WRITABLE != 0;
        executable &= entry & PTE_NX == 0;
        let leaf = level == 0 || ((level == 1 || level == 2) && entry & PTE_HUGE != 0);
        if leaf {
            let page_mask = (1u64 << shift) - 1;
            let phys = (entry & PTE_ADDR_MASK & !page_mask) | (va & page_mask);
            return Some(Translation {
                phys,
                writable,
                executable,
            });
        }
        table = entry & PTE_ADDR_MASK;
    }
    None
}

/// The memory map: `BootData` for `[0, 2 MiB)` and for `program` (an
/// initial program placed at the top of low RAM, if any), `Image` for the
/// page-aligned span `[image_start, image_end)` of loaded segments, `Usable`
/// for the rest of RAM. Sorted and non-overlapping.
pub fn memory_map(
    ranges: &[RamRange],
    image_start: u64,
    image_end: u64,
    program: Option<Blob>,
) -> Vec<MemoryRegion> {
    let img_start = image_start / PAGE_4K * PAGE_4K;
    let img_end = image_end.div_ceil(PAGE_4K) * PAGE_4K;
    let (prog_start, prog_end) = program.map_or((u64::MAX, u64::MAX), |p| {
        (
            p.addr / PAGE_4K * PAGE_4K,
            (p.addr + p.len).div_ceil(PAGE_4K) * PAGE_4K,
        )
    });
    let mut out = Vec::new();
    let mut push = |start: u64, end: u64, kind: MemoryKind| {
        if end > start {
            out.push(MemoryRegion {
                start,
                len: end - start,
                kind: kind as u32,
                reserved: 0,
            });
        }
    };
    let usable = |push: &mut dyn FnMut(u64, u64, MemoryKind), start: u64, end: u64| {
        // Usable, except the program's span, which is boot data.
        let (ps, pe) = (prog_start.clamp(start, end), prog_end.clamp(start, end));
        push(start, ps, MemoryKind::Usable);
        push(ps, pe, MemoryKind::BootData);
        push(pe, end, MemoryKind::Usable);
    };
    for r in ranges {
        if r.start == 0 {
            push(0, BOOT_DATA_END.min(r.end()), MemoryKind::BootData);
            let img_start = img_start.clamp(BOOT_DATA_END, r.end());
            let img_end = img_end.clamp(img_start, r.end());
            usable(&mut push, BOOT_DATA_END, img_start);
            push(img_start, img_end, MemoryKind::Image);
            usable(&mut push, img_end, r.end());
        } else {
            usable(&mut push, r.start, r.end());
        }
    }
    out
}

/// Encodes a [`BootInfo`] as the guest sees it (little-endian, `repr(C)`
/// layout, no padding).
pub fn encode_boot_info(info: &BootInfo) -> [u8; BOOT_INFO_SIZE] {
    let mut out = [0u8; BOOT_INFO_SIZE];
    let mut put = |off: usize, bytes: &[u8]| out[off..off + bytes.len()].copy_from_slice(bytes);
    put(offset_of!(BootInfo, magic), &info.magic.to_le_bytes());
    put(
        offset_of!(BootInfo, abi_version),
        &info.abi_version.to_le_bytes(),
    );
    put(
        offset_of!(BootInfo, memory_region_count),
        &info.memory_region_count.to_le_bytes(),
    );
    for (i, r) in info.memory_regions.iter().enumerate() {
        let base = offset_of!(BootInfo, memory_regions) + i * size_of::<MemoryRegion>();
        put(
            base + offset_of!(MemoryRegion, start),
            &r.start.to_le_bytes(),
        );
        put(base + offset_of!(MemoryRegion, len), &r.len.to_le_bytes());
        put(base + offset_of!(MemoryRegion, kind), &r.kind.to_le_bytes());
        put(
            base + offset_of!(MemoryRegion, reserved),
            &r.reserved.to_le_bytes(),
        );
    }
    put(
        offset_of!(BootInfo, memory_size),
        &info.memory_size.to_le_bytes(),
    );
    for (off, list) in [
        (offset_of!(BootInfo, args), &info.args),
        (offset_of!(BootInfo, env), &info.env),
    ] {
        put(off + offset_of!(StringList, addr), &list.addr.to_le_bytes());
        put(off + offset_of!(StringList, len), &list.len.to_le_bytes());
        put(
            off + offset_of!(StringList, count),
            &list.count.to_le_bytes(),
        );
    }
    put(offset_of!(BootInfo, tsc_khz), &info.tsc_khz.to_le_bytes());
    put(
        offset_of!(BootInfo, wall_clock_ns),
        &info.wall_clock_ns.to_le_bytes(),
    );
    put(offset_of!(BootInfo, boot_tsc), &info.boot_tsc.to_le_bytes());
    let program = offset_of!(BootInfo, initial_program);
    put(
        program + offset_of!(Blob, addr),
        &info.initial_program.addr.to_le_bytes(),
    );
    put(
        program + offset_of!(Blob, len),
        &info.initial_program.len.to_le_bytes(),
    );
    let files = offset_of!(BootInfo, initial_files);
    put(
        files + offset_of!(Blob, addr),
        &info.initial_files.addr.to_le_bytes(),
    );
    put(
        files + offset_of!(Blob, len),
        &info.initial_files.len.to_le_bytes(),
    );
    out
}

/// Packs strings as consecutive NUL-terminated byte strings.
fn pack(strings: &[String], out: &mut Vec<u8>) -> Result<u64, BootError> {
    for s in strings {
        if s.as_bytes().contains(&0) {
            return Err(BootError::NulInString(s.clone()));
        }
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    Ok(strings.len() as u64)
}

/// What [`write_boot_info`] needs to know.
#[derive(Clone, Debug)]
pub struct BootParams<'a> {
    /// RAM ranges.
    pub ranges: &'a [RamRange],
    /// Total RAM in bytes.
    pub memory_size: u64,
    /// Physical span of the loaded image.
    pub image: (u64, u64),
    /// `argv`, `argv[0]` first.
    pub args: &'a [String],
    /// `KEY=VALUE` strings.
    pub env: &'a [String],
    /// Guest TSC frequency.
    pub tsc_khz: u64,
    /// Where the initial program was placed, if any.
    pub initial_program: Option<Blob>,
    /// Where the initial files (a cpio archive) were placed, if any.
    pub initial_files: Option<Blob>,
}

/// Builds the [`BootInfo`] and writes it at [`BOOT_INFO_ADDR`] with the
/// strings packed at [`STRINGS_ADDR`]. The clock fields are left zero; see
/// [`write_clock`]. Returns what was written.
pub fn write_boot_info(mem: &GuestMemoryMmap, p: &BootParams<'_>) -> Result<BootInfo, BootError> {
    for e in p.env {
        match e.split_once('=') {
            Some((key, _)) if !key.is_empty() => {}
            _ => return Err(BootError::BadEnv(e.clone())),
        }
    }
    let mut strings = Vec::new();
    let argc = pack(p.args, &mut strings)?;
    let args_len = strings.len() as u64;
    let envc = pack(p.env, &mut strings)?;
    let available = BOOT_DATA_END - STRINGS_ADDR;
    if strings.len() as u64 > available {
        return Err(BootError::ArgsTooLarge {
            needs: strings.len() as u64,
            available,
        });
    }
    // The program and the files lie together at the top of low RAM: one
    // boot-data span covers both.
    let handed_over = [p.initial_program, p.initial_files]
        .into_iter()
        .flatten()
        .reduce(|a, b| {
            let start = a.addr.min(b.addr);
            let end = (a.addr + a.len).max(b.addr + b.len);
            Blob {
                addr: start,
                len: end - start,
            }
        });
    let map = memory_map(p.ranges, p.image.0, p.image.1, handed_over);
    let mut regions = [MemoryRegion::default(); MAX_MEMORY_REGIONS];
    for (slot, r) in regions.iter_mut().zip(&map) {
        *slot = *r;
    }
    let info = BootInfo {
        magic: BOOT_INFO_MAGIC,
        abi_version: vessel_abi::ABI_VERSION,
        memory_region_count: map.len().min(MAX_MEMORY_REGIONS) as u32,
        memory_regions: regions,
        memory_size: p.memory_size,
        args: StringList {
            addr: STRINGS_ADDR,
            len: args_len,
            count: argc,
        },
        env: StringList {
            addr: STRINGS_ADDR + args_len,
            len: strings.len() as u64 - args_len,
            count: envc,
        },
        tsc_khz: p.tsc_khz,
        wall_clock_ns: 0,
        boot_tsc: 0,
        initial_program: p.initial_program.unwrap_or_default(),
        initial_files: p.initial_files.unwrap_or_default(),
    };
    write(mem, &encode_boot_info(&info), BOOT_INFO_ADDR)?;
    write(mem, &strings, STRINGS_ADDR)?;
    Ok(info)
}

/// Stores `wall_clock_ns` and `boot_tsc` into the written [`BootInfo`].
pub fn write_clock(
    mem: &GuestMemoryMmap,
    wall_clock_ns: u64,
    boot_tsc: u64,
) -> Result<(), BootError> {
    write(
        mem,
        &wall_clock_ns.to_le_bytes(),
        BOOT_INFO_ADDR + offset_of!(BootInfo, wall_clock_ns) as u64,
    )?;
    write(
        mem,
        &boot_tsc.to_le_bytes(),
        BOOT_INFO_ADDR + offset_of!(BootInfo, boot_tsc) as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{GuestRam, ram_ranges};

    #[test]
    fn layout_constants_fit() {
        const { assert!(GDT_ADDR >= PAGE_TABLES_END) };
        const { assert!(BOOT_INFO_ADDR >= GDT_ADDR + 24) };
        const { assert!(STRINGS_ADDR < BOOT_DATA_END) };
        const { assert!(MAX_DIRECT_PDS * GIB > crate::memory::MAX_MEMORY + GIB) };
        assert_eq!(pml4_index(DIRECT_MAP_BASE), 256);
        assert_eq!(pml4_index(KERNEL_VIRT_BASE), 511);
        assert_eq!(pdpt_index(KERNEL_VIRT_BASE), 510);
    }

    /// An image like vessel-rt's: text (RX), rodata (R), data + bss (RW),
    /// the last sharing its first page with rodata's end.
    fn image() -> [ImageSegment; 3] {
        let segment = |phys, len, writable, executable| ImageSegment {
            phys,
            len,
            writable,
            executable,
        };
        [
            segment(0x20_0000, 0x3000, false, true),
            segment(0x20_3000, 0x1800, false, false),
            segment(0x20_4800, 0x2000, true, false),
        ]
    }

    fn rights(m: &GuestMemoryMmap, va: u64) -> Option<(bool, bool)> {
        translate(m, PML4_ADDR, va).map(|t| (t.writable, t.executable))
    }

    #[test]
    fn page_tables_map_the_image_w_xor_x_and_all_ram() {
        let ram = GuestRam::new(128 << 20).unwrap();
        let m = ram.memory();
        write_page_tables(m, ram.ranges(), &image()).unwrap();
        let t = translate(m, PML4_ADDR, KERNEL_VIRT_BASE + 0x20_1234).unwrap();
        assert_eq!(
            t,
            Translation {
                phys: 0x20_1234,
                writable: false,
                executable: true
            }
        );
        // Kernel window: each page with its segment's rights, the shared
        // page with both, nothing beyond the image.
        assert_eq!(
            rights(m, KERNEL_VIRT_BASE + 0x20_3000),
            Some((false, false))
        );
        assert_eq!(rights(m, KERNEL_VIRT_BASE + 0x20_4000), Some((true, false)));
        assert_eq!(rights(m, KERNEL_VIRT_BASE + 0x20_6fff), Some((true, false)));
        assert_eq!(rights(m, KERNEL_VIRT_BASE + 0x20_7000), None);
        assert_eq!(rights(m, KERNEL_VIRT_BASE + 0x1f_f000), None);
        assert_eq!(rights(m, KERNEL_VIRT_BASE + 0x40_0000), None);
        // Direct map: the image read-only, the rest of its chunk and all
        // other RAM read-write, nothing executable.
        assert_eq!(rights(m, DIRECT_MAP_BASE + 0x20_0000), Some((false, false)));
        assert_eq!(rights(m, DIRECT_MAP_BASE + 0x20_6000), Some((false, false)));
        assert_eq!(rights(m, DIRECT_MAP_BASE + 0x20_7000), Some((true, false)));
        assert_eq!(rights(m, DIRECT_MAP_BASE + 0x3f_f000), Some((true, false)));
        assert_eq!(rights(m, DIRECT_MAP_BASE + 0x1000), Some((true, false)));
        let t = translate(m, PML4_ADDR, DIRECT_MAP_BASE + 0x7ff_fff8).unwrap();
        assert_eq!(
            t,
            Translation {
                phys: 0x7ff_fff8,
                writable: true,
                executable: false
            }
        );
        assert_eq!(translate(m, PML4_ADDR, DIRECT_MAP_BASE + (128 << 20)), None);
        assert_eq!(translate(m, PML4_ADDR, 0x20_0000), None, "no identity map");
        // Only the non-zero table pages (and nothing else) were touched:
        // PML4, two PDPTs, two PDs and the image chunk's two page tables.
        assert_eq!(ram.resident_bytes().unwrap(), 7 * 4096);
    }

    #[test]
    fn an_image_too_large_for_the_page_tables_is_refused() {
        let m = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        let huge = ImageSegment {
            phys: 0x20_0000,
            len: (MAX_IMAGE_CHUNKS as u64 + 1) * PAGE_2M,
            writable: true,
            executable: false,
        };
        let error = write_page_tables(&m, &ram_ranges(1 << 30), &[huge]).unwrap_err();
        assert!(matches!(
            error,
            BootError::ImageTooLargeForPageTables { chunks, max }
                if chunks == MAX_IMAGE_CHUNKS + 1 && max == MAX_IMAGE_CHUNKS
        ));
    }

    #[test]
    fn page_tables_cover_high_ram_and_skip_the_hole() {
        // Check the tables without mapping 5 GiB: write them into a small
        // memory (only the table area is written).
        let m = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        write_page_tables(&m, &ram_ranges(5 << 30), &image()).unwrap();
        let t = translate(&m, PML4_ADDR, DIRECT_MAP_BASE + (3 << 30) - 8).unwrap();
        assert_eq!(t.phys, (3 << 30) - 8);
        assert_eq!(translate(&m, PML4_ADDR, DIRECT_MAP_BASE + (3 << 30)), None);
        assert_eq!(
            translate(&m, PML4_ADDR, DIRECT_MAP_BASE + (4 << 30))
                .unwrap()
                .phys,
            4 << 30
        );
        assert_eq!(
            translate(&m, PML4_ADDR, DIRECT_MAP_BASE + (6 << 30) - 1)
                .unwrap()
                .phys,
            (6 << 30) - 1
        );
        assert_eq!(translate(&m, PML4_ADDR, DIRECT_MAP_BASE + (6 << 30)), None);
        assert_eq!(
            translate(&m, PML4_ADDR, KERNEL_VIRT_BASE + (1 << 30) - 1),
            None,
            "the kernel window maps the image only"
        );
        assert_eq!(
            rights(&m, KERNEL_VIRT_BASE + 0x20_0000),
            Some((false, true))
        );
    }

    #[test]
    fn memory_map_is_sorted_and_complete() {
        let r = |start, len, kind: MemoryKind| MemoryRegion {
            start,
            len,
            kind: kind as u32,
            reserved: 0,
        };
        let map = memory_map(&ram_ranges(128 << 20), 0x20_0000, 0x23_4567, None);
        assert_eq!(
            map,
            vec![
                r(0, 0x20_0000, MemoryKind::BootData),
                r(0x20_0000, 0x3_5000, MemoryKind::Image),
                r(0x23_5000, (128 << 20) - 0x23_5000, MemoryKind::Usable),
            ]
        );
        let map = memory_map(&ram_ranges(4 << 30), 0x40_0800, 0x50_0000, None);
        assert_eq!(
            map,
            vec![
                r(0, 0x20_0000, MemoryKind::BootData),
                r(0x20_0000, 0x20_0000, MemoryKind::Usable),
                r(0x40_0000, 0x10_0000, MemoryKind::Image),
                r(0x50_0000, (3 << 30) - 0x50_0000, MemoryKind::Usable),
                r(4 << 30, 1 << 30, MemoryKind::Usable),
            ]
        );
    }

    #[test]
    fn boot_info_is_encoded_and_written() {
        let ram = GuestRam::new(8 << 20).unwrap();
        let m = ram.memory();
        let args = vec!["hello".to_string(), "a b".to_string()];
        let env = vec!["K=V".to_string()];
        let p = BootParams {
            ranges: ram.ranges(),
            memory_size: ram.size(),
            image: (0x20_0000, 0x20_1000),
            args: &args,
            env: &env,
            tsc_khz: 2_000_000,
            initial_program: Some(Blob {
                addr: 0x70_0000,
                len: 0x1234,
            }),
            initial_files: Some(Blob {
                addr: 0x6f_0000,
                len: 0x10000,
            }),
        };
        let info = write_boot_info(m, &p).unwrap();
        let program = offset_of!(BootInfo, initial_program);
        let files = offset_of!(BootInfo, initial_files);
        let encoded = encode_boot_info(&info);
        assert_eq!(encoded[program..program + 8], 0x70_0000u64.to_le_bytes());
        assert_eq!(encoded[program + 8..program + 16], 0x1234u64.to_le_bytes());
        assert_eq!(encoded[files..files + 8], 0x6f_0000u64.to_le_bytes());
        assert_eq!(encoded[files + 8..files + 16], 0x10000u64.to_le_bytes());
        let handed_over = info.memory_regions[..info.memory_region_count as usize]
            .iter()
            .find(|r| r.start == 0x6f_0000)
            .expect("the files and the program have their own region");
        assert_eq!(handed_over.kind, MemoryKind::BootData as u32);
        assert_eq!(handed_over.len, 0x12000, "both, rounded up to whole pages");
        write_clock(m, 11, 22).unwrap();
        let mut raw = [0u8; BOOT_INFO_SIZE];
        m.read_slice(&mut raw, GuestAddress(BOOT_INFO_ADDR))
            .unwrap();
        let u64_at = |off: usize| u64::from_le_bytes(raw[off..off + 8].try_into().unwrap());
        let u32_at = |off: usize| u32::from_le_bytes(raw[off..off + 4].try_into().unwrap());
        assert_eq!(&raw[..8], b"VESSELBI");
        assert_eq!(u32_at(8), vessel_abi::ABI_VERSION);
        // Boot data, image, usable, the program (boot data), usable.
        assert_eq!(u32_at(12), 5);
        assert_eq!(u64_at(16), 0);
        assert_eq!(u64_at(24), 0x20_0000);
        assert_eq!(u32_at(32), MemoryKind::BootData as u32);
        assert_eq!(u64_at(offset_of!(BootInfo, memory_size)), 8 << 20);
        let a = offset_of!(BootInfo, args);
        assert_eq!(
            (u64_at(a), u64_at(a + 8), u64_at(a + 16)),
            (STRINGS_ADDR, 10, 2)
        );
        let e = offset_of!(BootInfo, env);
        assert_eq!(
            (u64_at(e), u64_at(e + 8), u64_at(e + 16)),
            (STRINGS_ADDR + 10, 4, 1)
        );
        assert_eq!(u64_at(offset_of!(BootInfo, tsc_khz)), 2_000_000);
        assert_eq!(u64_at(offset_of!(BootInfo, wall_clock_ns)), 11);
        assert_eq!(u64_at(offset_of!(BootInfo, boot_tsc)), 22);
        assert_eq!(info.args.count, 2);
        let mut s = [0u8; 14];
        m.read_slice(&mut s, GuestAddress(STRINGS_ADDR)).unwrap();
        assert_eq!(&s, b"hello\0a b\0K=V\0");
    }

    #[test]
    fn boot_info_rejects_bad_strings() {
        let ram = GuestRam::new(8 << 20).unwrap();
        let base = |args: Vec<String>, env: Vec<String>| {
            let p = BootParams {
                ranges: ram.ranges(),
                memory_size: ram.size(),
                image: (0x20_0000, 0x20_1000),
                args: &args,
                env: &env,
                tsc_khz: 1,
                initial_program: None,
                initial_files: None,
            };
            write_boot_info(ram.memory(), &p)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(
            base(vec!["x".repeat(2 << 20)], vec![])
                .starts_with("arguments and environment are too large")
        );
        assert_eq!(
            base(vec![], vec!["NOEQUALS".into()]),
            "environment entry \"NOEQUALS\" is not KEY=VALUE"
        );
        assert!(base(vec!["a\0b".into()], vec![]).contains("NUL"));
    }
}
