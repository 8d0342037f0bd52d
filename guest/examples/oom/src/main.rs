//! Exhausts the heap on purpose: allocation failure must be reported as a
//! panic with the size that failed (exit status 101), not a hang or a crash.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::prelude::*;

#[vessel_std::main]
fn main() {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    // 1 MiB blocks, touched only by their length: grows the heap until the
    // VM's memory runs out.
    loop {
        let block = Vec::with_capacity(1 << 20);
        blocks.push(block);
        if blocks.len().is_multiple_of(16) {
            println!("holding {} MiB", blocks.len());
        }
    }
}
