//! vessel-rt's own page tables.
//!
//! The VMM's early tables map everything read-write-execute. At boot
//! vessel-rt replaces them with tables of its own:
//! * the image, page by page, W^X: text read+execute, rodata read-only,
//!   data and bss read-write and non-executable, guard pages below the
//!   static stacks left unmapped;
//! * the direct map of all RAM, read-write and non-executable, in 2 MiB
//!   pages, except that the image's own frames are mapped read-only there,
//!   so no writable alias of the kernel's code exists;
//! * later, on demand, task stacks (see `mem::stack`).

use crate::boot_info::BootParams;
use crate::mem::frames::{self, GlobalFrames};
use crate::mem::{PAGE_SIZE, phys_to_virt};
use crate::sync::SpinLock;
use vessel_abi::layout::{DIRECT_MAP_BASE, KERNEL_VIRT_BASE};
use x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size2MiB,
    Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

const HUGE_PAGE: u64 = 2 << 20;

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
    let guards = super::stacks::guard_pages();
    for (start, end, protection) in image_sections() {
        for virt in (start..end).step_by(PAGE_SIZE as usize) {
            if !guards.contains(&virt) {
                map_4k(
                    &mut tables,
                    virt,
                    virt - KERNEL_VIRT_BASE,
                    protection.flags(),
                );
            }
        }
    }
    map_direct(&mut tables, params);
    let frame = PhysFrame::containing_address(PhysAddr::new(pml4_phys));
    // SAFETY: the new tables map everything the kernel uses from here on at
    // the same virtual addresses as the early tables did (image, direct map),
    // with stricter rights, so no live reference is invalidated.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
    flush_global_tlb();
    *KERNEL_TABLES.lock() = Some(tables);
}

/// Maps all RAM at DIRECT_MAP_BASE: 2 MiB pages, or 4 KiB pages around the
/// image so its frames can be mapped read-only.
fn map_direct(tables: &mut OffsetPageTable<'static>, params: &BootParams) {
    let [(image_start, _, _), _, (_, image_end, _)] = image_sections();
    let image = (image_start - KERNEL_VIRT_BASE)..(image_end - KERNEL_VIRT_BASE);
    let read_write = Protection::ReadWrite.flags();
    for chunk in (0..params.ram_end()).step_by(HUGE_PAGE as usize) {
        if !params
            .regions()
            .iter()
            .any(|r| r.start <= chunk && chunk < r.end)
        {
            continue;
        }
        if chunk < image.end && image.start < chunk + HUGE_PAGE {
            for phys in (chunk..chunk + HUGE_PAGE).step_by(PAGE_SIZE as usize) {
                let flags = if image.contains(&phys) {
                    Protection::ReadOnly.flags()
                } else {
                    read_write
                };
                map_4k(tables, phys_to_virt(phys), phys, flags);
            }
        } else {
            let page = Page::<Size2MiB>::containing_address(VirtAddr::new(phys_to_virt(chunk)));
            let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(chunk));
            // SAFETY: the tables are not active yet; the frame is guest RAM.
            let result = unsafe {
                tables.map_to(
                    page,
                    frame,
                    read_write | Flags::HUGE_PAGE,
                    &mut GlobalFrames,
                )
            };
            result.unwrap_or_else(|e| map_failed(chunk, e)).ignore();
        }
    }
}

fn map_4k(tables: &mut OffsetPageTable<'static>, virt: u64, phys: u64, flags: Flags) {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::containing_address(PhysAddr::new(phys));
    // SAFETY: the tables are not active yet, so no access can observe the
    // change; the frame is guest RAM.
    let result = unsafe { tables.map_to(page, frame, flags, &mut GlobalFrames) };
    result.unwrap_or_else(|e| map_failed(virt, e)).ignore();
}

fn map_failed<T: core::fmt::Debug>(address: u64, error: T) -> ! {
    crate::panic::fatal(format_args!("cannot map {address:#x} at boot: {error:?}"))
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

/// Maps one 4 KiB kernel page (outside the image and the direct map: task
/// stacks). `frame` must be a frame the caller owns.
pub fn map_kernel_page(virt: u64, frame: u64, protection: Protection) -> Result<(), MapError> {
    if virt < DIRECT_MAP_BASE || (KERNEL_VIRT_BASE..).contains(&virt) || is_direct_map(virt) {
        return Err(MapError);
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let frame = PhysFrame::containing_address(PhysAddr::new(frame));
    let mut guard = KERNEL_TABLES.lock();
    let tables = guard.as_mut().ok_or(MapError)?;
    // SAFETY: `virt` is outside every region Rust code already references
    // (image, direct map), and was unmapped (map_to fails otherwise), so
    // mapping it cannot alias or change memory anything else uses.
    let flush = unsafe { tables.map_to(page, frame, protection.flags(), &mut GlobalFrames) };
    flush.map_err(|_| MapError)?.flush();
    Ok(())
}

/// Unmaps one kernel page mapped by [`map_kernel_page`]; returns its frame.
pub fn unmap_kernel_page(virt: u64) -> Option<u64> {
    if virt < DIRECT_MAP_BASE || (KERNEL_VIRT_BASE..).contains(&virt) || is_direct_map(virt) {
        return None;
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let mut guard = KERNEL_TABLES.lock();
    let (frame, flush) = guard.as_mut()?.unmap(page).ok()?;
    flush.flush();
    Some(frame.start_address().as_u64())
}

fn is_direct_map(virt: u64) -> bool {
    (DIRECT_MAP_BASE..DIRECT_MAP_BASE + crate::boot_info::MAX_MEMORY).contains(&virt)
}
