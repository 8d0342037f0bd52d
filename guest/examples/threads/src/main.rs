//! Worker threads computing in parallel, sharing a mutex and a channel;
//! one thread panics on purpose and the rest carry on.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use vessel_std::prelude::*;
use vessel_std::sync::{Arc, Mutex, mpsc};
use vessel_std::{process, thread};

const WORKERS: u64 = 4;
const PER_WORKER: u64 = 2_500;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

#[vessel_std::main]
fn main() {
    let total = Arc::new(Mutex::new(0u64));
    let (sender, receiver) = mpsc::channel();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let total = total.clone();
            let sender = sender.clone();
            let mut builder = thread::Builder::new().name(format!("worker-{w}"));
            if w == 0 {
                // A big stack: vessel-rt maps it as one 2 MiB page, and
                // unmaps it when the worker is joined.
                builder = builder.stack_size(1 << 20);
            }
            builder
                .spawn(move || {
                    let range = w * PER_WORKER..(w + 1) * PER_WORKER;
                    let primes = range.filter(|&n| is_prime(n)).count() as u64;
                    *total.lock().unwrap() += primes;
                    sender.send((w, primes)).unwrap();
                    primes
                })
                .unwrap()
        })
        .collect();
    drop(sender);

    let mut reported: Vec<(u64, u64)> = receiver.iter().collect();
    reported.sort();
    let joined: u64 = workers.into_iter().map(|h| h.join().unwrap()).sum();
    let total = *total.lock().unwrap();
    for (worker, primes) in &reported {
        println!("worker {worker}: {primes} primes");
    }
    println!("total: {total} primes below {}", WORKERS * PER_WORKER);

    let crashed = thread::spawn(|| -> u32 { panic!("worker failed on purpose") });
    let message = match crashed.join() {
        Ok(_) => String::from("<no panic>"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
    };
    println!("panicked thread joined with: {message}");

    // A held lock stays held when another thread fails to take it.
    let shared = Arc::new(Mutex::new(()));
    let held = shared.lock().unwrap();
    let contender = shared.clone();
    let refusals = thread::spawn(move || (0..3).filter(|_| contender.try_lock().is_none()).count())
        .join()
        .unwrap();
    drop(held);
    println!("try_lock on a held mutex refused {refusals} of 3 times");

    // pi(10000) = 1229.
    let consistent =
        total == joined && total == 1229 && reported.len() == WORKERS as usize && refusals == 3;
    process::exit(if consistent { 0 } else { 1 });
}
