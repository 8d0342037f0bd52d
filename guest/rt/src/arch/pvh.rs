//! The PVH entry: how QEMU (`-kernel`), Firecracker and Cloud Hypervisor
//! start the same image the Vessel VMM starts at `_start`.
//!
//! The image carries an ELF note (`XEN_ELFNOTE_PHYS32_ENTRY`) with the
//! physical address of `vessel_pvh_start`. The hypervisor jumps there in
//! 32-bit protected mode, paging off, `EBX` = physical address of the
//! `hvm_start_info`. The code below builds early page tables (the first
//! 1 GiB identity-mapped, at the direct map and at the kernel window, as the
//! Vessel VMM would), enters long mode, moves to the kernel's virtual
//! addresses and calls [`boot_pvh`], which turns the start info into Vessel
//! boot info and joins the common boot path.

use super::stacks::{BOOT_STACK, BOOT_STACK_SIZE, GUARD_SIZE};
use core::cell::UnsafeCell;
use vessel_abi::layout::KERNEL_VIRT_BASE;

/// `XEN_ELFNOTE_PHYS32_ENTRY`.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// A page-aligned page table, zero in the image (`.bss`).
#[repr(C, align(4096))]
pub struct EarlyTable(UnsafeCell<[u64; 512]>);

// SAFETY: only the single-threaded 32-bit entry code writes these tables,
// before anything else runs; afterwards they are read by the MMU only.
unsafe impl Sync for EarlyTable {}

impl EarlyTable {
    const fn new() -> Self {
        Self(UnsafeCell::new([0; 512]))
    }
}

static EARLY_PML4: EarlyTable = EarlyTable::new();
static EARLY_PDPT_LOW: EarlyTable = EarlyTable::new();
static EARLY_PDPT_HIGH: EarlyTable = EarlyTable::new();
static EARLY_PD: EarlyTable = EarlyTable::new();

core::arch::global_asm!(
    // The note QEMU, Firecracker and Cloud Hypervisor look for.
    ".pushsection .note.Xen, \"a\", @note",
    ".balign 4",
    ".long 4",
    ".long 4",
    ".long {note_type}",
    ".asciz \"Xen\"",
    ".long vessel_pvh_start - {virt_base}",
    ".popsection",
    // A GDT for the switch to long mode (null, code 0x08, data 0x10) and its
    // 32-bit pseudo-descriptor, with the physical address filled in at link time.
    ".pushsection .rodata.pvh, \"a\"",
    ".balign 16",
    "vessel_pvh_gdt:",
    ".quad 0, 0x00af9a000000ffff, 0x00cf92000000ffff",
    "vessel_pvh_gdt_pointer:",
    ".word 23",
    ".long vessel_pvh_gdt - {virt_base}",
    ".popsection",
    ".pushsection .text.pvh, \"ax\"",
    ".code32",
    ".global vessel_pvh_start",
    "vessel_pvh_start:",
    "    cli",
    "    cld",
    "    mov esp, offset {stack} - {virt_base} + {stack_top}",
    "    mov esi, ebx",
    // The TSC at entry, kept in EBP:EDI until long mode.
    "    rdtsc",
    "    mov edi, eax",
    "    mov ebp, edx",
    // PML4[0] and PML4[256] (direct map) -> low PDPT, PML4[511] -> high PDPT.
    "    mov eax, offset {pdpt_low} - {virt_base} + 3",
    "    mov [{pml4} - {virt_base}], eax",
    "    mov [{pml4} - {virt_base} + 256 * 8], eax",
    "    mov eax, offset {pdpt_high} - {virt_base} + 3",
    "    mov [{pml4} - {virt_base} + 511 * 8], eax",
    // Both PDPTs -> one PD mapping the first 1 GiB with 2 MiB pages.
    "    mov eax, offset {pd} - {virt_base} + 3",
    "    mov [{pdpt_low} - {virt_base}], eax",
    "    mov [{pdpt_high} - {virt_base} + 510 * 8], eax",
    "    xor ecx, ecx",
    "vessel_pvh_fill_pd:",
    "    mov eax, ecx",
    "    shl eax, 21",
    "    or eax, 0x83",
    "    mov [{pd} - {virt_base} + ecx * 8], eax",
    "    inc ecx",
    "    cmp ecx, 512",
    "    jb vessel_pvh_fill_pd",
    // Long mode: PAE, page tables, EFER.LME|NXE, then paging on (with WP
    // and MP).
    // CR4: PAE, and OSFXSR|OSXMMEXCPT so user programs may use SSE (as the
    // Vessel VMM sets them).
    "    mov eax, cr4",
    "    or eax, 0x620",
    "    mov cr4, eax",
    "    mov eax, offset {pml4} - {virt_base}",
    "    mov cr3, eax",
    "    mov ecx, 0xc0000080",
    "    rdmsr",
    "    or eax, 0x900",
    "    wrmsr",
    "    mov eax, cr0",
    "    or eax, 0x80010003",
    "    mov cr0, eax",
    "    lgdt [vessel_pvh_gdt_pointer - {virt_base}]",
    // Far return into the 64-bit code segment.
    "    mov eax, 0x08",
    "    push eax",
    "    mov eax, offset vessel_pvh_long_mode - {virt_base}",
    "    push eax",
    "    retf",
    ".code64",
    "vessel_pvh_long_mode:",
    "    mov ax, 0x10",
    "    mov ds, ax",
    "    mov es, ax",
    "    mov ss, ax",
    // Move to the kernel window: stack and code at their virtual addresses.
    // (The upper halves of registers are undefined after the mode switch:
    // 32-bit moves zero-extend.)
    "    mov esp, esp",
    "    movabs rax, {virt_base}",
    "    add rsp, rax",
    "    mov edx, ebp",
    "    shl rdx, 32",
    "    mov eax, edi",
    "    or rdx, rax",
    "    mov edi, esi",
    "    mov rsi, rdx",
    "    xor ebp, ebp",
    "    movabs rax, offset {boot}",
    "    call rax",
    "    ud2",
    ".popsection",
    note_type = const XEN_ELFNOTE_PHYS32_ENTRY,
    virt_base = const KERNEL_VIRT_BASE,
    stack = sym BOOT_STACK,
    stack_top = const GUARD_SIZE + BOOT_STACK_SIZE,
    pml4 = sym EARLY_PML4,
    pdpt_low = sym EARLY_PDPT_LOW,
    pdpt_high = sym EARLY_PDPT_HIGH,
    pd = sym EARLY_PD,
    boot = sym boot_pvh,
);

/// Called in long mode on the boot stack, at kernel addresses, with the
/// physical address of the `hvm_start_info` and the TSC at entry.
extern "C" fn boot_pvh(start_info_phys: u64, tsc_entry: u64) -> ! {
    crate::platform::select_pc();
    crate::console::init();
    let info = crate::platform::pc::boot_info_from_pvh(start_info_phys);
    crate::boot::boot_with(info, tsc_entry, crate::boot::Loader::Pvh)
}
