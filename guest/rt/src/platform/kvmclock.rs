//! KVM's paravirtual clock (kvmclock), as QEMU and Firecracker offer it on
//! KVM: the exact TSC frequency and the host's wall clock, with no
//! calibration. Each vCPU registers a page the hypervisor fills in.

use crate::arch::cpu;
use core::cell::UnsafeCell;
use vessel_abi::layout::KERNEL_VIRT_BASE;

const MSR_KVM_WALL_CLOCK_NEW: u32 = 0x4b56_4d00;
const MSR_KVM_SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;
const KVM_FEATURE_CLOCKSOURCE2: u32 = 1 << 3;

/// `struct pvclock_vcpu_time_info`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct TimeInfo {
    version: u32,
    pad0: u32,
    tsc_timestamp: u64,
    system_time: u64,
    tsc_to_system_mul: u32,
    tsc_shift: i8,
    flags: u8,
    pad: [u8; 2],
}

/// `struct pvclock_wall_clock`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct WallClock {
    version: u32,
    sec: u32,
    nsec: u32,
}

#[repr(C, align(64))]
struct Shared {
    time: UnsafeCell<TimeInfo>,
    wall: UnsafeCell<WallClock>,
}

// SAFETY: written by the hypervisor and read (volatile) by the boot CPU
// only, once, before other tasks exist.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    time: UnsafeCell::new(TimeInfo {
        version: 0,
        pad0: 0,
        tsc_timestamp: 0,
        system_time: 0,
        tsc_to_system_mul: 0,
        tsc_shift: 0,
        flags: 0,
        pad: [0; 2],
    }),
    wall: UnsafeCell::new(WallClock {
        version: 0,
        sec: 0,
        nsec: 0,
    }),
};

/// What kvmclock tells at boot.
pub(crate) struct Reading {
    /// TSC frequency in kHz.
    pub tsc_khz: u64,
    /// Wall-clock nanoseconds since the Unix epoch at TSC `tsc`.
    pub wall_clock_ns: u64,
    /// The TSC value of that reading.
    pub tsc: u64,
}

/// Reads kvmclock, if the hypervisor is KVM and offers it.
pub(crate) fn read() -> Option<Reading> {
    let (_, b, c, d) = cpu::cpuid(0x4000_0000);
    let signature = [b, c, d].map(u32::to_le_bytes);
    if signature != [*b"KVMK", *b"VMKV", *b"M\0\0\0"] {
        return None;
    }
    let (features, ..) = cpu::cpuid(0x4000_0001);
    if features & KVM_FEATURE_CLOCKSOURCE2 == 0 {
        return None;
    }
    let time_phys = SHARED.time.get() as u64 - KERNEL_VIRT_BASE;
    let wall_phys = SHARED.wall.get() as u64 - KERNEL_VIRT_BASE;
    // SAFETY: CPUID says the kvmclock MSRs exist; they make the hypervisor
    // write the two structs in `SHARED`, statics of the image that nothing
    // else uses. The system-time MSR is disabled again (bit 0 clear) once
    // read, so the host stops writing.
    let (time, wall) = unsafe {
        cpu::write_msr(MSR_KVM_SYSTEM_TIME_NEW, time_phys | 1);
        cpu::write_msr(MSR_KVM_WALL_CLOCK_NEW, wall_phys);
        let time = SHARED.time.get().read_volatile();
        let wall = SHARED.wall.get().read_volatile();
        cpu::write_msr(MSR_KVM_SYSTEM_TIME_NEW, 0);
        (time, wall)
    };
    if time.tsc_to_system_mul == 0 || time.version % 2 == 1 || wall.version % 2 == 1 {
        return None;
    }
    let mut tsc_khz = (1_000_000u64 << 32) / u64::from(time.tsc_to_system_mul);
    if time.tsc_shift < 0 {
        tsc_khz <<= -time.tsc_shift;
    } else {
        tsc_khz >>= time.tsc_shift;
    }
    // Nanoseconds since the host's boot of the VM, at `tsc_timestamp`, plus
    // the wall-clock time of that boot.
    let boot_ns = u64::from(wall.sec) * 1_000_000_000 + u64::from(wall.nsec);
    Some(Reading {
        tsc_khz,
        wall_clock_ns: boot_ns + time.system_time,
        tsc: time.tsc_timestamp,
    })
}
