//! The platform layer: how the guest reaches the machine it runs on.
//!
//! One interface, chosen at boot from how the image was entered:
//! * [`vessel`]: Vessel's own VMM (entered at `_start`): hypercalls for the
//!   console and exit, boot info from the VMM;
//! * [`pc`]: a standard PC as QEMU, Firecracker or Cloud Hypervisor present
//!   it (entered through PVH): a 16550 UART console, exit through
//!   `isa-debug-exit` or a reset.
//!
//! Everything that touches the host goes through here: the console, exit,
//! port I/O, MMIO and memory shared with the host. That is the seam for
//! confidential-VM platforms (TDX, SEV-SNP), where the host cannot emulate
//! a trapping instruction: they must do port I/O and MMIO by TDVMCALL or
//! through the GHCB, and convert pages before sharing them. They would be
//! further implementations of [`Platform`] overriding those methods, chosen
//! by cargo features of vessel-rt; nothing above vessel-rt changes.

mod kvmclock;
pub(crate) mod pc;
pub(crate) mod vessel;

use core::sync::atomic::{AtomicU8, Ordering};
use vessel_abi::hypercall::{COPY_OUT_DIRECTORY, COPY_OUT_LAST, ExitReason, Status, Stream};

/// What a platform provides.
pub(crate) trait Platform: Sync {
    /// Writes `bytes` to the console stream. The bytes live in the image
    /// (memory the host may be shown).
    fn console_write(&self, stream: Stream, bytes: &[u8]);

    /// Reads console input (the host's standard input) into `buf` without
    /// waiting: the byte count, 0 at end of input; `None` if none is ready
    /// yet, in which case the platform raises the input interrupt
    /// ([`crate::arch::trap::INPUT_VECTOR`]) once some is.
    fn console_read(&self, buf: &mut [u8]) -> Option<usize>;

    /// Ends the VM. Buffered console output has been flushed.
    fn exit(&self, code: i32, reason: ExitReason) -> !;

    /// Writes a byte to an I/O port.
    ///
    /// # Safety
    /// The port must belong to a device whose programming cannot break
    /// memory safety (nothing that sets up DMA or remaps memory).
    unsafe fn port_write_u8(&self, port: u16, value: u8) {
        // SAFETY: forwarded to the caller.
        unsafe { crate::arch::cpu::port_write_u8(port, value) }
    }

    /// Reads a byte from an I/O port.
    ///
    /// # Safety
    /// As for [`Platform::port_write_u8`] (reads can have side effects).
    unsafe fn port_read_u8(&self, port: u16) -> u8 {
        // SAFETY: forwarded to the caller.
        unsafe { crate::arch::cpu::port_read_u8(port) }
    }

    /// Reads the 32-bit device register at physical address `phys`. The
    /// default is a volatile load through the page's uncached kernel mapping.
    ///
    /// # Safety
    /// `phys` must be 4-byte aligned and lie in a device page mapped with
    /// [`crate::arch::paging::map_mmio`], and the device must be one whose
    /// programming cannot break memory safety (nothing that sets up DMA or
    /// remaps memory); reads can have side effects.
    unsafe fn mmio_read_u32(&self, phys: u64) -> u32 {
        // SAFETY: the caller guarantees an aligned register in a page
        // `map_mmio` mapped at its direct-map address, uncached; the load
        // touches the device, never RAM.
        unsafe { core::ptr::read_volatile(crate::mem::phys_to_virt(phys) as *const u32) }
    }

    /// Writes the 32-bit device register at physical address `phys`. The
    /// default is a volatile store through the page's uncached kernel
    /// mapping.
    ///
    /// # Safety
    /// As for [`Platform::mmio_read_u32`].
    unsafe fn mmio_write_u32(&self, phys: u64, value: u32) {
        // SAFETY: as in `mmio_read_u32`; the caller guarantees the device
        // cannot break memory safety through this register.
        unsafe { core::ptr::write_volatile(crate::mem::phys_to_virt(phys) as *mut u32, value) }
    }

    /// Hands the host one chunk of copy-out slot `slot` (`flags` as in
    /// vessel-abi's `CopyOut`); the chunk is at most [`COPY_OUT_CHUNK`]
    /// bytes. Platforms without such a host service refuse.
    fn copy_out(&self, _slot: u32, _flags: u32, _chunk: &[u8]) -> Result<(), Status> {
        Err(Status::UnknownHypercall)
    }

    /// Makes `[phys, phys + len)` readable and writable by the host (a no-op
    /// on a normal VM, where the host sees all guest memory).
    fn share_with_host(&self, _phys: u64, _len: u64) {}
}

const VESSEL: u8 = 0;
const PC: u8 = 1;

/// Which platform booted; set once, first thing at entry.
static CURRENT: AtomicU8 = AtomicU8::new(VESSEL);

/// Records that the image was entered through PVH on a standard PC.
pub(crate) fn select_pc() {
    CURRENT.store(PC, Ordering::Relaxed);
}

/// The platform this image booted on.
pub(crate) fn current() -> &'static dyn Platform {
    match CURRENT.load(Ordering::Relaxed) {
        PC => &pc::PC,
        _ => &vessel::VESSEL,
    }
}

/// Size of the chunks [`copy_out`] sends (one VM exit each).
pub const COPY_OUT_CHUNK: usize = 64 << 10;

/// Hands `data` to the host for its copy-out slot `slot` (`vessel run
/// --copy-out`, in order): the bytes of a file, or if `directory` a cpio
/// "newc" archive of a directory's contents. The host writes it out when
/// the VM has ended. Fails where the host offers no such service (the PVH
/// platform) or rejects the request.
pub fn copy_out(slot: u32, directory: bool, data: &[u8]) -> Result<(), Status> {
    let kind = if directory { COPY_OUT_DIRECTORY } else { 0 };
    let mut chunks = data.chunks(COPY_OUT_CHUNK).peekable();
    if chunks.peek().is_none() {
        return current().copy_out(slot, kind | COPY_OUT_LAST, &[]);
    }
    while let Some(chunk) = chunks.next() {
        let last = if chunks.peek().is_none() {
            COPY_OUT_LAST
        } else {
            0
        };
        current().copy_out(slot, kind | last, chunk)?;
    }
    Ok(())
}

/// Ends the VM with exit status `code`, after flushing buffered output.
pub fn exit(code: i32) -> ! {
    exit_with(code, ExitReason::Normal)
}

/// Ends the VM, telling the host why.
pub(crate) fn exit_with(code: i32, reason: ExitReason) -> ! {
    crate::console::flush();
    crate::arch::cpu::disable_interrupts();
    current().exit(code, reason)
}
