//! The contract between the Vessel hypervisor (`vessel-vmm`) and a Vessel
//! guest (`vessel-rt`).
//!
//! Everything that crosses the host–guest boundary is defined here, once, in
//! plain `#[repr(C)]` structs of fixed-size integers, so that both sides agree
//! on every byte. All addresses are 64-bit guest-physical addresses.
//!
//! # Entering a guest
//!
//! The VMM loads the image's `PT_LOAD` segments at their physical addresses
//! ([`layout::IMAGE_MIN_PHYS`] or above), builds the kernel's page tables
//! described in [`layout`] (final: the guest keeps them), writes a
//! [`BootInfo`] and enters the image's 64-bit entry point directly: long
//! mode, paging on, interrupts off,
//! `CS` = [`layout::GDT_CODE_SELECTOR`], `DS`/`ES`/`SS` = [`layout::GDT_DATA_SELECTOR`],
//! `EFER.NXE` set, `RDI` = guest-physical address of the [`BootInfo`].
//! There is no firmware, no real mode and no device probing.
//!
//! # Hypercalls
//!
//! A hypercall is one `out dx, eax` instruction: `DX` is
//! [`hypercall::PORT_BASE`] plus the hypercall number and `RAX` holds the full
//! 64-bit guest-physical address of the argument struct. Every argument struct
//! starts with a [`hypercall::Header`] whose `status` the host overwrites with
//! a [`hypercall::Status`] (or, for calls that transfer data, a byte count).
#![no_std]
#![forbid(unsafe_code)]

/// Version of this contract. A guest refuses boot info of another version,
/// and the VMM refuses an image that declares one it does not speak.
pub const ABI_VERSION: u32 = 5;

/// The ELF note that marks a Vessel guest image and says which version of
/// this contract it speaks: name [`note::NAME`], type [`note::ABI_VERSION_TYPE`],
/// a 4-byte little-endian [`ABI_VERSION`] as description. `vessel run`
/// boots files with this note directly; any other x86-64 ELF executable is
/// treated as a Linux program for the vessel-linux kernel.
pub mod note {
    /// The note's name (without the terminating NUL).
    pub const NAME: &str = "Vessel";
    /// The note's type: the ABI version.
    pub const ABI_VERSION_TYPE: u32 = 1;
}

/// Guest memory layout at entry.
pub mod layout {
    /// Virtual address of physical address 0 in the kernel-image window:
    /// the image's code and data run at `KERNEL_VIRT_BASE + physical address`
    /// (the top 2 GiB of the address space, x86-64's kernel code model).
    pub const KERNEL_VIRT_BASE: u64 = 0xffff_ffff_8000_0000;
    /// Size of the kernel-image window: the image must lie in the first
    /// 1 GiB of guest-physical memory. At entry the window maps the image's
    /// pages only, 4 KiB pages with the rights of their `PT_LOAD` segments
    /// (`PF_W`: writable, no `PF_X`: no-execute; a page two segments share
    /// has both rights), global.
    pub const KERNEL_WINDOW_SIZE: u64 = 1 << 30;
    /// Virtual address of physical address 0 in the direct map, which maps
    /// all guest RAM at entry: read-write, no-execute, global, in 2 MiB pages
    /// except in the 2 MiB chunks the image spans, mapped in 4 KiB pages with
    /// the image's own pages read-only (no writable alias of its code).
    ///
    /// These tables (in the boot-data area, which the guest must keep) are
    /// final: the guest may use them as its kernel tables, changing what it
    /// needs (e.g. unmapping guard pages) rather than building its own.
    pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
    /// The lowest physical address an image segment may occupy. Memory below
    /// it holds the VMM's boot structures (GDT, page tables, boot info,
    /// arguments) and is reserved in the memory map.
    pub const IMAGE_MIN_PHYS: u64 = 0x20_0000;
    /// Granularity of guest memory sizes (the direct map uses 2 MiB pages).
    pub const MEMORY_GRANULE: u64 = 0x20_0000;
    /// Code segment selector of the boot GDT (64-bit, ring 0).
    pub const GDT_CODE_SELECTOR: u16 = 0x08;
    /// Data segment selector of the boot GDT (ring 0).
    pub const GDT_DATA_SELECTOR: u16 = 0x10;

