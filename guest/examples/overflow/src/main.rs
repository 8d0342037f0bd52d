//! Overflows its stack on purpose: the guard page below the stack turns the
//! overflow into a reported CPU exception (exit status 101), never into
//! silent memory corruption.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;
use vessel_std::println;

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(frame[0])
}

#[vessel_std::main]
fn main() {
    println!("recursing without end");
    println!("{}", recurse(0));
}
