//! The kernel's page tables.
//!
//! They hold:
//! * the image, page by page, W^X: text read+execute, rodata read-only,
//!   data and bss read-write and non-executable, guard pages below the
//!   static stacks left unmapped;
//! * the direct map of all RAM, read-write and non-executable, in 2 MiB
//!   pages, except that the image's own frames are mapped read-only there,
//!   so no writable alias of the kernel's code exists;
//! * later, on demand, task stacks (see `mem::stack`) and device (MMIO)
//!   pages, the latter at their direct-map address, in the holes the direct
//!   map leaves between and above RAM, uncached (see [`map_mmio`]).
//!
//! The Vessel VMM builds the first two itself (vessel-abi's layout), so on
//! it the kernel [`adopt`]s them and only unmaps the guard pages. Entered
//! through PVH, the tables at entry only cover the boot (everything
//! read-write-execute), and [`init`] builds the kernel's own.

use crate::boot_info::{BootParams, MAX_MEMORY};
use crate::mem::frames;
use crate::mem::{PAGE_SIZE, phys_to_virt};
use crate::sync::SpinLock;
use vessel_abi::layout::{DIRECT_MAP_BASE, KERNEL_VIRT_BASE};
use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size2MiB,
    Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

/// Size of a large (2 MiB) page.
pub const HUGE_PAGE: u64 = 2 << 20;
/// Flags of every non-leaf entry: the leaf entries alone decide access
/// rights, so a table made for a read-only page can later map writable ones.
const TABLE_FLAGS: Flags = Flags::PRESENT.union(Flags::WRITABLE);

/// Access rights of a kernel mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Read and execute.
    Execute,
    /// Read only.
    ReadOnly,
    /// Read and write, never execute.
    ReadWrite,
}

impl Protection {
    fn flags(self) -> Flags {
        let base = Flags::PRESENT | Flags::GLOBAL;
        match self {
            Protection::Execute => base,
            Protection::ReadOnly => base | Flags::NO_EXECUTE,
            Protection::ReadWrite => base | Flags::WRITABLE | Flags::NO_EXECUTE,
        }
    }
}

/// A mapping could not be made.
#[derive(Debug)]
pub struct MapError;

static KERNEL_TABLES: SpinLock<Option<OffsetPageTable<'static>>> = SpinLock::new(None);
/// Physical address of the kernel's PML4 (zero before `init`).
static KERNEL_PML4: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

unsafe extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

/// The image's sections, as virtual address ranges.
fn image_sections() -> [(u64, u64, Protection); 3] {
    let start = &raw const __image_start as u64;
    let text_end = &raw const __text_end as u64;
    let rodata_end = &raw const __rodata_end as u64;
    let end = &raw const __image_end as u64;
    [
        (start, text_end, Protection::Execute),
        (text_end, rodata_end, Protection::ReadOnly),
        (rodata_end, end, Protection::ReadWrite),
    ]
}

/// The physical span of the loaded image.
pub fn image_phys() -> core::ops::Range<u64> {
    let [(start, ..), _, (_, end, _)] = image_sections();
    start - KERNEL_VIRT_BASE..end - KERNEL_VIRT_BASE
}

/// Builds the kernel's page tables and switches to them.
pub fn init(params: &BootParams) {
    let pml4_phys = frames::allocate_zeroed()
        .unwrap_or_else(|| crate::panic::fatal(format_args!("out of memory for page tables")));
    // SAFETY: the frame is freshly allocated and zeroed (a valid, empty page
    // table), owned by nobody else, and reachable through the direct map,
    // which both the early and the new tables map at DIRECT_MAP_BASE.
    let mut tables = unsafe {
        let pml4 = &mut *(phys_to_virt(pml4_phys) as *mut PageTable);
        OffsetPageTable::new(pml4, VirtAddr::new(DIRECT_MAP_BASE))
    };
    map_image(&mut tables);
    map_direct(&mut tables, params);
    let frame = PhysFrame::containing_address(PhysAddr::new(pml4_phys));
    // SAFETY: the new tables map everything the kernel uses from here on at
    // the same virtual addresses as the early tables did (image, direct map),
    // with stricter rights, so no live reference is invalidated.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    flush_global_tlb();
    *KERNEL_TABLES.lock() = Some(tables);
    KERNEL_PML4.store(pml4_phys, core::sync::atomic::Ordering::Release);
}

