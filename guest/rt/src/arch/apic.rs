//! The local APIC in x2APIC mode and its timer: TSC-deadline mode where the
//! CPU has it, one-shot mode (counting LAPIC timer ticks, calibrated
//! against the TSC once at boot) where it does not.
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
const X2APIC_TIMER_INITIAL_COUNT: u32 = 0x838;
const X2APIC_TIMER_CURRENT_COUNT: u32 = 0x839;
const X2APIC_TIMER_DIVIDE: u32 = 0x83e;
const SPURIOUS_APIC_ENABLE: u64 = 1 << 8;
const LVT_TIMER_TSC_DEADLINE: u64 = 0b10 << 17;
/// LVT timer mode 00: one-shot.
const LVT_TIMER_ONE_SHOT: u64 = 0;
/// Divide configuration 0b1011: divide by 1.
const DIVIDE_BY_1: u64 = 0b1011;
const CPUID_1_ECX_X2APIC: u32 = 1 << 21;
const CPUID_1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// TSC time the one-shot calibration counts LAPIC ticks over: 1 ms.
const CALIBRATION_NS: u64 = 1_000_000;

/// The deadline currently armed (0: none), to avoid rewriting the MSR: on a
/// nested hypervisor every write costs a trip to the outer host.
static ARMED: AtomicU64 = AtomicU64::new(0);
/// One-shot mode: LAPIC timer ticks per TSC tick, as a 32.32 fixed-point
/// ratio; 0 in TSC-deadline mode.
static LAPIC_PER_TSC: AtomicU64 = AtomicU64::new(0);

/// Why the local APIC cannot be used.
#[derive(Debug)]
pub enum ApicError {
    /// The CPU does not offer x2APIC mode.
    NoX2Apic,
    /// The LAPIC timer did not count during calibration (one-shot mode).
    TimerStopped,
}

/// Switches the LAPIC to x2APIC mode and sets its timer up: TSC-deadline
/// mode, or one-shot mode calibrated against the TSC.
pub fn init() -> Result<(), ApicError> {
    let (_, _, ecx, _) = cpu::cpuid(1);
    if ecx & CPUID_1_ECX_X2APIC == 0 {
        return Err(ApicError::NoX2Apic);
    }
    // SAFETY: CPUID says x2APIC exists, so these MSRs do; enabling the
    // APIC and programming its spurious vector (installed in the IDT) has
    // no effect on memory.
    unsafe {
        let base = read_msr(IA32_APIC_BASE);
        write_msr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
        write_msr(
            X2APIC_SPURIOUS,
            SPURIOUS_APIC_ENABLE | u64::from(SPURIOUS_VECTOR),
        );
    }
    if ecx & CPUID_1_ECX_TSC_DEADLINE != 0 {
        // SAFETY: as above; CPUID says the TSC-deadline mode exists. The
        // timer vector is installed in the IDT.
        unsafe {
            write_msr(
                X2APIC_LVT_TIMER,
                LVT_TIMER_TSC_DEADLINE | u64::from(TIMER_VECTOR),
            )
        };
        return Ok(());
    }
    let ratio = calibrate_one_shot()?;
    LAPIC_PER_TSC.store(ratio, Ordering::Relaxed);
    Ok(())
}

/// Puts the timer in one-shot mode and measures its rate against the TSC
/// (a 1 ms busy wait, once): LAPIC ticks per TSC tick, 32.32 fixed point.
fn calibrate_one_shot() -> Result<u64, ApicError> {
    let tsc_span = crate::time::scale().ns_to_ticks(CALIBRATION_NS).max(1);
    // SAFETY: x2APIC timer MSRs (present with x2APIC); the timer counts
    // down with its interrupt masked (LVT bit 16) during calibration, then
    // is set to one-shot mode on the timer vector, installed in the IDT.
    let counted = unsafe {
        const LVT_MASKED: u64 = 1 << 16;
        write_msr(X2APIC_TIMER_DIVIDE, DIVIDE_BY_1);
        write_msr(
            X2APIC_LVT_TIMER,
            LVT_MASKED | LVT_TIMER_ONE_SHOT | u64::from(TIMER_VECTOR),
        );
        write_msr(X2APIC_TIMER_INITIAL_COUNT, u64::from(u32::MAX));
        let start = cpu::rdtsc();
        while cpu::rdtsc().wrapping_sub(start) < tsc_span {
            core::hint::spin_loop();
        }
        let left = read_msr(X2APIC_TIMER_CURRENT_COUNT);
        write_msr(X2APIC_TIMER_INITIAL_COUNT, 0);
        write_msr(
            X2APIC_LVT_TIMER,
            LVT_TIMER_ONE_SHOT | u64::from(TIMER_VECTOR),
        );
        u64::from(u32::MAX).saturating_sub(left)
    };
    if counted == 0 {
        return Err(ApicError::TimerStopped);
    }
    Ok(((u128::from(counted) << 32) / u128::from(tsc_span)) as u64)
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
    let ratio = LAPIC_PER_TSC.load(Ordering::Relaxed);
    if ratio == 0 {
        // SAFETY: the TSC-deadline MSR exists (checked in `init`); writing
        // it only schedules a timer interrupt.
        unsafe { write_msr(IA32_TSC_DEADLINE, deadline.max(1)) };
        return;
    }
    let tsc_ticks = deadline.saturating_sub(now);
    let count = ((u128::from(tsc_ticks) * u128::from(ratio)) >> 32).clamp(1, u128::from(u32::MAX));
    // SAFETY: the one-shot timer MSR exists (x2APIC, set up in `init`);
    // writing it only schedules a timer interrupt (a count of 0 would stop
    // the timer, which the clamp rules out).
    unsafe { write_msr(X2APIC_TIMER_INITIAL_COUNT, count as u64) };
}

/// Acknowledges the interrupt being handled.
pub fn end_of_interrupt() {
    ARMED.store(0, Ordering::Relaxed);
    // SAFETY: writing 0 to the x2APIC EOI register only acknowledges the
    // in-service interrupt.
    unsafe { write_msr(X2APIC_EOI, 0) };
}
