//! Finding the TSC frequency without the Vessel VMM's boot info: from CPUID
//! where the CPU or hypervisor states it, else by a short, bounded
//! calibration against the PIT.

use super::cpu::{self, cpuid, port_read_u8, port_write_u8};

/// The TSC frequency in kHz as CPUID states it, if it does: the
/// hypervisor timing leaf 0x40000010 (KVM with `invtsc`, VMware), then
/// leaf 0x15 (TSC/crystal ratio), then leaf 0x16 (base frequency).
pub fn khz_from_cpuid() -> Option<u64> {
    let (hypervisor_max, ..) = cpuid(0x4000_0000);
    if (0x4000_0010..0x4000_ffff).contains(&hypervisor_max) {
        let (khz, ..) = cpuid(0x4000_0010);
        if khz != 0 {
            return Some(u64::from(khz));
        }
    }
    let (max, ..) = cpuid(0);
    if max >= 0x15 {
        let (denominator, numerator, crystal_hz, _) = cpuid(0x15);
        if denominator != 0 && numerator != 0 && crystal_hz != 0 {
            return Some(
                u64::from(crystal_hz) * u64::from(numerator) / u64::from(denominator) / 1000,
            );
        }
    }
    if max >= 0x16 {
        let (base_mhz, ..) = cpuid(0x16);
        if base_mhz & 0xffff != 0 {
            return Some(u64::from(base_mhz & 0xffff) * 1000);
        }
    }
    None
}

/// PIT input clock, Hz.
const PIT_HZ: u64 = 1_193_182;
/// Calibration window.
const CALIBRATION_MS: u64 = 10;
/// Most polls of the PIT before giving up (no PIT present).
const MAX_POLLS: u32 = 10_000_000;

/// Lowest TSC frequency believed (100 MHz): anything less means the PIT
/// did not really count.
const MIN_PLAUSIBLE_KHZ: u64 = 100_000;

/// Measures the TSC against PIT channel 2 over 10 ms. `None` if the PIT
/// does not count down (the machine has none).
pub fn calibrate_with_pit() -> Option<u64> {
    let count = PIT_HZ * CALIBRATION_MS / 1000;
    // SAFETY: ports 0x61 (PC speaker/gate control) and 0x42/0x43 (PIT) set
    // up a one-shot countdown on channel 2 with the speaker off; they
    // touch no memory.
    let elapsed = unsafe {
        let gate = port_read_u8(0x61);
        port_write_u8(0x61, (gate & !0x02) | 0x01);
        port_write_u8(0x43, 0b1011_0000); // channel 2, lo/hi byte, mode 0
        port_write_u8(0x42, count as u8);
        port_write_u8(0x42, (count >> 8) as u8);
        let start = cpu::rdtsc();
        let mut polls = 0;
        while port_read_u8(0x61) & 0x20 == 0 {
            polls += 1;
            if polls == MAX_POLLS {
                return None;
            }
        }
        cpu::rdtsc() - start
    };
    let khz = elapsed / CALIBRATION_MS;
    (khz >= MIN_PLAUSIBLE_KHZ).then_some(khz)
}