/// Takes over the kernel page tables the Vessel VMM built, final as
/// vessel-abi's layout describes them (the image W^X in 4 KiB pages, the
/// direct map without a writable alias of it), and unmaps the guard pages
/// of the static stacks, which the VMM does not know of. Nothing to build:
/// under an emulating hypervisor, building them was most of the boot.
pub fn adopt() {
    let (frame, _) = Cr3::read();
    let pml4_phys = frame.start_address().as_u64();
    // SAFETY: CR3 holds the VMM's PML4, a valid table in the boot-data
    // area: reserved in the memory map, so the frame allocator never hands
    // out its frames, and reachable through the direct map it describes.
    // Nothing else refers to it as a Rust reference.
    let mut tables = unsafe {
        let pml4 = &mut *(phys_to_virt(pml4_phys) as *mut PageTable);
        OffsetPageTable::new(pml4, VirtAddr::new(DIRECT_MAP_BASE))
    };
    // One walk per page table the guards share (they lie in .bss, mostly
    // within one 2 MiB region), not one per guard.
    let mut current: Option<(u64, &mut PageTable)> = None;
    for guard in super::stacks::guard_pages() {
        let region = guard / HUGE_PAGE;
        let table = match current.take() {
            Some((last, table)) if last == region => table,
            _ => table_for(&mut tables, guard, 3).unwrap_or_else(|_| map_failed(guard)),
        };
        table[VirtAddr::new(guard).p1_index()].set_unused();
        // One page, not the whole TLB: under a shadow-paging hypervisor a
        // global flush throws away every shadow table built so far.
        x86_64::instructions::tlb::flush(VirtAddr::new(guard));
        current = Some((region, table));
    }
    *KERNEL_TABLES.lock() = Some(tables);
    KERNEL_PML4.store(pml4_phys, core::sync::atomic::Ordering::Release);
}

/// Physical address of the kernel's PML4, for switching back to the kernel
/// tables (user address spaces share their upper half).
pub fn kernel_pml4() -> u64 {
    KERNEL_PML4.load(core::sync::atomic::Ordering::Acquire)
}

/// Copies the kernel half (PML4 entries 256..512) of the kernel's tables
/// into `dest`, the PML4 of a user address space.
///
/// A space sees kernel mappings made later only under PML4 entries that
/// existed when it was made, so the one region the kernel fills later (task
/// stacks) gets its entry first; at the first copy, not at boot, so a
/// unikernel that never makes an address space never pays for it. Fails
/// only when no frame is left for that entry's table.
pub fn copy_kernel_half(dest: &mut PageTable) -> Result<(), MapError> {
    let mut guard = KERNEL_TABLES.lock();
    let tables = guard.as_mut().ok_or(MapError)?;
    table_for(tables, crate::mem::stack::REGION_BASE, 1)?;
    let source = tables.level_4_table_mut();
    for index in 256..512 {
        dest[index] = source[index].clone();
    }
    Ok(())
}

/// Maps the image section by section, W^X, leaving static stacks' guard
/// pages unmapped.
fn map_image(tables: &mut OffsetPageTable<'static>) {
    let guards = super::stacks::guard_pages();
    for (start, end, protection) in image_sections() {
        for window in windows(start, end) {
            let pages = window.clone().step_by(PAGE_SIZE as usize).map(|virt| {
                let flags = if guards.contains(&virt) {
                    Flags::empty()
                } else {
                    protection.flags()
                };
                (virt - KERNEL_VIRT_BASE, flags)
            });
            let first = window.start;
            if map_run(tables, first, pages).is_err() {
                map_failed(first);
            }
        }
    }
}

/// Maps all RAM at DIRECT_MAP_BASE: 2 MiB pages, or 4 KiB pages around the
/// image so that its frames are mapped read-only there too (no writable
/// alias of the kernel's code).
fn map_direct(tables: &mut OffsetPageTable<'static>, params: &BootParams) {
    let [(image_start, ..), _, (_, image_end, _)] = image_sections();
    let image = (image_start - KERNEL_VIRT_BASE)..(image_end - KERNEL_VIRT_BASE);
    let is_ram = |chunk: u64| params.regions().any(|r| r.start <= chunk && chunk < r.end);
    for chunk in (0..params.ram_end())
        .step_by(HUGE_PAGE as usize)
        .filter(|&c| is_ram(c))
    {
        let virt = phys_to_virt(chunk);
        let mapped = if chunk < image.end && image.start < chunk + HUGE_PAGE {
            let pages = (chunk..chunk + HUGE_PAGE)
                .step_by(PAGE_SIZE as usize)
                .map(|phys| {
                    let protection = if image.contains(&phys) {
                        Protection::ReadOnly
                    } else {
                        Protection::ReadWrite
                    };
                    (phys, protection.flags())
                });
            map_run(tables, virt, pages)
        } else {
            table_for(tables, virt, 2).and_then(|directory| {
                let entry = &mut directory[VirtAddr::new(virt).p2_index()];
                if !entry.is_unused() {
                    return Err(MapError);
                }
                let flags = Protection::ReadWrite.flags() | Flags::HUGE_PAGE;
                entry.set_addr(PhysAddr::new(chunk), flags);
                Ok(())
            })
        };
        if mapped.is_err() {
            map_failed(virt);
        }
    }
}

