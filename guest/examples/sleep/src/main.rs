//! Sleeps and reports how long it slept, by the monotonic and wall clocks.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::env;
use vessel_std::prelude::*;
use vessel_std::thread;
use vessel_std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[vessel_std::main]
fn main() -> Result<(), String> {
    let millis: u64 = match env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|e| format!("bad duration {arg:?}: {e}"))?,
        None => 50,
    };
    let wall_before = SystemTime::now();
    let before = Instant::now();
    thread::sleep(Duration::from_millis(millis));
    let elapsed = before.elapsed();
    let wall = wall_before.elapsed().map_err(|e| e.to_string())?;
    let unix = wall_before
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    println!("asked to sleep {millis} ms");
    println!("slept {} us (monotonic)", elapsed.as_micros());
    println!("slept {} us (wall clock)", wall.as_micros());
    println!("unix time at start: {} s", unix.as_secs());
    Ok(())
}
