//! `vessel-vmm`: the Vessel KVM microVM library.
//!
//! It creates a KVM virtual machine with lazily mapped guest memory, loads a
//! Vessel guest image (an x86-64 ELF, `ET_EXEC` or static PIE), builds the boot
//! structures the host–guest contract ([`vessel_abi`]) describes, enters the
//! image in 64-bit long mode directly and serves its hypercalls until it exits
//! or crashes.
//!
//! ```no_run
//! use vessel_vmm::{GuestEnd, Vm, VmConfig};
//!
//! let config = VmConfig::new("hello.elf").with_args(["world"]);
//! let outcome = Vm::run(config)?;
//! match outcome.end {
//!     GuestEnd::Exited { code, .. } => println!("guest exited with {code}"),
//!     GuestEnd::Crashed(report) => eprintln!("guest crashed: {report}"),
//!     GuestEnd::TimedOut { limit, .. } => eprintln!("guest ran longer than {limit:?}"),
//! }
//! # Ok::<(), vessel_vmm::VmmError>(())
//! ```
//!
//! The modules are organised by concern:
//! * [`memory`]: guest RAM layout and the lazily mapped backing memory;
//! * [`loader`]: the ELF loader;
//! * [`boot`]: GDT, the kernel page tables, boot info and the memory map;
//! * [`cpu`]: CPUID, special and general registers, register dumps;
//! * [`hypercall`]: decoding and serving hypercalls;
//! * [`console`]: where guest console output goes and input comes from;
//! * [`input`]: console input that never stops the vCPU;
//! * [`vm`]: configuration, VM construction and the run loop;
//! * [`stats`]: timing, exit counts and memory statistics;
//! * [`seccomp`]: the system-call filter of the vCPU thread;
//! * [`watchdog`]: the run-time limit.

pub mod boot;
pub mod console;
pub mod cpu;
pub mod error;
pub mod files;
pub mod hypercall;
pub mod input;
pub mod loader;
pub mod memory;
pub mod seccomp;
pub mod stats;
pub mod test_util;
pub mod vm;
pub mod watchdog;

pub use console::{CaptureConsole, ConsoleSink, StdConsole};
pub use cpu::{CrashReport, RegisterDump};
pub use error::{BootError, LoadError, MemoryError, VmmError};
pub use stats::{ExitCounts, RunStats};
pub use vessel_abi as abi;
pub use vm::{
    DEFAULT_MEMORY_BYTES, GuestEnd, InstructionTrace, IrqChip, MAX_TRACED_INSTRUCTIONS, RunOutcome,
    Vm, VmConfig,
};