/// Splits `[start, end)` at 2 MiB boundaries (one page table each).
fn windows(start: u64, end: u64) -> impl Iterator<Item = core::ops::Range<u64>> {
    let mut next = start;
    core::iter::from_fn(move || {
        let window_start = next;
        (window_start < end).then(|| {
            next = ((window_start / HUGE_PAGE) + 1) * HUGE_PAGE;
            window_start..next.min(end)
        })
    })
}

fn map_failed(address: u64) -> ! {
    crate::panic::fatal(format_args!(
        "cannot map {address:#x} at boot: out of memory for page tables"
    ))
}

/// Flushes the whole TLB, global entries included (by toggling CR4.PGE).
fn flush_global_tlb() {
    let cr4 = Cr4::read();
    // SAFETY: clearing and restoring PGE only flushes the TLB.
    unsafe {
        Cr4::write(cr4 - Cr4Flags::PAGE_GLOBAL);
        Cr4::write(cr4);
    }
}

/// Maps `pages` consecutive 4 KiB kernel pages from `virt` (outside the image
/// and the direct map: task stacks) to frames drawn from `next_frame`, which
/// the caller owns. Returns how many pages were mapped, from `virt` upwards:
/// fewer than asked if `next_frame` ran dry or the range is not free.
pub fn map_kernel_range(
    virt: u64,
    pages: u64,
    protection: Protection,
    mut next_frame: impl FnMut() -> Option<u64>,
) -> u64 {
    let end = virt.saturating_add(pages * PAGE_SIZE);
    if !is_kernel_heap_range(virt, end) {
        return 0;
    }
    let mut guard = KERNEL_TABLES.lock();
    let Some(tables) = guard.as_mut() else {
        return 0;
    };
    let flags = protection.flags();
    let mut mapped = 0;
    for window in windows(virt, end) {
        let count = (window.end - window.start) / PAGE_SIZE;
        let before = mapped;
        let frames = (0..count)
            .map_while(|_| next_frame())
            .inspect(|_| mapped += 1);
        let result = map_run(tables, window.start, frames.map(|frame| (frame, flags)));
        if result.is_err() || mapped - before < count {
            break;
        }
    }
    mapped
}

/// Maps consecutive 4 KiB pages from `virt`, all within one 2 MiB-aligned
/// window, to the `(frame, flags)` that `pages` yields; empty flags leave a
/// page unmapped (a guard page). Walks the tables once per run, not once per
/// page: under an emulating hypervisor every boot instruction counts.
fn map_run(
    tables: &mut OffsetPageTable<'static>,
    virt: u64,
    pages: impl Iterator<Item = (u64, Flags)>,
) -> Result<(), MapError> {
    let table = table_for(tables, virt, 3)?;
    let first_index = usize::from(VirtAddr::new(virt).p1_index());
    for (index, (phys, flags)) in (first_index..512).zip(pages) {
        if flags.is_empty() {
            continue;
        }
        if !table[index].is_unused() {
            return Err(MapError);
        }
        // Not-present entries are never cached, so no TLB flush is needed.
        table[index].set_addr(PhysAddr::new(phys), flags);
    }
    Ok(())
}

/// The table `depth` levels below the PML4 (1: PDPT, 2: page directory, 3: page
/// table) on the way to `virt`, creating missing tables.
fn table_for<'a>(
    tables: &'a mut OffsetPageTable<'static>,
    virt: u64,
    depth: usize,
) -> Result<&'a mut PageTable, MapError> {
    let address = VirtAddr::new(virt);
    let indices = [address.p4_index(), address.p3_index(), address.p2_index()];
    let mut table: &mut PageTable = tables.level_4_table_mut();
    for &index in &indices[..depth] {
        let entry = &mut table[index];
        if entry.is_unused() {
            let frame = frames::allocate_zeroed().ok_or(MapError)?;
            entry.set_addr(PhysAddr::new(frame), TABLE_FLAGS);
        } else if entry.flags().contains(Flags::HUGE_PAGE) {
            return Err(MapError);
        }
        let next = phys_to_virt(entry.addr().as_u64()) as *mut PageTable;
        // SAFETY: the entry points at a page table (present, not a huge
        // page): a frame these tables own, zeroed when it was made and
        // reachable through the direct map; the borrow is tied to `tables`,
        // which owns the whole hierarchy.
        table = unsafe { &mut *next };
    }
    Ok(table)
}

