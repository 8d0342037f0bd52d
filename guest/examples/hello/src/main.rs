//! Prints a greeting and its arguments: the smallest Vessel unikernel.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::env;
use vessel_std::prelude::*;

#[vessel_std::main]
fn main() {
    let name = env::var("NAME").unwrap_or_else(|_| String::from("world"));
    let args: Vec<String> = env::args().collect();
    println!("Hello, {name}! This is a Vessel unikernel.\nargs: {args:?}");
}
