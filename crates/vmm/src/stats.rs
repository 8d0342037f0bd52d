//! Run statistics: phase timings, exit counts, memory use.

use std::time::Duration;

/// VM exits by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCounts {
    /// `ConsoleWrite` hypercalls.
    pub console_write: u64,
    /// `Exit` hypercalls.
    pub exit: u64,
    /// `ConsoleRead` hypercalls.
    pub console_read: u64,
    /// `CopyOut` hypercalls.
    pub copy_out: u64,
    /// Hypercalls with an unassigned number.
    pub unknown_hypercall: u64,
    /// Port I/O that is not a hypercall (all `in`, `out` to other ports).
    pub io_other: u64,
    /// MMIO reads and writes outside RAM.
    pub mmio: u64,
    /// `HLT` exits.
    pub hlt: u64,
    /// Any other exit (including the one that ended a crashed guest).
    pub other: u64,
}

impl ExitCounts {
    /// All exits.
    pub fn total(&self) -> u64 {
        self.console_write
            + self.exit
            + self.console_read
            + self.copy_out
            + self.unknown_hypercall
            + self.io_other
            + self.mmio
            + self.hlt
            + self.other
    }
}

/// Statistics of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Opening `/dev/kvm`, creating the VM, mapping and registering memory,
    /// creating the in-kernel interrupt controller(s).
    pub vm_create: Duration,
    /// Loading the image and writing page tables and GDT.
    pub load: Duration,
    /// Creating and configuring the vCPU (CPUID, registers), writing the boot
    /// info and reading the boot clock.
    pub vcpu_setup: Duration,
    /// From the first `KVM_RUN` until the guest ended.
    pub run: Duration,
    /// Everything, from the start of [`crate::Vm::run`] until the guest ended.
    pub total: Duration,
    /// Guest time from its entry point to `main` (from the `Exit` TSC stamps).
    pub guest_entry_to_main: Option<Duration>,
    /// Guest time from `main` to the `Exit` hypercall.
    pub main_to_exit: Option<Duration>,
    /// VM exits by kind.
    pub exits: ExitCounts,
    /// Guest RAM size in KiB.
    pub guest_size_kib: u64,
    /// Guest RAM actually resident in the host (touched) in KiB.
    pub guest_touched_kib: u64,
    /// Guest TSC frequency in kHz (0 if unknown).
    pub tsc_khz: u64,
}

/// Converts a TSC delta into a duration; `None` if either stamp is unknown
/// (zero), the delta is negative or the frequency is unknown.
pub fn tsc_delta(from: u64, to: u64, tsc_khz: u64) -> Option<Duration> {
    if from == 0 || to == 0 || tsc_khz == 0 || to < from {
        return None;
    }
    let ns = u128::from(to - from) * 1_000_000 / u128::from(tsc_khz);
    Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
}

fn us(d: Duration) -> u128 {
    d.as_micros()
}

impl RunStats {
    /// The `--verbose` timing line.
    pub fn timing_line(&self) -> String {
        format!(
            "[vessel] timing: vm_create_us={} load_us={} vcpu_setup_us={} run_us={} guest_entry_to_main_us={} main_to_exit_us={} total_us={}",
            us(self.vm_create),
            us(self.load),
            us(self.vcpu_setup),
            us(self.run),
            self.guest_entry_to_main.map_or(0, us),
            self.main_to_exit.map_or(0, us),
            us(self.total)
        )
    }

    /// The `--verbose` exits line.
    pub fn exits_line(&self) -> String {
        let e = &self.exits;
        format!(
            "[vessel] exits: total={} console_write={} exit={} unknown_hypercall={} io_other={} mmio={} hlt={} other={} console_read={} copy_out={}",
            e.total(),
            e.console_write,
            e.exit,
            e.unknown_hypercall,
            e.io_other,
            e.mmio,
            e.hlt,
            e.other,
            e.console_read,
            e.copy_out
        )
    }

    /// The `--verbose` memory line.
    pub fn memory_line(&self) -> String {
        format!(
            "[vessel] memory: guest_size_kib={} guest_touched_kib={}",
            self.guest_size_kib, self.guest_touched_kib
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_machine_parsable() {
        let s = RunStats {
            vm_create: Duration::from_micros(1),
            load: Duration::from_micros(2),
            vcpu_setup: Duration::from_micros(3),
            run: Duration::from_micros(4),
            total: Duration::from_micros(10),
            guest_entry_to_main: Some(Duration::from_micros(5)),
            main_to_exit: None,
            exits: ExitCounts {
                console_write: 2,
                exit: 1,
                ..Default::default()
            },
            guest_size_kib: 131072,
            guest_touched_kib: 64,
            tsc_khz: 1,
        };
        assert_eq!(
            s.timing_line(),
            "[vessel] timing: vm_create_us=1 load_us=2 vcpu_setup_us=3 run_us=4 guest_entry_to_main_us=5 main_to_exit_us=0 total_us=10"
        );
        assert_eq!(
            s.exits_line(),
            "[vessel] exits: total=3 console_write=2 exit=1 unknown_hypercall=0 io_other=0 mmio=0 hlt=0 other=0 console_read=0 copy_out=0"
        );
        assert_eq!(
            s.memory_line(),
            "[vessel] memory: guest_size_kib=131072 guest_touched_kib=64"
        );
    }

    #[test]
    fn tsc_deltas() {
        assert_eq!(
            tsc_delta(1000, 3000, 2_000_000),
            Some(Duration::from_micros(1))
        );
        assert_eq!(tsc_delta(0, 3000, 2000), None);
        assert_eq!(tsc_delta(3000, 1000, 2000), None);
        assert_eq!(
            tsc_delta(1, u64::MAX, 1),
            Some(Duration::from_nanos(u64::MAX))
        );
    }
}