/// Maps the 4 KiB device page at physical address `page` (MMIO registers)
/// at its direct-map address, `phys_to_virt(page)`, where the platform's
/// MMIO accessors reach it ([`crate::platform::Platform::mmio_read_u32`]):
/// read-write, never executed, and uncached (PCD and PWT select the UC
/// memory type under the power-on PAT, which vessel-rt keeps), so every
/// access reaches the device, in order.
///
/// Device pages lie where the direct map maps no RAM, so it refuses a page
/// the direct map already maps (RAM), an unaligned address, and one beyond
/// the direct map. Like every kernel mapping that may need a new PML4
/// entry, make it at boot: user address spaces copy the kernel half of the
/// tables when they are made.
pub fn map_mmio(page: u64) -> Result<(), MapError> {
    if !page.is_multiple_of(PAGE_SIZE) || page >= MAX_MEMORY {
        return Err(MapError);
    }
    let flags = Protection::ReadWrite.flags() | Flags::NO_CACHE | Flags::WRITE_THROUGH;
    let mut guard = KERNEL_TABLES.lock();
    let tables = guard.as_mut().ok_or(MapError)?;
    map_run(tables, phys_to_virt(page), core::iter::once((page, flags)))
}

/// Maps the 2 MiB kernel page at `virt` (outside the image and the direct
/// map: task stacks) to the 2 MiB of frames from `phys`, which the caller
/// owns: one page-table write where 4 KiB pages take 512. Fails if either
/// address is not 2 MiB aligned or the page is already mapped.
pub fn map_kernel_huge_page(virt: u64, phys: u64, protection: Protection) -> Result<(), MapError> {
    if !is_kernel_huge_page(virt) || !phys.is_multiple_of(HUGE_PAGE) {
        return Err(MapError);
    }
    let mut guard = KERNEL_TABLES.lock();
    let tables = guard.as_mut().ok_or(MapError)?;
    let entry = &mut table_for(tables, virt, 2)?[VirtAddr::new(virt).p2_index()];
    if !entry.is_unused() {
        return Err(MapError);
    }
    // Not-present entries are never cached, so no TLB flush is needed.
    entry.set_addr(PhysAddr::new(phys), protection.flags() | Flags::HUGE_PAGE);
    Ok(())
}

/// Whether `virt` starts a 2 MiB page the kernel may map on demand
/// (aligned, and outside the image and the direct map).
fn is_kernel_huge_page(virt: u64) -> bool {
    virt.is_multiple_of(HUGE_PAGE) && is_kernel_heap_range(virt, virt.saturating_add(HUGE_PAGE))
}

/// Unmaps a 2 MiB page mapped by [`map_kernel_huge_page`]; returns the
/// address of its first frame.
pub fn unmap_kernel_huge_page(virt: u64) -> Option<u64> {
    if !is_kernel_huge_page(virt) {
        return None;
    }
    let page = Page::<Size2MiB>::containing_address(VirtAddr::new(virt));
    let mut guard = KERNEL_TABLES.lock();
    let (frame, flush) = guard.as_mut()?.unmap(page).ok()?;
    flush.flush();
    Some(frame.start_address().as_u64())
}

/// Unmaps one kernel page mapped by [`map_kernel_range`]; returns its frame.
pub fn unmap_kernel_page(virt: u64) -> Option<u64> {
    if !is_kernel_heap_range(virt, virt + PAGE_SIZE) {
        return None;
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let mut guard = KERNEL_TABLES.lock();
    let (frame, flush) = guard.as_mut()?.unmap(page).ok()?;
    flush.flush();
    Some(frame.start_address().as_u64())
}

/// Whether `[start, end)` lies in the upper half, outside the direct map and
/// the image window: the only place on-demand kernel mappings may go.
fn is_kernel_heap_range(start: u64, end: u64) -> bool {
    let direct_map_end = DIRECT_MAP_BASE + MAX_MEMORY;
    start >= direct_map_end && start < end && end <= KERNEL_VIRT_BASE
}
