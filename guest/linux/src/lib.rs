//! vessel-linux: the Linux x86_64 ABI kernel services of Vessel, in safe
//! Rust only.
//!
//! This crate is the pure, host-testable core of the "Linux personality":
//! everything here is plain data in, plain data out, so it compiles for the
//! guest (`x86_64-unknown-none`, `no_std` + `alloc`) and is unit-tested on
//! the host. It does not depend on vessel-rt yet; the parts that need the
//! runtime (user mode, address spaces) will sit on top of these modules.
//!
//! * [`syscalls`]: every Linux x86_64 system call by number and name
//!   ([`Sysno`]), the [`Support`] status the dispatcher reports for each, and
//!   the Markdown coverage table we publish.
//! * [`errno`]: the Linux error numbers ([`Errno`]) and the return
//!   convention (a syscall returns `isize`, `-errno` on failure).
//! * [`elf`]: validation of Linux ELF executables (`ET_EXEC` and PIE
//!   `ET_DYN`, static or naming their ELF interpreter) and of interpreters
//!   into [`LoadPlan`]s, and `#!` script detection.
//! * [`support`]: what the kernel implements, call by call, and the
//!   published coverage table generated from it.
//! * [`stack`]: the initial process stack (argc, argv, envp, auxv, strings)
//!   as the x86-64 System V ABI and Linux lay it out.
//! * [`open_flags`]: the access mode and status flags of an open file
//!   description, as `open` keeps them and `fcntl(F_SETFL)` changes them.
//! * [`vfs`]: the in-memory file system (tmpfs): inodes, path resolution
//!   with Linux's errors, sparse file data, and cpio "newc" archives to
//!   unpack an initramfs into it or pack a tree out of it.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod elf;
pub mod errno;
pub mod open_flags;
pub mod stack;
pub mod support;
pub mod syscalls;
pub mod vfs;

pub use elf::{ElfError, LoadPlan, LoadSegment, Shebang};
pub use errno::{Errno, SysResult};
pub use stack::{AuxInfo, InitialStack};
pub use syscalls::{Support, Sysno};

/// Size of a page on x86-64, as Linux reports it in `AT_PAGESZ`.
pub const PAGE_SIZE: u64 = 4096;
