//! Panics on purpose: the VM must exit with status 101 and the message.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::prelude::*;

#[vessel_std::main]
fn main() {
    println!("about to panic");
    let answer: Option<u32> = None;
    panic!("deliberate panic: answer was {answer:?}");
}
