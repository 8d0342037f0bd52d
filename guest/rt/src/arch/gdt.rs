//! The kernel's GDT and TSS. The TSS holds the interrupt stacks (IST) used
//! for double faults, NMIs and machine checks, so that those are reported
//! even when the current stack is exhausted.

use super::stacks::{DOUBLE_FAULT_STACK, MACHINE_CHECK_STACK, NMI_STACK};
use super::trap_vectors::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI};
use core::cell::UnsafeCell;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// The TSS, written by the CPU's privilege-change logic and by
/// [`set_kernel_stack`]; Rust code never forms a reference to it after boot.
#[repr(transparent)]
pub struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: the TSS is only written through raw pointers: once by `init`
// before it is loaded, then `rsp0` by `set_kernel_stack` and the user-entry
// assembly, with interrupts disabled, on the one CPU that uses it.
unsafe impl Sync for TssCell {}

/// The kernel's (single CPU's) TSS; the user-mode entry writes its `rsp0`.
pub static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
/// Byte offset of `rsp0` (privilege stack 0) in the TSS.
pub const TSS_RSP0_OFFSET: usize = 4;
static GDT: Once<(GlobalDescriptorTable, [SegmentSelector; 3])> = Once::new();

/// Loads the GDT and TSS and reloads the segment registers.
pub fn init() {
    let tss = TSS.0.get();
    let (gdt, [code, data, tss_selector]) = GDT.call_once(|| {
        // The TSS is packed: build the table, then copy it in whole.
        let mut ist = [VirtAddr::zero(); 7];
        ist[usize::from(IST_DOUBLE_FAULT - 1)] = VirtAddr::new(DOUBLE_FAULT_STACK.top());
        ist[usize::from(IST_NMI - 1)] = VirtAddr::new(NMI_STACK.top());
        ist[usize::from(IST_MACHINE_CHECK - 1)] = VirtAddr::new(MACHINE_CHECK_STACK.top());
        // SAFETY: the TSS is not loaded yet (this runs once, before
        // `load_tss`), so nothing else reads or writes it; the write goes
        // through the raw pointer, unaligned as the packed layout needs.
        unsafe { core::ptr::addr_of_mut!((*tss).interrupt_stack_table).write_unaligned(ist) };
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        // User segments, in the order SYSRET expects (data, then code).
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a 'static of the right type that stays valid
        // for as long as the GDT is loaded (forever).
        let tss_selector = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
        (gdt, [code, data, tss_selector])
    });
    gdt.load();
    // SAFETY: the selectors index valid descriptors of the GDT just loaded,
    // of the right types (code for CS, data for the others, TSS for TR).
    unsafe {
        CS::set_reg(*code);
        SS::set_reg(*data);
        DS::set_reg(*data);
        ES::set_reg(*data);
        load_tss(*tss_selector);
    }
}
