//! Counts the lines, words and bytes of its standard input, as `wc` does,
//! and names the longest line: a unikernel filter (`cat file | vessel run
//! wc`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::io;
use vessel_std::prelude::*;

#[vessel_std::main]
fn main() -> Result<(), String> {
    let (mut lines, mut words, mut bytes) = (0usize, 0usize, 0usize);
    let mut longest = String::new();
    let mut stdin = io::stdin();
    loop {
        let mut line = String::new();
        let n = stdin.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        bytes += n;
        lines += usize::from(line.ends_with('\n'));
        words += line.split_whitespace().count();
        let text = line.trim_end_matches('\n');
        if text.len() > longest.len() {
            longest = text.to_string();
        }
    }
    println!("{lines} {words} {bytes}");
    println!("longest line: {longest:?}");
    Ok(())
}
