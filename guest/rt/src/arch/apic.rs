//! The local APIC and its timer: TSC-deadline mode where the CPU has it,
//! one-shot mode (counting LAPIC timer ticks, calibrated against the TSC
//! once at boot) where it does not.
//!
//! The LAPIC runs in x2APIC mode where the CPU offers it (always on the
//! Vessel VMM): its registers are MSRs, which KVM handles inside the kernel,
//! so arming the timer or acknowledging an interrupt never exits to the VMM.
//! Otherwise it stays in xAPIC mode and the same registers are reached
//! through its 4 KiB MMIO page, mapped uncached at boot, with the platform's
//! MMIO accessors. Everything else is the same in both modes.

use super::cpu::{self, read_msr, write_msr};
use super::paging;
use super::trap::{SPURIOUS_VECTOR, TIMER_VECTOR};
use crate::platform;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Once;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;
/// Bits 12 to 51 of IA32_APIC_BASE: the physical address of the xAPIC page.
const APIC_BASE_ADDRESS: u64 = 0x000f_ffff_ffff_f000;
const IA32_TSC_DEADLINE: u32 = 0x6e0;
/// The x2APIC MSR of the register at xAPIC offset 0 (each 16-byte xAPIC
/// register slot is one MSR).
const X2APIC_MSR_BASE: u32 = 0x800;
const SPURIOUS_APIC_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_TIMER_TSC_DEADLINE: u32 = 0b10 << 17;
/// LVT timer mode 00: one-shot.
const LVT_TIMER_ONE_SHOT: u32 = 0;
/// Divide configuration 0b1011: divide by 1.
const DIVIDE_BY_1: u32 = 0b1011;
const CPUID_1_EDX_APIC: u32 = 1 << 9;
const CPUID_1_ECX_X2APIC: u32 = 1 << 21;
const CPUID_1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// TSC time the one-shot calibration counts LAPIC ticks over: 1 ms.
const CALIBRATION_NS: u64 = 1_000_000;

/// The LAPIC registers vessel-rt programs, by offset in the xAPIC page. None
/// of them can affect memory: they acknowledge interrupts, enable the APIC
/// and program its timer (the interrupt command register, which can reset
/// or start CPUs, is deliberately not here).
#[derive(Clone, Copy)]
#[repr(u32)]
enum Register {
    Eoi = 0xb0,
    Spurious = 0xf0,
    LvtTimer = 0x320,
    TimerInitialCount = 0x380,
    TimerCurrentCount = 0x390,
    TimerDivide = 0x3e0,
}

impl Register {
    /// Its offset in the xAPIC page.
    fn offset(self) -> u64 {
        u64::from(self as u32)
    }

    /// Its x2APIC MSR: one MSR per 16-byte slot of the xAPIC page.
    fn msr(self) -> u32 {
        X2APIC_MSR_BASE + (self as u32 >> 4)
    }
}

/// How the LAPIC's registers are reached. Only [`enable`] makes one, once
/// the APIC is in that mode (and, for xAPIC, its page is mapped).
#[derive(Clone, Copy)]
enum Access {
    /// x2APIC mode: each register is an MSR.
    Msr,
    /// xAPIC mode: the registers' page, at this physical address, mapped
    /// uncached by [`paging::map_mmio`].
    Mmio(u64),
}

impl Access {
    /// Reads `register`.
    fn read(self, register: Register) -> u32 {
        match self {
            // SAFETY: `enable` made this after switching to x2APIC mode, so
            // the register's MSR exists; reading it has no side effect.
            Access::Msr => unsafe { read_msr(register.msr()) as u32 },
            // SAFETY: `enable` mapped this page with `map_mmio` and enabled
            // xAPIC mode at it; the offset is an aligned register in it, and
            // no `Register` can affect memory.
            Access::Mmio(page) => unsafe {
                platform::current().mmio_read_u32(page + register.offset())
            },
        }
    }

    /// Writes `value` to `register`.
    fn write(self, register: Register, value: u32) {
        match self {
            // SAFETY: as in `read`; writing a `Register` only acknowledges
            // an interrupt or programs the APIC and its timer, never memory.
            Access::Msr => unsafe { write_msr(register.msr(), u64::from(value)) },
            // SAFETY: as in `read`.
            Access::Mmio(page) => unsafe {
                platform::current().mmio_write_u32(page + register.offset(), value)
            },
        }
    }
}

/// How the timer counts.
#[derive(Clone, Copy)]
enum Timer {
    /// TSC-deadline mode: IA32_TSC_DEADLINE takes the TSC value itself.
    TscDeadline,
    /// One-shot mode: LAPIC timer ticks per TSC tick, as a 32.32 fixed-point
    /// ratio.
    OneShot { lapic_per_tsc: u64 },
}

/// The LAPIC as [`init`] set it up.
struct Lapic {
    access: Access,
    timer: Timer,
}

/// Set once by [`init`]; before that there is no LAPIC to program.
static LAPIC: Once<Lapic> = Once::new();
/// The deadline currently armed (0: none), to avoid rewriting the timer: on
/// a nested hypervisor every write costs a trip to the outer host.
static ARMED: AtomicU64 = AtomicU64::new(0);

/// Why the local APIC cannot be used.
#[derive(Debug)]
pub enum ApicError {
    /// The CPU has no local APIC.
    NoApic,
    /// The xAPIC register page (at this physical address) cannot be mapped:
    /// it is RAM or beyond the direct map.
    PageNotMappable(u64),
    /// The LAPIC timer did not count during calibration (one-shot mode).
    TimerStopped,
}

