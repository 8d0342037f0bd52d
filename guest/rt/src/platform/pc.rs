//! A standard PC, as QEMU (`microvm`, `q35`), Firecracker and Cloud
//! Hypervisor present it to a PVH kernel.
//!
//! * Console: the 16550 UART at COM1 (0x3f8), polled. Standard output and
//!   standard error both go there.
//! * Exit: QEMU's `isa-debug-exit` device at port 0xf4, if present, makes
//!   QEMU exit with status `(code << 1) | 1` (so guest status 0 shows as 1,
//!   101 as 203); then a keyboard-controller reset, which QEMU with
//!   `-no-reboot` and Firecracker turn into the VM's end (exit code lost);
//!   then a triple fault.
//! * Time: kvmclock on KVM (QEMU, Firecracker): exact TSC frequency and wall
//!   clock. Elsewhere the TSC frequency from CPUID, else calibrated against
//!   the PIT (10 ms, bounded), and the wall clock from the CMOS real-time
//!   clock (1 s resolution), or the epoch if there is none.

use super::{Platform, kvmclock};
use crate::arch::{cpu, paging, tsc};
use crate::mem::phys_to_virt;
use crate::panic::fatal;
use crate::pvh::{self, MemmapEntry, ModuleEntry, StartInfo};
use crate::sync::SpinLock;
use crate::time_conv;
use core::cell::UnsafeCell;
use core::ops::Range;
use vessel_abi::boot::{BOOT_INFO_MAGIC, Blob, BootInfo, StringList};
use vessel_abi::hypercall::{ExitReason, Stream};
use vessel_abi::layout::KERNEL_VIRT_BASE;

const COM1: u16 = 0x3f8;
const DEBUG_EXIT_PORT: u16 = 0xf4;
/// Bytes the UART's transmit FIFO takes once it reports empty.
const UART_FIFO: usize = 16;
/// Polls of the line-status register before writing anyway.
const UART_POLLS: u32 = 100_000;

/// A standard PC.
pub(crate) struct Pc {
    /// Whether the UART has been programmed.
    uart_ready: SpinLock<bool>,
}

/// The one instance.
pub(crate) static PC: Pc = Pc {
    uart_ready: SpinLock::new(false),
};

impl Pc {
    fn write_uart(&self, bytes: &[u8]) {
        let mut ready = self.uart_ready.lock();
        // SAFETY: COM1's registers drive a serial line, no memory.
        unsafe {
            if !*ready {
                for (offset, value) in [
                    (1, 0x00),
                    (3, 0x80),
                    (0, 0x01),
                    (1, 0x00),
                    (3, 0x03),
                    (2, 0xc7),
                    (4, 0x03),
                ] {
                    self.port_write_u8(COM1 + offset, value); // 115200 8N1, FIFO on
                }
                *ready = true;
            }
            for chunk in bytes.chunks(UART_FIFO) {
                let mut polls = 0;
                while self.port_read_u8(COM1 + 5) & 0x20 == 0 && polls < UART_POLLS {
                    polls += 1;
                }
                for &byte in chunk {
                    self.port_write_u8(COM1, byte);
                }
            }
        }
    }
}

impl Platform for Pc {
    fn console_write(&self, _stream: Stream, bytes: &[u8]) {
        self.write_uart(bytes);
    }

    /// Serial input is not wired up yet: the console reads as empty.
    fn console_read(&self, _buf: &mut [u8]) -> Option<usize> {
        Some(0)
    }

    fn exit(&self, code: i32, _reason: ExitReason) -> ! {
        // SAFETY: isa-debug-exit and the keyboard controller's reset line
        // end the VM; an absent device ignores the write.
        unsafe {
            self.port_write_u8(DEBUG_EXIT_PORT, code as u8);
            self.port_write_u8(0x64, 0xfe);
        }
        cpu::triple_fault()
    }
}

/// Most memory-map entries and modules read from the start info.
const MAX_MEMMAP_ENTRIES: usize = 128;
const MAX_MODULES: usize = 16;
/// Longest command line accepted.
const MAX_COMMAND_LINE: usize = 4096;

/// The unpacked command line (arguments, then environment), in the image
/// so that boot-info validation finds it in image memory.
struct ArgumentBuffer(UnsafeCell<[u8; MAX_COMMAND_LINE]>);

// SAFETY: written once, by the boot CPU before anything else runs.
unsafe impl Sync for ArgumentBuffer {}

static ARGUMENTS: ArgumentBuffer = ArgumentBuffer(UnsafeCell::new([0; MAX_COMMAND_LINE]));

/// Reads `T`s from guest-physical memory through the early direct map,
/// which covers the first 1 GiB: everything a PVH loader hands over.
fn read_phys<T: Copy + Default, const N: usize>(phys: u64, count: usize) -> ([T; N], usize) {
    let mut out = [T::default(); N];
    let count = count.min(N);
    let bytes = (count * size_of::<T>()) as u64;
    if phys.checked_add(bytes).is_none_or(|end| end > 1 << 30) {
        fatal(format_args!(
            "PVH boot data at {phys:#x} is outside the first 1 GiB"
        ));
    }
    for (i, slot) in out.iter_mut().take(count).enumerate() {
        let address = phys_to_virt(phys + (i * size_of::<T>()) as u64) as *const T;
        // SAFETY: the early page tables map the first 1 GiB at the direct
        // map (checked above); `T` is plain integers, valid for any bits;
        // unaligned reads are used since the hypervisor chose the address.
        *slot = unsafe { address.read_unaligned() };
    }
    (out, count)
}