    /// Converts a guest-physical address to its direct-map virtual address.
    pub const fn phys_to_direct_map(phys: u64) -> u64 {
        DIRECT_MAP_BASE + phys
    }
}

/// The boot information block handed to the guest in `RDI`.
pub mod boot {
    /// [`BootInfo::magic`]: ASCII `"VESSELBI"`, little-endian.
    pub const BOOT_INFO_MAGIC: u64 = u64::from_le_bytes(*b"VESSELBI");
    /// Most memory regions a [`BootInfo`] describes.
    pub const MAX_MEMORY_REGIONS: usize = 32;

    /// What a memory region may be used for.
    #[repr(u32)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum MemoryKind {
        /// Free RAM the guest may use as it likes. It reads as zero at entry
        /// (the VMM never writes there), so the guest need not zero it.
        Usable = 1,
        /// Boot structures written by the VMM (page tables, GDT, boot info,
        /// argument strings). The guest may reclaim it once it has copied out
        /// what it needs.
        BootData = 2,
        /// The loaded image itself.
        Image = 3,
    }

    impl MemoryKind {
        /// Decodes a raw kind, or `None` for a value this ABI does not define.
        pub const fn from_raw(raw: u32) -> Option<Self> {
            match raw {
                1 => Some(Self::Usable),
                2 => Some(Self::BootData),
                3 => Some(Self::Image),
                _ => None,
            }
        }
    }

    /// One range of guest-physical memory.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct MemoryRegion {
        /// First byte of the region (page aligned).
        pub start: u64,
        /// Length in bytes (a multiple of the page size).
        pub len: u64,
        /// A [`MemoryKind`] as its raw value.
        pub kind: u32,
        /// Always zero.
        pub reserved: u32,
    }

    /// A span of guest-physical memory handed over by the VMM.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Blob {
        /// Guest-physical address of the first byte (0 with `len` 0: none).
        pub addr: u64,
        /// Length in bytes.
        pub len: u64,
    }

    /// A list of strings packed as consecutive NUL-terminated byte strings.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct StringList {
        /// Guest-physical address of the first byte.
        pub addr: u64,
        /// Total length in bytes, including every terminating NUL.
        pub len: u64,
        /// Number of strings.
        pub count: u64,
    }

    /// Boot information, written by the VMM below
    /// [`crate::layout::IMAGE_MIN_PHYS`]. The guest copies it out once and
    /// validates every field before use.
    #[repr(C)]
    #[derive(Clone, Copy, Debug)]
    pub struct BootInfo {
        /// [`BOOT_INFO_MAGIC`].
        pub magic: u64,
        /// [`crate::ABI_VERSION`].
        pub abi_version: u32,
        /// Number of valid entries in `memory_regions`.
        pub memory_region_count: u32,
        /// The guest-physical memory map, sorted by address, non-overlapping.
        pub memory_regions: [MemoryRegion; MAX_MEMORY_REGIONS],
        /// Total guest memory in bytes (`[0, memory_size)` is RAM).
        pub memory_size: u64,
        /// Program arguments, `argv[0]` first.
        pub args: StringList,
        /// Environment, as `KEY=VALUE` strings.
        pub env: StringList,
        /// Frequency of the guest's time-stamp counter in kHz.
        pub tsc_khz: u64,
        /// Wall-clock time (nanoseconds since the Unix epoch) at the moment
        /// the guest TSC read `boot_tsc`.
        pub wall_clock_ns: u64,
        /// The guest TSC value that corresponds to `wall_clock_ns`.
        pub boot_tsc: u64,
        /// A program for the guest kernel to run (the Linux executable given
        /// to `vessel run` when the guest is the vessel-linux kernel), in a
        /// boot-data region; empty if none.
        pub initial_program: Blob,
        /// Files for the guest kernel's root file system (`vessel run
        /// --volume`): a cpio archive in the SVR4 "newc" format, the one the
        /// Linux initramfs uses, in a boot-data region; empty if none.
        pub initial_files: Blob,
    }
}

