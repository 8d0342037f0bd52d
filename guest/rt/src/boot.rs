//! The boot sequence, from the entry point to the application's `main`.

use crate::arch::{apic, gdt, paging, trap};
use crate::boot_info;
use crate::panic::fatal;
use crate::{env, mem, platform, task, time};
use vessel_abi::boot::BootInfo;
use vessel_abi::layout::IMAGE_MIN_PHYS;

/// Called by `_start` (the Vessel entry) on the boot stack, interrupts
/// disabled.
pub(crate) extern "C" fn boot(boot_info_phys: u64, tsc_entry: u64) -> ! {
    crate::console::init();
    boot_with(read_boot_info(boot_info_phys), tsc_entry, Loader::VesselVmm)
}

/// What loaded the kernel, and so what the boot may take as given.
pub(crate) enum Loader {
    /// The Vessel VMM: the page tables at entry are final (vessel-abi's
    /// layout) and free RAM reads as zero.
    VesselVmm,
    /// A PVH loader (QEMU, Firecracker...): the tables at entry only serve
    /// the boot, and free RAM holds whatever it holds.
    Pvh,
}

/// The boot path common to every entry: from boot info (copied out of host
/// memory, or built from PVH start info) to the application's `main`.
pub(crate) fn boot_with(info: BootInfo, tsc_entry: u64, loader: Loader) -> ! {
    let params = boot_info::validate(&info)
        .unwrap_or_else(|e| fatal(format_args!("invalid boot info: {e}")));
    gdt::init();
    trap::init();
    crate::user::init();
    time::init(&params, tsc_entry);
    mem::frames::init(
        &params,
        match loader {
            Loader::VesselVmm => mem::frames::FreeRam::Zeroed,
            Loader::Pvh => mem::frames::FreeRam::Unknown,
        },
    );
    match loader {
        Loader::VesselVmm => paging::adopt(),
        Loader::Pvh => paging::init(&params),
    }
    env::init(&params);
    if let Err(e) = apic::init() {
        fatal(format_args!("the local APIC cannot be used: {e}"));
    }
    task::run(|| {
        time::mark_main();
        platform::exit(app_main())
    })
}

/// Copies the boot info out of host-written memory.
fn read_boot_info(phys: u64) -> BootInfo {
    let size = size_of::<BootInfo>() as u64;
    let in_boot_data = phys
        .checked_add(size)
        .is_some_and(|end| end <= IMAGE_MIN_PHYS);
    if !in_boot_data || !phys.is_multiple_of(8) {
        fatal(format_args!(
            "boot info at {phys:#x} is outside the boot-data area"
        ));
    }
    // SAFETY: the page tables at entry direct-map all RAM, which includes the
    // boot-data area checked above; the struct is plain integers, so any bit
    // pattern is a valid value. A plain copy rather than a volatile read (a
    // load per field, hundreds of instructions under an emulating
    // hypervisor): the VMM writes the boot data before the vCPU starts and
    // never during the run, and what is used afterwards is this copy,
    // validated as a whole.
    unsafe { core::ptr::read(mem::phys_to_virt(phys) as *const BootInfo) }
}

/// Calls the application's entry, exported by [`crate::export_main!`].
fn app_main() -> i32 {
    unsafe extern "Rust" {
        fn __vessel_app_main() -> i32;
    }
    // SAFETY: `export_main!` defines this symbol with exactly this
    // signature (a safe Rust function); linking fails if it is missing.
    unsafe { __vessel_app_main() }
}