/// Masks both legacy 8259 interrupt controllers. Firmware (SeaBIOS on
/// q35) leaves them programmed with vector base 8, where a timer or device
/// interrupt would land on CPU exception vectors; vessel-rt uses the local
/// APIC only.
fn mask_legacy_pic() {
    // SAFETY: writing the interrupt-mask registers of the 8259s only stops
    // them from raising interrupts; they do no DMA.
    unsafe {
        PC.port_write_u8(0x21, 0xff);
        PC.port_write_u8(0xa1, 0xff);
    }
}

/// Builds Vessel boot info from the PVH start info at `phys`.
pub(crate) fn boot_info_from_pvh(phys: u64) -> BootInfo {
    mask_legacy_pic();
    let ([info], _) = read_phys::<StartInfo, 1>(phys, 1);
    if let Err(e) = pvh::check_start_info(&info) {
        fatal(format_args!("PVH boot: {e}"));
    }
    let (entries, count) = read_phys::<MemmapEntry, MAX_MEMMAP_ENTRIES>(
        info.memmap_paddr,
        info.memmap_entries as usize,
    );
    let (modules, module_count) =
        read_phys::<ModuleEntry, MAX_MODULES>(info.modlist_paddr, info.nr_modules as usize);
    let reserved: [Range<u64>; MAX_MODULES] = core::array::from_fn(|i| {
        modules[i].paddr..modules[i].paddr.saturating_add(modules[i].size)
    });
    let map = pvh::memory_map(
        &entries[..count],
        paging::image_phys(),
        &reserved[..module_count],
    )
    .unwrap_or_else(|e| fatal(format_args!("PVH boot: {e}")));
    let (args, env) = unpack_command_line(info.cmdline_paddr);
    let clock = clock();
    BootInfo {
        magic: BOOT_INFO_MAGIC,
        abi_version: vessel_abi::ABI_VERSION,
        memory_region_count: map.count as u32,
        memory_regions: map.regions,
        memory_size: map.memory_size,
        args,
        env,
        tsc_khz: clock.tsc_khz,
        wall_clock_ns: clock.wall_clock_ns,
        boot_tsc: clock.tsc,
        // A Linux program and its files could come as PVH modules (an
        // initrd); not wired up yet.
        initial_program: Blob::default(),
        initial_files: Blob::default(),
    }
}

/// TSC frequency and wall clock: kvmclock when on KVM (exact); else CPUID
/// for the frequency, the PIT as a last resort, and the CMOS clock.
fn clock() -> kvmclock::Reading {
    if let Some(reading) = kvmclock::read() {
        return reading;
    }
    let tsc_khz = tsc::khz_from_cpuid()
        .or_else(tsc::calibrate_with_pit)
        .unwrap_or_else(|| {
            fatal(format_args!(
                "cannot tell the TSC frequency: no kvmclock, no CPUID leaf, no PIT"
            ))
        });
    kvmclock::Reading {
        tsc_khz,
        wall_clock_ns: cmos_unix_seconds().saturating_mul(1_000_000_000),
        tsc: cpu::rdtsc(),
    }
}

/// Copies the command line into [`ARGUMENTS`] as packed strings.
fn unpack_command_line(phys: u64) -> (StringList, StringList) {
    let (line, len) = if phys == 0 {
        ([0u8; MAX_COMMAND_LINE], 0)
    } else {
        let (bytes, _) = read_phys::<u8, MAX_COMMAND_LINE>(phys, MAX_COMMAND_LINE);
        let len = bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MAX_COMMAND_LINE);
        (bytes, len)
    };
    let buffer = ARGUMENTS.0.get();
    // SAFETY: the boot CPU is the only code running, and this is the only
    // place that writes the buffer; nothing else has a reference to it.
    let packed = pvh::pack_command_line(&line[..len], unsafe { &mut *buffer })
        .unwrap_or_else(|e| fatal(format_args!("PVH boot: {e}")));
    let base = buffer as u64 - KERNEL_VIRT_BASE;
    let args = StringList {
        addr: base,
        len: packed.args_len as u64,
        count: packed.args_count as u64,
    };
    let env = StringList {
        addr: base + packed.args_len as u64,
        len: packed.env_len as u64,
        count: packed.env_count as u64,
    };
    (args, env)
}

/// Reads the CMOS real-time clock; 0 if there is none or it never settles.
fn cmos_unix_seconds() -> u64 {
    let read = |register: u8| {
        // SAFETY: ports 0x70/0x71 select and read a CMOS register, no memory.
        unsafe {
            PC.port_write_u8(0x70, register);
            PC.port_read_u8(0x71)
        }
    };
    // Wait (bounded) for no update in progress, then read twice until stable.
    for _ in 0..1000 {
        if read(0x0a) & 0x80 != 0 {
            continue;
        }
        let first = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09].map(read);
        let second = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09].map(read);
        if first != second {
            continue;
        }
        let status_b = read(0x0b);
        let decode = |v: u8| {
            if status_b & 0x04 != 0 {
                u64::from(v)
            } else {
                u64::from(v & 0x0f) + u64::from(v >> 4) * 10
            }
        };
        let [second, minute, hour, day, month, year] = first;
        let hour = decode(hour & 0x7f) % 24;
        let (year, month, day) = (2000 + decode(year), decode(month), decode(day));
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || year == 2000 && month == 0 {
            return 0;
        }
        return time_conv::unix_seconds(year, month, day, hour, decode(minute), decode(second));
    }
    0
}
