//! vessel-rt: the kernel runtime of Vessel.
//!
//! This crate is the framework every Vessel guest stands on: boot, the
//! platform layer (console and exit through Vessel hypercalls), paging and
//! physical frames, the kernel heap, CPU exceptions and interrupts, the TSC
//! clock and the LAPIC timer, kernel tasks with a preemptive scheduler, and
//! the synchronisation primitives built on it.
//!
//! It is the only guest crate allowed to use `unsafe`. Every `unsafe` block
//! carries a `// SAFETY:` comment, and the public API is sound for any safe
//! caller: crates above it (`vessel-std`, applications, later the Linux
//! services) are `#![forbid(unsafe_code)]`.
//!
//! Modules that touch hardware exist only when building for the bare-metal
//! target (`target_os = "none"`); the pure logic below them (boot-info
//! validation, the frame bitmap, time conversion, the rules of user
//! page-table entries) also builds on the host so it can be unit-tested
//! there.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod boot_info;
pub mod frames;
pub mod pvh;
pub mod time_conv;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod env;
#[cfg(target_os = "none")]
mod mem;
#[cfg(target_os = "none")]
mod panic;
#[cfg(target_os = "none")]
pub mod platform;
#[cfg(target_os = "none")]
pub mod sync;
#[cfg(target_os = "none")]
pub mod task;
#[cfg(target_os = "none")]
pub mod time;

mod scan;
#[cfg(any(target_os = "none", test))]
mod size_classes;
#[cfg(target_os = "none")]
pub mod user;
#[cfg(any(target_os = "none", test))]
mod user_entry;

#[cfg(target_os = "none")]
pub use platform::exit;

/// How much memory the guest has.
#[cfg(target_os = "none")]
pub mod memory {
    /// Memory figures, in bytes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Usage {
        /// RAM free for new frames (heap growth, stacks, user pages).
        pub free: u64,
        /// Usable RAM at boot (not counting the image and boot data).
        pub total: u64,
    }

    /// The current memory usage.
    pub fn usage() -> Usage {
        let (free, total) = crate::mem::frames::usage();
        Usage { free, total }
    }
}

/// Exports an application's entry function to vessel-rt.
///
/// vessel-rt boots the machine, then calls the exported function on the
/// `main` task; its return value becomes the VM's exit code. Applications
/// normally use `#[vessel_std::main]`, which expands to this macro.
///
/// Exporting a symbol is the one link-level (hence `unsafe`) step an
/// application needs, so it lives here, in the framework.
#[macro_export]
macro_rules! export_main {
    ($main:path) => {
        #[doc(hidden)]
        #[unsafe(export_name = "__vessel_app_main")]
        extern "Rust" fn __vessel_app_main() -> i32 {
            $main()
        }
    };
}
