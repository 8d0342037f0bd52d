//! vessel-std: a std-shaped API for Rust applications that run as Vessel
//! unikernels (ring 0, one address space, in a microVM).
//!
//! Modules mirror Rust's `std` where they exist here: [`thread`], [`sync`]
//! (with [`sync::mpsc`]), [`time`], [`env`], [`process`], [`io`] (standard
//! input), the `alloc` collections, and the `print!` family. An application marks its entry
//! with [`main`]:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use vessel_std::prelude::*;
//!
//! #[vessel_std::main]
//! fn main() {
//!     println!("Hello from a unikernel!");
//! }
//! ```
//!
//! Differences from std worth knowing: a panic ends its thread without
//! unwinding (destructors do not run; a lock the thread held stays held),
//! so locks are never poisoned; there is no file system or network yet.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod env;
pub mod io;
mod macros;
pub mod os;
pub mod process;
pub mod sync;
pub mod thread;
pub mod time;

pub use alloc::{borrow, boxed, collections, fmt, format, rc, string, vec};
pub use vessel_macros::main;

/// The names most programs use, as in std's prelude.
pub mod prelude {
    pub use crate::{eprint, eprintln, print, println};
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

/// Used by `#[vessel_std::main]`: exports `$main` as the application entry.
#[doc(hidden)]
#[macro_export]
macro_rules! __entry {
    ($main:ident) => {
        fn __vessel_std_main() -> i32 {
            $crate::process::Termination::report($main()).to_i32()
        }
        $crate::__export_main!(__vessel_std_main);
    };
}

#[doc(hidden)]
pub use vessel_rt::export_main as __export_main;

#[doc(hidden)]
pub mod __private {
    pub use vessel_rt::console::{eprint, print};
}
