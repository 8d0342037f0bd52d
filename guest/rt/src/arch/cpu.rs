//! Single CPU instructions behind safe functions.

use core::arch::asm;
use x86_64::instructions::interrupts;
use x86_64::registers::model_specific::Msr;

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects and every x86-64 CPU has it
    // (CR4.TSD is clear, so it is allowed at ring 0 and above).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reads a model-specific register.
///
/// # Safety
/// The MSR must exist on this CPU (reading a missing one raises #GP).
pub unsafe fn read_msr(msr: u32) -> u64 {
    // SAFETY: the caller guarantees the MSR exists; reading has no side effects.
    unsafe { Msr::new(msr).read() }
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must not break memory safety (e.g. by
/// changing paging or segment bases the kernel relies on).
pub unsafe fn write_msr(msr: u32, value: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { Msr::new(msr).write(value) }
}

/// Writes a byte to an I/O port.
///
/// # Safety
/// The port must belong to a device whose programming cannot break memory
/// safety.
pub unsafe fn port_write_u8(port: u16, value: u8) {
    // SAFETY: forwarded to the caller.
    unsafe { x86_64::instructions::port::Port::new(port).write(value) }
}

/// Reads a byte from an I/O port.
///
/// # Safety
/// As for [`port_write_u8`].
pub unsafe fn port_read_u8(port: u16) -> u8 {
    // SAFETY: forwarded to the caller.
    unsafe { x86_64::instructions::port::Port::new(port).read() }
}

/// Returns `(eax, ebx, ecx, edx)` of CPUID leaf `leaf`, sub-leaf 0.
pub fn cpuid(leaf: u32) -> (u32, u32, u32, u32) {
    let r = core::arch::x86_64::__cpuid_count(leaf, 0);
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// Whether maskable interrupts are enabled.
pub fn interrupts_enabled() -> bool {
    interrupts::are_enabled()
}

/// Disables maskable interrupts.
pub fn disable_interrupts() {
    interrupts::disable();
}

/// Enables maskable interrupts.
pub fn enable_interrupts() {
    interrupts::enable();
}

/// Enables interrupts and halts until the next one, atomically: an interrupt
/// that becomes pending between the two instructions still wakes the CPU
/// (STI's one-instruction interrupt shadow covers HLT).
pub fn enable_interrupts_and_halt() {
    interrupts::enable_and_hlt();
}

/// Stops this CPU for good: interrupts off, halt forever.
pub fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// The faulting address of the last page fault (CR2).
pub fn page_fault_address() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// Resets the machine by a triple fault: used only when the host ignored an
/// exit request, so that it reports a crash instead of the guest hanging.
pub fn triple_fault() -> ! {
    let null_idt = x86_64::structures::DescriptorTablePointer {
        limit: 0,
        base: x86_64::VirtAddr::zero(),
    };
    // SAFETY: loading an empty IDT and raising an exception cannot corrupt
    // memory: the CPU shuts down on the resulting triple fault.
    unsafe {
        x86_64::instructions::tables::lidt(&null_idt);
        asm!("int3", options(nomem, nostack));
    }
    halt_forever()
}
