//! The local APIC in x2APIC mode, with its timer in TSC-deadline mode.
//!
//! x2APIC registers are MSRs, so no MMIO page needs mapping, and KVM handles
//! every access inside the kernel: arming the timer or acknowledging an
//! interrupt never exits to the VMM.

use super::cpu::{self, read_msr, write_msr};
use super::trap::{SPURIOUS_VECTOR, TIMER_VECTOR};
use core::sync::atomic::{AtomicU64, Ordering};

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;
const IA32_TSC_DEADLINE: u32 = 0x6e0;
const X2APIC_EOI: u32 = 0x80b;
const X2APIC_SPURIOUS: u32 = 0x80f;
const X2APIC_LVT_TIMER: u32 = 0x832;
const SPURIOUS_APIC_ENABLE: u64 = 1 << 8;
const LVT_TIMER_TSC_DEADLINE: u64 = 0b10 << 17;
const CPUID_1_ECX_X2APIC: u32 = 1 << 21;
const CPUID_1_ECX_TSC_DEADLINE: u32 = 1 << 24;

/// The deadline currently armed (0: none), to avoid rewriting the MSR: on a
/// nested hypervisor every write costs a trip to the outer host.
static ARMED: AtomicU64 = AtomicU64::new(0);

/// Why the local APIC cannot be used.
#[derive(Debug)]
pub enum ApicError {
    /// The CPU does not offer x2APIC mode.
    NoX2Apic,
    /// The LAPIC timer has no TSC-deadline mode.
    NoTscDeadline,
}

/// Switches the LAPIC to x2APIC mode and sets its timer up for TSC deadlines.
pub fn init() -> Result<(), ApicError> {
    let (_, _, ecx, _) = cpu::cpuid(1);
    if ecx & CPUID_1_ECX_X2APIC == 0 {
        return Err(ApicError::NoX2Apic);
    }
    if ecx & CPUID_1_ECX_TSC_DEADLINE == 0 {
        return Err(ApicError::NoTscDeadline);
    }
    // SAFETY: CPUID says x2APIC and TSC-deadline exist, so these MSRs do;
    // enabling the APIC and programming its timer and spurious vectors (both
    // installed in the IDT) has no effect on memory.
    unsafe {
        let base = read_msr(IA32_APIC_BASE);
        write_msr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
        write_msr(
            X2APIC_SPURIOUS,
            SPURIOUS_APIC_ENABLE | u64::from(SPURIOUS_VECTOR),
        );
        write_msr(
            X2APIC_LVT_TIMER,
            LVT_TIMER_TSC_DEADLINE | u64::from(TIMER_VECTOR),
        );
    }
    Ok(())
}

/// Makes sure a timer interrupt arrives no later than TSC value `deadline`.
///
/// An earlier deadline already armed is kept: its interrupt is harmless, and
/// the handler arms the next one.
pub fn arm_timer(deadline: u64, now: u64) {
    let armed = ARMED.load(Ordering::Relaxed);
    if armed != 0 && armed > now && armed <= deadline {
        return;
    }
    ARMED.store(deadline.max(1), Ordering::Relaxed);
    // SAFETY: the TSC-deadline MSR exists (checked in `init`); writing it
    // only schedules a timer interrupt.
    unsafe { write_msr(IA32_TSC_DEADLINE, deadline.max(1)) };
}

/// Acknowledges the interrupt being handled.
pub fn end_of_interrupt() {
    ARMED.store(0, Ordering::Relaxed);
    // SAFETY: writing 0 to the x2APIC EOI register only acknowledges the
    // in-service interrupt.
    unsafe { write_msr(X2APIC_EOI, 0) };
}
