//! Vessel's developer tooling, run as `cargo xtask <command>`.
//!
//! The binary (`main.rs`) only parses arguments; every command lives in its
//! own module here so that tests can drive the pieces directly (for example
//! the framekernel checker on a fixture tree).
#![forbid(unsafe_code)]

pub mod bench;
pub mod bench_linux;
pub mod build;
pub mod check;
pub mod cmd;
pub mod framekernel;
pub mod prereq;
pub mod profile;
pub mod project;
pub mod run;
pub mod source;
pub mod tcb;
pub mod test;