impl core::fmt::Display for ApicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ApicError::NoApic => f.write_str("the CPU has none"),
            ApicError::PageNotMappable(page) => write!(
                f,
                "its xAPIC register page at {page:#x} is RAM or beyond the direct map"
            ),
            ApicError::TimerStopped => f.write_str("its timer did not count during calibration"),
        }
    }
}

/// Enables the LAPIC, in x2APIC mode where the CPU has it and in xAPIC mode
/// otherwise, and sets its timer up: TSC-deadline mode, or one-shot mode
/// calibrated against the TSC.
pub fn init() -> Result<(), ApicError> {
    let (_, _, ecx, edx) = cpu::cpuid(1);
    if edx & CPUID_1_EDX_APIC == 0 {
        return Err(ApicError::NoApic);
    }
    let access = enable(ecx & CPUID_1_ECX_X2APIC != 0)?;
    // The spurious vector is installed in the IDT.
    access.write(
        Register::Spurious,
        SPURIOUS_APIC_ENABLE | u32::from(SPURIOUS_VECTOR),
    );
    let timer = if ecx & CPUID_1_ECX_TSC_DEADLINE != 0 {
        access.write(
            Register::LvtTimer,
            LVT_TIMER_TSC_DEADLINE | u32::from(TIMER_VECTOR),
        );
        Timer::TscDeadline
    } else {
        Timer::OneShot {
            lapic_per_tsc: calibrate_one_shot(access)?,
        }
    };
    LAPIC.call_once(|| Lapic { access, timer });
    Ok(())
}

/// Turns the APIC on (globally; [`init`] then enables it in software) in
/// x2APIC mode if `x2apic`, else in xAPIC mode with its page mapped.
fn enable(x2apic: bool) -> Result<Access, ApicError> {
    // SAFETY: CPUID says the CPU has a LAPIC, so IA32_APIC_BASE exists.
    let base = unsafe { read_msr(IA32_APIC_BASE) };
    let (access, mode) = if x2apic {
        (Access::Msr, APIC_BASE_X2APIC)
    } else {
        let page = base & APIC_BASE_ADDRESS;
        paging::map_mmio(page).map_err(|_| ApicError::PageNotMappable(page))?;
        (Access::Mmio(page), 0)
    };
    // SAFETY: the enable bits only switch the APIC on in the mode CPUID
    // offers; its page address is unchanged, so no RAM is shadowed.
    unsafe { write_msr(IA32_APIC_BASE, base | APIC_BASE_ENABLE | mode) };
    Ok(access)
}

/// Puts the timer in one-shot mode and measures its rate against the TSC
/// (a 1 ms busy wait, once): LAPIC ticks per TSC tick, 32.32 fixed point.
fn calibrate_one_shot(access: Access) -> Result<u64, ApicError> {
    let tsc_span = crate::time::scale().ns_to_ticks(CALIBRATION_NS).max(1);
    // The timer counts down with its interrupt masked during calibration,
    // then is left in one-shot mode on the timer vector (in the IDT).
    access.write(Register::TimerDivide, DIVIDE_BY_1);
    access.write(
        Register::LvtTimer,
        LVT_MASKED | LVT_TIMER_ONE_SHOT | u32::from(TIMER_VECTOR),
    );
    access.write(Register::TimerInitialCount, u32::MAX);
    let start = cpu::rdtsc();
    while cpu::rdtsc().wrapping_sub(start) < tsc_span {
        core::hint::spin_loop();
    }
    let left = access.read(Register::TimerCurrentCount);
    access.write(Register::TimerInitialCount, 0);
    access.write(
        Register::LvtTimer,
        LVT_TIMER_ONE_SHOT | u32::from(TIMER_VECTOR),
    );
    let counted = u64::from(u32::MAX - left);
    if counted == 0 {
        return Err(ApicError::TimerStopped);
    }
    Ok(((u128::from(counted) << 32) / u128::from(tsc_span)) as u64)
}

/// Makes sure a timer interrupt arrives no later than TSC value `deadline`
/// (before [`init`] there is no timer to arm).
///
/// An earlier deadline already armed is kept: its interrupt is harmless, and
/// the handler arms the next one.
pub fn arm_timer(deadline: u64, now: u64) {
    let Some(lapic) = LAPIC.get() else {
        return;
    };
    let armed = ARMED.load(Ordering::Relaxed);
    if armed != 0 && armed > now && armed <= deadline {
        return;
    }
    ARMED.store(deadline.max(1), Ordering::Relaxed);
    match lapic.timer {
        // SAFETY: `init` chose this mode because CPUID offers it, so the
        // MSR exists; writing it only schedules a timer interrupt.
        Timer::TscDeadline => unsafe { write_msr(IA32_TSC_DEADLINE, deadline.max(1)) },
        Timer::OneShot { lapic_per_tsc } => {
            let tsc_ticks = deadline.saturating_sub(now);
            // A count of 0 would stop the timer, which the clamp rules out.
            let count = ((u128::from(tsc_ticks) * u128::from(lapic_per_tsc)) >> 32)
                .clamp(1, u128::from(u32::MAX));
            lapic
                .access
                .write(Register::TimerInitialCount, count as u32);
        }
    }
}

/// Acknowledges the interrupt being handled.
pub fn end_of_interrupt() {
    ARMED.store(0, Ordering::Relaxed);
    if let Some(lapic) = LAPIC.get() {
        lapic.access.write(Register::Eoi, 0);
    }
}
