//! Exhausts the heap on purpose: allocation failure must be reported as a
//! panic with the size that failed (exit status 101), not a hang or a crash.
//!
//! By default it holds 1 MiB blocks (the general allocator's path); with
//! the argument `small`, 512-byte ones (the size-class path, whose slabs
//! come from arenas of frames, then single frames, then none).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::env;
use vessel_std::prelude::*;

#[vessel_std::main]
fn main() {
    let small = env::args().nth(1).as_deref() == Some("small");
    let (block_size, report_every) = if small { (512, 2048) } else { (1 << 20, 16) };
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    // Blocks touched only by their length: grows the heap until the VM's
    // memory runs out.
    loop {
        blocks.push(Vec::with_capacity(block_size));
        if blocks.len().is_multiple_of(report_every) {
            println!("holding {} KiB", blocks.len() * block_size / 1024);
        }
    }
}