/// Hypercall numbers and argument structs.
pub mod hypercall {
    /// I/O port of hypercall number 0. Hypercall `n` is an `out` to
    /// `PORT_BASE + n`.
    pub const PORT_BASE: u16 = 0x0e00;
    /// Number of ports reserved for hypercalls, `[PORT_BASE, PORT_BASE + PORT_COUNT)`.
    /// An `out` to an unassigned port in this range fails with
    /// [`Status::UnknownHypercall`].
    pub const PORT_COUNT: u16 = 0x100;
    /// Largest buffer a single [`ConsoleWrite`] may carry (1 MiB). Longer
    /// writes fail with [`Status::BadLength`]; the guest splits them.
    pub const MAX_CONSOLE_WRITE: u64 = 1 << 20;

    /// The hypercall numbers.
    #[repr(u16)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Number {
        /// Write a buffer to the host's stdout or stderr: [`ConsoleWrite`].
        ConsoleWrite = 0,
        /// Stop the VM with an exit code: [`Exit`]. Never returns.
        Exit = 1,
        /// Read from the host's standard input: [`ConsoleRead`].
        ConsoleRead = 2,
        /// Hand the host part of a file tree to keep: [`CopyOut`].
        CopyOut = 3,
    }

    impl Number {
        /// The port a guest writes to for this hypercall.
        pub const fn port(self) -> u16 {
            PORT_BASE + self as u16
        }

        /// Decodes the hypercall a port stands for, if any.
        pub const fn from_port(port: u16) -> Option<Self> {
            match port.wrapping_sub(PORT_BASE) {
                0 => Some(Self::ConsoleWrite),
                1 => Some(Self::Exit),
                2 => Some(Self::ConsoleRead),
                3 => Some(Self::CopyOut),
                _ => None,
            }
        }
    }

    /// Whether `port` lies in the hypercall port range.
    pub const fn is_hypercall_port(port: u16) -> bool {
        port >= PORT_BASE && port - PORT_BASE < PORT_COUNT
    }

    /// Outcome of a hypercall, stored in [`Header::status`]. Non-negative
    /// values mean success (for data transfers: the byte count).
    #[repr(i64)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Status {
        /// Success.
        Ok = 0,
        /// The port is in the hypercall range but names no hypercall.
        UnknownHypercall = -1,
        /// The argument struct or a buffer it names is not in guest memory
        /// (or the address arithmetic wraps).
        BadAddress = -2,
        /// A length is too large.
        BadLength = -3,
        /// Some other argument is invalid (e.g. an unknown stream).
        BadArgument = -4,
        /// The host failed to carry the request out (e.g. its stdout is closed).
        HostError = -5,
        /// No input is ready yet ([`ConsoleRead`]); the host raises
        /// [`INPUT_VECTOR`] once there is.
        WouldBlock = -6,
        /// The guest sets this before the call; it stays if the host could not
        /// even write a status (argument struct outside guest memory).
        NotHandled = i64::MIN,
    }

    impl Status {
        /// Decodes a raw status; `None` for a non-negative byte count or an
        /// unknown code.
        pub const fn from_raw(raw: i64) -> Option<Self> {
            match raw {
                0 => Some(Self::Ok),
                -1 => Some(Self::UnknownHypercall),
                -2 => Some(Self::BadAddress),
                -3 => Some(Self::BadLength),
                -4 => Some(Self::BadArgument),
                -5 => Some(Self::HostError),
                -6 => Some(Self::WouldBlock),
                i64::MIN => Some(Self::NotHandled),
                _ => None,
            }
        }
    }

    /// Interprets the status the host wrote back for a call that asked to
    /// transfer `requested` bytes. The host is untrusted: a count other than
    /// the one requested, or a code this ABI does not define, is reported as
    /// [`Status::HostError`], never taken at face value; a status the host
    /// left untouched is [`Status::NotHandled`].
    pub const fn check_transfer(raw: i64, requested: u64) -> Result<u64, Status> {
        if raw >= 0 {
            return if raw as u64 == requested {
                Ok(requested)
            } else {
                Err(Status::HostError)
            };
        }
        match Status::from_raw(raw) {
            Some(status) => Err(status),
            None => Err(Status::HostError),
        }
    }

    /// Interprets the status of a read of at most `requested` bytes: the
    /// count (0 at end of input), or the error. A count above `requested` or
    /// an undefined code is [`Status::HostError`].
    pub const fn check_read(raw: i64, requested: u64) -> Result<u64, Status> {
        if raw >= 0 {
            return if raw as u64 <= requested {
                Ok(raw as u64)
            } else {
                Err(Status::HostError)
            };
        }
        match Status::from_raw(raw) {
            Some(status) => Err(status),
            None => Err(Status::HostError),
        }
    }

    /// First field of every argument struct.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Header {
        /// Written by the host: a [`Status`] or a non-negative count.
        pub status: i64,
    }

    impl Default for Header {
        fn default() -> Self {
            Self {
                status: Status::NotHandled as i64,
            }
        }
    }

    /// The stream a [`ConsoleWrite`] goes to.
    #[repr(u32)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Stream {
        /// The host's standard output.
        Stdout = 1,
        /// The host's standard error.
        Stderr = 2,
    }

    /// Arguments of [`Number::ConsoleWrite`]. On success `header.status` is
    /// the number of bytes written (always `len`).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct ConsoleWrite {
        /// Status, written by the host.
        pub header: Header,
        /// A [`Stream`] as its raw value.
        pub stream: u32,
        /// Always zero.
        pub reserved: u32,
        /// Guest-physical address of the bytes.
        pub buf: u64,
        /// Number of bytes, at most [`MAX_CONSOLE_WRITE`].
        pub len: u64,
    }

    /// Largest buffer a single [`ConsoleRead`] fills (64 KiB).
    pub const MAX_CONSOLE_READ: u64 = 64 << 10;

    /// Interrupt vector the host raises (a fixed-delivery MSI to the boot
    /// vCPU's local APIC) when input becomes ready after a [`ConsoleRead`]
    /// answered [`Status::WouldBlock`]: once per such answer, when bytes or
    /// the end of input arrive. A guest that never sees `WouldBlock` never
    /// receives it.
    pub const INPUT_VECTOR: u8 = 33;

    /// Arguments of [`Number::ConsoleRead`]: read at most `len` bytes of the
    /// host's standard input into `buf`, without waiting. On success
    /// `header.status` is the number of bytes read, 0 at end of input; if
    /// no input is ready yet it is [`Status::WouldBlock`], and the host
    /// raises [`INPUT_VECTOR`] when some is (the guest runs on meanwhile:
    /// its other tasks, or `hlt` until the interrupt).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct ConsoleRead {
        /// Status, written by the host.
        pub header: Header,
        /// Guest-physical address of the buffer.
        pub buf: u64,
        /// Size of the buffer, at most [`MAX_CONSOLE_READ`].
        pub len: u64,
    }

    /// Largest chunk a single [`CopyOut`] may carry (1 MiB).
    pub const MAX_COPY_OUT_CHUNK: u64 = 1 << 20;
    /// [`CopyOut::flags`]: the transfer is a cpio "newc" archive of a
    /// directory's contents (names relative to it), not a file's bytes.
    pub const COPY_OUT_DIRECTORY: u32 = 1;
    /// [`CopyOut::flags`]: this chunk ends the transfer.
    pub const COPY_OUT_LAST: u32 = 2;

    /// Arguments of [`Number::CopyOut`]: the next chunk of what the guest
    /// hands over for copy-out slot `slot` (the host's `vessel run
    /// --copy-out` entries, in order; the guest learns them from its
    /// environment). Chunks of one slot are appended in order; the host
    /// keeps a transfer only once its [`COPY_OUT_LAST`] chunk arrived, and
    /// writes it out when the guest has ended. A slot may be sent again: the
    /// new transfer replaces the old. On success `header.status` is `len`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct CopyOut {
        /// Status, written by the host.
        pub header: Header,
        /// Which copy-out entry this is for.
        pub slot: u32,
        /// [`COPY_OUT_DIRECTORY`] and/or [`COPY_OUT_LAST`].
        pub flags: u32,
        /// Guest-physical address of the chunk.
        pub buf: u64,
        /// Length of the chunk, at most [`MAX_COPY_OUT_CHUNK`].
        pub len: u64,
    }

    /// How the guest ended, in [`Exit::reason`].
    #[repr(u32)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ExitReason {
        /// The program returned or called `exit`.
        Normal = 0,
        /// The program (or the kernel) panicked; the message went to stderr.
        Panic = 1,
    }

    /// Arguments of [`Number::Exit`]. The TSC stamps let the host report
    /// where the guest spent its time without extra exits; zero means unknown.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Exit {
        /// Status, written by the host only if the request is rejected.
        pub header: Header,
        /// The exit code (the host's process exit status is `code & 0xff`).
        pub code: i32,
        /// An [`ExitReason`] as its raw value.
        pub reason: u32,
        /// Guest TSC at the first instruction of the entry point.
        pub tsc_entry: u64,
        /// Guest TSC when the application's `main` was called.
        pub tsc_main: u64,
        /// Guest TSC when this exit was requested.
        pub tsc_exit: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::boot::*;
    use super::hypercall::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn boot_info_layout_is_stable() {
        assert_eq!(size_of::<MemoryRegion>(), 24);
        assert_eq!(size_of::<StringList>(), 24);
        assert_eq!(offset_of!(BootInfo, memory_regions), 16);
        assert_eq!(
            offset_of!(BootInfo, memory_size),
            16 + 24 * MAX_MEMORY_REGIONS
        );
        assert_eq!(size_of::<Blob>(), 16);
        let clock_end = 16 + 24 * MAX_MEMORY_REGIONS + 8 + 48 + 24;
        assert_eq!(offset_of!(BootInfo, initial_program), clock_end);
        assert_eq!(offset_of!(BootInfo, initial_files), clock_end + 16);
        assert_eq!(size_of::<BootInfo>(), clock_end + 32);
    }

    #[test]
    fn hypercall_structs_start_with_header() {
        assert_eq!(offset_of!(ConsoleWrite, header), 0);
        assert_eq!(offset_of!(Exit, header), 0);
        assert_eq!(size_of::<ConsoleWrite>(), 32);
        assert_eq!(size_of::<Exit>(), 40);
        assert_eq!(offset_of!(ConsoleRead, header), 0);
        assert_eq!(size_of::<ConsoleRead>(), 24);
        assert_eq!(offset_of!(CopyOut, header), 0);
        assert_eq!(size_of::<CopyOut>(), 32);
    }

    #[test]
    fn ports_round_trip() {
        for n in [Number::ConsoleWrite, Number::Exit, Number::ConsoleRead] {
            assert_eq!(Number::from_port(n.port()), Some(n));
            assert!(is_hypercall_port(n.port()));
        }
        assert_eq!(Number::from_port(PORT_BASE + 7), None);
        assert!(is_hypercall_port(PORT_BASE + PORT_COUNT - 1));
        assert!(!is_hypercall_port(PORT_BASE + PORT_COUNT));
        assert!(!is_hypercall_port(PORT_BASE - 1));
    }

    #[test]
    fn transfer_results_from_the_host_are_checked() {
        assert_eq!(check_transfer(12, 12), Ok(12));
        assert_eq!(check_transfer(0, 0), Ok(0));
        // A hostile or buggy host: wrong counts and undefined codes.
        assert_eq!(check_transfer(13, 12), Err(Status::HostError));
        assert_eq!(check_transfer(5, 12), Err(Status::HostError));
        assert_eq!(check_transfer(i64::MAX, 12), Err(Status::HostError));
        assert_eq!(check_transfer(-77, 12), Err(Status::HostError));
        // Defined errors pass through; an untouched status says so.
        assert_eq!(check_transfer(-2, 12), Err(Status::BadAddress));
        assert_eq!(
            check_transfer(Status::NotHandled as i64, 12),
            Err(Status::NotHandled)
        );
    }

    #[test]
    fn read_results_from_the_host_are_checked() {
        assert_eq!(check_read(5, 12), Ok(5));
        assert_eq!(check_read(0, 12), Ok(0));
        assert_eq!(check_read(13, 12), Err(Status::HostError));
        assert_eq!(check_read(-3, 12), Err(Status::BadLength));
        assert_eq!(check_read(-99, 12), Err(Status::HostError));
    }

    #[test]
    fn status_round_trips() {
        for s in [
            Status::Ok,
            Status::BadAddress,
            Status::NotHandled,
            Status::HostError,
            Status::WouldBlock,
        ] {
            assert_eq!(Status::from_raw(s as i64), Some(s));
        }
        assert_eq!(Status::from_raw(42), None);
    }
}
